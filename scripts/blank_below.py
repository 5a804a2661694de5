#!/usr/bin/env python3
"""Experiment: every network input blanked below a line, in training and in reading alike.

Question it answers: does a mask-robust attacker read real masks better when it may only use what no
mask covers (brows, eyes, forehead, hair: the aligned face above the nose bridge)? Real masks hide
more of the cheeks and jaw outline than the digital ones it trains on, so an attacker that leans on
those would fail on real photos. This wrapper sets every pixel of the normalised network input below
``--below`` (a fraction of the aligned face's height; 0.40 is between the template's nose-bridge
points 28 and 29) to the mean colour, in ``models.preprocess.normalize``, which both the training
augmentation and every reader (``Predictor``) call, then runs a maskprivacy command or a script:

    python scripts/blank_below.py --below 0.40 cli reproduce --data ... --out RUN_BAND \
        --set facenet.robust.init=pretrain --set facenet.robust.epochs=6 --only train_facenet_robust
    python scripts/blank_below.py --below 0.40 scripts/check_realmask.py --run RUN_WITH_ONLY_THAT_MODEL ...

Only for such experiments: a model trained under it must be read under it (the bundle does not
record the line). Measured once, and not kept (docs/RESULTS.md, eighth session).
"""

from __future__ import annotations

import runpy
import sys


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] != "--below":
        print(__doc__, file=sys.stderr)
        return 2
    frac = float(argv[1])
    if not 0.0 < frac <= 1.0:
        print(f"error: --below {frac}: a fraction of the face's height in (0, 1]", file=sys.stderr)
        return 2
    import maskprivacy.models.preprocess as pp
    import maskprivacy.training.augment as au

    plain = pp.normalize

    def blanked(x, mean=pp.IMAGENET_MEAN, std=pp.IMAGENET_STD):
        y = plain(x, mean, std)
        y[..., int(round(frac * y.shape[-2])) :, :] = 0  # 0 after normalising = the mean colour
        return y

    pp.normalize = blanked
    au.normalize = blanked
    target, rest = argv[2], argv[3:]
    if target.endswith(".py"):
        sys.argv = [target, *rest]
        runpy.run_path(target, run_name="__main__")
        return 0
    if target != "cli":
        print(f"error: {target}: give `cli` (a maskprivacy command) or a script path", file=sys.stderr)
        return 2
    from maskprivacy.cli import main as cli_main

    return int(cli_main(rest) or 0)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
