"""``protect(photo)``: what would protect me? Each occlusion on each face, read by the run's attacker.

For every face of a photo (found and aligned as ``analyze`` finds them), every entry of the occlusion
catalog (:mod:`maskprivacy.masking.occluders`: sunglasses, a cap, a hood, blur, ... and their
combinations with the paper's mask) is drawn on the aligned face from its 68 key points, and one
attacker reads all of them: what it still reads (sex, race, age group, each with its confidence) and
how much of the face the occlusion hides. The occlusions are ranked by how much is still read: the
mean over sex, race and age group of the attacker's confidence in its answer (its top-class
probability), lowest first, so the first row protects best.

Which attacker: the run's *adaptive* one, trained on random occlusions, which ``RUN/readers.json``
names under the role ``occluded`` (:mod:`.reader_choice`). A run without it is read by its
digital-mask reader, which never saw an occlusion: against it any occlusion looks protective, so the
answer says so plainly (``adaptive: false`` and a note naming the model).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from maskprivacy.data.labels import CLASS_NAMES
from maskprivacy.faces.align import resize_crop
from maskprivacy.layout import ADAPTIVE
from maskprivacy.tasks import CLASS_TASKS as TASKS  # what the ranking reads: the class tasks

OCCLUDED_ROLE = "occluded"
TASK_WORDS = {"sex": "sex", "race": "race", "age_bucket": "age group"}


@dataclass
class ProtectAttacker:
    """The model that reads occluded faces, and whether it ever trained on occlusions."""

    predictor: Any  # models.predictor.Predictor
    name: str  # e.g. occluded_uniform, or masked_uniform for a run without the adaptive attacker
    adaptive: bool
    words: str  # who it is, in a sentence
    side: int | None  # the side of its training faces (px), when the run says so
    untrained: bool = False

    @property
    def note(self) -> str:
        if self.adaptive:
            return f"Read by {self.name} ({self.words}): an attacker that trained on faces wearing occlusions."
        return (
            f"Naive attacker: {self.name} ({self.words}) never trained on occlusions, so any occlusion looks more "
            "protective than it would against an attacker that trained on faces wearing it. This run has no "
            "adaptive attacker (readers.json role 'occluded')."
        )


def load_protect_attacker(
    run: str | os.PathLike, split: str = "uniform", device: str | None = None, models: Any = None
) -> ProtectAttacker:
    """The run's adaptive attacker (readers.json role ``occluded``), else its digital-mask reader.

    ``models``: the run's :class:`.analyzer.ModelSet` when one is loaded already (the web app's), so
    neither the adaptive attacker (its ``adaptive`` slot, filled from the same role) nor the fallback
    reader is loaded twice."""
    from maskprivacy.analysis.model_set import ModelSet, NoModelsError, chosen_roles, training_side
    from maskprivacy.analysis.routing import READER_WORDS
    from maskprivacy.models.predictor import Predictor

    run = Path(run)
    roles = chosen_roles(run, split) if run.is_dir() else None
    if roles and OCCLUDED_ROLE in roles:
        r = roles[OCCLUDED_ROLE]
        loaded = models is not None and models.labels.get(ADAPTIVE) == r["name"]
        pred = models.get(ADAPTIVE) if loaded else Predictor.load(run / r["model"], device)
        words = f"{r.get('attacker', r['name'])}, chosen on validation to read faces wearing occlusions"
        return ProtectAttacker(
            pred,
            str(r["name"]),
            True,
            words,
            training_side(run, "unmasked", pred),
            bool(pred.info.get("untrained")),
        )
    if models is None:
        models = ModelSet(run, split, device)
    for slot in ("masked", "robust", "real"):
        pred = models.get(slot)
        if pred is not None:
            words = models.words.get(slot, READER_WORDS.get(slot, slot))
            return ProtectAttacker(pred, models.name(slot), False, words, models.side.get(slot), models.untrained)
    raise NoModelsError(
        f"{run} has no model that reads masked or occluded faces (it has: {', '.join(models.names()) or 'none'})"
    )


@dataclass
class Row:
    """One occlusion on one face: what the attacker still reads, and how much of the face it hides."""

    occlusion: str
    kind: str  # "bare", "drawn" or "image-edit"
    description: str
    reads: dict[str, dict[str, Any]]  # task -> {"label", "confidence"}; "age": {"years"}
    still_read: float  # mean top-class probability over sex, race, age group
    hidden: float  # share of the face hidden (OccludedFace.fraction_hidden)
    same_as_bare: dict[str, bool]  # task -> the same label as on the bare face
    image: np.ndarray = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "occlusion": self.occlusion,
            "kind": self.kind,
            "description": self.description,
            "reads": self.reads,
            "still_read": round(self.still_read, 4),
            "hidden": round(self.hidden, 4),
            "same_as_bare": self.same_as_bare,
        }


@dataclass
class FaceProtection:
    """One face: the bare reading and the occlusions, most protective first."""

    box: list[int]
    bare: Row
    ranking: list[Row]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "box": self.box,
            "bare": self.bare.to_dict(),
            "ranking": [{"rank": i + 1, **r.to_dict()} for i, r in enumerate(self.ranking)],
            "notes": self.notes,
        }


@dataclass
class ProtectResult:
    """Every face of a photo with its ranking, and the attacker that read them."""

    width: int
    height: int
    model: str
    attacker: ProtectAttacker
    faces: list[FaceProtection]
    notes: list[str] = field(default_factory=list)

    def to_dict(self, images: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {
            "width": self.width,
            "height": self.height,
            "model": self.model,
            "attacker": {"name": self.attacker.name, "adaptive": self.attacker.adaptive, "note": self.attacker.note},
            "ranked_by": "still_read: mean top-class probability over sex, race and age group, lowest first",
            "n_faces": len(self.faces),
            "faces": [f.to_dict() for f in self.faces],
            "notes": self.notes,
        }
        if images:
            import base64

            from maskprivacy.data.imageio import encode_jpeg

            d["grid"] = "data:image/jpeg;base64," + base64.b64encode(encode_jpeg(grid_image(self), 88)).decode()
        return d


def _reads(out: dict[str, np.ndarray], i: int) -> tuple[dict[str, dict[str, Any]], float]:
    reads: dict[str, dict[str, Any]] = {}
    tops = []
    for t in TASKS:
        if t in out:
            p = out[t][i].astype(float)
            k = int(np.argmax(p))
            reads[t] = {"label": CLASS_NAMES[t][k], "confidence": round(float(p[k]), 4)}
            tops.append(float(p[k]))
    if "age" in out:
        reads["age"] = {"years": round(float(out["age"][i]), 1)}
    return reads, float(np.mean(tops)) if tops else float("nan")


def _face_points(aligned) -> tuple[np.ndarray, str | None]:
    """The aligned crop's 68 points, or the template's (UTKFace's mean face) when none were found."""
    if aligned.points68 is not None:
        return np.asarray(aligned.points68, np.float64), None
    from maskprivacy.faces.template_data import POINTS68, SIZE

    side = aligned.crop.shape[0]
    return np.array(POINTS68, np.float64) * (
        side / SIZE
    ), "no key points on the aligned face: occlusions placed by the mean face"


def protect_photo(
    rgb: np.ndarray,
    attacker: ProtectAttacker,
    detector: str = "auto",
    seed: int = 0,
    names: Sequence[str] | None = None,
    model: str = "",
    threads: int | None = 1,
) -> ProtectResult:
    """Every face of ``rgb`` wearing every occlusion of ``names`` (default: the whole catalog), read by
    ``attacker``; each face's occlusions ranked, most protective first."""
    from maskprivacy.analysis.torch_threads import torch_threads
    from maskprivacy.faces.photo import find_faces
    from maskprivacy.masking.occluders import BARE, OCCLUSIONS, apply_occlusion

    names = list(OCCLUSIONS) if names is None else list(names)
    faces = find_faces(rgb, False, detector)
    notes = list(getattr(faces, "notes", []))
    if attacker.untrained:
        notes.append("These models are untrained (a demo run): their readings are noise.")
    drawn: list[tuple[list, np.ndarray, str | None]] = []
    crops: list[np.ndarray] = []
    for f in faces:
        pts, note = _face_points(f.aligned)
        occluded = [apply_occlusion(f.aligned.crop, pts, n, seed) for n in [BARE, *names]]
        drawn.append((occluded, pts, note))
        crops += [resize_crop(o.image, attacker.side) for o in occluded]
    out: dict[str, np.ndarray] = {}
    if crops:
        with torch_threads(threads):
            out = attacker.predictor.predict(np.stack(crops))
    result: list[FaceProtection] = []
    i = 0
    for f, (occluded, pts, note) in zip(faces, drawn):
        rows = []
        for o in occluded:
            reads, still = _reads(out, i)
            i += 1
            occ = OCCLUSIONS.get(o.name)
            rows.append(
                Row(
                    o.name,
                    occ.kind if occ else "bare",
                    occ.description if occ else "The face as photographed.",
                    reads,
                    still,
                    o.fraction_hidden(pts),
                    {},
                    o.image,
                )
            )
        bare, rest = rows[0], rows[1:]
        for r in rows:
            r.same_as_bare = {t: r.reads[t]["label"] == bare.reads[t]["label"] for t in TASKS if t in r.reads}
        rest.sort(key=lambda r: (r.still_read, -r.hidden, r.occlusion))
        result.append(FaceProtection(f.box, bare, rest, [note] if note else []))
    h, w = rgb.shape[:2]
    return ProtectResult(w, h, model, attacker, result, notes)


def _cell(r: dict[str, Any] | None) -> str:
    return f"{r['label']} {100 * r['confidence']:.0f}%" if r and r.get("confidence") is not None else "-"


def ranking_text(result: ProtectResult) -> str:
    """The ranking as plain text: one table per face, most protective first, bare last for reference."""
    lines = [result.attacker.note]
    for fi, face in enumerate(result.faces, 1):
        lines.append(
            f"face {fi} (box {face.box}): most protective first; 'still read' = mean confidence over sex, race, age group"
        )
        width = max(len(r.occlusion) for r in [face.bare, *face.ranking])
        lines.append(
            f"  {'rank':>4}  {'occlusion':<{width}}  {'hidden':>6}  {'still read':>10}  {'sex':<13} {'race':<15} age group"
        )
        for k, r in [*((str(i), r) for i, r in enumerate(face.ranking, 1)), ("-", face.bare)]:
            lines.append(
                f"  {k:>4}  {r.occlusion:<{width}}  {100 * r.hidden:5.0f}%  {100 * r.still_read:9.0f}%  "
                f"{_cell(r.reads.get('sex')):<13} {_cell(r.reads.get('race')):<15} {_cell(r.reads.get('age_bucket'))}"
            )
        lines += [f"  note: {n}" for n in face.notes]
    lines += [f"note: {n}" for n in result.notes]
    return "\n".join(lines)


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # a Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _fit(draw, text: str, font, width: int) -> str:
    """``text`` cut (with an ellipsis) to ``width`` pixels in ``font``."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def grid_image(result: ProtectResult, tile: int = 150, columns: int = 6) -> np.ndarray:
    """One picture (H, W, 3 uint8): per face, a title line, then the bare face and every occlusion in
    ranking order, each captioned with what the attacker still reads."""
    from PIL import Image, ImageDraw

    caption, title = 44, 26
    font, bold = _font(11), _font(14)
    blocks = []
    for fi, face in enumerate(result.faces, 1):
        rows = [face.bare, *face.ranking]
        n_rows = -(-len(rows) // columns)
        im = Image.new("RGB", (columns * tile, title + n_rows * (tile + caption)), (255, 255, 255))
        d = ImageDraw.Draw(im)
        who = "adaptive" if result.attacker.adaptive else "naive: never trained on occlusions"
        d.text(
            (6, 5),
            f"Face {fi}: read by {result.attacker.name} ({who}); most protective first",
            fill=(20, 20, 20),
            font=bold,
        )
        for k, r in enumerate(rows):
            x, y = (k % columns) * tile, title + (k // columns) * (tile + caption)
            im.paste(Image.fromarray(r.image).resize((tile, tile), Image.Resampling.BILINEAR), (x, y))
            labels = " ".join(r.reads[t]["label"] for t in TASKS if t in r.reads)
            lines = [
                r.occlusion if k == 0 else f"#{k} {r.occlusion}",
                f"still read {100 * r.still_read:.0f}% · hidden {100 * r.hidden:.0f}%",
                labels,
            ]
            for j, (text, ink) in enumerate(zip(lines, ((20, 20, 20), (60, 60, 60), (90, 90, 90)))):
                d.text((x + 3, y + tile + 2 + 13 * j), _fit(d, text, font, tile - 6), fill=ink, font=font)
        blocks.append(np.asarray(im))
    if not blocks:
        return np.full((title, columns * tile, 3), 255, np.uint8)
    return np.vstack(blocks)


__all__ = [
    "OCCLUDED_ROLE",
    "FaceProtection",
    "ProtectAttacker",
    "ProtectResult",
    "Row",
    "grid_image",
    "load_protect_attacker",
    "protect_photo",
    "ranking_text",
]
