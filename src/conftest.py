"""The one conftest of the project: fixtures every stage's tests share.

Where the read-only data live (``../shared``), a corpus of hostile files, photos made from the sample
faces, a run of untrained models, and a FAKE run folder with made-up predictions. Test helpers are
handed to tests as fixtures (``jpeg``, ``group_photo``, ``png_claiming``, ``make_fake_run``), so no
test imports another package's tests. This file sits outside the package: it is not installed.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from maskprivacy.data.labels import AGE_BUCKET_NAMES, CLASS_NAMES, RACE_NAMES, SEX_NAMES, age_to_bucket
from maskprivacy.records import AttackerMetrics, AttackerRecord, write_metrics

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MASKPRIVACY_SHARED", REPO.parent / "shared"))
SAMPLE = (SHARED / "data" / "utkface-sample").resolve()
ARCHIVE = (SHARED / "data" / "UTKFace.tar.gz").resolve()
REALMASK = (SHARED / "data" / "realmask-dev").resolve()
MALFORMED = (
    "39_1_20170116174525125.jpg.chip.jpg",
    "61_1_20170109142408075.jpg.chip.jpg",
    "61_1_20170109150557335.jpg.chip.jpg",
)


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"data not found at {path} (clone the repo beside ../shared)")
    return path


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return _require(SAMPLE)


@pytest.fixture(scope="session")
def realmask_dir() -> Path:
    """The real-mask dev set (../shared/data/realmask-dev: photos of the same people with and without masks)."""
    root = REALMASK
    if not (root / "labels.csv").is_file():
        pytest.skip(f"realmask-dev not found at {root}")
    return root


@pytest.fixture(scope="session")
def good_faces(sample_dir: Path) -> list[Path]:
    """Eight well-named sample faces (sorted, so the choice is stable)."""
    files = sorted(p for p in sample_dir.iterdir() if p.name not in MALFORMED)
    return files[::70][:8]


@pytest.fixture(scope="session")
def landmarked_faces(good_faces: list[Path]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The good faces the fast landmarker finds a face in: (RGB, that face's key points), in order."""
    from maskprivacy.faces.landmarks import get_landmarker

    lm = get_landmarker("fast")
    out = []
    for f in good_faces:
        rgb = np.asarray(Image.open(f).convert("RGB"))
        found = lm.faces(rgb)
        if found:
            out.append((rgb, found[0].points))
    return out


