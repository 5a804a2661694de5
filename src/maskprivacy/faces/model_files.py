"""Locating dlib's model files inside the ``face_recognition_models`` wheel.

Nothing can be downloaded at run time here, and that package's ``__init__`` imports
``pkg_resources`` (gone from current setuptools), so the files are found without importing it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

SHAPE_68 = "shape_predictor_68_face_landmarks.dat"
FACE_DESCRIPTOR = "dlib_face_recognition_resnet_model_v1.dat"
CNN_DETECTOR = "mmod_human_face_detector.dat"


def model_path(filename: str) -> Path:
    """Absolute path of one of ``face_recognition_models``' files; a clear error if absent."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the package face_recognition_models is not installed; `pip install face_recognition_models==0.3.0`"
        )
    for loc in spec.submodule_search_locations:
        p = Path(loc) / "models" / filename
        if p.is_file():
            return p
    raise FileNotFoundError(
        f"{filename} not found in face_recognition_models ({list(spec.submodule_search_locations)})"
    )
