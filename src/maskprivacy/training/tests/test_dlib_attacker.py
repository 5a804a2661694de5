"""The dlib-descriptor attacker on the sample data: real descriptors, real heads, the contract's files.

One module-wide run (150 sample faces masked in a temporary folder, a uniform split with a large
test part, both conditions: ~300 descriptors) feeds most tests, because masking and describing
that many faces takes tens of seconds; the first test that uses it pays for it and is marked slow.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from maskprivacy.cli import main
from maskprivacy.masking.batch import MaskConfig, run_masking
from maskprivacy.training.dlib_attacker import (
    CLASS_NAMES,
    DescriptorCache,
    RunFace,
    compute_descriptors,
    load_or_make_split,
    load_run_faces,
    run_dlib_attacker,
    subsample,
)
from maskprivacy.training.splits import items_from_names, make_split, read_split, write_split

N_FACES = 150  # sample faces used: ~90 train, ~12 val, ~48 test with the split below
FRACTIONS = (0.6, 0.08, 0.32)


@pytest.fixture(scope="module")
def data_dir(sample_dir, tmp_path_factory) -> Path:
    """A stable pseudo-random subset of the sample (hash order, not name order, which sorts by age)."""
    good = [p for p in sample_dir.iterdir() if p.name.split("_")[0].isdigit() and len(p.name.split("_")) >= 4]
    chosen = sorted(good, key=lambda p: hashlib.sha256(p.name.encode()).hexdigest())[:N_FACES]
    d = tmp_path_factory.mktemp("dlib") / "data"
    d.mkdir()
    for p in chosen:
        shutil.copy(p, d / p.name)
    return d


@pytest.fixture(scope="module")
def mask_run(data_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dlib") / "mask"
    run_masking(data_dir, out, MaskConfig(), workers=2, progress=False)
    return out


@pytest.fixture(scope="module")
def attack(data_dir, mask_run, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("dlib") / "run"
    faces, _ = load_run_faces(mask_run)
    write_split(out / "splits" / "uniform.csv", make_split("uniform", items_from_names(faces), FRACTIONS))
    res = run_dlib_attacker(data_dir, mask_run, out, splits=("uniform",), n_train=0, seed=0, progress=False)
    return out, res


def _rows(path: Path) -> list[dict]:
    with path.open() as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_outputs_follow_the_contract(attack):
    out, res = attack
    split = read_split(out / "splits" / "uniform.csv")
    train_names = sorted(n for n, p in split.items() if p == "train")
    test_names = sorted(n for n, p in split.items() if p == "test")
    for cond in ("masked", "unmasked"):
        d = out / f"dlib_{cond}_uniform"
        m = json.loads((d / "metrics.json").read_text())
        assert m == json.loads(json.dumps(res[cond]["uniform"]))
        for task, names in CLASS_NAMES.items():
            t = m[task]
            assert set(t) >= {"accuracy", "balanced_accuracy", "per_class", "confusion"}
            assert list(t["per_class"]) == list(names)
            conf = np.array(t["confusion"])
            assert conf.shape == (len(names), len(names)) and conf.sum() == m["n_test"]
            assert t["accuracy"] == pytest.approx(np.trace(conf) / conf.sum())
            assert (d / f"confusion_{task}.png").stat().st_size > 1000
        assert m["age"]["rmse"] >= m["age"]["mae"] > 0
        assert sum(b["n"] for b in m["breakdown"]) == m["n_test"]
        assert {"sex", "race", "age_bucket", "n", "sex_acc", "race_acc", "age_bucket_acc", "age_mae"} <= set(
            m["breakdown"][0]
        )
        assert m["config"]["n_train"] == len(train_names) and m["config"]["condition"] == cond
        assert m["commit"] and m["machine"] and isinstance(m["wall_s"]["fit"], float)
        rows = _rows(d / "predictions.csv")
        # every test face of the split, in both conditions (the same faces as the CNN attacker)
        assert sorted(r["name"] for r in rows) == test_names and m["n_test"] == len(test_names)
        # and every validation face, which the ensemble is fitted on
        val_names = sorted(n for n, p in split.items() if p == "val")
        val_rows = _rows(d / "val_predictions.csv")
        assert sorted(r["name"] for r in val_rows) == val_names and list(val_rows[0]) == list(rows[0])
        r = rows[0]
        assert list(r)[:9] == [
            "name",
            "sex_true",
            "sex_pred",
            "race_true",
            "race_pred",
            "age_bucket_true",
            "age_bucket_pred",
            "age_true",
            "age_pred",
        ]
        for row in rows:
            assert sum(float(row[f"race_prob_{j}"]) for j in range(5)) == pytest.approx(1, abs=1e-3)
            assert sum(float(row[f"age_bucket_prob_{j}"]) for j in range(7)) == pytest.approx(1, abs=1e-3)
            assert int(row["race_pred"]) == int(np.argmax([float(row[f"race_prob_{j}"]) for j in range(5)]))
        assert np.mean([int(x["sex_true"]) == int(x["sex_pred"]) for x in rows]) == pytest.approx(m["sex"]["accuracy"])


def test_the_numbers_are_real(attack):
    """Well above what guessing the majority class (or the median age) scores on the same faces."""
    out, res = attack
    for cond, floor, age_factor in (("unmasked", 0.2, 0.8), ("masked", 0.1, 0.9)):
        m = res[cond]["uniform"]
        rows = _rows(out / f"dlib_{cond}_uniform" / "predictions.csv")
        true = [int(r["sex_true"]) for r in rows]
        majority = np.bincount(true).max() / len(true)
        assert m["sex"]["accuracy"] >= majority + floor, (cond, m["sex"]["accuracy"], majority)
        # five races, ~90 training faces: mean recall well above the 20% of guessing
        assert m["race"]["balanced_accuracy"] >= 0.3, (cond, m["race"])
        if cond == "unmasked":
            race = np.bincount([int(r["race_true"]) for r in rows])
            assert m["race"]["accuracy"] >= race.max() / race.sum() + 0.1
        ages = np.array([float(r["age_true"]) for r in rows])
        # (the median of the test ages themselves: an optimistic baseline)
        assert m["age"]["mae"] < age_factor * np.abs(ages - np.median(ages)).mean()
    # the mask hides something: the unmasked descriptors are not worse at sex
    assert res["unmasked"]["uniform"]["sex"]["accuracy"] >= res["masked"]["uniform"]["sex"]["accuracy"] - 0.05


def test_rerun_reads_the_cache(attack, mask_run, data_dir):
    out, res = attack
    assert res["descriptors"]["computed"] > 0 and res["descriptors"]["failed"] == 0
    again = run_dlib_attacker(
        data_dir, mask_run, out, splits=("uniform",), conditions=("unmasked",), n_train=0, seed=0, progress=False
    )
    assert again["descriptors"]["computed"] == 0
    assert again["descriptors"]["cached"] == res["descriptors"]["computed"] // 2
    assert again["unmasked"]["uniform"]["sex"] == res["unmasked"]["uniform"]["sex"]


def test_redrawn_mask_matches_the_run_images(attack, mask_run, data_dir, tmp_path):
    """Without M/images the mask is redrawn from run.json: nearly the same descriptor (JPEG aside)."""
    out, _ = attack
    bare = tmp_path / "bare"
    bare.mkdir()
    for f in ("report.csv", "landmarks.npy", "run.json"):
        shutil.copy(mask_run / f, bare / f)
    faces, cfg = load_run_faces(bare)
    names = sorted(n for n, p in read_split(out / "splits" / "uniform.csv").items() if p == "test")[:2]
    got, stats = compute_descriptors(
        data_dir, bare, faces, cfg, {"masked": set(names)}, tmp_path / "cache", workers=1, progress=False
    )
    assert stats.computed == 2
    stored = DescriptorCache(out / "dlib_cache")
    for n in names:
        ref, plain = stored.valid("masked", faces[n]), stored.valid("unmasked", faces[n])
        assert np.linalg.norm(got["masked"][n] - ref) < 0.25 * np.linalg.norm(plain - ref)


def test_torch_and_dlib_engines_give_the_same_descriptors(mask_run, data_dir, tmp_path):
    """The batched torch network and dlib's face-by-face path agree on the same faces, both conditions,
    across uneven batches (5 + 5 + 2 chips) and with chips cut in worker processes."""
    faces, cfg = load_run_faces(mask_run)
    names = set(sorted(faces)[:6])
    got = {}
    for engine, workers in (("dlib", 1), ("torch", 2)):
        d, stats = compute_descriptors(
            data_dir,
            mask_run,
            faces,
            cfg,
            {"masked": names, "unmasked": names},
            tmp_path / engine,
            workers=workers,
            progress=False,
            engine=engine,
            batch_size=5,
        )
        assert stats.computed == 12 and not stats.failed and stats.engine == engine
        got[engine] = d
    for cond in ("masked", "unmasked"):
        a = np.stack([got["torch"][cond][n] for n in sorted(names)]).astype(np.float64)
        b = np.stack([got["dlib"][cond][n] for n in sorted(names)]).astype(np.float64)
        cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
        assert cos.min() >= 0.9999 and np.abs(a - b).max() < 1e-4
    with pytest.raises(ValueError, match="engine"):
        compute_descriptors(data_dir, mask_run, faces, cfg, {"masked": names}, tmp_path / "x", engine="cuda")


def test_split_is_made_as_the_cnn_pipeline_makes_it(mask_run, tmp_path):
    """Without a split file both splits and meta.json are written with the pipeline's defaults."""
    faces, _ = load_run_faces(mask_run)
    got, path, made = load_or_make_split("random", faces, tmp_path / "splits")
    assert made and got == make_split("random", items_from_names(faces)) == read_split(path)
    meta = json.loads((tmp_path / "splits" / "meta.json").read_text())
    assert meta["seed"] == 2021 and meta["n"] == len(faces) and meta["fractions"] == [0.87, 0.03, 0.1]
    assert read_split(tmp_path / "splits" / "uniform.csv") == make_split("uniform", items_from_names(faces))
    assert load_or_make_split("random", faces, tmp_path / "splits") == (got, path, False)


