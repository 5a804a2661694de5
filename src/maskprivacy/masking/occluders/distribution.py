"""Random occlusions to train an attacker that adapts: the mask-robust attacker's distribution widened.

An attacker that never saw sunglasses or a blurred face makes any occlusion look protective; a real
adversary trains on photos of people who wear them. :func:`random_occlusion` draws what one training
face wears, one slot at a time, each independently (:class:`OcclusionDistribution` holds the
probabilities, recorded with the model like ``MaskDistribution``):

* the paper's mask with ``mask_prob``, else a scarf over the nose with ``scarf_prob``;
* something over the eyes with ``eyes_prob``: one of ``eyes`` uniformly (the four sunglasses, clear
  glasses, the black bar);
* something on the head with ``head_prob``: one of ``head`` uniformly (cap, beanie, hood);
* an image-level edit with ``edit_prob``: one of ``edits`` uniformly (blur, pixelation, 3 strengths).

The result is the "+"-joined parts in painting order (hood under everything, then the mask or scarf,
the eyes, a cap or beanie, and an edit of the whole picture last), ``bare`` when nothing was drawn;
``apply_occlusion`` paints any such name. With the defaults a face is bare with probability
0.5 x 0.9 x 0.55 x 0.65 x 0.85 = 0.14. Use ``mask_prob=0`` to draw masks from the mask distribution
(``masking.random_masks``) first and occlusions on top.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from maskprivacy.masking.occluders.catalog import BARE, OCCLUSIONS, apply_occlusion
from maskprivacy.masking.settings import known_settings, settings_dict

EYES = (
    "sunglasses-round-dark",
    "sunglasses-round-mirrored",
    "sunglasses-wayfarer-dark",
    "sunglasses-wayfarer-mirrored",
    "clear-glasses",
    "eye-bar",
)
HEAD = ("cap", "beanie", "hood")
EDITS = ("blur-low", "blur-mid", "blur-high", "pixelate-low", "pixelate-mid", "pixelate-high")


@dataclass(frozen=True)
class OcclusionDistribution:
    """Per-slot probabilities and choices (see the module's docstring)."""

    mask_prob: float = 0.5
    scarf_prob: float = 0.1
    eyes_prob: float = 0.45
    head_prob: float = 0.35
    edit_prob: float = 0.15
    eyes: tuple[str, ...] = EYES
    head: tuple[str, ...] = HEAD
    edits: tuple[str, ...] = EDITS

    def __post_init__(self) -> None:
        for k in ("mask_prob", "scarf_prob", "eyes_prob", "head_prob", "edit_prob"):
            if not 0.0 <= float(getattr(self, k)) <= 1.0:
                raise ValueError(f"{k} must be in [0, 1], got {getattr(self, k)!r}")
        for k in ("eyes", "head", "edits"):
            names = getattr(self, k)
            unknown = [n for n in names if n not in OCCLUSIONS or len(OCCLUSIONS[n].parts) != 1]
            if unknown or not names:
                raise ValueError(
                    f"{k}: one or more single occlusions of {', '.join(OCCLUSIONS)}; not {unknown or names}"
                )

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "OcclusionDistribution":
        return cls(**known_settings(cls, d, "occlusion distribution"))

    def to_dict(self) -> dict[str, Any]:
        return settings_dict(self)


DEFAULT_OCCLUSIONS = OcclusionDistribution()


def random_occlusion(rng: np.random.Generator, dist: OcclusionDistribution = DEFAULT_OCCLUSIONS) -> str:
    """One draw: the name of what a training face wears (``apply_occlusion`` paints it).

    >>> rng = np.random.default_rng(0)
    >>> names = [random_occlusion(rng) for _ in range(2000)]
    >>> 0.45 < sum("mask" in n.split("+") for n in names) / 2000 < 0.55
    True
    """
    u = rng.random(8)
    pick = lambda names, v: names[min(len(names) - 1, int(v * len(names)))]  # noqa: E731
    head = pick(dist.head, u[5]) if u[4] < dist.head_prob else None
    parts: list[str] = []
    if head == "hood":
        parts.append(head)
    if u[0] < dist.mask_prob:
        parts.append("mask")
    elif u[1] < dist.scarf_prob:
        parts.append("scarf")
    if u[2] < dist.eyes_prob:
        parts.append(pick(dist.eyes, u[3]))
    if head is not None and head != "hood":
        parts.append(head)
    if u[6] < dist.edit_prob:
        parts.append(pick(dist.edits, u[7]))
    return "+".join(parts) if parts else BARE


def random_occlusion_batch(
    images: np.ndarray,
    points: np.ndarray,
    rng: np.random.Generator,
    dist: OcclusionDistribution = DEFAULT_OCCLUSIONS,
) -> tuple[np.ndarray, list[str]]:
    """(N, S, S, 3) uint8 faces and their (N, 68, 2) key points -> each face wearing a fresh draw of
    :func:`random_occlusion`, and the names drawn. One generator per batch, as ``mask_batch``: the
    occlusions depend only on the generator's state, not on timing or threads."""
    out = np.empty_like(images)
    names = []
    for i in range(len(images)):
        name = random_occlusion(rng, dist)
        out[i] = apply_occlusion(images[i], points[i], name, int(rng.integers(2**31))).image
        names.append(name)
    return out, names


__all__ = [
    "DEFAULT_OCCLUSIONS",
    "EDITS",
    "EYES",
    "HEAD",
    "OcclusionDistribution",
    "random_occlusion",
    "random_occlusion_batch",
]
