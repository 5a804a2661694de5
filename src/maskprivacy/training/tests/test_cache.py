"""The decoded-image cache: right faces, right labels, masks redrawn exactly, deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from maskprivacy.data.imageio import decode_image
from maskprivacy.data.labels import parse_name
from maskprivacy.masking.draw import draw_mask
from maskprivacy.masking.mask_run import read_mask_run
from maskprivacy.training.cache import _resize, build_caches, load_cache


def test_cache_content_and_determinism(sample_dir, sample_mask_run, tmp_path):
    mr = read_mask_run(sample_mask_run)
    faces, points, mask_cfg = mr.faces, mr.points, mr.config
    assert len(faces) > 600 and faces == sorted(faces, key=lambda f: f.name)
    assert all(f.name.count("_") >= 3 for f in faces)  # malformed names (bad_label) never enter
    dirs = build_caches(sample_dir, sample_mask_run, tmp_path / "a", 48, limit=30, progress=False)
    m, u = load_cache(dirs["masked"]), load_cache(dirs["unmasked"])
    assert m.images.shape == (30, 48, 48, 3) and m.names == u.names == [f.name for f in faces[:30]]
    for i in (0, 17):
        lab = parse_name(m.names[i])
        assert (m.age[i], m.sex[i], m.race[i], m.age_bucket[i]) == (lab.age, lab.sex, lab.race, lab.age_bucket)
        rgb = decode_image((sample_dir / m.names[i]).read_bytes())
        assert np.array_equal(u.images[i], _resize(rgb, 48))
        redrawn = draw_mask(
            rgb,
            points[faces[i].landmark_row].astype(np.int32),
            mask_cfg["style"],
            mask_cfg["color"],
            int(mask_cfg["seed"]),
            m.names[i],
        )
        assert np.array_equal(m.images[i], _resize(redrawn, 48))
    # the mask covers the lower face, not the eyes
    diff = np.abs(m.images.astype(int) - u.images.astype(int)).mean(axis=(0, 3))
    assert diff[36:44].mean() > 20 * max(diff[4:12].mean(), 0.5)
    # same inputs, same bytes (one worker vs two, different folder)
    again = build_caches(
        sample_dir, sample_mask_run, tmp_path / "b", 48, conditions=("masked",), limit=30, workers=1, progress=False
    )
    assert np.array_equal(np.load(again["masked"] / "images.npy"), np.asarray(m.images))
    # complete caches are not rebuilt
    stamp = (dirs["masked"] / "images.npy").stat().st_mtime_ns
    build_caches(sample_dir, sample_mask_run, tmp_path / "a", 48, limit=30, progress=False)
    assert (dirs["masked"] / "images.npy").stat().st_mtime_ns == stamp


def test_missing_mask_run_is_a_clear_error(sample_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="maskprivacy mask"):
        build_caches(sample_dir, tmp_path / "nothing", tmp_path / "c", 32, progress=False)
