"""maskprivacy: does a face mask protect my privacy?

One-call APIs (imported lazily so ``import maskprivacy`` stays light):

* :func:`mask_face` - draw a digital mask on the largest face of an image.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "mask_face": ("maskprivacy.masking.api", "mask_face"),
    "NoFaceError": ("maskprivacy.masking.api", "NoFaceError"),
    "analyze": ("maskprivacy.analysis.analyzer", "analyze"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        mod, attr = _LAZY[name]
        return getattr(importlib.import_module(mod), attr)
    raise AttributeError(f"module 'maskprivacy' has no attribute {name!r}")


__all__ = ["__version__", *_LAZY]