def png_claiming(width: int, height: int) -> bytes:
    """A tiny valid PNG whose header claims width x height (never decoded: refused from the header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def build_hostile_corpus(dst: Path, good: list[Path], sample_dir: Path) -> dict[str, str]:
    """Write good faces and hostile files into ``dst``; return {file name: expected status}."""
    dst.mkdir(parents=True, exist_ok=True)
    expected: dict[str, str] = {}
    for p in good[:4]:
        shutil.copy(p, dst / p.name)
        expected[p.name] = "ok"
    face = Image.open(good[4]).convert("RGB")
    base = good[4].name.split(".")[0]

    def put(name: str, data: bytes, status: str) -> None:
        (dst / name).write_bytes(data)
        expected[name] = status

    def enc(im: Image.Image, fmt: str, **kw) -> bytes:
        b = io.BytesIO()
        im.save(b, fmt, **kw)
        return b.getvalue()

    put("30_0_0_20170101000000001.jpg.chip.jpg", b"", "unreadable")  # zero bytes
    put("30_0_0_20170101000000002.jpg.chip.jpg", good[5].read_bytes()[:1500], "unreadable")  # truncated JPEG
    put("30_0_0_20170101000000003.jpg.chip.jpg", b"this is not an image\n" * 20, "unreadable")  # text
    put(f"{base}1.gray.jpg", enc(face.convert("L"), "JPEG", quality=95), "ok")  # grayscale
    rgba = face.convert("RGBA")
    rgba.putalpha(Image.new("L", face.size, 255))
    put(f"{base}2.rgba.png", enc(rgba, "PNG"), "ok")  # RGBA PNG
    put(f"{base}3.cmyk.jpg", enc(face.convert("CMYK"), "JPEG", quality=95), "ok")  # CMYK JPEG
    g16 = (np.asarray(face.convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    put(f"{base}4.16bit.png", enc(Image.fromarray(g16), "PNG"), "ok")  # 16-bit PNG
    put("30_0_0_20170101000000004.png", png_claiming(20000, 20000), "too_large")  # bomb
    rng = np.random.default_rng(0)
    noise = (rng.random((200, 200)) * 40 + 100).astype(np.uint8)
    put("30_0_0_20170101000000005.jpg", enc(Image.fromarray(noise), "JPEG"), "no_face")  # no face
    two = Image.new("RGB", (420, 200), (128, 128, 128))
    two.paste(Image.open(good[6]).convert("RGB"), (0, 0))
    two.paste(Image.open(good[7]).convert("RGB"), (220, 0))
    put("30_0_0_20170101000000006.jpg", enc(two, "JPEG", quality=95), "multiple_faces")  # two faces
    for name in MALFORMED:
        shutil.copy(sample_dir / name, dst / name)
        expected[name] = "bad_label"
    (dst / "notes.txt").write_text("not an image\n")
    expected["notes.txt"] = "skipped"
    return expected


@pytest.fixture()
def hostile_corpus(tmp_path: Path, good_faces: list[Path], sample_dir: Path) -> tuple[Path, dict[str, str]]:
    d = tmp_path / "corpus"
    return d, build_hostile_corpus(d, good_faces, sample_dir)


# ---- faces that need no ../shared: a portrait an installed package ships, and faces made from it
# matplotlib (a dependency) ships a photo of Grace Hopper as sample data. The core paths (finding and
# aligning a face, masking it, training on masked faces, the report) are tested on it and on a folder
# of UTKFace-named faces made from it, so a clone without ../shared still runs them.
SHIPPED_PORTRAIT = "grace_hopper.jpg"


def shipped_portrait_path() -> Path:
    """The portrait matplotlib ships (one face, about 215 px wide, in a 512x600 photo)."""
    from matplotlib import cbook

    return Path(cbook.get_sample_data(SHIPPED_PORTRAIT, asfileobj=False))


@pytest.fixture(scope="session")
def shipped_portrait() -> Path:
    return shipped_portrait_path()


def make_faces(dst: Path, n: int = 48, seed: int = 0) -> Path:
    """``n`` UTKFace-named 200x200 faces made from the shipped portrait: its aligned face, turned a few
    degrees, shifted a few pixels, mirrored, lit brighter or darker, with some noise. The labels in the
    names cycle through every class (they are made up: one person wears them all)."""
    from maskprivacy.faces.photo import find_faces

    rgb = np.asarray(Image.open(shipped_portrait_path()).convert("RGB"))
    base = Image.fromarray(find_faces(rgb, False, "dlib")[0].aligned.crop)
    rng = np.random.default_rng(seed)
    dst.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        im = base.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if i % 2 else base
        dx, dy = (int(v) for v in rng.integers(-5, 6, 2))
        im = im.rotate(float(rng.uniform(-6, 6)), Image.Resampling.BICUBIC, translate=(dx, dy), fillcolor=(118,) * 3)
        px = np.asarray(im, np.float32) * rng.uniform(0.8, 1.2) + rng.normal(0, 4, (200, 200, 3))
        age, sex, race = 5 + (i * 7) % 80, (i // 2) % 2, i % 5
        name = f"{age}_{sex}_{race}_20170101{i:09d}.jpg.chip.jpg"
        Image.fromarray(np.clip(px, 0, 255).astype(np.uint8)).save(dst / name, quality=92)
    return dst


@pytest.fixture(scope="session")
def made_faces(tmp_path_factory) -> Path:
    """A folder of UTKFace-named faces made from the shipped portrait (:func:`make_faces`)."""
    return make_faces(tmp_path_factory.mktemp("made_faces"))


# ---- photos and a run of untrained models (the analysis and faces stages)
@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> Path:
    """A run directory with untrained unmasked/masked models (tiny input: fast, real shapes)."""
    from maskprivacy.analysis.demo_run import make_demo_run

    return make_demo_run(tmp_path_factory.mktemp("run"), input_size=32)


@pytest.fixture(scope="session")
def face_path(good_faces) -> Path:
    return good_faces[0]


def jpeg(rgb: np.ndarray, quality: int = 95) -> bytes:
    b = io.BytesIO()
    Image.fromarray(rgb).save(b, "JPEG", quality=quality)
    return b.getvalue()


def group_photo(faces: list[Path], size: tuple[int, int] = (1024, 768), face_px: int = 260) -> np.ndarray:
    """Sample faces pasted on a grey canvas (the benchmark builds its photos the same way)."""
    w, h = size
    canvas = np.full((h, w, 3), 118, np.uint8)
    for i, p in enumerate(faces):
        f = np.asarray(Image.open(p).convert("RGB").resize((face_px, face_px), Image.BICUBIC))
        x = 40 + i * (face_px + 60)
        y = 80 + (i % 2) * 200
        canvas[y : y + face_px, x : x + face_px] = f
    return canvas


def close_up(face: Path, size: tuple[int, int] = (260, 280)) -> np.ndarray:
    """A sample face cut to brows-to-chin and cheek-to-cheek, then enlarged: a tight close-up whose photo
    ends inside the head (no hair, no outline), as many phone photos with real masks do."""
    f = np.asarray(Image.open(face).convert("RGB"))[45:185, 35:165]
    return np.asarray(Image.fromarray(f).resize(size, Image.BICUBIC))


def constant_mask_detector(run: Path, logit: float) -> None:
    """Write a mask detector into ``run`` that answers P(masked) = sigmoid(logit) for every face."""
    import torch

    from maskprivacy.layout import RunLayout
    from maskprivacy.models.mask_classifier import CHANNELS, MaskDetectorNet, save_mask_detector

    net = MaskDetectorNet().eval()
    lin = net.head[-1]
    with torch.no_grad():
        lin.weight.zero_()
        lin.bias.fill_(logit)
    info = {"input_size": 32, "cache_size": 40, "channels": list(CHANNELS), "threshold": 0.5}
    save_mask_detector(RunLayout.of(run).mask_detector, net, info)


@pytest.fixture(scope="session", name="constant_mask_detector")
def constant_mask_detector_fixture():
    """``constant_mask_detector(run, logit)``: a run's mask detector that gives every face one answer."""
    return constant_mask_detector


