"""The report's "What would protect me?" section and its frontier figure, from an occlusions block."""

from __future__ import annotations

from pathlib import Path

from maskprivacy.report.frontier import frontier_figure, frontier_points
from maskprivacy.report.protection import answer_sentence, protection_blocks
from maskprivacy.report.render import to_markdown


def _cell(pvi: float, reduction: float | None) -> dict:
    acc = {"accuracy": 0.8, "ci": [0.7, 0.9]}
    return {
        "sex": acc,
        "race": acc,
        "age_bucket": acc,
        "age": {"mae": 7.5, "ci": [7.0, 8.0]},
        "pvi": pvi,
        "pvi_ci": [pvi - 0.05, pvi + 0.05],
        "reduction": reduction,
        "reduction_ci": None if reduction is None else [reduction - 0.1, reduction + 0.1],
    }


def _block(reductions: dict[str, tuple[float | None, float | None]], hidden: dict[str, float]) -> dict:
    """occlusions.json's shape: per row the naive and adaptive reductions and the area hidden."""
    rows = {}
    for name, (naive, adaptive) in reductions.items():
        rows[name] = {
            "description": f"{name} for the test",
            "hidden": hidden[name],
            "hidden_ci": [hidden[name], hidden[name]],
            "attackers": {
                "naive_paper": _cell(0.3, naive),
                "naive": _cell(0.3, naive),
                "adaptive": _cell(0.5, adaptive),
            },
        }
    ranked = [n for n in rows if n != "bare" and rows[n]["attackers"]["adaptive"]["reduction"] is not None]
    best = max(ranked, key=lambda n: rows[n]["attackers"]["adaptive"]["reduction"]) if ranked else None
    words = {"naive_paper": "paper-style", "naive": "strongest naive", "adaptive": "trained on occluders"}
    return {
        "split": "uniform",
        "n_test": 40,
        "n_test_split": 60,
        "n_boot": 100,
        "ci_level": 0.95,
        "attackers": {r: {"attacker": f"cnn_{r}", "words": w} for r, w in words.items()},
        "reference": {"attacker": "facenet", "pvi": 0.6 if best else 0.0},
        "occlusions": rows,
        "best": None
        if best is None
        else {
            "occlusion": best,
            "attacker": "cnn_adaptive",
            "reduction": rows[best]["attackers"]["adaptive"]["reduction"],
            "reduction_ci": rows[best]["attackers"]["adaptive"]["reduction_ci"],
            "hidden": rows[best]["hidden"],
        },
    }


REDUCTIONS = {"bare": (0.02, 0.01), "mask": (0.5, 0.2), "sunglasses-round-dark": (0.6, 0.05), "hood": (0.7, 0.41)}
HIDDEN = {"bare": 0.0, "mask": 0.55, "sunglasses-round-dark": 0.2, "hood": 0.3}


def test_the_sentence_names_the_best_against_the_adaptive_attacker_from_the_figures():
    occ = _block(REDUCTIONS, HIDDEN)
    s = answer_sentence(occ)
    # hood protects best against the adaptive attacker (0.41), though sunglasses looked best to the naive one
    assert "hood protects best" in s and "41.0%" in s and "30% of the face" in s
    assert "naive attacker made it look like 70.0%" in s and "paper's mask alone cuts it by 20.0%" in s
    occ["best"]["reduction"] = 0.123
    assert "12.3%" in answer_sentence(occ)


def test_frontier_points_leave_out_bare_and_mark_both_attackers():
    pts = frontier_points(_block(REDUCTIONS, HIDDEN))
    assert {n for n, _, _ in pts["adaptive"]} == {"mask", "sunglasses-round-dark", "hood"}
    assert ("hood", 0.3, 0.7) in pts["naive"] and ("hood", 0.3, 0.41) in pts["adaptive"]


def test_section_renders_table_sentence_and_figure(tmp_path: Path):
    occ = _block(REDUCTIONS, HIDDEN)
    fig = frontier_figure(occ, tmp_path / "figures" / "occlusions.png")
    assert fig.stat().st_size > 5000
    md = to_markdown(protection_blocks(tmp_path, {"occlusions": occ}), tmp_path)
    assert answer_sentence(occ) in md
    assert "| hood | 30% | adaptive |" in md and "| sunglasses-round-dark | 20% | naive (strongest) |" in md
    assert md.index("| hood |") < md.index("| mask |") < md.index("| bare |")  # best protection first, bare last
    assert "occlusions.png" in md


def test_nothing_to_reduce_is_said_and_drawn(tmp_path: Path):
    occ = _block({k: (None, None) for k in REDUCTIONS}, HIDDEN)
    assert "no PVI to reduce" in answer_sentence(occ)
    assert frontier_figure(occ, tmp_path / "f.png").is_file()
    md = to_markdown(protection_blocks(tmp_path, {"occlusions": occ}), tmp_path)
    assert "undefined" in md
    assert "not run" in to_markdown(protection_blocks(tmp_path, {}), tmp_path)
