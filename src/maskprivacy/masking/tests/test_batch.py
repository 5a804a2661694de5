import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from maskprivacy.cli import main
from maskprivacy.masking.batch import MaskConfig, run_masking
from maskprivacy.masking.mask_run import load_report


def _digest(out: Path) -> dict[str, str]:
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name not in ("summary.json", ".journal.jsonl"))
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_hostile_corpus_each_file_gets_its_reason(hostile_corpus, tmp_path, capsys):
    corpus, expected = hostile_corpus
    out = tmp_path / "out"
    code = main(["mask", "--data", str(corpus), "--out", str(out), "--workers", "2", "--quiet"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "masked:" in printed
    with (out / "report.csv").open() as f:
        rows = {r["name"]: r for r in csv.DictReader(f)}
    assert set(rows) == set(expected)
    for name, status in expected.items():
        assert rows[name]["status"] == status, (name, rows[name])
        if status != "ok":
            assert rows[name]["reason"], name
    # every good face (and the converted grayscale/RGBA/CMYK/16-bit ones) was masked and written
    for name, status in expected.items():
        written = (out / "images" / name).exists()
        assert written == (status in ("ok", "multiple_faces", "bad_label")), name
    lm = np.load(out / "landmarks.npy")
    n_masked = sum(s in ("ok", "multiple_faces", "bad_label") for s in expected.values())
    assert lm.shape == (n_masked, 68, 2)
    assert rows["30_0_0_20170101000000006.jpg"]["n_faces"] == "2"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts"]["ok"] == sum(s == "ok" for s in expected.values())


def test_nothing_processable_exits_nonzero(tmp_path):
    d = tmp_path / "junk"
    d.mkdir()
    (d / "a.jpg").write_bytes(b"")
    (d / "b.jpg").write_text("nope")
    assert main(["mask", "--data", str(d), "--out", str(tmp_path / "o"), "--workers", "1", "--quiet"]) == 1


def test_same_seed_same_bytes_whatever_the_workers(good_faces, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for p in good_faces:
        (src / p.name).write_bytes(p.read_bytes())
    cfg = MaskConfig(style="cloth", color="random", seed=7)
    run_masking(src, tmp_path / "o1", cfg, workers=1, progress=False)
    run_masking(src, tmp_path / "o2", cfg, workers=2, progress=False)
    assert _digest(tmp_path / "o1") == _digest(tmp_path / "o2")
    run_masking(src, tmp_path / "o3", MaskConfig(style="cloth", color="random", seed=8), workers=1, progress=False)
    a, b = _digest(tmp_path / "o1"), _digest(tmp_path / "o3")
    assert any(a[k] != b[k] for k in a if k.startswith("images/"))


def test_interrupted_run_resumes_to_the_same_result(good_faces, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for p in good_faces:
        (src / p.name).write_bytes(p.read_bytes())
    full = tmp_path / "full"
    run_masking(src, full, workers=1, progress=False)
    part = tmp_path / "part"
    s1 = run_masking(src, part, workers=1, limit=3, progress=False)
    assert s1.total == 3
    with (part / ".journal.jsonl").open("a") as f:  # a line cut by a kill
        f.write('{"name": "trunc')
    s2 = run_masking(src, part, workers=2, progress=False)
    assert s2.resumed == 3 and s2.total == len(good_faces)
    assert _digest(full) == _digest(part)
    rows, lm = load_report(part)
    assert len(rows) == len(good_faces) and lm.shape[0] == len(good_faces)


def test_resume_with_other_settings_is_refused(good_faces, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / good_faces[0].name).write_bytes(good_faces[0].read_bytes())
    run_masking(src, tmp_path / "o", MaskConfig(style="a"), workers=1, progress=False)
    with pytest.raises(ValueError, match="other settings"):
        run_masking(src, tmp_path / "o", MaskConfig(style="b"), workers=1, progress=False)


def test_in_process_run_keeps_the_callers_torch_threads(tmp_path, good_faces):
    """workers=1 runs in the caller's process (e.g. `reproduce` before training): its settings stay."""
    import shutil

    import torch

    src = tmp_path / "src"
    src.mkdir()
    for p in good_faces[:2]:
        shutil.copy(p, src / p.name)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        s = run_masking(src, tmp_path / "out", workers=1, progress=False)
        assert s.masked == 2 and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
