"""Faces found once per photo across analyzers: the key :meth:`.analyzer.Analyzer.analyze_batch`'s
``memo`` files them under.

Finding and aligning the faces of a photo whose "already masked" is told depends neither on the models
nor on the mask check, so every attacker of a run that reads one labelled folder can share them.
"""

from __future__ import annotations

import hashlib

import numpy as np


def memo_key(rgb: np.ndarray, flag: bool, detector: str) -> tuple:
    """A photo's identity: its pixels' digest and shape, the told flag and the detector."""
    digest = hashlib.blake2b(np.ascontiguousarray(rgb).data, digest_size=16).digest()
    return digest, rgb.shape, bool(flag), detector
