"""The web app: page, OpenAPI schema, JSON API, bad uploads refused with reasons, nothing written."""

from __future__ import annotations

import builtins
import tempfile

import numpy as np
import pytest
from fastapi.testclient import TestClient

from maskprivacy.analysis.app import create_app


@pytest.fixture(scope="module")
def client(demo_run):
    return TestClient(
        create_app(str(demo_run), max_upload_bytes=3_000_000, max_pixels=5_000_000), base_url="http://localhost"
    )


@pytest.fixture(scope="module")
def face_jpeg(face_path):
    return face_path.read_bytes()


def test_page_health_and_schema(client):
    page = client.get("/")
    assert page.status_code == 200 and 'id="photo"' in page.text and "api/analyze" in page.text
    h = client.get("/api/health").json()
    assert h["models"] == ["unmasked_uniform", "masked_uniform"] and "surgical" in h["styles"]
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/api/analyze"]["post"]
    assert "image/jpeg" in op["requestBody"]["content"] and "multipart/form-data" in op["requestBody"]["content"]
    assert {p["name"] for p in op["parameters"]} >= {"mask_style", "already_masked", "images"}
    assert {"Photo", "Face", "Reading"} <= set(spec["components"]["schemas"])


def test_analyze_raw_body_and_multipart_agree(client, face_jpeg):
    r = client.post(
        "/api/analyze?mask_style=surgical&mask_color=blue&images=true",
        content=face_jpeg,
        headers={"Content-Type": "image/jpeg"},
    )
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["n_faces"] == 1 and d["mask_style"] == "surgical"
    f = d["faces"][0]
    assert f["as_is"]["model"] == "unmasked_uniform" and f["masked"]["model"] == "masked_uniform"
    assert f["images"]["face"].startswith("data:image/jpeg;base64,") and f["images"]["masked"]
    assert 0 <= f["beyond_frame"] <= 1  # how tight the photo is: the schema passes it on
    assert d["summary"].startswith("Found 1 face")
    m = client.post(
        "/api/analyze",
        files={"file": ("me.jpg", face_jpeg, "image/jpeg")},
        data={"mask_style": "surgical", "mask_color": "blue"},
    )
    assert m.status_code == 200, m.text
    md = m.json()
    assert "images" not in md["faces"][0] or md["faces"][0]["images"] is None
    assert md["faces"][0]["masked"]["race"] == f["masked"]["race"]


@pytest.mark.parametrize(
    "body,ctype,code,words",
    [
        (b"", "image/jpeg", 400, "empty"),
        (b"hello, I am a text file\n" * 10, "image/jpeg", 415, "not a readable image"),
        (b"hello, I am a text file\n" * 10, "text/plain", 415, "image/*"),
        ("a PNG claiming 20000 x 20000 pixels", "image/png", 413, "pixels"),
        (b"\xff\xd8\xff" + b"\x00" * 100, "image/jpeg", 415, "not a readable image"),
    ],
)
def test_bad_uploads_are_refused_with_a_reason(client, body, ctype, code, words, png_claiming):
    if isinstance(body, str):  # the bomb is built by a fixture, so it cannot sit in the parameter list
        body = png_claiming(20000, 20000)
    r = client.post("/api/analyze", content=body, headers={"Content-Type": ctype})
    assert r.status_code == code and words in r.json()["detail"]


def test_limits_and_bad_options(client, face_jpeg):
    big = b"\xff\xd8" + bytes(3_100_000)
    r = client.post("/api/analyze", content=big, headers={"Content-Type": "image/jpeg"})
    assert r.status_code == 413 and "limit" in r.json()["detail"]
    assert client.post("/api/analyze?mask_style=zz", content=face_jpeg).status_code == 422
    r = client.post("/api/analyze?mask_color=notacolour", content=face_jpeg)
    assert r.status_code == 422
    r = client.post("/api/analyze", files={"other": ("x.txt", b"abc", "text/plain")}, data={"mask_style": "a"})
    assert r.status_code in (400, 415)


def test_uploads_never_touch_the_disk(client, monkeypatch, face_path, jpeg):
    """A 2 MB upload (over Starlette's 1 MB spooling threshold) is analysed with every file write refused."""
    rgb = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(face_path).convert("RGB"))
    big = np.kron(rgb, np.ones((7, 7, 1), np.uint8))
    noise = np.random.default_rng(0).integers(0, 40, big.shape, dtype=np.uint8)
    data = jpeg(np.clip(big.astype(int) + noise - 20, 0, 255).astype(np.uint8), quality=98)
    assert 1_100_000 < len(data) < 3_000_000
    real_open = builtins.open

    def guarded_open(file, mode="r", *a, **k):
        if any(c in mode for c in "wax+"):
            raise AssertionError(f"tried to write {file}")
        return real_open(file, mode, *a, **k)

    def no_temp(*a, **k):
        raise AssertionError("tried to create a temporary file")

    monkeypatch.setattr(builtins, "open", guarded_open)
    for name in ("SpooledTemporaryFile", "NamedTemporaryFile", "TemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, no_temp)
    import starlette.formparsers as fp

    monkeypatch.setattr(fp, "SpooledTemporaryFile", no_temp)
    for kw in (
        {"content": data, "headers": {"Content-Type": "image/jpeg"}},
        {"files": {"file": ("big.jpg", data, "image/jpeg")}},
    ):
        r = client.post("/api/analyze?mask_style=a", **kw)
        assert r.status_code == 200, r.text
        assert r.json()["n_faces"] == 1
