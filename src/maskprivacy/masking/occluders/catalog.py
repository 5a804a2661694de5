"""The occlusions a face can wear (catalog.yaml), and the one function that puts one on a face.

Like the mask styles, an occlusion is data: catalog.yaml names it, says which painter draws it with
which parameters, and how much its placement varies from face to face; a combination ("mask+cap")
is a list of other entries painted in order. ``apply_occlusion`` is the one way to draw any of them,
so the protection stage, the adaptive attacker's training and ``maskprivacy protect`` see the same
pixels. Each part draws its colours and placement from a generator seeded by (seed, part name):
the same seed gives the same picture, and a combination is exactly its parts painted one after the
other with that seed.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import yaml

from maskprivacy.masking.colors import image_rng
from maskprivacy.masking.occluders import edits, eyewear, headwear
from maskprivacy.masking.occluders.frame import FaceFrame, face_frame, face_region
from maskprivacy.masking.occluders.layer import Layer

Painter = Callable[[Layer, FaceFrame, Mapping[str, Any], np.random.Generator], None]

PAINTERS: dict[str, Painter] = {
    "paper-mask": edits.paper_mask,
    "glasses": eyewear.glasses,
    "cap": headwear.cap,
    "beanie": headwear.beanie,
    "hood": headwear.hood,
    "scarf": headwear.scarf,
    "blur": edits.blur,
    "pixelate": edits.pixelate,
    "eye-bar": edits.eye_bar,
}
KINDS = ("drawn", "image-edit")
BARE = "bare"  # no occlusion: accepted by apply_occlusion, not an entry of OCCLUSIONS
_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*(\+[a-z0-9]+(-[a-z0-9]+)*)*")


@dataclass(frozen=True)
class OccludedFace:
    """A face wearing an occlusion: a new ``image`` (H, W, 3 uint8 RGB) and ``hidden`` (H, W bool),
    the pixels the occlusion covers (a layer at least half opaque) or an image-level edit replaced."""

    image: np.ndarray
    hidden: np.ndarray
    name: str

    def fraction_hidden(self, landmarks: np.ndarray) -> float:
        """The share of the face (``frame.face_region``: jaw closed over the forehead) hidden."""
        face = face_region(landmarks, self.hidden.shape)
        n = int(face.sum())
        return float((self.hidden & face).sum()) / n if n else 0.0


@dataclass(frozen=True)
class Occlusion:
    """One entry of catalog.yaml. Calling it draws it: ``OCCLUSIONS["cap"](image, landmarks, seed)``."""

    name: str
    kind: str  # "drawn" or "image-edit" (a combination: "image-edit" if any part is one)
    description: str
    parts: tuple[str, ...]  # the single entries painted in order ((name,) for a single one)
    paint: str | None = None  # a single entry's painter (a key of PAINTERS)
    params: Mapping[str, Any] = field(default_factory=dict)
    jitter: float = 0.0  # +- face units of placement and +- share of size, drawn per face

    def __call__(self, image: np.ndarray, landmarks: np.ndarray, seed: int = 0) -> OccludedFace:
        return apply_occlusion(image, landmarks, self.name, seed)


def _parse(doc: Any) -> dict[str, Occlusion]:
    where = "masking/occluders/catalog.yaml"
    if not isinstance(doc, Mapping) or not isinstance(doc.get("occlusions"), Mapping):
        raise ValueError(f"{where}: expected a mapping 'occlusions: {{name: entry}}'")
    out: dict[str, Occlusion] = {}
    for name, e in doc["occlusions"].items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ValueError(
                f"{where}: name {name!r}: lower-case letters and digits, '-' within a part, '+' between parts"
            )
        if not isinstance(e, Mapping):
            raise ValueError(f"{where}: {name}: expected a mapping")
        desc = str(e.get("description", "")).strip()
        if "parts" in e:
            parts = tuple(str(p) for p in e["parts"])
            missing = [p for p in parts if p not in out or len(out[p].parts) != 1]
            if missing or len(parts) < 2:
                raise ValueError(
                    f"{where}: {name}: parts must be two or more single entries listed above it, not {missing or parts}"
                )
            kind = "image-edit" if any(out[p].kind == "image-edit" for p in parts) else "drawn"
            out[name] = Occlusion(name, kind, desc, parts)
            continue
        kind, paint = e.get("kind"), e.get("paint")
        if kind not in KINDS:
            raise ValueError(f"{where}: {name}: kind {kind!r}: choose from {', '.join(KINDS)}")
        if paint not in PAINTERS:
            raise ValueError(f"{where}: {name}: paint {paint!r}: choose from {', '.join(PAINTERS)}")
        jitter = float(e.get("jitter", 0.0))
        if not 0.0 <= jitter < 0.5:
            raise ValueError(f"{where}: {name}: jitter must be in [0, 0.5)")
        out[name] = Occlusion(name, kind, desc, (name,), paint, dict(e.get("params") or {}), jitter)
    return out


@functools.lru_cache(maxsize=1)
def load_catalog() -> dict[str, Occlusion]:
    """Every entry of catalog.yaml, in the file's order (read once)."""
    text = resources.files("maskprivacy.masking.occluders").joinpath("catalog.yaml").read_text()
    return _parse(yaml.safe_load(text))


