"""Which attacker reads a face: the one routing rule of ``analyze``, ``evaluate`` and the web API.

Attackers a run may hold, by the faces they were trained on: bare faces, faces wearing the paper's
digital mask (type "a", white), faces wearing masks drawn from many styles ("mask-robust"), and those
plus real photos of masked faces ("real-mask"), and faces wearing occluders over masks ("adaptive").
"""

from __future__ import annotations

from typing import Sequence

from maskprivacy.layout import ADAPTIVE, REAL, ROBUST

READERS: tuple[str, ...] = ("unmasked", "masked", ROBUST, REAL, ADAPTIVE)
REAL_MASK_READERS = ("auto", "masked", "robust", "real", ADAPTIVE)
#: The roles of the readers a run chooses on validation (RUN/readers.json, analysis/reader_choice.py):
#: role -> the ModelSet slot it fills and what it reads.
ROLES: dict[str, tuple[str, str]] = {
    "bare": ("unmasked", "a face as photographed, without a mask"),
    "digital": ("masked", "a bare face wearing the mask the tool draws"),
    "real_mask": (ROBUST, "a face that already wears a real mask"),
    "occluded": (ADAPTIVE, "a face behind sunglasses, a cap, a hood or a blur"),
}
# Who decides whether a face already wears a mask when the caller does not say: the run's trained
# detector (models/mask_classifier.py) when it has one, else the colour check (faces/maskcheck.py).
MASK_CHECKS = ("auto", "detector", "colour")
READER_WORDS = {
    "unmasked": "the attacker trained on bare faces",
    "masked": "the attacker trained on the paper's white type-a mask",
    "robust": "the mask-robust attacker, trained on many mask styles",
    "real": "the real-mask attacker, trained on many mask styles and real photos of masked faces",
    "adaptive": "the adaptive attacker, trained on masks and occluders (sunglasses, caps, hoods, blur)",
}


def check_real_mask(real_mask: str) -> str:
    """``real_mask`` itself, or a clear error naming the choices."""
    if real_mask not in REAL_MASK_READERS:
        raise ValueError(f"real_mask must be one of {', '.join(REAL_MASK_READERS)}, got {real_mask!r}")
    return real_mask


def reader_for(
    already_masked: bool,
    digital: bool = False,
    available: Sequence[str] = READERS,
    real_mask: str = "auto",
    covered: bool = False,
) -> str:
    """Which attacker (condition) reads a face.

    * a bare face as photographed: ``unmasked``;
    * a bare face wearing our digital mask: ``masked``, the attacker trained on exactly that mask
      (the paper's experiment);
    * a face that already wears a real mask: ``real`` when the run has it (it has seen real masked
      photos), else ``robust`` (trained on masks of many shapes, colours and textures, as real masks
      are; the paper-style attacker has only ever seen one flat white mask), else ``masked``.
      ``real_mask`` = ``"masked"``, ``"robust"`` or ``"real"`` forces one (to compare attackers on the
      same faces). With the run's ``readers.json`` (:class:`~.model_set.ModelSet` ``chosen``) the
      ``robust`` slot holds the real-mask reader chosen on validation, whatever its family;
    * a real mask painted over with the paper's mask (``covered``, :mod:`maskprivacy.masking.cover`):
      ``masked``, the attacker trained on exactly that paint, unless ``real_mask`` forces one.
    """
    if not already_masked:
        return "masked" if digital else "unmasked"
    if check_real_mask(real_mask) != "auto":
        return real_mask
    if covered:
        return "masked" if "masked" in available else "robust"
    return next((c for c in (REAL, ROBUST) if c in available), "masked")
