"""`maskprivacy protect` and POST /api/protect: faces found, every occlusion ranked, the grid written,
the attacker named (adaptive when the run has one, else said to be naive), bad input refused clearly."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from maskprivacy.cli import main
from maskprivacy.masking.occluders import OCCLUSIONS


@pytest.fixture(scope="module")
def adaptive_run(demo_run, tmp_path_factory):
    """The demo run plus a readers.json that names an attacker for faces wearing occlusions."""
    run = tmp_path_factory.mktemp("adaptive") / "run"
    shutil.copytree(demo_run, run)
    role = {
        "attacker": "cnn_occluded",
        "condition": "occluded",
        "model": "train/masked_uniform/model.pt",
        "name": "occluded_uniform",
    }
    (run / "readers.json").write_text(
        json.dumps({"splits": {"uniform": {"occluded": role}}, "roles": {"occluded": role}})
    )
    return run


def _protect_json(capsys, *args) -> tuple[int, dict]:
    rc = main(["protect", *map(str, args), "--json"])
    out = capsys.readouterr().out
    return rc, json.loads(out) if out.strip() else {}


def test_protect_ranks_every_occlusion_and_writes_the_grid(demo_run, face_path, tmp_path, capsys):
    grid = tmp_path / "grid.png"
    assert main(["protect", str(face_path), "--model", str(demo_run), "--out", str(grid)]) == 0
    out = capsys.readouterr().out
    assert "1 face" in out and "most protective first" in out
    assert "masked_uniform" in out and "never trained on occlusions" in out  # the naive attacker, named
    for name in OCCLUSIONS:
        assert f" {name} " in out, name
    im = np.asarray(Image.open(grid))
    assert im.ndim == 3 and im.shape[0] > 400 and im.shape[1] >= 600 and im.std() > 20

    rc, d = _protect_json(capsys, face_path, "--model", demo_run, "--out", tmp_path / "g2.png")
    assert rc == 0 and d["n_faces"] == 1 and d["grid"] == str(tmp_path / "g2.png") and (tmp_path / "g2.png").is_file()
    assert d["attacker"] == {"name": "masked_uniform", "adaptive": False, "note": d["attacker"]["note"]}
    face = d["faces"][0]
    ranking = face["ranking"]
    assert [r["occlusion"] for r in sorted(ranking, key=lambda r: r["occlusion"])] == sorted(OCCLUSIONS)
    assert [r["rank"] for r in ranking] == list(range(1, len(OCCLUSIONS) + 1))
    still = [r["still_read"] for r in ranking]
    assert still == sorted(still)  # most protective first
    assert face["bare"]["occlusion"] == "bare" and face["bare"]["hidden"] == 0
    r = ranking[0]
    assert set(r["reads"]) >= {"sex", "race", "age_bucket"} and 0 < r["reads"]["sex"]["confidence"] <= 1
    assert abs(r["still_read"] - np.mean([r["reads"][t]["confidence"] for t in ("sex", "race", "age_bucket")])) < 1e-3
    hidden = {r["occlusion"]: r["hidden"] for r in ranking}
    assert (
        hidden["blur-high"] > 0.95
        and hidden["clear-glasses"] < hidden["sunglasses-round-dark"] < hidden["mask+sunglasses"]
    )


def test_the_adaptive_attacker_reads_when_the_run_has_one(adaptive_run, face_path, tmp_path, capsys):
    rc, d = _protect_json(capsys, face_path, "--model", adaptive_run, "--out", tmp_path / "g.png")
    assert rc == 0 and d["attacker"]["adaptive"] is True and d["attacker"]["name"] == "occluded_uniform"
    assert "never trained" not in d["attacker"]["note"]


def test_every_face_of_a_group_photo(demo_run, good_faces, group_photo, jpeg, tmp_path, capsys):
    photo = tmp_path / "group.jpg"
    photo.write_bytes(jpeg(group_photo(good_faces[:2])))
    rc, d = _protect_json(capsys, photo, "--model", demo_run, "--out", tmp_path / "g.png")
    assert rc == 0 and d["n_faces"] == 2 and all(len(f["ranking"]) == len(OCCLUSIONS) for f in d["faces"])
    (l0, *_), (l1, *_) = (f["box"] for f in d["faces"])
    assert abs(l0 - l1) > 100  # two different faces
    assert Image.open(tmp_path / "g.png").height > 2 * 400  # one block per face


def test_bad_input_is_refused_with_a_reason(demo_run, jpeg, tmp_path, capsys):
    notes = tmp_path / "notes.jpg"
    notes.write_text("not a photo at all")
    assert main(["protect", str(notes), "--model", str(demo_run)]) == 2
    assert "not an image" in capsys.readouterr().err
    assert main(["protect", str(tmp_path / "gone.jpg"), "--model", str(demo_run)]) == 2
    assert "no such file" in capsys.readouterr().err
    wall = tmp_path / "wall.jpg"
    wall.write_bytes(jpeg(np.full((240, 320, 3), 120, np.uint8)))
    grid = tmp_path / "none.png"
    assert main(["protect", str(wall), "--model", str(demo_run), "--out", str(grid)]) == 1
    assert "no face found in the 320x240 image" in capsys.readouterr().err and not grid.exists()
    assert main(["protect", str(wall), "--model", str(tmp_path / "no-run")]) == 2
    assert "no trained models" in capsys.readouterr().err


def test_the_api_answers_the_same_panel(demo_run, face_path):
    from fastapi.testclient import TestClient

    from maskprivacy.analysis.app import create_app

    client = TestClient(create_app(str(demo_run), max_upload_bytes=3_000_000), base_url="http://localhost")
    r = client.post("/api/protect?images=true", content=face_path.read_bytes(), headers={"Content-Type": "image/jpeg"})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["n_faces"] == 1 and len(d["faces"][0]["ranking"]) == len(OCCLUSIONS) and d["attacker"]["adaptive"] is False
    assert d["grid"].startswith("data:image/jpeg;base64,") and d["model"] == demo_run.name
    files = {"file": ("me.jpg", face_path.read_bytes(), "application/octet-stream")}
    r = client.post("/api/protect", files=files)
    assert r.status_code == 200 and r.json().get("grid") is None
    assert client.post("/api/protect", content=b"x", headers={"Content-Type": "text/plain"}).status_code == 415
    r = client.post("/api/protect", content=b"not an image", headers={"Content-Type": "image/jpeg"})
    assert r.status_code == 415 and "not a readable image" in r.json()["detail"]
    assert client.post("/api/protect", content=b"", headers={"Content-Type": "image/png"}).status_code == 400
    big = client.post("/api/protect", content=b"\0" * 3_000_001, headers={"Content-Type": "image/png"})
    assert big.status_code == 413
    assert "/api/protect" in client.get("/openapi.json").json()["paths"]


def test_the_web_apps_models_lend_their_adaptive_attacker(adaptive_run):
    """With the app's ModelSet given, the adaptive attacker it already holds reads, not a second copy."""
    from maskprivacy.analysis.model_set import ModelSet
    from maskprivacy.analysis.protect import load_protect_attacker

    models = ModelSet(adaptive_run, "uniform")
    given = load_protect_attacker(adaptive_run, "uniform", models=models)
    alone = load_protect_attacker(adaptive_run, "uniform")
    assert given.adaptive and given.predictor is models.get("adaptive")
    assert (given.name, given.words, given.side) == (alone.name, alone.words, alone.side)
    assert alone.predictor is not models.get("adaptive")
