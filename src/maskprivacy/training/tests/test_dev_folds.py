"""realmask-dev's person folds, the sets each fold model learns from, AdaBN, and the out-of-fold guard."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from maskprivacy.layout import RunLayout
from maskprivacy.training.adabn import adapt_batchnorm
from maskprivacy.training.dev_folds import check_dev_folder, combine, dev_folds, person_folds
from maskprivacy.training.real_photos import RealPhotos

CFG = {"seed": 3, "real": {"val_fraction": 0.15, "dev_folds": 5}}


def _photos(persons: list[str | None], clusters: np.ndarray, rng: np.random.Generator) -> RealPhotos:
    n = len(persons)
    return RealPhotos(
        root=Path("x"),
        crops=np.zeros((n, 2, 2, 3), np.uint8),
        paths=[f"images/{p or 'web'}_{i}.jpg" for i, p in enumerate(persons)],
        sex=rng.integers(-1, 2, size=n),
        race=rng.integers(-1, 5, size=n),
        person=list(persons),
        cluster=np.asarray(clusters, np.int64),
        meta={},
        beyond_frame=rng.random(n),
    )


def _dev(rng: np.random.Generator, n_people: int, n_photos: int) -> RealPhotos:
    who = [f"p{int(i):03d}" for i in rng.integers(0, n_people, size=n_photos)]
    return _photos(who, np.zeros(n_photos, np.int64), rng)


def test_folds_never_share_a_person_over_many_random_sets() -> None:
    """Property (a randomized loop, no hypothesis here): every person sits in exactly one fold, every
    fold has someone, whatever the people, their photo counts, k and the seed."""
    for seed in range(300):
        rng = np.random.default_rng(seed)
        k = int(rng.integers(2, 8))
        dev = _dev(rng, int(rng.integers(k, 60)), int(rng.integers(60, 400)))
        if len(set(dev.person)) < k:
            continue
        folds = person_folds(dev, k, seed)
        assert set(folds.tolist()) == set(range(k)), seed
        fold_of: dict[str, int] = {}
        for p, f in zip(dev.person, folds):
            assert fold_of.setdefault(p, int(f)) == f, (seed, p)


def test_each_fold_model_learns_without_its_people_and_clusters_never_straddle() -> None:
    """For every fold: the fold's people are absent from the set; every other dev person is in the train
    part, none in validation; realmask-train's near-duplicate clusters are whole on one side; dev people
    and web clusters never share a group id."""
    for seed in range(40):
        rng = np.random.default_rng(1000 + seed)
        n_web = int(rng.integers(50, 300))
        web = _photos([None] * n_web, rng.integers(0, max(2, n_web // 3), size=n_web), rng)
        dev = _dev(rng, 20, 120)
        k = 5
        folds = person_folds(dev, k, seed)
        for f in range(k):
            photos, parts = combine(web, dev, np.flatnonzero(folds != f), CFG)
            assert len(photos) == len(parts) == n_web + int((folds != f).sum())
            held_out = {p for p, g in zip(dev.person, folds) if g == f}
            seen = {p for p in photos.person if p}
            assert not held_out & seen
            assert all(t == "train" for p, t in zip(photos.person, parts) if p)
            for c in np.unique(photos.cluster[:n_web]):
                assert len(set(parts[:n_web][web.cluster == c])) == 1
            assert not set(photos.cluster[:n_web]) & set(photos.cluster[n_web:])
            by_person: dict[str, int] = {}
            for p, c in zip(photos.person[n_web:], photos.cluster[n_web:]):
                assert by_person.setdefault(p, int(c)) == c  # one group per person


def test_names_without_person_ids_cannot_be_folded() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="start with its person's id"):
        person_folds(_photos(["p001", None, "p002"], np.zeros(3), rng), 2, 0)


@pytest.mark.parametrize("k", [1, -2])
def test_a_single_fold_is_refused(k: int) -> None:
    with pytest.raises(ValueError, match="at least 2 folds"):
        dev_folds({"real": {"dev_folds": k}})
    assert dev_folds({"real": {}}) == 0


def test_adabn_known_answer_statistics_change_weights_do_not() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 1, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(16, 2))
    with torch.no_grad():
        net[0].weight.copy_(torch.eye(4, 3)[:, :, None, None])  # channel c (< 3) passes input channel c through
    weights = {k: v.clone() for k, v in net.state_dict().items() if "running" not in k and "num_batches" not in k}
    x = torch.randn(64, 3, 2, 2) * torch.tensor([1.0, 2.0, 3.0])[None, :, None, None] + 5.0
    assert adapt_batchnorm(net, [x[:32], x[32:]]) == 1
    bn = net[1]
    want = x.mean(dim=(0, 2, 3))
    assert torch.allclose(bn.running_mean[:3], want, atol=1e-5)  # a plain average of the batches' means
    assert not net.training and bn.momentum == 0.1
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in weights.items())
    assert adapt_batchnorm(nn.Sequential(nn.Linear(2, 2)), [torch.zeros(1, 2)]) == 0  # nothing to adapt
    with pytest.raises(ValueError, match="at least one photo"):
        adapt_batchnorm(net, [])


def test_a_fold_model_that_saw_its_own_people_is_refused(tmp_path: Path) -> None:
    from maskprivacy.analysis.dev_cv import out_of_fold_rows

    rng = np.random.default_rng(0)
    dev = _photos(["p001", "p002", "p001", "p003"], np.zeros(4), rng)
    folds = {
        "k": 2,
        "photos": [{"path": p, "person": w, "fold": int(w == "p002")} for p, w in zip(dev.paths, dev.person)],
    }
    layout = RunLayout(tmp_path)
    layout.folds_json.parent.mkdir(parents=True)
    layout.folds_json.write_text(json.dumps(folds))
    m = layout.real_fold(0).model
    m.parent.mkdir(parents=True)
    m.with_suffix(".json").write_text(json.dumps({"real_photos": {"people": ["p002", "p003"]}}))  # p003: fold 0
    with pytest.raises(ValueError, match=r"trained on people of its own fold \(p003\)"):
        out_of_fold_rows(tmp_path, dev)


def test_a_dev_folder_the_folds_cannot_cut_stops_before_any_work(tmp_path: Path) -> None:
    def write(rows: list[str]) -> None:
        (tmp_path / "labels.csv").write_text("path,sex,race,masked\n" + "\n".join(rows) + "\n")

    write(["images/p001_a.jpg,0,3,1", "images/selfie.jpg,1,3,1", "images/bare.jpg,1,3,0"])
    with pytest.raises(ValueError, match=r"1 masked photos without a pNNN_ person id \(e.g. images/selfie.jpg\)"):
        check_dev_folder(tmp_path, 2)
    write(["images/p001_a.jpg,0,3,1", "images/p001_b.jpg,0,3,1", "images/p002_a.jpg,1,3,0"])
    with pytest.raises(ValueError, match="1 people for 2 folds.*--set real.dev_folds=0"):
        check_dev_folder(tmp_path, 2)
    check_dev_folder(tmp_path, 0)  # folds off: nothing to check
    write(["images/p001_a.jpg,0,3,1", "images/p002_a.jpg,1,3,1"])
    check_dev_folder(tmp_path, 2)


def test_adabn_on_a_bundle_is_recorded_and_applied_once(tmp_path: Path) -> None:
    from maskprivacy.models.factory import create_model
    from maskprivacy.models.predictor import Predictor
    from maskprivacy.training.adabn import ensure_adapted

    torch.manual_seed(0)
    pred = Predictor(create_model("resnet18", ["sex", "race"], stem="imagenet", pretrained=False),
                     arch="resnet18", stem="imagenet", input_size=32, tta=True, info={"cache_size": 32})  # fmt: skip
    target = pred.save(tmp_path / "model.pt")
    target.with_suffix(".json").write_text(json.dumps({"cache_size": 32}))
    faces = np.random.default_rng(0).integers(0, 255, size=(12, 32, 32, 3), dtype=np.uint8)
    done = ensure_adapted(target, faces, "test photos")
    assert done["photos"] == 12 and done["layers"] > 0
    after = Predictor.load(target)
    assert after.info["adabn"] == done == json.loads(target.with_suffix(".json").read_text())["adabn"]
    bn = next(m for m in after.model.modules() if isinstance(m, nn.BatchNorm2d))
    assert not torch.allclose(bn.running_mean, torch.zeros_like(bn.running_mean))  # statistics of the photos
    stamp = target.stat().st_mtime_ns
    assert ensure_adapted(target, faces[:3], "again") == done and target.stat().st_mtime_ns == stamp  # once only