@pytest.fixture(scope="session", name="jpeg")
def jpeg_fixture():
    """``jpeg(rgb, quality=95) -> bytes``."""
    return jpeg


@pytest.fixture(scope="session", name="group_photo")
def group_photo_fixture():
    """``group_photo(faces, size, face_px) -> RGB array``: sample faces pasted on a grey canvas."""
    return group_photo


@pytest.fixture(scope="session", name="close_up")
def close_up_fixture():
    """``close_up(face, size) -> RGB array``: a sample face cut to a tight close-up."""
    return close_up


@pytest.fixture(scope="session", name="png_claiming")
def png_claiming_fixture():
    """``png_claiming(width, height) -> bytes``: a tiny PNG whose header claims that size."""
    return png_claiming


@pytest.fixture(scope="session", name="build_hostile_corpus")
def build_hostile_corpus_fixture():
    """``build_hostile_corpus(dst, good, sample_dir) -> {name: expected reason}``."""
    return build_hostile_corpus


@pytest.fixture(scope="session")
def realmask_root() -> Path:
    """Where realmask-dev is expected (it may be absent: callers skip)."""
    return REALMASK


# ---- a FAKE run folder (docs/ARCHITECTURE.md layout) with made-up predictions
# Nothing here is a result: labels are random, and the "attackers" are the truth with a known share of
# answers replaced by random ones. Every metric written is computed from those predictions, so tests can
# check the PVI and the report against values they can recompute.


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
        for task, names_ in CLASS_NAMES.items():
            pred = truth[task] if rng.random() >= flip else int(rng.integers(0, len(names_)))
            row[f"{task}_true"], row[f"{task}_pred"] = truth[task], pred
        row["age_true"], row["age_pred"] = age, round(max(0.0, age + rng.normal(0, age_noise)), 2)
        rows.append(row)
    return rows


