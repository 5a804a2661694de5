"""The confusion-matrix and PVI figures write real PNGs and refuse empty input."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from maskprivacy.report.figures import pvi_figure
from maskprivacy.training.metrics import confusion_png


def test_confusion_figure_writes_png(tmp_path):
    out = tmp_path / "c.png"
    confusion_png(out, [[5, 1], [2, 0]], ("male", "female"), "sex")
    im = Image.open(out)
    assert im.format == "PNG" and im.size[0] > 100
    assert np.asarray(im.convert("L")).std() > 0  # not a blank image


def test_pvi_figure_from_result_dict(tmp_path):
    attrs = {
        a: {"predictability": p, "predictability_ci": [p - 0.05, p + 0.05]}
        for a, p in (("sex", 0.8), ("race", 0.6), ("age", 0.7))
    }
    pvi = {
        "masked": 0.7,
        "unmasked": 0.8,
        "masked_ci": [0.65, 0.75],
        "unmasked_ci": [0.75, 0.85],
        "reduction": 0.125,
        "attributes": {"masked": attrs, "unmasked": attrs},
    }
    assert Image.open(pvi_figure(pvi, tmp_path / "p.png")).format == "PNG"
    with pytest.raises(ValueError, match="no condition"):
        pvi_figure({"attributes": {}}, tmp_path / "q.png")
