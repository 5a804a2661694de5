"""A short plain-language summary of an analysis, for people rather than for programs.

The readers are people asking "what can a camera still tell about me behind a mask?", so the text
says what the model read, how sure it was, and what the mask did or did not hide, without jargon.
"""

from __future__ import annotations

from maskprivacy.analysis.schema import Change, Face, Photo, Reading

STYLE_WORDS = {
    "a": "type-a (the paper's)",
    "b": "type-b",
    "c": "type-c",
    "d": "type-d",
    "e": "type-e",
    "f": "type-f",
    "surgical": "surgical",
    "cloth": "cloth",
    "n95": "N95",
}


def _pct(v: float | None) -> str:
    return "" if v is None else f" ({round(100 * v)}% sure)"


def reading_text(r: Reading | None) -> str:
    """'female (93% sure), White (71% sure), about 31 years old (age group 20-30)'."""
    if r is None:
        return "no reading (no model for this case)"
    parts = [f"{c.label}{_pct(c.confidence)}" for c in (r.sex, r.race) if c is not None]
    if r.age is not None:
        group = f" (age group {r.age_bucket.label})" if r.age_bucket is not None else ""
        parts.append(f"about {round(r.age.years)} years old{group}")
    elif r.age_bucket is not None:
        parts.append(f"age group {r.age_bucket.label}{_pct(r.age_bucket.confidence)}")
    return ", ".join(parts) if parts else "no attributes"


def _word(task: str) -> str:
    return "age group" if task == "age_bucket" else task


def change_text(ch: Change | None) -> str:
    if ch is None:
        return ""
    classes = ch.class_changes()
    changed = [_word(t) for t, c in classes.items() if c.changed]
    kept = [_word(t) for t, c in classes.items() if not c.changed]
    bits = []
    if changed:
        bits.append("the mask changed the reading of " + " and ".join(changed))
    if kept:
        bits.append(" and ".join(kept) + (" was" if len(kept) == 1 else " were") + " still read the same")
    if ch.age is not None:
        years = round(abs(ch.age.delta_years))
        bits.append(
            "the age estimate barely moved"
            if years == 0
            else f"the age estimate moved by {years} year{'' if years == 1 else 's'}"
        )
    drops = [
        (t, -c.confidence_change)
        for t, c in classes.items()
        if c.confidence_change is not None and not c.changed and -c.confidence_change >= 0.05
    ]
    if drops:
        t, d = max(drops, key=lambda x: x[1])
        bits.append(f"confidence in the {_word(t)} dropped by {round(100 * d)} points")
    text = "; ".join(bits)
    return text[:1].upper() + text[1:] + "." if text else ""


def face_text(i: int, f: Face, style: str | None, color: str) -> str:
    head = f"Face {i}"
    if f.already_masked:
        model = (f.as_is.model if f.as_is is not None else "").rsplit("/", 1)[-1]  # e.g. facenet/real_uniform
        who = (
            "the real-mask model"
            if model.startswith("real")
            else "the mask-robust model"
            if model.startswith("robust")
            else "the masked-face model"
        )
        return f"{head} already wears a mask: {who} reads {reading_text(f.as_is)}."
    s = f"{head} (no mask): the model reads {reading_text(f.as_is)}."
    if style and f.masked is not None:
        s += (
            f" With a digital {color + ' ' if color and color != 'random' else ''}{STYLE_WORDS.get(style, style)} "
            f"mask: {reading_text(f.masked)}. {change_text(f.change)}"
        )
    return s.strip()


def _hid_nothing(ch: Change | None) -> bool:
    """The mask changed no class reading (of those both readings have)."""
    if ch is None or not ch.model_dump():
        return False
    return not any(c.changed for c in ch.class_changes().values())


def summarize(result: Photo) -> str:
    n = len(result.faces)
    if n == 0:
        return "No face was found in this photo."
    lines = [f"Found {n} face{'s' if n != 1 else ''}."]
    lines += [face_text(i + 1, f, result.mask_style, result.mask_color) for i, f in enumerate(result.faces)]
    lines += result.notes
    hidden = [f for f in result.faces if _hid_nothing(f.change)]
    if result.mask_style and hidden:
        lines.append(
            "A mask did not stop the model from reading sex, race and age group the same way"
            + (" for this face." if n == 1 else f" for {len(hidden)} of {n} faces.")
        )
    return " ".join(lines)
