"""A masking run of the sample, shared by the training tests (made once per test run)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def sample_mask_run(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from maskprivacy.masking.batch import MaskConfig, run_masking

    out = tmp_path_factory.mktemp("mask")
    run_masking(sample_dir, out, MaskConfig(), workers=2, progress=False)
    return out
