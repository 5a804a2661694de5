"""``analyze(photo)``: what trained attacker models read from each face, bare and behind a mask.

For every face of a photo (found and aligned by :mod:`.faces`):

* ``as_is``: the prediction for the face as photographed, by the models trained on bare faces, or,
  if the face already wears a real mask, by the run's mask-robust attacker (trained on many mask
  styles) when it has one, else by the paper-style masked-face attacker (see :func:`reader_for`);
* ``masked``: the prediction for the same face wearing a digital mask of the chosen style, drawn
  from its 68 points exactly as the masking stage drew it on the training faces, by the masked-face
  models (skipped for faces that already wear a mask: a second mask would be drawn over the first);
* ``change``: what the mask changed (labels, confidence in the original reading, age in years).

Models come from a run directory (``RUN/train/<unmasked|masked|robust>_<split>/model.pt``, written by
the attacker stage); the uniform split's by default. Everything is computed in memory; nothing is
written anywhere.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from maskprivacy.data.labels import AGE_BUCKET_NAMES, CLASS_NAMES, age_to_bucket
from maskprivacy.faces.align import resize_crop
from maskprivacy.layout import ADAPTIVE, REAL, ROBUST, SPLITS, RunLayout
from maskprivacy.masking.draw import check_style, draw_mask
from maskprivacy.tasks import CLASS_TASKS

DEFAULT_MODEL = os.environ.get("MASKPRIVACY_MODEL", "runs/cpu")


# Attackers a run may hold, by the faces they were trained on: bare faces, faces wearing the paper's
# digital mask (type "a", white), faces wearing masks drawn from many styles ("mask-robust"), and those
# plus real photos of masked faces ("real-mask"), and faces wearing occluders over masks ("adaptive").
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
# detector (models/mask_detector.py) when it has one, else the colour check (faces/maskcheck.py).
MASK_CHECKS = ("auto", "detector", "colour")
READER_WORDS = {
    "unmasked": "the attacker trained on bare faces",
    "masked": "the attacker trained on the paper's white type-a mask",
    "robust": "the mask-robust attacker, trained on many mask styles",
    "real": "the real-mask attacker, trained on many mask styles and real photos of masked faces",
    "adaptive": "the adaptive attacker, trained on masks and occluders (sunglasses, caps, hoods, blur)",
}


def reader_for(
    already_masked: bool,
    digital: bool = False,
    available: Sequence[str] = READERS,
    real_mask: str = "auto",
    covered: bool = False,
) -> str:
    """Which attacker (condition) reads a face: the one routing rule of analyze, evaluate and the API.

    * a bare face as photographed: ``unmasked``;
    * a bare face wearing our digital mask: ``masked``, the attacker trained on exactly that mask
      (the paper's experiment);
    * a face that already wears a real mask: ``real`` when the run has it (it has seen real masked
      photos), else ``robust`` (trained on masks of many shapes, colours and textures, as real masks
      are; the paper-style attacker has only ever seen one flat white mask), else ``masked``.
      ``real_mask`` = ``"masked"``, ``"robust"`` or ``"real"`` forces one (to compare attackers on the
      same faces). With the run's ``readers.json`` (:class:`ModelSet` ``chosen``) the ``robust`` slot
      holds the real-mask reader chosen on validation, whatever its family;
    * a real mask painted over with the paper's mask (``covered``, :mod:`maskprivacy.masking.cover`):
      ``masked``, the attacker trained on exactly that paint, unless ``real_mask`` forces one.
    """
    if not already_masked:
        return "masked" if digital else "unmasked"
    if real_mask not in REAL_MASK_READERS:
        raise ValueError(f"real_mask must be one of {', '.join(REAL_MASK_READERS)}, got {real_mask!r}")
    if real_mask != "auto":
        return real_mask
    if covered:
        return "masked" if "masked" in available else "robust"
    return next((c for c in (REAL, ROBUST) if c in available), "masked")


def _chosen_roles(run: Path, split: str) -> dict[str, dict[str, Any]] | None:
    """The readers chosen on validation for ``split`` (``RUN/readers.json``), when the run has them and
    every chosen model is still there (a run copied without them reads with its own models)."""
    import json

    path = RunLayout(run).readers_json
    if not path.is_file():
        return None
    try:
        roles = json.loads(path.read_text())["splits"][split]
    except (ValueError, KeyError, TypeError):
        return None
    if not roles or not all((run / r["model"]).is_file() for r in roles.values()):
        return None
    return roles


class NoModelsError(FileNotFoundError):
    """The run directory has no trained models to analyse with."""


def _no_models_message(run: Path, split: str) -> str:
    return (
        f"no trained models in {run}: expected {run}/train/<unmasked|masked|robust>_{split}/model.pt. "
        f"Train them with `maskprivacy reproduce --profile cpu --out {run}`, or pass --model RUN_DIR "
        f"(a run directory of the attacker stage; default: $MASKPRIVACY_MODEL or runs/cpu)."
    )


def _training_side(run: Path, condition: str, pred) -> int | None:
    """The side (px) of the faces the model was trained on, when the run says so.

    The attacker stage trains on a cache of UTKFace crops resized once with area averaging
    (``RUN/cache/<condition>_s<S>``). Resizing an aligned crop the same way before the model gives
    it the pixels it was trained on, and is cheaper than handing it 200-px crops.
    """
    if pred is None:
        return None
    if pred.info.get("cache_size"):
        return int(pred.info["cache_size"])
    sizes = {
        int(m.group(1))
        for d in RunLayout(run).cache.glob(f"{condition}_s*")
        if (m := re.fullmatch(rf"{condition}_s(\d+)", d.name)) and d.is_dir()
    }
    return sizes.pop() if len(sizes) == 1 else None


class ModelSet:
    """The attackers that read faces for one run and split: bare-face, digital-mask and real-mask readers.

    ``chosen`` (default): when the run has ``readers.json`` (the reproduce stage ``readers``,
    :mod:`maskprivacy.analysis.reader_choice`) and ``real_mask`` is ``auto``, each slot holds the model
    chosen on validation for that role, whatever its family: ``unmasked`` the bare-face reader,
    ``masked`` the digital-mask reader, ``robust`` the real-mask reader. Otherwise (no readers.json,
    ``chosen=False``, or a forced ``real_mask``) the slots hold this folder's own conditions.
    """

    def __init__(
        self,
        run: str | os.PathLike,
        split: str = "uniform",
        device: str | None = None,
        real_mask: str = "auto",
        chosen: bool = True,
    ):
        """``real_mask``: which attacker reads faces that already wear a mask (:func:`reader_for`)."""
        from maskprivacy.models.predictor import Predictor, load_run_predictors

        if split not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
        if real_mask not in REAL_MASK_READERS:
            raise ValueError(f"real_mask must be one of {', '.join(REAL_MASK_READERS)}, got {real_mask!r}")
        self.run = Path(run)
        if not self.run.is_dir():
            raise NoModelsError(_no_models_message(self.run, split))
        self.split = split
        self.real_mask = real_mask
        self.labels: dict[str, str] = {}  # slot -> the chosen model's name (chosen readers only)
        self.words: dict[str, str] = dict(READER_WORDS)
        roles = _chosen_roles(self.run, split) if chosen and real_mask == "auto" else None
        if roles:
            self.predictors = {}
            loaded: dict[str, Any] = {}  # one model may be chosen for two roles: load it once
            for role, r in roles.items():
                if role not in ROLES:  # a role this version does not route faces to (a newer run's)
                    continue
                slot, what = ROLES[role]
                if r["model"] not in loaded:
                    loaded[r["model"]] = Predictor.load(self.run / r["model"], device)
                self.predictors[slot] = loaded[r["model"]]
                self.labels[slot] = str(r["name"])
                self.words[slot] = f"{r['attacker']}, chosen on validation to read {what}"
        else:
            preds = load_run_predictors(self.run, device=device)
            self.predictors = {c: preds[(c, split)] for c in READERS if (c, split) in preds}
        if not self.predictors:
            raise NoModelsError(_no_models_message(self.run, split))
        if real_mask != "auto" and real_mask not in self.predictors:
            raise NoModelsError(
                f"{self.run} has no {real_mask}_{split} model to read faces that wear a mask "
                f"(it has: {', '.join(self.names()) or 'none'})"
            )
        self.untrained = any(p.info.get("untrained") for p in self.predictors.values())
        self.side = {c: _training_side(self.run, c, p) for c, p in self.predictors.items()}

    @property
    def unmasked(self):
        return self.predictors.get("unmasked")

    @property
    def masked(self):
        return self.predictors.get("masked")

    @property
    def robust(self):
        return self.predictors.get("robust")

    def condition(self, which: bool | str) -> str:
        """A condition name; ``False``/``True`` (bare/masked, the older interface) read as unmasked/masked."""
        if isinstance(which, str):
            if which not in READERS:
                raise ValueError(f"condition must be one of {', '.join(READERS)}, got {which!r}")
            return which
        return "masked" if which else "unmasked"

    def name(self, which: bool | str) -> str:
        c = self.condition(which)
        return self.labels.get(c, f"{c}_{self.split}")

    def get(self, which: bool | str):
        return self.predictors.get(self.condition(which))

    def names(self) -> list[str]:
        """The models this run has, e.g. ``["unmasked_uniform", "masked_uniform", "robust_uniform"]``."""
        return [self.name(c) for c in READERS if c in self.predictors]

    def reader(self, already_masked: bool, digital: bool = False, covered: bool = False) -> str:
        """The condition whose model reads this face (:func:`reader_for` with this run's models)."""
        return reader_for(already_masked, digital, tuple(self.predictors), self.real_mask, covered)


def _reading(out: dict[str, np.ndarray], i: int, model: str) -> dict[str, Any]:
    """Row ``i`` of a predictor's output as labels, confidences and probabilities."""
    r: dict[str, Any] = {"model": model}
    for t in CLASS_TASKS:
        if t in out:
            p = out[t][i].astype(float)
            k = int(np.argmax(p))
            r[t] = {
                "label": CLASS_NAMES[t][k],
                "index": k,
                "confidence": round(float(p[k]), 4),
                "probabilities": {n: round(float(v), 4) for n, v in zip(CLASS_NAMES[t], p)},
            }
    if "age" in out:
        years = float(out["age"][i])
        r["age"] = {"years": round(years, 1)}
        if "age_bucket" not in r:  # a regression-only model still places the face in a bucket
            r["age_bucket"] = {
                "label": AGE_BUCKET_NAMES[age_to_bucket(years)],
                "index": age_to_bucket(years),
                "confidence": None,
                "probabilities": None,
            }
    return r


def _change(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the mask changed: per class task, the label and the probability of the bare reading."""
    if not before or not after:
        return None
    ch: dict[str, Any] = {}
    for t in CLASS_TASKS:
        b, a = before.get(t), after.get(t)
        if not b or not a:
            continue
        c: dict[str, Any] = {"from": b["label"], "to": a["label"], "changed": b["label"] != a["label"]}
        if b.get("probabilities") and a.get("probabilities"):
            c["confidence_change"] = round(a["probabilities"][b["label"]] - b["probabilities"][b["label"]], 4)
        ch[t] = c
    if "age" in before and "age" in after:
        ch["age"] = {
            "from": before["age"]["years"],
            "to": after["age"]["years"],
            "delta_years": round(after["age"]["years"] - before["age"]["years"], 1),
        }
    return ch


@dataclass
class FaceResult:
    """One face: where it is, whether it already wore a mask, and the two readings."""

    box: list[int]
    detector: str
    detector_score: float
    already_masked: bool
    masked_reason: str
    alignment: str
    as_is: dict[str, Any] | None
    masked: dict[str, Any] | None
    change: dict[str, Any] | None
    crop: np.ndarray = field(repr=False)  # the aligned face (200x200 RGB)
    # The same face with the digital mask (or, for a real mask painted over, as the attacker read it).
    masked_crop: np.ndarray | None = field(default=None, repr=False)
    notes: list[str] = field(default_factory=list)
    mask_probability: float | None = None  # the run's mask detector's P(masked), when it decided
    # The share of the aligned crop beyond the photo's borders (faces.align.beyond_frame_share): a tight
    # close-up leaves the attacker no hair or head outline to read.
    beyond_frame: float | None = None

    def to_dict(self, images: bool = False) -> dict[str, Any]:
        d = {
            "box": self.box,
            "detector": self.detector,
            "detector_score": round(self.detector_score, 4),
            "already_masked": self.already_masked,
            "masked_reason": self.masked_reason,
            "mask_probability": None if self.mask_probability is None else round(self.mask_probability, 4),
            "alignment": self.alignment,
            "beyond_frame": None if self.beyond_frame is None else round(self.beyond_frame, 4),
            "as_is": self.as_is,
            "masked": self.masked,
            "change": self.change,
            "notes": self.notes,
        }
        if images:
            d["images"] = {
                "face": _data_url(self.crop),
                "masked": _data_url(self.masked_crop) if self.masked_crop is not None else None,
            }
        return d


@dataclass
class PhotoResult:
    """All faces of one photo (largest first), plus a plain-language summary."""

    width: int
    height: int
    faces: list[FaceResult]
    mask_style: str | None
    mask_color: str
    model: str
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.faces)

    def __iter__(self):
        return iter(self.faces)

    def __getitem__(self, i: int) -> FaceResult:
        return self.faces[i]

    @property
    def summary(self) -> str:
        from maskprivacy.analysis.summary import summarize

        return summarize(self)

    def to_dict(self, images: bool = False) -> dict[str, Any]:
        return {
            "width": self.width,
            "height": self.height,
            "model": self.model,
            "mask_style": self.mask_style,
            "mask_color": self.mask_color,
            "n_faces": len(self.faces),
            "faces": [f.to_dict(images) for f in self.faces],
            "summary": self.summary,
            "notes": self.notes,
        }


def _data_url(rgb: np.ndarray) -> str:
    import base64

    from maskprivacy.data.imageio import encode_jpeg

    return "data:image/jpeg;base64," + base64.b64encode(encode_jpeg(rgb, quality=90)).decode("ascii")


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
        share, and PyTorch's idle worker threads spin on the other core while dlib and BlazeFace run
        (on the shared 2-core machine, two threads made single requests ten times slower).
        ``tta``: None keeps each model's own flip averaging (as it was evaluated); False halves the
        models' cost, at the price of readings that differ slightly from the run's reported metrics.
        ``real_mask``: which attacker reads faces that already wear a mask: ``auto`` (the mask-robust
        one when the run has it, else the paper-style one), ``masked`` or ``robust`` (:func:`reader_for`).
        ``cover``: paint the paper's white type-a mask over a real mask before it is read
        (:mod:`maskprivacy.masking.cover`); such a face then goes to the paper-style attacker under ``auto``.
        ``mask_check`` (:data:`MASK_CHECKS`): who decides "already masked" when the caller does not say:
        ``auto`` = the run's trained mask detector when it has one, else the colour check.
        ``chosen``: read with the models the run chose on validation (``readers.json``, :class:`ModelSet`);
        False: with this folder's own conditions (to compare one family's attackers).
        """
        from maskprivacy.faces.detect import get_detector
        from maskprivacy.models.mask_detector import load_mask_detector

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
        told are found and aligned once (finding them does not depend on the models or the mask check).
        """
        from maskprivacy.faces.photo import find_faces
        from maskprivacy.masking.api import load_rgb
        from maskprivacy.masking.colors import parse_color
        from maskprivacy.masking.cover import cover_real_mask

        style = None if mask_style in (None, "none") else check_style(str(mask_style))
        parse_color(mask_color)  # a bad colour is an error before any work, face or no face
        flags = list(already_masked) if isinstance(already_masked, (list, tuple)) else [already_masked] * len(images)
        if len(flags) != len(images):
            raise ValueError("already_masked needs one value per image")
        photos: list[tuple[np.ndarray, list]] = []
        check = self.mask_detector.check if self.mask_detector is not None else None
        with _torch_threads(self.threads if check is not None else None):
            for img, flag in zip(images, flags):
                rgb = load_rgb(img)
                key = _memo_key(rgb, flag, self.detector) if memo is not None and flag is not None else None
                faces = memo.get(key) if key is not None else None
                if faces is None:
                    faces = find_faces(rgb, flag, self.detector, mask_check=check)
                    if key is not None:
                        memo[key] = faces
                photos.append((rgb, faces))

        # Gather the crops each model must read: [(photo, face, which)], which in as_is / masked;
        # the model is chosen by the one routing rule (ModelSet.reader / reader_for).
        jobs: dict[str, list[tuple[int, int, str, np.ndarray]]] = {c: [] for c in READERS}
        masked_crops: dict[tuple[int, int], np.ndarray] = {}
        covered_faces: set[tuple[int, int]] = set()  # real masks painted over (``cover``)
        for pi, (_, faces) in enumerate(photos):
            for fi, f in enumerate(faces):
                covered = self.cover and f.already_masked and f.aligned.points68 is not None
                crop = f.aligned.crop
                if covered:
                    covered_faces.add((pi, fi))
                    crop = masked_crops[(pi, fi)] = cover_real_mask(crop, f.aligned.points68)
                jobs[self.models.reader(f.already_masked, covered=covered)].append((pi, fi, "as_is", crop))
                if style and not f.already_masked:
                    mc = draw_mask(
                        f.aligned.crop, f.aligned.points68, style=style, color=mask_color, seed=seed, key=f"{pi}/{fi}"
                    )
                    masked_crops[(pi, fi)] = mc
                    jobs[self.models.reader(False, digital=True)].append((pi, fi, "masked", mc))
        readings: dict[tuple[int, int, str], dict[str, Any]] = {}
        todo = [
            (cond, items, self.models.get(cond))
            for cond, items in jobs.items()
            if items and self.models.get(cond) is not None
        ]

        def run(cond: str, items: list, pred) -> dict[str, np.ndarray]:
            return pred.predict(np.stack([resize_crop(c, self.models.side[cond]) for *_, c in items]))

        with _torch_threads(self.threads):
            if len(todo) >= 2 and self.threads == 1:
                # The models side by side, one core each (torch releases the GIL in its kernels).
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(min(2, len(todo))) as ex:
                    outs = list(ex.map(lambda t: run(*t), todo))
            else:
                outs = [run(*t) for t in todo]
        for (cond, items, _), out in zip(todo, outs):
            for i, (pi, fi, which, _) in enumerate(items):
                readings[(pi, fi, which)] = _reading(out, i, self.models.name(cond))

        results = []
        for pi, (rgb, faces) in enumerate(photos):
            face_results = []
            for fi, f in enumerate(faces):
                notes = []
                as_is = readings.get((pi, fi, "as_is"))
                masked = readings.get((pi, fi, "masked"))
                covered = (pi, fi) in covered_faces
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
                face_results.append(
                    FaceResult(
                        box=f.box,
                        detector=f.detection.source,
                        detector_score=f.detection.score,
                        already_masked=f.already_masked,
                        masked_reason=f.masked_reason,
                        alignment=f.aligned.method,
                        as_is=as_is,
                        masked=masked,
                        change=_change(as_is, masked),
                        crop=f.aligned.crop,
                        masked_crop=masked_crops.get((pi, fi)),
                        notes=notes,
                        mask_probability=f.mask_probability,
                        beyond_frame=f.beyond_frame,
                    )
                )
            h, w = rgb.shape[:2]
            notes = (
                ["These models are untrained (a demo run): their readings are noise."] if self.models.untrained else []
            )
            notes += getattr(faces, "notes", [])  # too small for a face; more faces than were analysed
            results.append(PhotoResult(w, h, face_results, style, mask_color, str(self.models.run), notes))
        return results


def _memo_key(rgb: np.ndarray, flag: bool, detector: str) -> tuple:
    """A photo's identity for :meth:`Analyzer.analyze_batch`'s ``memo``: its pixels' digest, the flag, the detector."""
    import hashlib

    return hashlib.blake2b(np.ascontiguousarray(rgb).data, digest_size=16).digest(), rgb.shape, bool(flag), detector


@contextlib.contextmanager
def _torch_threads(n: int | None):
    """Run a block with ``n`` torch threads, then restore the caller's setting."""
    import torch

    prev = torch.get_num_threads()
    if n is None or n == prev:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(prev)


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
    reads faces that already wear a mask (``auto``: the run's mask-robust one if it has it, else the
    paper-style masked-face one; see :func:`reader_for`). ``cover``: paint the paper's mask over a real
    mask first (:mod:`maskprivacy.masking.cover`). Each reading names its model (``"model"``).

    >>> r = analyze("photo.jpg", model="runs/cpu", mask_style="a")   # doctest: +SKIP
    >>> r[0].as_is["sex"], r[0].masked["sex"], r[0].change, r.summary  # doctest: +SKIP
    """
    return get_analyzer(model, split, detector, real_mask=real_mask, cover=cover, mask_check=mask_check).analyze(
        image, mask_style, mask_color, already_masked
    )
