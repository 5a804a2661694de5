"""The style table: the paper's shapes keep their exact geometry, new styles are a few lines of data."""

import cv2
import numpy as np
import pytest

from maskprivacy.masking.draw import STYLES, draw_mask
from maskprivacy.masking.shapes import FLAT_SHAPES, draw_flat
from maskprivacy.masking.styles import REALISTIC_STYLES, load_styles
from maskprivacy.masking.styles.table import StyleError, compile_style, outline_points


def _paper_reference(rgb, points, shape, color):
    """The paper's shapes as the package drew them before the table (verbatim), for comparison."""
    out = np.ascontiguousarray(rgb).copy()
    p = points.astype(np.int32)
    if shape in ("a", "c", "e"):
        jaw = [p[i] for i in range(1, 16)]
        extra = {
            "a": [(p[42][0], p[15][1]), p[27], (p[39][0], p[1][1])],
            "c": [p[29]],
            "e": [p[35], p[34], p[33], p[32], p[31]],
        }[shape]
        poly = np.array([tuple(q) for q in jaw] + [tuple(q) for q in extra], dtype=np.int32)
        cv2.fillPoly(out, [poly], color, lineType=cv2.LINE_8)
        return out
    q = points.astype(np.float64)
    top = {"b": q[27][1] + (q[28][1] - q[27][1]) / 2, "d": q[29][1], "f": q[29][1] + 0.33 * (q[46][0] - q[40][0])}[
        shape
    ]
    center = (q[28][0], top + (q[8][1] - top) / 2)
    axes = (float(max(1, int((q[13][0] - q[3][0]) * 0.8))), float(max(1, int(q[8][1] - top))))
    cv2.ellipse(out, (center, axes, 0.0), color, thickness=-1, lineType=cv2.LINE_8)
    return out


@pytest.fixture(scope="module")
def faces(landmarked_faces):
    assert len(landmarked_faces) >= 4
    return landmarked_faces


def test_the_table_lists_every_style_with_the_paper_first():
    styles = load_styles()
    assert tuple(styles)[:9] == ("a", "b", "c", "d", "e", "f", "surgical", "cloth", "n95")
    assert {"kn95", "tie"} <= set(REALISTIC_STYLES)
    assert FLAT_SHAPES == ("a", "b", "c", "d", "e", "f") and STYLES == tuple(styles)


@pytest.mark.parametrize("shape", ["a", "b", "c", "d", "e", "f"])
def test_paper_shapes_are_byte_identical_to_the_papers_code(faces, shape):
    rng = np.random.default_rng(0)
    for rgb, pts in faces:
        assert np.array_equal(
            draw_flat(rgb, pts, shape, (255, 255, 255)), _paper_reference(rgb, pts, shape, (255, 255, 255))
        )
        jittered = pts + rng.integers(-6, 7, size=pts.shape)  # other faces, same formula
        assert np.array_equal(
            draw_flat(rgb, jittered, shape, (9, 99, 199)), _paper_reference(rgb, jittered, shape, (9, 99, 199))
        )


def test_a_new_style_is_a_few_lines_of_data(faces):
    spec = compile_style(
        {
            "name": "visor-band",
            "kind": "polygon",
            "anchors": {"mid": {"mix": [[29, 0.5], [33, 0.5]]}},
            "outline": ["3..13", {"at": "mid", "shift": [0.1, 0]}, {"at": "mid", "shift": [-0.1, 0]}],
        }
    )
    rgb, pts = faces[0]
    o = outline_points(spec, pts)
    assert o.shape == (13, 2) and np.allclose(o[0], pts[3])
    fw = np.hypot(*(pts[16] - pts[0]).astype(float))
    assert np.allclose(o[11], (pts[29] + pts[33]) / 2 + (0.1 * fw, 0))


@pytest.mark.parametrize(
    "doc, message",
    [
        ({"name": "x", "outline": [1, 2]}, "at least 3"),
        ({"name": "x", "outline": [1, 2, 99]}, "not in 0..67"),
        ({"name": "x", "outline": [1, 2, "nose"]}, "unknown anchor"),
        ({"name": "x", "outline": [1, 2, {"mix": [[3]]}]}, "not \\[point, weight\\]"),
        ({"name": "X Y", "outline": [1, 2, 3]}, "name"),
        ({"name": "x", "family": "paper", "outline": [1, 2, 3]}, "family"),
        ({"name": "x", "kind": "ellipse"}, "ellipse"),
    ],
)
def test_bad_style_files_get_a_clear_reason(doc, message):
    with pytest.raises(StyleError, match=message):
        compile_style(doc, "styles/x.yaml")


@pytest.mark.parametrize("style", ["kn95", "tie", "bandana", "valve"])
def test_new_styles_cover_the_mouth_and_are_deterministic(faces, style):
    for rgb, pts in faces[:3]:
        a = draw_mask(rgb, pts, style, "random", seed=3, key="x")
        assert np.array_equal(a, draw_mask(rgb, pts, style, "random", seed=3, key="x"))
        diff = np.abs(a.astype(int) - rgb.astype(int)).sum(axis=2) > 30
        assert diff[pts[62][1], pts[62][0]] and not diff[pts[37][1] - 4, pts[37][0]]


def test_kn95_has_its_centre_fold(faces):
    rgb, pts = faces[0]
    masked = draw_mask(rgb, pts, "kn95", "white")
    x = int(round((pts[27][0] * 0.25 + pts[28][0] * 0.75)))
    y = int(pts[57][1])
    row = masked[y, x - 6 : x + 7].astype(int).sum(axis=1)
    assert row.min() < row.max() - 100  # a dark crease in the middle of a white mask
