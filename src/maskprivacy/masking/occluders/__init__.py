"""Occlusions beyond the mask, as data: sunglasses, glasses, a cap, a beanie, a hood, a scarf, blur,
pixelation, a bar over the eyes, and their combinations with the paper's mask.

``OCCLUSIONS`` (catalog.yaml) names them; ``apply_occlusion(image, landmarks, name, seed)`` draws
one (``occlusion_batch`` a batch, seeded per face); ``random_occlusion(rng)`` draws what a training
face wears for an attacker that adapts (``random_occlusion_batch`` a batch).
"""

from __future__ import annotations

from maskprivacy.masking.occluders.catalog import (
    BARE,
    OCCLUSIONS,
    OccludedFace,
    Occlusion,
    apply_occlusion,
    face_seed,
    occlusion_batch,
    occlusion_names,
    occlusion_parts,
)
from maskprivacy.masking.occluders.distribution import (
    DEFAULT_OCCLUSIONS,
    OcclusionDistribution,
    random_occlusion,
    random_occlusion_batch,
)
from maskprivacy.masking.occluders.frame import face_frame, face_region

__all__ = [
    "BARE",
    "DEFAULT_OCCLUSIONS",
    "OCCLUSIONS",
    "OccludedFace",
    "Occlusion",
    "OcclusionDistribution",
    "apply_occlusion",
    "face_frame",
    "face_region",
    "face_seed",
    "occlusion_batch",
    "occlusion_names",
    "occlusion_parts",
    "random_occlusion",
    "random_occlusion_batch",
]
