"""Supervised fine-tuning for the attribute tasks, as a LightningModule.

One module trains either one task (the paper: one network per task) or several at once (the
multi-task model: four heads on one backbone, about four times cheaper, and the tasks help each
other: age, sex and race cues overlap). Losses: cross-entropy with label smoothing for sex, race
and the 7 age buckets; smooth-L1 (or L1) on the normalised age (age - 60) / 60 for regression,
which is what MAE rewards. AdamW with a one-cycle learning rate, no weight decay on norms/biases.
"""

from __future__ import annotations

from typing import Any, Sequence

import lightning as L
import torch
import torch.nn.functional as F

from maskprivacy.models.factory import AGE_SCALE, age_to_target, create_model, target_to_age
from maskprivacy.models.preprocess import to_model_input
from maskprivacy.training.augment import AugmentConfig, augment
from maskprivacy.training.bank import Bank, BankFed
from maskprivacy.training.domain_adversarial import DomainAdversary


class FinetuneModule(BankFed, L.LightningModule):
    def __init__(
        self,
        arch: str,
        stem: str,
        tasks: Sequence[str],
        input_size: int,
        crop: list[float],
        lr: float,
        weight_decay: float,
        epochs: int,
        dropout: float = 0.0,
        backbone_lr_mult: float = 1.0,
        label_smoothing: float = 0.1,
        age_loss: str = "smooth_l1",
        loss_weights: dict | None = None,
        augment: dict | None = None,
        channels_last: bool = True,
        sizes: Sequence[int] | None = None,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.model = create_model(arch, tuple(tasks), stem=stem, dropout=dropout)
        if channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.aug = AugmentConfig.from_dict(augment)
        self.weights = {t: float((loss_weights or {}).get(t, 1.0)) for t in tasks}
        if age_loss not in ("smooth_l1", "l1"):
            raise ValueError(f"finetune.age_loss {age_loss!r}: choose smooth_l1 or l1")
        self.bank: Bank | None = None
        self.masker: Any = None
        # a domain-adversarial head (training/domain_adversarial.py), set by the stage that wants one;
        # None: the training step is exactly the plain one
        self.domain: DomainAdversary | None = None

    def attach(self, bank: Bank, resident: bool = False, masker: Any = None) -> None:
        """Give the module its data; ``resident`` copies it to the accelerator when the fit starts.

        ``masker`` (the mask-robust attacker, training/robust.py): called as
        ``masker(rows, images_nhwc_uint8, part, epoch, batch_idx, rank)`` it returns the same faces
        wearing freshly drawn masks, before augmentation.
        """
        super().attach(bank, resident)
        self.masker = masker

    def _batch(self, idx: torch.Tensor, part: str, batch_idx: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        x, y = self.bank.batch(idx, self.device)
        if self.masker is not None:
            epoch = self.current_epoch if part == "train" else 0  # validation: the same masks every epoch
            x = self.masker(idx, x, part, epoch, batch_idx, self.global_rank)
        return x, y

    def load_backbone(self, state: dict[str, torch.Tensor]) -> None:
        missing, unexpected = self.model.backbone.load_state_dict(state, strict=False)
        if unexpected or missing:
            raise ValueError(f"pretrained backbone does not fit: missing {missing[:5]}, unexpected {unexpected[:5]}")

    def _losses(
        self, out: dict[str, torch.Tensor], y: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The weighted sum of the tasks' losses over the rows that have that label.

        A label below 0 is unknown (real photos carry no age, and sex or race only where a person could
        judge it): its row adds nothing to that task's loss, and a batch with no known label for a task
        adds no loss for it (rather than the NaN of a mean over nothing).
        """
        parts: dict[str, torch.Tensor] = {}
        for t, v in out.items():
            target = y[t]
            known = target >= 0
            if not bool(known.all()):
                if not bool(known.any()):
                    continue
                v, target = v[known], target[known]
            if t == "age":
                target = age_to_target(target)
                v = v.float()
                parts[t] = (
                    F.smooth_l1_loss(v, target, beta=0.1)
                    if self.hparams.age_loss == "smooth_l1"
                    else F.l1_loss(v, target)
                )
            else:
                parts[t] = F.cross_entropy(v.float(), target, label_smoothing=self.hparams.label_smoothing)
        if not parts:
            return sum(v.float().sum() for v in out.values()) * 0.0, parts
        total = sum(self.weights[t] * l for t, l in parts.items())
        return total, parts

    def train_size(self) -> int:
        """Progressive resizing: ``sizes[epoch]`` (last value after the list ends), else input_size.

        Early epochs at a lower resolution cost (48/64)^2 = 0.56x; the last ones at the final size
        adapt the network to what evaluation feeds it.
        """
        sizes = self.hparams.sizes
        if not sizes:
            return int(self.hparams.input_size)
        return int(sizes[min(self.current_epoch, len(sizes) - 1)])

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        """The domain head's progress through training, for its ramped weight (nothing without one)."""
        if self.domain is not None:
            self.domain.progress = self.global_step / max(1, int(self.trainer.estimated_stepping_batches))

    def training_step(self, idx: torch.Tensor, batch_idx: int) -> torch.Tensor:
        hp = self.hparams
        x, y = self._batch(idx, "train", batch_idx)
        # the model's forward is heads_on(backbone(x)); the features are kept for a domain head
        features = self.model.backbone(augment(x, self.train_size(), hp.crop, self.aug))
        loss, parts = self._losses(self.model.heads_on(features), y)
        if self.domain is not None:
            # every row tells the domain head its source, blank labels or not; the task losses stay masked
            parts["domain"] = self.domain.loss(features, idx)
            loss = loss + parts["domain"]
            self.log("train/domain_lambda", self.domain.lam(), on_step=False, on_epoch=True, batch_size=len(idx))
        n = len(idx)
        self.log("train/loss", loss, prog_bar=True, on_step=True, on_epoch=True, batch_size=n)
        for t, l in parts.items():
            self.log(f"train/loss_{t}", l, on_step=False, on_epoch=True, batch_size=n)
        return loss

    def _val_forward(
        self, idx: torch.Tensor, batch_idx: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        hp = self.hparams
        x, y = self._batch(idx, "val", batch_idx)
        out = self.model(to_model_input(x, hp.input_size, hp.crop))
        loss, _ = self._losses(out, y)
        return loss, out, y

    def val_loss(self, idx: torch.Tensor, batch_idx: int) -> torch.Tensor:
        """The validation loss of one batch, as the fit monitors it (training/weight_mix.py reads it)."""
        return self._val_forward(idx, batch_idx)[0]

    def validation_step(self, idx: torch.Tensor, batch_idx: int) -> None:
        loss, out, y = self._val_forward(idx, batch_idx)
        n = len(idx)
        self.log("val/loss", loss, prog_bar=True, on_epoch=True, batch_size=n, sync_dist=True)
        for t, v in out.items():
            known = y[t] >= 0  # unknown labels (real photos) are left out of the metric
            k = int(known.sum())
            if k == 0:
                continue
            if t == "age":
                mae = (target_to_age(v[known]) - y["age"][known].float()).abs().mean()
                self.log("val/age_mae", mae, prog_bar=True, on_epoch=True, batch_size=k, sync_dist=True)
            else:
                acc = (v[known].argmax(-1) == y[t][known]).float().mean()
                self.log(
                    f"val/{t}_acc", acc, prog_bar=t in ("sex", "race"), on_epoch=True, batch_size=k, sync_dist=True
                )

    def configure_optimizers(self) -> Any:
        hp = self.hparams
        groups: dict[tuple[bool, bool], list] = {}
        named = list(self.model.named_parameters())
        if self.domain is not None:  # learns at the heads' rate
            named += [(f"domain.{n}", p) for n, p in self.domain.named_parameters()]
        for name, p in named:
            if not p.requires_grad:
                continue
            is_backbone = name.startswith("backbone.")
            no_decay = p.ndim <= 1
            groups.setdefault((is_backbone, no_decay), []).append(p)
        params = []
        max_lrs = []
        for (is_backbone, no_decay), ps in groups.items():
            lr = hp.lr * (hp.backbone_lr_mult if is_backbone else 1.0)
            params.append({"params": ps, "lr": lr, "weight_decay": 0.0 if no_decay else hp.weight_decay})
            max_lrs.append(lr)
        opt = torch.optim.AdamW(params, lr=hp.lr)
        total = max(1, int(self.trainer.estimated_stepping_batches))
        if total <= 4:
            # A handful of steps (a tiny data set): no schedule. torch's OneCycleLR divides by zero at
            # exactly 4 steps (its warm-up phase ends at pct_start * 4 - 1 = step 0), and a one-cycle
            # over so few steps means nothing.
            const = torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)  # each group at its own rate
            return {"optimizer": opt, "lr_scheduler": {"scheduler": const, "interval": "step"}}
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=max_lrs, total_steps=total, pct_start=0.25, div_factor=20.0, final_div_factor=200.0
        )
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


__all__ = ["FinetuneModule", "AGE_SCALE"]
