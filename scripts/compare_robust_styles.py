#!/usr/bin/env python3
"""Two mask-robust attackers on every mask style of the table, face by face (paired).

Why: how a mask-robust attacker is trained (warm-started from the type-a model, or straight from its
pretrained start; how many epochs) is a profile choice, and the type-a test faces alone cannot decide
it: the attacker exists to read *other* masks. The dev set of real masks has too few women to tell
two attackers apart. So both read the same test faces wearing each style of
``masking/styles/*.yaml``, drawn as the ``styles`` stage draws them (same seed, same faces), and the
per-face difference, averaged over the styles, gets a bootstrap interval over faces.

    python scripts/compare_robust_styles.py RUN/facenet RUN/facenet/train/robust_uniform/model.pt \
        OTHER/facenet/train/robust_uniform/model.pt

FAMILY_RUN is the folder whose cache (``cache/unmasked_s*``) and splits both models were trained on
(the same seed gives the same ones in two run folders). No flip averaging (half the cost; both
models alike). Prints a table (accuracy per style, MAE in years) and the paired differences B - A.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from maskprivacy.bootstrap import N_RESAMPLES, percentile_interval, resampled_means
from maskprivacy.layout import RunLayout
from maskprivacy.provenance import git_commit, machine_line

MEASURES = ("sex", "race", "bucket", "MAE")


def _cache_dir(run: Path) -> Path:
    found = sorted(RunLayout(run).cache.glob("unmasked_s*"))
    if len(found) != 1:
        print(f"error: {RunLayout(run).cache} should hold one unmasked_s* cache, found {len(found)}", file=sys.stderr)
        raise SystemExit(2)
    return found[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("family_run", type=Path, help="run folder of the attackers' family (holds cache/ and splits/)")
    ap.add_argument("model_a", type=Path, help="model.pt of attacker A")
    ap.add_argument("model_b", type=Path, help="model.pt of attacker B")
    ap.add_argument("--split", default="uniform", choices=("uniform", "random"))
    ap.add_argument("--seed", type=int, default=0, help="mask seed (the styles stage's: 0)")
    ap.add_argument("--n-boot", type=int, default=N_RESAMPLES)
    args = ap.parse_args(argv)

    from maskprivacy.masking.random_masks import mask_style_batch
    from maskprivacy.masking.styles.table import style_names
    from maskprivacy.models.predictor import Predictor
    from maskprivacy.training import cache as cache_mod
    from maskprivacy.training.pipeline import split_rows

    print(f"machine: {machine_line()}; commit {git_commit()}")
    cdir = _cache_dir(args.family_run)
    u = cache_mod.load_cache(cdir)
    points = cache_mod.ensure_points(cdir)
    rows = split_rows(u.names, RunLayout(args.family_run).split_csv(args.split))["test"]
    names = [u.names[i] for i in rows]
    faces, pts = np.ascontiguousarray(u.images[rows]), points[rows]
    truth = (u.sex[rows], u.race[rows], u.age_bucket[rows], u.age[rows])
    models = [Predictor.load(p) for p in (args.model_a, args.model_b)]
    for p in models:
        p.tta = False
    scores: list[list[np.ndarray]] = [[], []]  # per model: styles x (faces x 4)
    print(f"A: {args.model_a}\nB: {args.model_b}\n{len(rows)} test faces ({args.split} split), cache {cdir.name}")
    print(f"{'style':10s}" + "".join(f" {m + ' ' + k:>9s}" for m in MEASURES for k in "AB"))
    t0 = time.perf_counter()
    for style in style_names():
        imgs = mask_style_batch(faces, pts, style, args.seed, keys=names)
        cells = []
        for i, p in enumerate(models):
            pr = p.predict(imgs, batch_size=256)
            s = np.stack(
                [
                    pr["sex"].argmax(1) == truth[0],
                    pr["race"].argmax(1) == truth[1],
                    pr["age_bucket"].argmax(1) == truth[2],
                    np.abs(pr["age"] - truth[3]),
                ],
                1,
            ).astype(float)
            scores[i].append(s)
            cells.append(s.mean(0))
        line = "".join(f" {cells[k][j]:9.2f}" if j == 3 else f" {cells[k][j]:9.3f}" for j in range(4) for k in range(2))
        print(f"{style:10s}{line}", flush=True)
    diff = (np.stack(scores[1]) - np.stack(scores[0])).mean(0)  # per face, B - A averaged over styles
    boot = resampled_means(diff, n_boot=args.n_boot, seed=0)  # faces resampled, every measure alike
    for j, m in enumerate(MEASURES):
        lo, hi = percentile_interval(boot[:, j], 0.95)
        print(f"every style, B - A, {m}: {diff[:, j].mean():+.4f} [95% {lo:+.4f}, {hi:+.4f}] (faces resampled)")
    print(f"took {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
