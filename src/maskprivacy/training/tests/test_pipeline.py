"""The whole training pipeline at smoke scale: contract files, resume, the gpu profile on CPU, DDP."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from maskprivacy.models.predictor import Predictor, load_run_predictors
from maskprivacy.training.config import apply_overrides, cpu_native_bf16, load_profile
from maskprivacy.training.metrics_table import format_table
from maskprivacy.training.pipeline import run_training
from maskprivacy.training.splits import read_split

CONTRACT_KEYS = {
    "attacker",
    "sex",
    "race",
    "age_bucket",
    "age",
    "breakdown",
    "n_test",
    "config",
    "commit",
    "machine",
    "wall_s",
}


def _smoke(*extra: str) -> dict:
    return apply_overrides(load_profile("smoke"), ["data.limit=150", "trainer.threads=2", *extra])


def test_smoke_pipeline_writes_the_contract_and_resumes(sample_dir, sample_mask_run, tmp_path):
    run = tmp_path / "RUN"
    res = run_training(
        _smoke("finetune.approach=both"), sample_dir, sample_mask_run, run, conditions=("masked",), splits=("uniform",)
    )
    d = run / "train" / "masked_uniform"
    m = json.loads((d / "metrics.json").read_text())
    assert CONTRACT_KEYS <= set(m)
    assert m["attacker"] == {
        "name": "cnn",
        "family": "cnn",
        "trained_on": "masked",
        "test_faces": "masked",
        "split": "uniform",
        "approach": "multitask",
    }
    assert set(m["wall_s"]) >= {"cache", "pretrain", "finetune", "evaluate"}
    assert m["config"]["profile"] == "smoke" and m["machine"]["cpu_count"] >= 1
    for t, k in (("sex", 2), ("race", 5), ("age_bucket", 7)):
        assert 0 <= m[t]["accuracy"] <= 1 and np.asarray(m[t]["confusion"]).shape == (k, k)
        assert np.asarray(m[t]["confusion"]).sum() == m["n_test"]
        assert (d / f"confusion_{t}.png").stat().st_size > 1000
    assert m["age"]["mae"] > 0 and m["age"]["rmse"] >= m["age"]["mae"]
    assert sum(b["n"] for b in m["breakdown"]) == m["n_test"]
    # the test faces are the split's test faces, and pretraining never saw them
    split = read_split(run / "splits" / "uniform.csv")
    lines = (d / "predictions.csv").read_text().splitlines()
    names = [ln.split(",")[0] for ln in lines[1:]]
    assert len(names) == m["n_test"] and all(split[n] == "test" for n in names)
    assert json.loads((run / "pretrain" / "masked" / "pretrain.json").read_text())["n_images"] < sum(
        1 for v in split.values() if v == "train"
    )
    # one network per task as well (the paper), in per_task/
    pt = json.loads((d / "per_task" / "metrics.json").read_text())
    assert pt["attacker"]["name"] == "cnn_per_task" and pt["attacker"]["approach"] == "per_task"
    assert pt["n_test"] == m["n_test"]
    assert sorted(p.name for p in (d / "per_task").glob("model_*.pt")) == [
        "model_age.pt",
        "model_age_bucket.pt",
        "model_race.pt",
        "model_sex.pt",
    ]
    assert res["masked"]["uniform"]["multitask"]["n_test"] == m["n_test"]
    # the bundle reproduces the evaluation from raw 200-px images
    p = load_run_predictors(run)[("masked", "uniform")]
    assert p.masked and p.tasks == ("sex", "race", "age", "age_bucket")
    assert p.info["cache_size"] == _smoke()["cache"]["size"] == 40  # readers outside the run resize as trained

    # a second run skips every completed stage
    def stamps() -> dict:
        """Every file of the run but train_config.yaml (the config of the latest call, recorded on each)."""
        return {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file() and p.name != "train_config.yaml"}

    before = stamps()
    run_training(
        _smoke("finetune.approach=both"), sample_dir, sample_mask_run, run, conditions=("masked",), splits=("uniform",)
    )
    # nothing of the run was written again: no cache, split, checkpoint, model or metrics
    assert stamps() == before
    assert "masked | uniform | multitask" in format_table(run)
    # a fit interrupted before its bundle was written resumes from checkpoints/last.ckpt
    (d / "model.pt").unlink()
    (d / "metrics.json").unlink()
    run_training(
        _smoke("finetune.approach=both"), sample_dir, sample_mask_run, run, conditions=("masked",), splits=("uniform",)
    )
    info = json.loads((d / "model.json").read_text())
    assert info["resumed"] and info["epochs_run"] == 2 and (d / "metrics.json").is_file()
    # resuming with other settings is refused
    with pytest.raises(ValueError, match="other settings"):
        run_training(
            _smoke("finetune.approach=both", "finetune.lr=0.1"),
            sample_dir,
            sample_mask_run,
            run,
            conditions=("masked",),
            splits=("uniform",),
        )


def test_predictor_matches_evaluation_on_original_images(sample_dir, sample_mask_run, tmp_path):
    """Predictor on the unmasked 200-px JPEGs ~ the evaluation on the cache (same preprocessing).

    Also: one model shared by both splits (trained on faces in the train part of both, never on a
    test face of either), with progressive resizing.
    """
    from maskprivacy.data.imageio import decode_image

    run = tmp_path / "RUN"
    cfg = _smoke(
        "finetune.approach=multitask",
        "pretrain.enabled=false",
        "finetune.epochs=2",
        "finetune.shared_splits=true",
        "finetune.sizes=[24, 32]",
    )
    run_training(cfg, sample_dir, sample_mask_run, run, conditions=("unmasked",), splits=("uniform", "random"))
    shared = json.loads((run / "train" / "unmasked_shared" / "model.json").read_text())
    uni, rnd = read_split(run / "splits" / "uniform.csv"), read_split(run / "splits" / "random.csv")
    assert shared["n_train"] == sum(1 for n in uni if uni[n] == "train" and rnd.get(n) == "train")
    for split in ("uniform", "random"):
        info = json.loads((run / "train" / f"unmasked_{split}" / "model.json").read_text())
        assert info["shared_splits"] and info["split"] == split and info["n_train"] == shared["n_train"]
    assert set(load_run_predictors(run)) == {("unmasked", "uniform"), ("unmasked", "random")}
    d = run / "train" / "unmasked_random"
    lines = (d / "predictions.csv").read_text().splitlines()
    head = lines[0].split(",")
    rows = [dict(zip(head, ln.split(","))) for ln in lines[1:21]]
    p = Predictor.load(d / "model.pt")
    assert not p.masked
    out = p.predict(np.stack([decode_image((sample_dir / r["name"]).read_bytes()) for r in rows]))
    cached = np.array([float(r["sex_prob_1"]) for r in rows])
    assert np.abs(out["sex"][:, 1] - cached).mean() < 0.05
    ages = np.array([float(r["age_pred"]) for r in rows])
    assert np.abs(out["age"] - ages).mean() < 3.0


def test_gpu_profile_runs_on_cpu_at_tiny_scale(sample_dir, sample_mask_run, tmp_path):
    cfg = apply_overrides(
        load_profile("gpu"),
        [
            "data.limit=60",
            "cache.size=40",
            "model.input_size=32",
            "trainer.accelerator=cpu",
            "trainer.progress=false",
            "pretrain.epochs=1",
            "pretrain.batch_size=16",
            "pretrain.memory_bank=64",
            "pretrain.warmup_epochs=0",
            "pretrain.limit_train_batches=1",
            "finetune.epochs=1",
            "finetune.batch_size=16",
            "finetune.limit_train_batches=1",
            "finetune.approach=multitask",
            "eval.batch_size=64",
        ],
    )
    run = tmp_path / "RUN"
    run_training(cfg, sample_dir, sample_mask_run, run, conditions=("masked",), splits=("uniform",))
    m = json.loads((run / "train" / "masked_uniform" / "metrics.json").read_text())
    expected = "bf16-mixed" if cpu_native_bf16() else "32"  # precision: auto on a CPU
    assert m["config"]["model"]["arch"] == "resnet50" and m["config"]["trainer"]["precision"] == expected
    assert Predictor.load(run / "train" / "masked_uniform" / "model.pt").arch == "resnet50"


@pytest.mark.slow
def test_ddp_two_cpu_processes(sample_dir, sample_mask_run, tmp_path):
    """strategy ddp, gloo, 2 CPU processes: Lightning re-launches the command; rank 0 writes the results."""
    run = tmp_path / "RUN"
    cmd = [
        sys.executable,
        "-m",
        "maskprivacy.cli",
        "train",
        "--data",
        str(sample_dir),
        "--mask-run",
        str(sample_mask_run),
        "--out",
        str(run),
        "--profile",
        "smoke",
        "--split",
        "uniform",
        "--condition",
        "masked",
        "--limit",
        "64",
        "--accelerator",
        "cpu",
        "--devices",
        "2",
        "--strategy",
        "ddp",
        "--threads",
        "1",
        "--quiet",
        "--set",
        "finetune.approach=multitask",
        "--set",
        "finetune.epochs=1",
        "--set",
        "pretrain.batch_size=16",
        "--set",
        "finetune.batch_size=16",
        "--set",
        "pretrain.memory_bank=64",
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for k in ("LOCAL_RANK", "NODE_RANK", "RANK", "WORLD_SIZE"):
        env.pop(k, None)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-3000:]
    assert "GLOBAL_RANK: 1" in log or "Initializing distributed: GLOBAL_RANK: 0, MEMBER: 1/2" in log, log[-3000:]
    assert "distributed_backend=gloo" in log, log[-3000:]
    m = json.loads((run / "train" / "masked_uniform" / "metrics.json").read_text())
    assert m["config"]["trainer"]["strategy"] == "ddp" and m["config"]["trainer"]["devices"] == 2
    assert log.count("[result masked/uniform multitask]") == 1  # only rank 0 evaluates and prints


@pytest.mark.parametrize("steps", [1, 3, 4, 5, 40])
def test_the_learning_rate_schedule_survives_any_number_of_steps(steps):
    """torch's OneCycleLR divides by zero at exactly 4 steps: tiny data sets get a constant rate."""
    import types

    import torch

    from maskprivacy.training.finetune import FinetuneModule

    m = FinetuneModule("resnet18", "imagenet", ["sex"], 32, [0.0, 0.0, 1.0, 1.0], 0.01, 0.0, 1)
    m.trainer = types.SimpleNamespace(estimated_stepping_batches=steps)  # type: ignore[assignment]
    conf = m.configure_optimizers()
    opt, sched = conf["optimizer"], conf["lr_scheduler"]["scheduler"]
    lrs = []
    for _ in range(steps):
        opt.step()
        sched.step()
        lrs.append(max(g["lr"] for g in opt.param_groups))
    assert all(np.isfinite(lrs)) and max(lrs) <= 0.01 + 1e-12
    assert isinstance(sched, torch.optim.lr_scheduler.OneCycleLR) == (steps > 4)
