"""A distribution's settings to and from a profile's plain mapping (YAML lists, Python tuples).

The mask distribution (``random_masks.py``) and the occlusion distribution (``occluders/``) are
frozen dataclasses read from a profile section; a key they do not have is refused by name (a typo
must not fall back to a default silently), and they are written back with lists for tuples.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any


def known_settings(cls: type, d: dict[str, Any] | None, what: str) -> dict[str, Any]:
    """``d`` with its lists as tuples, ready for ``cls(**...)``; a key that is not a field of ``cls`` is
    an error naming ``what`` and the known keys."""
    d = dict(d or {})
    known = sorted(f.name for f in fields(cls))
    unknown = set(d) - set(known)
    if unknown:
        raise ValueError(f"unknown {what} settings {sorted(unknown)}; known: {known}")
    return {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}


def settings_dict(obj: Any) -> dict[str, Any]:
    """A dataclass's settings as a plain mapping, tuples as lists (YAML and JSON)."""
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(obj).items()}


__all__ = ["known_settings", "settings_dict"]
