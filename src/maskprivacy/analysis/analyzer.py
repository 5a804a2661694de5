"""``analyze(photo)``: what trained attacker models read from each face, bare and behind a mask.

For every face of a photo (found and aligned by :mod:`maskprivacy.faces`):

* ``as_is``: the prediction for the face as photographed, by the models trained on bare faces, or,
  if the face already wears a real mask, by the run's mask-robust attacker (trained on many mask
  styles) when it has one, else by the paper-style masked-face attacker (:mod:`.routing`);
* ``masked``: the prediction for the same face wearing a digital mask of the chosen style, drawn
  from its 68 points exactly as the masking stage drew it on the training faces, by the masked-face
  models (skipped for faces that already wear a mask: a second mask would be drawn over the first);
* ``change``: what the mask changed (labels, confidence in the original reading, age in years).

Models come from a run directory (:class:`.model_set.ModelSet`); results are the typed
:mod:`.schema` models. Everything is computed in memory; nothing is written anywhere.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from maskprivacy.analysis.memo import memo_key
from maskprivacy.analysis.model_set import DEFAULT_MODEL, ModelSet, NoModelsError
from maskprivacy.analysis.readings import change_of, reading_of
from maskprivacy.analysis.routing import MASK_CHECKS, READERS
from maskprivacy.analysis.schema import FaceResult, PhotoResult, Reading
from maskprivacy.analysis.summary import summarize
from maskprivacy.analysis.torch_threads import torch_threads
from maskprivacy.faces.align import resize_crop
from maskprivacy.faces.detect import get_detector
from maskprivacy.faces.photo import find_faces
from maskprivacy.layout import RunLayout
from maskprivacy.masking.api import load_rgb
from maskprivacy.masking.colors import parse_color
from maskprivacy.masking.cover import cover_real_mask
from maskprivacy.masking.draw import check_style, draw_mask
from maskprivacy.models.mask_classifier import load_mask_detector

UNTRAINED_NOTE = "These models are untrained (a demo run): their readings are noise."


@dataclass
class _Job:
    """One crop one model must read: photo ``pi``, face ``fi``, ``which`` in as_is / masked."""

    pi: int
    fi: int
    which: str
    crop: np.ndarray


class Analyzer:
    """Detector, aligner and one run's models, loaded once; analyses photos one by one or in batches."""

    def __init__(
        self,
        model: str | os.PathLike = DEFAULT_MODEL,
        split: str = "uniform",
        detector: str = "auto",
        device: str | None = None,
        threads: int | None = 1,
        tta: bool | None = None,
        real_mask: str = "auto",
        cover: bool = False,
        mask_check: str = "auto",
        chosen: bool = True,
    ):
        """``threads``: torch threads while the models run (None: leave torch's setting).

        One by default: an analysis feeds the networks a few 64-px crops at a time, too little work to
        share, and PyTorch's idle worker threads spin on the other core while dlib and BlazeFace run.
        ``tta``: None keeps each model's own flip averaging (as it was evaluated); False halves the
        models' cost, at the price of readings that differ slightly from the run's reported metrics.
        ``real_mask``: which attacker reads faces that already wear a mask: ``auto`` (the mask-robust
        one when the run has it, else the paper-style one), ``masked`` or ``robust`` (:mod:`.routing`).
        ``cover``: paint the paper's white type-a mask over a real mask before it is read
        (:mod:`maskprivacy.masking.cover`); such a face then goes to the paper-style attacker under ``auto``.
        ``mask_check`` (:data:`.routing.MASK_CHECKS`): who decides "already masked" when the caller does not
        say: ``auto`` = the run's trained mask detector when it has one, else the colour check.
        ``chosen``: read with the models the run chose on validation (``readers.json``, :class:`.ModelSet`);
        False: with this folder's own conditions (to compare one family's attackers).
        """
        if mask_check not in MASK_CHECKS:
            raise ValueError(f"mask_check must be one of {', '.join(MASK_CHECKS)}, got {mask_check!r}")
        self.models = ModelSet(model, split, device, real_mask, chosen)
        path = RunLayout.of(model).mask_detector
        if mask_check == "detector" and not path.is_file():
            raise NoModelsError(
                f"{model} has no mask detector ({path}): run `maskprivacy reproduce ... --only mask_detector`, "
                "or use the colour check"
            )
        self.mask_detector = load_mask_detector(path) if mask_check != "colour" and path.is_file() else None
        if tta is not None:
            for p in self.models.predictors.values():
                p.tta = bool(tta)
        self.detector = detector
        self.cover = bool(cover)
        self.threads = threads
        self.detector_backend = get_detector(detector).backend  # load now, not on the first request

    def analyze(
        self,
        image: Any,
        mask_style: str | None = "a",
        mask_color: str = "white",
        already_masked: bool | None = None,
        seed: int = 0,
    ) -> PhotoResult:
        return self.analyze_batch([image], mask_style, mask_color, [already_masked], seed)[0]

    def analyze_batch(
        self,
        images: Sequence[Any],
        mask_style: str | None = "a",
        mask_color: str = "white",
        already_masked: Sequence[bool | None] | bool | None = None,
        seed: int = 0,
        memo: dict | None = None,
    ) -> list[PhotoResult]:
        """Analyse several photos; the models run once over all their faces (faster than one by one).

        ``memo``: a dict the caller keeps across calls (and analyzers) that read the same photos, e.g.
        every attacker of a run on one labelled folder: the faces of a photo whose "already masked" is
        told are found and aligned once (:mod:`.memo`).
        """
        style = None if mask_style in (None, "none") else check_style(str(mask_style))
        parse_color(mask_color)  # a bad colour is an error before any work, face or no face
        flags = list(already_masked) if isinstance(already_masked, (list, tuple)) else [already_masked] * len(images)
        if len(flags) != len(images):
            raise ValueError("already_masked needs one value per image")
        photos = self._find(images, flags, memo)
        jobs, masked_crops, covered = self._plan(photos, style, mask_color, seed)
        readings = self._read(jobs)
        return [
            self._photo_result(pi, rgb, faces, style, mask_color, readings, masked_crops, covered)
            for pi, (rgb, faces) in enumerate(photos)
        ]

    def _find(
        self, images: Sequence[Any], flags: list[bool | None], memo: dict | None
    ) -> list[tuple[np.ndarray, list]]:
        """Each photo's pixels and its faces, found and aligned (from ``memo`` when it has them)."""
        photos: list[tuple[np.ndarray, list]] = []
        check = self.mask_detector.check if self.mask_detector is not None else None
        with torch_threads(self.threads if check is not None else None):
            for img, flag in zip(images, flags):
                rgb = load_rgb(img)
                key = memo_key(rgb, flag, self.detector) if memo is not None and flag is not None else None
                faces = memo.get(key) if key is not None else None
                if faces is None:
                    faces = find_faces(rgb, flag, self.detector, mask_check=check)
                    if key is not None:
                        memo[key] = faces
                photos.append((rgb, faces))
        return photos

    def _plan(
        self, photos: list[tuple[np.ndarray, list]], style: str | None, mask_color: str, seed: int
    ) -> tuple[dict[str, list[_Job]], dict[tuple[int, int], np.ndarray], set[tuple[int, int]]]:
        """The crops each model must read (routed by :meth:`.ModelSet.reader`), the masked crops, and the
        faces whose real mask was painted over (``cover``)."""
        jobs: dict[str, list[_Job]] = {c: [] for c in READERS}
        masked_crops: dict[tuple[int, int], np.ndarray] = {}
        covered_faces: set[tuple[int, int]] = set()
        for pi, (_, faces) in enumerate(photos):
            for fi, f in enumerate(faces):
                covered = self.cover and f.already_masked and f.aligned.points68 is not None
                crop = f.aligned.crop
                if covered:
                    covered_faces.add((pi, fi))
                    crop = masked_crops[(pi, fi)] = cover_real_mask(crop, f.aligned.points68)
                jobs[self.models.reader(f.already_masked, covered=covered)].append(_Job(pi, fi, "as_is", crop))
                if style and not f.already_masked:
                    mc = draw_mask(
                        f.aligned.crop, f.aligned.points68, style=style, color=mask_color, seed=seed, key=f"{pi}/{fi}"
                    )
                    masked_crops[(pi, fi)] = mc
                    jobs[self.models.reader(False, digital=True)].append(_Job(pi, fi, "masked", mc))
        return jobs, masked_crops, covered_faces

    def _read(self, jobs: dict[str, list[_Job]]) -> dict[tuple[int, int, str], Reading]:
        """Each model over all its crops at once; the models side by side, one core each, with one thread
        (torch releases the GIL in its kernels)."""
        todo = [(c, items) for c, items in jobs.items() if items and self.models.get(c) is not None]

        def run(cond: str, items: list[_Job]) -> dict[str, np.ndarray]:
            side = self.models.side[cond]
            return self.models.get(cond).predict(np.stack([resize_crop(j.crop, side) for j in items]))

        with torch_threads(self.threads):
            if len(todo) >= 2 and self.threads == 1:
                with ThreadPoolExecutor(min(2, len(todo))) as ex:
                    outs = list(ex.map(lambda t: run(*t), todo))
            else:
                outs = [run(*t) for t in todo]
        readings: dict[tuple[int, int, str], Reading] = {}
        for (cond, items), out in zip(todo, outs):
            for i, j in enumerate(items):
                readings[(j.pi, j.fi, j.which)] = reading_of(out, i, self.models.name(cond))
        return readings

    def _face_notes(
        self, f: Any, covered: bool, as_is: Reading | None, masked: Reading | None, style: str | None
    ) -> list[str]:
        """Why a reading is missing, and who read a face that already wore a mask."""
        notes = []
        reader = self.models.reader(f.already_masked, covered=covered)
        if as_is is None:
            notes.append(f"this run has no {self.models.name(reader)} model")
        if covered:
            notes.append(
                f"already wears a mask: painted over with the paper's white type-a mask, then read "
                f"by {self.models.name(reader)} ({self.models.words[reader]})"
            )
        elif f.already_masked:
            notes.append(
                f"already wears a mask: read as it is by {self.models.name(reader)} "
                f"({self.models.words[reader]}), no digital mask added"
            )
        elif style and masked is None:
            notes.append(f"this run has no {self.models.name(self.models.reader(False, True))} model")
        return notes

    def _photo_result(
        self,
        pi: int,
        rgb: np.ndarray,
        faces: list,
        style: str | None,
        mask_color: str,
        readings: dict[tuple[int, int, str], Reading],
        masked_crops: dict[tuple[int, int], np.ndarray],
        covered: set[tuple[int, int]],
    ) -> PhotoResult:
        face_results = []
        for fi, f in enumerate(faces):
            as_is = readings.get((pi, fi, "as_is"))
            masked = readings.get((pi, fi, "masked"))
            face_results.append(
                FaceResult(
                    box=f.box,
                    detector=f.detection.source,
                    detector_score=round(f.detection.score, 4),
                    already_masked=f.already_masked,
                    masked_reason=f.masked_reason,
                    mask_probability=None if f.mask_probability is None else round(f.mask_probability, 4),
                    alignment=f.aligned.method,
                    beyond_frame=None if f.beyond_frame is None else round(f.beyond_frame, 4),
                    as_is=as_is,
                    masked=masked,
                    change=change_of(as_is, masked),
                    notes=self._face_notes(f, (pi, fi) in covered, as_is, masked, style),
                    crop=f.aligned.crop,
                    masked_crop=masked_crops.get((pi, fi)),
                )
            )
        h, w = rgb.shape[:2]
        notes = [UNTRAINED_NOTE] if self.models.untrained else []
        notes += getattr(faces, "notes", [])  # too small for a face; more faces than were analysed
        result = PhotoResult(
            width=w,
            height=h,
            model=str(self.models.run),
            mask_style=style,
            mask_color=mask_color,
            n_faces=len(face_results),
            faces=face_results,
            notes=notes,
        )
        result.summary = summarize(result)
        return result


