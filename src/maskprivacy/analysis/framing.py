"""Framing: how tight each photo is, and the evaluation's figures per framing bucket.

The attackers learned on UTKFace crops with hair and head outline in frame, and read a tight close-up
behind a real mask much worse; one figure over a set mixes the two.
"""

from __future__ import annotations

from typing import Any, Callable

from maskprivacy.analysis.evaluate import accuracy_with_ci, auc_with_ci
from maskprivacy.bootstrap import LEVEL, N_RESAMPLES
from maskprivacy.data.photo_labels import PHOTO_CLASS_TASKS
from maskprivacy.faces.align import FRAMING_MOST, FRAMING_SOME, FRAMINGS, framing_of

#: What ``beyond_frame`` measures, in words (the JSON blocks carry it beside the buckets).
FRAMING_MEASURE = "share of the aligned face crop that lies beyond the photo's borders"


def framing_bounds() -> dict[str, str]:
    """The framing buckets in words, from the one definition (:data:`maskprivacy.faces.align.FRAMINGS`)."""
    return {
        "none": f"under {FRAMING_SOME:.0%}",
        "some": f"{FRAMING_SOME:.0%} to {FRAMING_MOST:.0%}",
        "most": f"{FRAMING_MOST:.0%} or more, a close-up: no more than the face in frame",
    }


def by_framing(
    rows: list[dict[str, Any]], n_boot: int = N_RESAMPLES, seed: int = 0, level: float = LEVEL
) -> dict[str, dict[str, Any]]:
    """The read rows' sex and race figures per framing bucket (:func:`~maskprivacy.faces.align.framing_of`
    of each row's ``beyond_frame``), every bucket present even when empty.

    Why: the attackers learned on UTKFace crops with hair and head outline in frame, and read a tight
    close-up behind a real mask much worse; one figure over a set mixes the two, so a user cannot tell
    whether a selfie or a news photo is being judged. Per bucket: ``n`` (faces read), ``sex``
    (:func:`accuracy_with_ci` + :func:`auc_with_ci`: AUC only where both sexes are present) and
    ``race`` (:func:`accuracy_with_ci`) when the rows have those labels; people resampled as there.
    """
    read = [r for r in rows if r["found"] == 1 and r["model"] and r.get("beyond_frame") is not None]
    out: dict[str, dict[str, Any]] = {}
    for bucket in FRAMINGS:
        sub = [r for r in read if framing_of(float(r["beyond_frame"])) == bucket]
        d: dict[str, Any] = {"n": len(sub)}
        for task in PHOTO_CLASS_TASKS:
            if any(r[f"{task}_true"] is not None for r in rows):
                d[task] = accuracy_with_ci(sub, task, n_boot, seed, level)
        if "sex" in d:
            d["sex"].update(auc_with_ci(sub, "sex", n_boot, seed, level))
        out[bucket] = d
    return out


def framing_block(
    rows: list[dict[str, Any]], n_boot: int = N_RESAMPLES, seed: int = 0, level: float = LEVEL
) -> dict[str, Any]:
    """``evaluate``'s framing figures: the buckets in words, :func:`by_framing` over every face read
    (``all_faces``) and over the faces read as already wearing a mask (``already_masked``), where the
    framing matters most."""
    masked = [r for r in rows if r["already_masked"] == 1]
    return {
        "measure": FRAMING_MEASURE,
        "buckets": framing_bounds(),
        "ci_level": level,
        "n_boot": n_boot,
        "all_faces": by_framing(rows, n_boot, seed, level),
        "already_masked": by_framing(masked, n_boot, seed, level),
    }


def framing_figures(d: dict[str, Any], fmt: Callable[[float], str]) -> str:
    """One bucket of :func:`by_framing` in words, e.g. ``12 faces: sex 91.7% (balanced 90.0%, AUC 0.950),
    race 75.0%`` (just ``0 faces`` when none was read)."""
    parts = []
    sex, race = d.get("sex") or {}, d.get("race") or {}
    if sex.get("accuracy") is not None:
        auc = f", AUC {sex['auc']:.3f}" if sex.get("auc") is not None else ""
        parts.append(f"sex {fmt(sex['accuracy'])} (balanced {fmt(sex['balanced_accuracy'])}{auc})")
    if race.get("accuracy") is not None:
        parts.append(f"race {fmt(race['accuracy'])}")
    n = d.get("n", 0)
    return f"{n} {'face' if n == 1 else 'faces'}" + (": " + ", ".join(parts) if parts else "")


def framing_text(by: dict[str, dict[str, Any]], fmt: Callable[[float], str]) -> str:
    """:func:`by_framing` in one line, each bucket named: ``none 12 faces: ...; some 0 faces; most ...``."""
    return "; ".join(f"{b} {framing_figures(by[b], fmt)}" for b in FRAMINGS if b in by)
