"""Masking with no ../shared: the portrait that matplotlib ships, and faces made from it (conftest.py)."""

from __future__ import annotations

import csv

import numpy as np

from maskprivacy.masking.api import load_rgb, mask_face
from maskprivacy.masking.batch import MaskConfig, run_masking
from maskprivacy.masking.mask_run import read_mask_run


def test_the_mask_covers_mouth_and_chin_and_leaves_the_eyes(shipped_portrait):
    rgb = load_rgb(shipped_portrait)
    masked, pts = mask_face(rgb, "a", "white")
    assert masked.shape == rgb.shape and pts.shape == (68, 2)
    lips = pts[48:68]
    (x0, y0), (x1, y1) = lips.min(0), lips.max(0)
    assert (masked[y0:y1, x0:x1] == 255).all()  # the mouth is under the white mask
    for eye in (pts[36:42], pts[42:48]):  # each eye is as photographed (the mask reaches up between them)
        (ex0, ey0), (ex1, ey1) = eye.min(0), eye.max(0) + 1
        assert np.array_equal(masked[ey0:ey1, ex0:ex1], rgb[ey0:ey1, ex0:ex1])
    assert np.array_equal(masked[: pts[:, 1].min() - 5], rgb[: pts[:, 1].min() - 5])  # nothing above the face


def test_a_masking_run_over_made_faces_keeps_every_face(made_faces, tmp_path):
    out = tmp_path / "mask"
    run_masking(made_faces, out, MaskConfig(), workers=1, progress=False)
    with (out / "report.csv").open() as f:
        rows = list(csv.DictReader(f))
    n = len(list(made_faces.iterdir()))
    assert len(rows) == n and {r["status"] for r in rows} == {"ok"}
    run = read_mask_run(out)
    assert len(run.faces) == n and run.points.shape == (n, 68, 2)
    assert len(list((out / "images").iterdir())) == n
