"""Masking runs shared by the training tests: of the sample in ../shared, and of faces made from a shipped
portrait (each made once per test run)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def sample_mask_run(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from maskprivacy.masking.batch import MaskConfig, run_masking

    out = tmp_path_factory.mktemp("mask")
    run_masking(sample_dir, out, MaskConfig(), workers=2, progress=False)
    return out


@pytest.fixture(scope="session")
def made_mask_run(made_faces: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A masking run of the faces made from the shipped portrait (no ../shared needed)."""
    from maskprivacy.masking.batch import MaskConfig, run_masking

    out = tmp_path_factory.mktemp("made_mask")
    run_masking(made_faces, out, MaskConfig(), workers=1, progress=False)
    return out
