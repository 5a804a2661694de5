"""The mask-robust attacker at smoke scale: same test faces as the masked attacker, its own folder."""

from __future__ import annotations

import csv
import json

import numpy as np
import torch

from maskprivacy.models.predictor import Predictor, load_run_predictors
from maskprivacy.training.cache import ensure_points, load_cache
from maskprivacy.training.config import apply_overrides, load_profile
from maskprivacy.training.pipeline import cache_path, run_training
from maskprivacy.training.robust import RandomMasker, distribution


def _smoke(*extra: str) -> dict:
    return apply_overrides(load_profile("smoke"), ["data.limit=150", "trainer.threads=2", *extra])


def _names(path):
    with path.open() as f:
        return [r["name"] for r in csv.DictReader(f)]


def test_robust_attacker_trains_from_the_masked_one_and_is_tested_on_mask_a(sample_dir, sample_mask_run, tmp_path):
    run = tmp_path / "RUN"
    cfg = _smoke()
    res = run_training(cfg, sample_dir, sample_mask_run, run, conditions=("robust",), splits=("uniform",))
    d = run / "train" / "robust_uniform"
    for f in ("metrics.json", "predictions.csv", "model.pt", "confusion_sex.png", "confusion_race.png"):
        assert (d / f).is_file(), f
    # the masked attacker it starts from was trained first, and both are tested on the same faces
    assert (run / "train" / "masked_uniform" / "model.pt").is_file()
    m = json.loads((d / "metrics.json").read_text())
    assert m["attacker"]["trained_on"] == "robust" and m["attacker"]["test_faces"] == "masked"
    assert m["attacker"]["name"] == "cnn_robust"
    assert res["robust"]["uniform"]["multitask"]["n_test"] == m["n_test"]
    masked_pred = run / "train" / "masked_uniform" / "predictions.csv"
    if not masked_pred.exists():  # only the model was needed; evaluate it to compare names
        from maskprivacy.training.pipeline import evaluate_attacker as evaluate
        from maskprivacy.training.pipeline import resolve

        evaluate(resolve(cfg), run, "masked", "uniform")
    assert _names(d / "predictions.csv") == _names(masked_pred)
    p = load_run_predictors(run)[("robust", "uniform")]
    assert p.masked and p.info["condition"] == "robust" and p.info["init"] == "masked"
    assert p.info["mask_distribution"]["paper_prob"] == 0.25 and "kn95" in p.info["mask_distribution"]["styles"]
    # warm start: the robust model is not the masked one, but was initialised from it
    q = Predictor.load(run / "train" / "masked_uniform" / "model.pt")
    diff = [
        (a - b).abs().max().item()
        for a, b in zip(p.model.state_dict().values(), q.model.state_dict().values())
        if a.dtype.is_floating_point
    ]
    assert max(diff) > 0


def test_cache_points_and_the_masker(sample_dir, sample_mask_run, tmp_path):
    run = tmp_path / "RUN"
    cfg = _smoke("data.limit=40")
    from maskprivacy.training.pipeline import prepare_cache, resolve

    cfg = resolve(cfg)
    prepare_cache(cfg, sample_dir, sample_mask_run, run, ("unmasked",))
    udir = cache_path(run, cfg, "unmasked")
    c = load_cache(udir)
    size = int(cfg["cache"]["size"])
    assert c.points is not None and c.points.shape == (len(c), 68, 2) and c.points.dtype == np.float32
    # the mouth (point 62) of an aligned UTKFace crop sits in the lower middle of the cached image
    assert (np.abs(c.points[:, 62, 0] - size / 2) < size * 0.2).mean() > 0.9
    assert ((c.points[:, 62, 1] > size * 0.55) & (c.points[:, 62, 1] < size * 0.9)).mean() > 0.9
    # a cache from before points.npy gets it back from the masking run, identical
    saved = np.load(udir / "points.npy")
    (udir / "points.npy").unlink()
    assert np.array_equal(ensure_points(udir), saved)
    # the masker: deterministic per (seed, part, epoch, batch), different across epochs
    images = torch.from_numpy(np.ascontiguousarray(c.images))
    mk = RandomMasker(images, saved, distribution(cfg), seed=1)
    rows = torch.arange(8)
    x = images[rows].permute(0, 3, 1, 2)
    a = mk(rows, x, "train", 0, 0)
    assert a.shape == x.shape and a.dtype == torch.uint8
    assert torch.equal(a, mk(rows, x, "train", 0, 0))
    assert not torch.equal(a, mk(rows, x, "train", 1, 0))
    assert (a != x).any(dim=1).float().mean() > 0.1  # masks were drawn
    # faces drawn to wear the paper's mask take it from the masked cache, pixel for pixel
    prepare_cache(cfg, sample_dir, sample_mask_run, run, ("masked",))
    paper = load_cache(cache_path(run, cfg, "masked")).images
    mk = RandomMasker(images, saved, distribution(apply_overrides(cfg, ["robust.masks.paper_prob=1.0"])), 1, paper)
    assert torch.equal(mk(rows, x, "train", 0, 0), torch.from_numpy(np.asarray(paper[:8])).permute(0, 3, 1, 2))
