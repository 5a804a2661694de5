"""Real masked photos as training data: labels with blanks, grouping, cuts that keep people whole."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from maskprivacy.data.photo_labels import read_labels_strict
from maskprivacy.training.real_photos import (
    build_real_photos,
    group_folds,
    group_ids,
    group_parts,
    load_real_photos,
    near_duplicate_clusters,
)
from maskprivacy.training.stage_real import RealRowsKeepTheirMasks


def _write_labels(folder: Path, rows: list[dict[str, str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "labels.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, ["path", "sex", "race", "masked"])
        w.writeheader()
        w.writerows(rows)


def test_a_train_folder_without_labels_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="has no labels.csv"):
        read_labels_strict(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such folder"):
        read_labels_strict(tmp_path / "missing")


def test_unknown_codes_stop_training_with_the_lines_to_fix(tmp_path: Path) -> None:
    _write_labels(
        tmp_path,
        [
            {"path": "a.jpg", "sex": "1", "race": "2", "masked": "1"},
            {"path": "b.jpg", "sex": "7", "race": "", "masked": "1"},
            {"path": "c.jpg", "sex": "", "race": "White", "masked": "1"},
        ],
    )
    with pytest.raises(ValueError, match=r"2 row\(s\).*line 3: sex must be one of 0..1.*line 4: race must be a number"):
        read_labels_strict(tmp_path)


def test_blanks_are_unknown_not_a_class(tmp_path: Path) -> None:
    _write_labels(tmp_path, [{"path": "a.jpg", "sex": "", "race": "", "masked": "1"}])
    (row,) = read_labels_strict(tmp_path)
    assert row.sex is None and row.race is None and row.masked is True


@pytest.mark.parametrize("seed", range(5))
def test_person_folds_never_share_a_person(seed: int) -> None:
    rng = np.random.default_rng(seed)
    persons = [f"p{int(i):03d}" for i in rng.integers(0, 40, size=300)]
    groups = group_ids(persons, np.zeros(len(persons), np.int64))
    folds = group_folds(groups, k=5, seed=seed)
    assert set(folds) == set(range(5))
    for p in set(persons):
        assert len({folds[i] for i, q in enumerate(persons) if q == p}) == 1


def test_too_few_people_for_the_folds_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot fill 5 folds"):
        group_folds(np.array([0, 0, 1, 2]), k=5, seed=0)


@pytest.mark.parametrize("seed", range(5))
def test_clusters_never_straddle_train_and_validation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    clusters = rng.integers(0, 60, size=500)
    parts = group_parts(clusters, 0.15, seed)
    for c in np.unique(clusters):
        assert len(set(parts[clusters == c])) == 1
    share = float((parts == "val").mean())
    assert 0.05 < share <= 0.15


def test_near_duplicates_are_clustered_and_chains_stay_together() -> None:
    base = np.zeros((5, 128))
    base[:, 0] = [0.0, 0.1, 0.2, 5.0, 9.0]  # 0-1 and 1-2 within 0.15 (a chain); 3 and 4 far apart
    labels = near_duplicate_clusters(base, threshold=0.15)
    assert labels[0] == labels[1] == labels[2]
    assert len({labels[0], labels[3], labels[4]}) == 3


def test_named_people_group_by_person_not_by_descriptor() -> None:
    ids = group_ids(["p001", "p002", "p001"], np.array([0, 0, 1]))
    assert ids[0] == ids[2] != ids[1]
    assert list(group_ids([None, None], np.array([4, 4]))) == [4, 4]


def test_only_the_utkface_rows_get_a_drawn_mask() -> None:
    calls = []

    def masker(rows, x, *args):
        calls.append(rows.tolist())
        return torch.full_like(x, 7)

    keep = RealRowsKeepTheirMasks(masker, n_utk=10)
    x = torch.zeros(4, 3, 2, 2, dtype=torch.uint8)
    out = keep(torch.tensor([1, 12, 3, 15]), x, "train", 0, 0)
    assert calls == [[1, 3]]
    assert out[:, 0, 0, 0].tolist() == [7, 0, 7, 0]
    assert keep(torch.tensor([11, 12]), x[:2], "train", 0, 0).sum() == 0  # real photos only: untouched


def test_build_reports_every_photo_and_keeps_the_labels(tmp_path: Path, realmask_dir: Path) -> None:
    with (realmask_dir / "labels.csv").open() as fh:
        src = [r for r in csv.DictReader(fh) if r["masked"] == "1"][:3]
    folder = tmp_path / "photos"
    rows = []
    for i, r in enumerate(src):
        (folder / "images").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(realmask_dir / r["path"], folder / "images" / f"p00{i}_m.jpg")
        rows.append({"path": f"images/p00{i}_m.jpg", "sex": r["sex"], "race": "", "masked": "1"})
    (folder / "images" / "broken.jpg").write_bytes(b"not an image")
    rows.append({"path": "images/broken.jpg", "sex": "1", "race": "2", "masked": "1"})
    rows.append({"path": "images/p000_m.jpg", "sex": "0", "race": "", "masked": "0"})  # a bare photo: left out
    _write_labels(folder, rows)
    out = build_real_photos(folder, tmp_path / "real", workers=1, progress=False)
    photos = load_real_photos(out)
    with (out / "report.csv").open() as fh:
        status = {(r["path"], r["status"]) for r in csv.DictReader(fh)}
    assert ("images/broken.jpg", "unreadable") in status
    assert ("images/p000_m.jpg", "not_masked") in status
    assert photos.meta["listed"] == 5 and photos.meta["status"]["unreadable"] == 1
    assert len(photos) == photos.meta["status"].get("ok", 0) >= 2
    assert photos.crops.shape[1:] == (200, 200, 3)
    assert set(photos.race.tolist()) == {-1}
    assert all(p.startswith("p00") for p in photos.person)
    assert photos.resized(72).shape[1:] == (72, 72, 3)
    assert photos.beyond_frame is not None and len(photos.beyond_frame) == len(photos)  # how tight each photo is
    assert ((photos.beyond_frame >= 0) & (photos.beyond_frame <= 1)).all()


def test_unknown_labels_add_no_loss_known_answer() -> None:
    """Rows with label -1 are left out of that task's loss: the loss equals the one over known rows only,
    and a task with no known label in the batch adds nothing (no NaN)."""
    import torch.nn.functional as F

    from maskprivacy.models.factory import age_to_target
    from maskprivacy.training.finetune import FinetuneModule

    m = FinetuneModule("resnet18", "imagenet", ["sex", "race", "age"], 32, [0.0, 0.0, 1.0, 1.0], 0.01, 0.0, 1,
                       label_smoothing=0.0, age_loss="l1")  # fmt: skip
    out = {
        "sex": torch.tensor([[2.0, 0.0], [0.0, 1.0], [5.0, -5.0]]),
        "race": torch.tensor([[1.0, 0.0, 0.0, 0.0, 0.0]] * 3),
        "age": torch.tensor([0.0, 0.5, -0.5]),
    }
    y = {"sex": torch.tensor([1, -1, 0]), "race": torch.tensor([-1, -1, -1]), "age": torch.tensor([60, -1, -1])}
    total, parts = m._losses(out, y)
    want_sex = F.cross_entropy(out["sex"][[0, 2]], torch.tensor([1, 0]))
    assert set(parts) == {"sex", "age"}  # race: no known label in this batch
    assert torch.isclose(parts["sex"], want_sex)
    assert torch.isclose(parts["age"], (out["age"][:1] - age_to_target(torch.tensor([60]))).abs().mean())
    assert torch.isclose(total, want_sex + parts["age"])
    assert torch.isfinite(total)
    none, parts = m._losses(out, {k: torch.full_like(v, -1) for k, v in y.items()})
    assert parts == {} and float(none) == 0.0
