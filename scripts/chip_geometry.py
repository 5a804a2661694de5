#!/usr/bin/env python3
"""Where dlib's face-recognition chip lies in UTKFace's aligned crops.

Why: dlib's face ResNet (the ``facenet`` attacker) was trained on 150x150 chips cut by
``dlib.get_face_chip_details(shape, 150, 0.25)``; the attacker reads UTKFace's own aligned crops
resized to its input side instead. If the chip's box covers the crop, the only difference to dlib's
training input is the resolution, which ``docs/TRAINING.md`` then measures on its own.

    python scripts/chip_geometry.py --data ../shared/data/utkface-sample --limit 60

Prints the mean and spread of the chip box (left, top, right, bottom as fractions of the crop's
side) and its angle (radians) over the faces dlib's HOG detector finds with one up-sampling.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    import dlib
    from PIL import Image

    from maskprivacy.faces.model_files import model_path

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data/utkface-sample"), help="a folder of UTKFace crops")
    p.add_argument("--limit", type=int, default=60, help="first N .jpg files by name (default 60)")
    args = p.parse_args(argv)
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(model_path("shape_predictor_68_face_landmarks.dat")))
    boxes = []
    files = sorted(args.data.glob("*.jpg"))[: args.limit]
    for f in files:
        img = np.asarray(Image.open(f).convert("RGB"))
        found = detector(img, 1)
        if not found:
            continue
        chip = dlib.get_face_chip_details(predictor(img, found[0]), 150, 0.25)
        h, w = img.shape[:2]
        r = chip.rect
        boxes.append([r.left() / w, r.top() / h, r.right() / w, r.bottom() / h, chip.angle])
    if not boxes:
        print(f"no face found in {len(files)} files of {args.data}")
        return 1
    b = np.asarray(boxes)
    print(
        f"{len(b)} of {len(files)} crops with a face; chip box as fractions of the crop (left, top, right, bottom), angle"
    )
    print("mean", np.round(b.mean(0), 3).tolist())
    print("sd  ", np.round(b.std(0), 3).tolist())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