def test_cache_recomputes_when_points_change(tmp_path):
    from maskprivacy.data.labels import FaceLabels

    pts = np.arange(136, dtype=np.int16).reshape(68, 2)
    face = RunFace("1_0_0_x.jpg", FaceLabels(1, 0, 0), 0, (0, 0, 10, 10), points=pts)
    c = DescriptorCache(tmp_path)
    c.put("masked", face, np.ones(128, np.float32))
    c.save()
    c2 = DescriptorCache(tmp_path)
    assert np.array_equal(c2.valid("masked", face), np.ones(128, np.float32))
    moved = RunFace(face.name, face.labels, 0, face.box, points=pts + 1)
    assert c2.valid("masked", moved) is None and c2.valid("unmasked", face) is None


def test_subsample_is_seeded_and_stable():
    names = [f"{i}_0_0_x.jpg" for i in range(200)]
    a = subsample(names, 50, seed=0)
    assert a == subsample(list(reversed(names)), 50, seed=0) and len(a) == 50
    assert a != subsample(names, 50, seed=1)
    # a train part that loses a few names keeps almost the same subsample (shared descriptor cache)
    assert len(set(a) & set(subsample(names[10:], 50, seed=0))) >= 40
    assert subsample(names, None, 0) == sorted(names)


def test_cli_help_and_clear_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["attack-dlib", "--help"])
    assert e.value.code == 0 and "128-D face descriptor" in " ".join(capsys.readouterr().out.split())
    assert main(["attack-dlib", "--mask-run", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "run `maskprivacy mask" in capsys.readouterr().err