OCCLUSIONS: dict[str, Occlusion] = load_catalog()


def occlusion_parts(name: str) -> tuple[str, ...]:
    """The single entries ``name`` paints, in order: an entry's parts, or any "+"-joined list of single
    entries (how the random distribution names what it drew). ``bare``: none."""
    if name == BARE:
        return ()
    if name in OCCLUSIONS:
        return OCCLUSIONS[name].parts
    parts = tuple(name.split("+")) if isinstance(name, str) else ()
    if parts and all(p in OCCLUSIONS and len(OCCLUSIONS[p].parts) == 1 for p in parts):
        return parts
    raise ValueError(f"occlusion {name!r}: choose from {BARE}, {', '.join(OCCLUSIONS)} (or single ones joined by '+')")


def _check_image(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        what = f"{image.dtype} array of shape {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise ValueError(f"occlusions are drawn on (H, W, 3) uint8 RGB images, got a {what}")
    return image


def _paint_one(
    image: np.ndarray, frame: FaceFrame, box: np.ndarray, occ: Occlusion, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    rng = image_rng(seed, occ.name)
    placed = frame
    if occ.jitter:
        da, db, ds = rng.uniform(-occ.jitter, occ.jitter, 3)
        placed = frame.moved(float(da), float(db), 1.0 + float(ds))
    layer = Layer(image)
    assert occ.paint is not None
    PAINTERS[occ.paint](layer, placed, occ.params, rng)
    out = layer.uint8()
    # Nothing leaves the box around the face, whatever the key points (a clear contract for a batch).
    out[~box] = image[~box]
    return out, layer.hidden & box


def apply_occlusion(image: np.ndarray, landmarks: np.ndarray, name: str, seed: int = 0) -> OccludedFace:
    """``image`` (H, W, 3 uint8 RGB) with the face of ``landmarks`` (68, 2) wearing occlusion ``name``.

    The input is never modified. Deterministic per ``seed``. Everything drawn stays inside the image
    and inside the box around the face (``FaceFrame.box``); key points outside the frame or collapsed
    onto one pixel draw what they can, and NaN or infinite key points raise a ValueError.

    >>> from maskprivacy.faces.template_data import POINTS68, SIZE
    >>> face = np.full((SIZE, SIZE, 3), 128, np.uint8)
    >>> out = apply_occlusion(face, np.array(POINTS68), "mask+sunglasses", seed=1)
    >>> eye, mouth = np.round(np.array(POINTS68)[[37, 62]]).astype(int)
    >>> bool(out.hidden[eye[1], eye[0]]), bool(out.hidden[mouth[1], mouth[0]]), bool((face == 128).all())
    (True, True, True)
    """
    img = _check_image(image)
    parts = occlusion_parts(name)
    frame = face_frame(landmarks, img.shape[:2])
    box = frame.box_mask()
    out, hidden = img.copy(), np.zeros(img.shape[:2], dtype=bool)
    for part in parts:
        out, h = _paint_one(out, frame, box, OCCLUSIONS[part], seed)
        hidden |= h
    return OccludedFace(out, hidden, name)


def face_seed(seed: int, key: str | int) -> int:
    """The seed one face of a batch is drawn with: it depends on (``seed``, the face's ``key``) only, not
    on the occlusion, the batch or its order, so a face wears the same cap alone and in "mask+cap"."""
    return int(image_rng(seed, f"face:{key}").integers(2**31))


def occlusion_batch(
    images: np.ndarray, points: np.ndarray, name: str, seed: int, keys: Sequence[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(N, S, S, 3) uint8 faces and their (N, 68, 2) key points in the same pixels -> the faces wearing
    ``name`` and the (N, S, S) pixels hidden; face i drawn with :func:`face_seed` (``seed``, ``keys[i]``
    or i). ``bare`` returns copies and nothing hidden."""
    out = np.empty_like(images)
    hidden = np.zeros(images.shape[:3], dtype=bool)
    for i in range(len(images)):
        o = apply_occlusion(images[i], points[i], name, face_seed(seed, keys[i] if keys is not None else i))
        out[i], hidden[i] = o.image, o.hidden
    return out, hidden


def occlusion_names(kind: str | None = None) -> tuple[str, ...]:
    """The entries of the catalog (of one ``kind``), in the file's order."""
    return tuple(n for n, o in OCCLUSIONS.items() if kind is None or o.kind == kind)


__all__ = [
    "BARE",
    "KINDS",
    "OCCLUSIONS",
    "OccludedFace",
    "Occlusion",
    "PAINTERS",
    "apply_occlusion",
    "face_seed",
    "load_catalog",
    "occlusion_batch",
    "occlusion_names",
    "occlusion_parts",
]