def metrics_from_rows(rows: list[dict]) -> dict:
    """metrics.json content (docs/ARCHITECTURE.md) computed from prediction rows."""
    m: dict = {}
    for task, names in CLASS_NAMES.items():
        y = np.array([r[f"{task}_true"] for r in rows])
        p = np.array([r[f"{task}_pred"] for r in rows])
        conf = np.zeros((len(names), len(names)), int)
        np.add.at(conf, (y, p), 1)
        per = {names[k]: float(np.mean(p[y == k] == k)) for k in range(len(names)) if (y == k).any()}
        m[task] = {
            "accuracy": float(np.mean(y == p)),
            "balanced_accuracy": float(np.mean(list(per.values()))),
            "per_class": per,
            "confusion": conf.tolist(),
        }
    err = np.array([r["age_pred"] - r["age_true"] for r in rows], float)
    m["age"] = {"mae": float(np.abs(err).mean()), "rmse": float(np.sqrt((err**2).mean()))}
    cells: dict = {}
    for r in rows:
        cells.setdefault((r["sex_true"], r["race_true"], r["age_bucket_true"]), []).append(r)
    m["breakdown"] = [
        {
            "sex": SEX_NAMES[s],
            "race": RACE_NAMES[ra],
            "age_bucket": AGE_BUCKET_NAMES[b],
            "n": len(rs),
            "sex_acc": float(np.mean([x["sex_pred"] == x["sex_true"] for x in rs])),
            "race_acc": float(np.mean([x["race_pred"] == x["race_true"] for x in rs])),
            "age_bucket_acc": float(np.mean([x["age_bucket_pred"] == x["age_bucket_true"] for x in rs])),
            "age_mae": float(np.mean([abs(x["age_pred"] - x["age_true"]) for x in rs])),
        }
        for (s, ra, b), rs in sorted(cells.items())
    ]
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
DEFAULT_ATTACKERS = {
    ("cnn", "masked"): (0.25, 7.0),
    ("cnn", "unmasked"): (0.10, 5.0),
    ("dlib", "masked"): (0.35, 9.0),
    ("dlib", "unmasked"): (0.20, 6.0),
}


def make_fake_run(
    root: Path,
    n_train: int = 400,
    n_test: int = 300,
    seed: int = 0,
    attackers: dict = DEFAULT_ATTACKERS,
    splits: tuple[str, ...] = ("uniform",),
    figures: bool = True,
    confusion_png: bool = True,
) -> Path:
    """Write a fake run under ``root``; return it. cnn in train/<cond>_<split>, dlib in train/dlib_<cond>_<split>;
    each folder's metrics.json holds its attacker record."""
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
            record = AttackerRecord(name=attacker, family=attacker, trained_on=cond, split=split)
            write_metrics(d, AttackerMetrics(attacker=record, **metrics_from_rows(rows)))
            if confusion_png:
                for task in CLASS_NAMES:
                    (d / f"confusion_{task}.png").write_bytes(tiny_png((10, 20, 30)))
    if figures:
        (root / "figures").mkdir(exist_ok=True)
        (root / "figures" / "pipeline.png").write_bytes(tiny_png((200, 0, 0)))
        (root / "figures" / "distributions.png").write_bytes(tiny_png((0, 200, 0)))
    return root


@pytest.fixture(scope="session", name="make_fake_run")
def make_fake_run_fixture():
    """``make_fake_run(root, n_train, n_test, seed, attackers, figures, confusion_png) -> Path``."""
    return make_fake_run
