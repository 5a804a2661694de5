"""TEST FIXTURE: a small fake run folder (docs/ARCHITECTURE.md layout) with made-up predictions.

Nothing here is a result: labels are random, and the "attackers" are the truth with a known share
of answers replaced by random ones. Every metric written is computed here from those predictions,
so tests can check the PVI and the report against values they can recompute.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from maskprivacy.data.labels import AGE_BUCKET_NAMES, RACE_NAMES, SEX_NAMES, age_to_bucket

TASK_NAMES = {"sex": SEX_NAMES, "race": RACE_NAMES, "age_bucket": AGE_BUCKET_NAMES}


def fake_names(n: int, rng: np.random.Generator, start: int = 0) -> list[str]:
    """UTKFace-style names with random labels (age 1-90, sex 0-1, race 0-4)."""
    ages = rng.integers(1, 91, n)
    sexes = rng.integers(0, 2, n)
    races = rng.choice(5, n, p=[0.42, 0.19, 0.15, 0.17, 0.07])
    return [f"{a}_{s}_{r}_2017{start + i:013d}.jpg.chip.jpg" for i, (a, s, r) in enumerate(zip(ages, sexes, races))]


def fake_predictions(names: list[str], flip: float, age_noise: float, rng: np.random.Generator) -> list[dict]:
    """Prediction rows: each class label replaced by a random class with probability ``flip``;
    age = truth + Gaussian noise of sd ``age_noise`` (clipped at 0)."""
    rows = []
    for n in names:
        age, sex, race = (int(x) for x in n.split("_")[:3])
        truth = {"sex": sex, "race": race, "age_bucket": age_to_bucket(age)}
        row: dict = {"name": n}
        for task, names_ in TASK_NAMES.items():
            pred = truth[task] if rng.random() >= flip else int(rng.integers(0, len(names_)))
            row[f"{task}_true"], row[f"{task}_pred"] = truth[task], pred
        row["age_true"], row["age_pred"] = age, round(max(0.0, age + rng.normal(0, age_noise)), 2)
        rows.append(row)
    return rows


def metrics_from_rows(rows: list[dict]) -> dict:
    """metrics.json content (docs/ARCHITECTURE.md) computed from prediction rows."""
    m: dict = {}
    for task, names in TASK_NAMES.items():
        y = np.array([r[f"{task}_true"] for r in rows])
        p = np.array([r[f"{task}_pred"] for r in rows])
        conf = np.zeros((len(names), len(names)), int)
        np.add.at(conf, (y, p), 1)
        per = {names[k]: float(np.mean(p[y == k] == k)) for k in range(len(names)) if (y == k).any()}
        m[task] = {"accuracy": float(np.mean(y == p)), "balanced_accuracy": float(np.mean(list(per.values()))),
                   "per_class": per, "confusion": conf.tolist()}
    err = np.array([r["age_pred"] - r["age_true"] for r in rows], float)
    m["age"] = {"mae": float(np.abs(err).mean()), "rmse": float(np.sqrt((err ** 2).mean()))}
    cells: dict = {}
    for r in rows:
        cells.setdefault((r["sex_true"], r["race_true"], r["age_bucket_true"]), []).append(r)
    m["breakdown"] = [{"sex": SEX_NAMES[s], "race": RACE_NAMES[ra], "age_bucket": AGE_BUCKET_NAMES[b], "n": len(rs),
                       "sex_acc": float(np.mean([x["sex_pred"] == x["sex_true"] for x in rs])),
                       "race_acc": float(np.mean([x["race_pred"] == x["race_true"] for x in rs])),
                       "age_bucket_acc": float(np.mean([x["age_bucket_pred"] == x["age_bucket_true"] for x in rs])),
                       "age_mae": float(np.mean([abs(x["age_pred"] - x["age_true"]) for x in rs]))}
                      for (s, ra, b), rs in sorted(cells.items())]
    m["n_test"] = len(rows)
    m["config"] = {"profile": "test-fixture"}
    m["commit"] = "fixture"
    m["machine"] = "pytest"
    m["wall_s"] = {"finetune": 1.5, "evaluate": 0.25}
    return m


def write_predictions(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def tiny_png(color: tuple[int, int, int]) -> bytes:
    b = io.BytesIO()
    Image.new("RGB", (12, 8), color).save(b, "PNG")
    return b.getvalue()


# flip rates / age noise of the fake attackers: masked worse than unmasked, dlib worse than cnn
DEFAULT_ATTACKERS = {("cnn", "masked"): (0.25, 7.0), ("cnn", "unmasked"): (0.10, 5.0),
                     ("dlib", "masked"): (0.35, 9.0), ("dlib", "unmasked"): (0.20, 6.0)}


def make_fake_run(root: Path, n_train: int = 400, n_test: int = 300, seed: int = 0,
                  attackers: dict = DEFAULT_ATTACKERS, splits: tuple[str, ...] = ("uniform",),
                  figures: bool = True, confusion_png: bool = True) -> Path:
    """Write a fake run under ``root``; return it. cnn in train/<cond>_<split>, dlib in train/dlib_<cond>_<split>."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for split in splits:
        train, test = fake_names(n_train, rng), fake_names(n_test, rng, start=n_train)
        (root / "splits").mkdir(exist_ok=True)
        with (root / "splits" / f"{split}.csv").open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["name", "part"])
            for n in sorted(train + test):
                w.writerow([n, "train" if n in set(train) else "test"])
        for (attacker, cond), (flip, noise) in attackers.items():
            d = root / "train" / (f"{cond}_{split}" if attacker == "cnn" else f"{attacker}_{cond}_{split}")
            rows = fake_predictions(test, flip, noise, rng)
            write_predictions(d / "predictions.csv", rows)
            (d / "metrics.json").write_text(json.dumps(metrics_from_rows(rows)))
            if confusion_png:
                for task in TASK_NAMES:
                    (d / f"confusion_{task}.png").write_bytes(tiny_png((10, 20, 30)))
    if figures:
        (root / "figures").mkdir(exist_ok=True)
        (root / "figures" / "pipeline.png").write_bytes(tiny_png((200, 0, 0)))
        (root / "figures" / "distributions.png").write_bytes(tiny_png((0, 200, 0)))
    return root