_ANALYZERS: dict[tuple[str, str, str, bool | None, str, bool, str, bool], Analyzer] = {}
_LOCK = threading.Lock()


def get_analyzer(
    model: str | os.PathLike = DEFAULT_MODEL,
    split: str = "uniform",
    detector: str = "auto",
    tta: bool | None = None,
    real_mask: str = "auto",
    cover: bool = False,
    mask_check: str = "auto",
    chosen: bool = True,
) -> Analyzer:
    """A cached :class:`Analyzer` per (run, split, detector, tta, real_mask, cover, mask_check, chosen);
    models load once per process."""
    key = (str(Path(model).resolve()), split, detector, tta, real_mask, bool(cover), mask_check, bool(chosen))
    with _LOCK:
        if key not in _ANALYZERS:
            _ANALYZERS[key] = Analyzer(
                model, split, detector, tta=tta, real_mask=real_mask, cover=cover, mask_check=mask_check, chosen=chosen
            )
        return _ANALYZERS[key]


def analyze(
    image: Any,
    model: str | os.PathLike = DEFAULT_MODEL,
    mask_style: str | None = "a",
    mask_color: str = "white",
    already_masked: bool | None = None,
    split: str = "uniform",
    detector: str = "auto",
    real_mask: str = "auto",
    cover: bool = False,
    mask_check: str = "auto",
) -> PhotoResult:
    """Analyse every face of ``image`` (a path, encoded bytes, a PIL image or an RGB array).

    ``already_masked``: None lets a mask check decide per face whether it already wears a real mask
    (``mask_check``: ``auto`` = the run's trained detector when it has one, else a colour check;
    ``detector``; ``colour``); True/False says so for every face of the photo. ``mask_style``: one of
    :data:`maskprivacy.masking.draw.STYLES`, or None for no digital mask. ``real_mask``: which attacker
    reads faces that already wear a mask (:mod:`.routing`). ``cover``: paint the paper's mask over a real
    mask first (:mod:`maskprivacy.masking.cover`). Each reading names its model (``model``).

    >>> r = analyze("photo.jpg", model="runs/cpu", mask_style="a")   # doctest: +SKIP
    >>> r[0].as_is.sex.label, r[0].masked.sex.label, r[0].change, r.summary  # doctest: +SKIP
    """
    return get_analyzer(model, split, detector, real_mask=real_mask, cover=cover, mask_check=mask_check).analyze(
        image, mask_style, mask_color, already_masked
    )
