"""The results table is read from metrics.json files, and written into the docs between markers."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from maskprivacy.paper import PAPER_RESULTS
from maskprivacy.training.metrics_table import collect, format_table

REPO = Path(__file__).resolve().parents[4]


def _metrics(cond: str, split: str, sex: float, mae: float) -> dict:
    cls = lambda a: {"accuracy": a, "balanced_accuracy": a - 0.01}  # noqa: E731
    return {
        "condition": cond,
        "split": split,
        "approach": "multitask",
        "n_test": 100,
        "sex": cls(sex),
        "race": cls(0.8),
        "age_bucket": cls(0.6),
        "age": {"mae": mae, "rmse": mae + 2},
        "wall_s": {"cache": 70.0, "pretrain": 400.0, "finetune": 1000.0, "evaluate": 20.0},
        "commit": "abc1234",
        "machine": {"cpu_count": 2, "torch": "2.x"},
        "config": {"profile": "cpu"},
    }


def _fake_run(root: Path) -> Path:
    for cond, split, sex, mae in (
        ("masked", "uniform", 0.912, 7.5),
        ("masked", "random", 0.905, 6.81),
        ("unmasked", "uniform", 0.93, 5.9),
    ):
        d = root / "train" / f"{cond}_{split}"
        d.mkdir(parents=True)
        (d / "metrics.json").write_text(json.dumps(_metrics(cond, split, sex, mae)))
    return root


def test_table_reads_the_numbers(tmp_path):
    run = _fake_run(tmp_path / "RUN")
    rows = collect(run)
    assert [(r["condition"], r["split"]) for r in rows] == [
        ("masked", "uniform"),
        ("masked", "random"),
        ("unmasked", "uniform"),
    ]
    t = format_table(run)
    assert "| masked | multitask | 91.2% | 80.0% | 60.0% | 6.81 | 8.81 |" in t  # uniform accuracies, random-split age
    assert "commit: abc1234" in t
    paper = PAPER_RESULTS["masked_uniform"]  # the paper's row comes from paper.py, the one source
    assert (
        f"| paper, masked | per task | {100 * paper['sex_accuracy']:.2f}% | {100 * paper['race_accuracy']:.2f}% |" in t
    )


def test_script_updates_only_its_section(tmp_path):
    run = _fake_run(tmp_path / "RUN")
    spec = importlib.util.spec_from_file_location("results_table", REPO / "scripts" / "results_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    doc = tmp_path / "RESULTS.md"
    doc.write_text("# Results\n\nother section\n\n<!-- training:begin -->\nold\n<!-- training:end -->\n\ntail\n")
    assert mod.main([str(run), "--command", "maskprivacy train ...", "--update", str(doc)]) == 0
    text = doc.read_text()
    assert "other section" in text and "tail" in text and "old" not in text
    assert "91.2%" in text and "maskprivacy train ..." in text
    assert mod.main([str(tmp_path / "nothing")]) == 2
