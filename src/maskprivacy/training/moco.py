"""MoCo v2 self-supervised pretraining (lightly's loss and heads) as a LightningModule.

Why MoCo: the paper's released checkpoints keep ``encoder_q``, i.e. a MoCo query encoder. The key
encoder is an exponential moving average of the query encoder (momentum cosine-scheduled from
``momentum`` to 1), and negatives come from a memory bank inside lightly's ``NTXentLoss``, so
small batches (a CPU) still see thousands of negatives. No labels are read.
"""

from __future__ import annotations

import copy
from typing import Any

import lightning as L
import torch
from lightly.loss import NTXentLoss
from lightly.models.modules.heads import MoCoProjectionHead
from lightly.models.utils import deactivate_requires_grad, update_momentum
from lightly.utils.scheduler import cosine_schedule

from maskprivacy.models.factory import create_backbone
from maskprivacy.training.augment import AugmentConfig, augment
from maskprivacy.training.bank import Bank, BankFed


class MoCoModule(BankFed, L.LightningModule):
    def __init__(
        self,
        arch: str,
        stem: str,
        input_size: int,
        crop: list[float],
        lr: float,
        weight_decay: float,
        batch_size: int,
        epochs: int,
        temperature: float,
        memory_bank: int,
        proj_hidden: int,
        proj_out: int,
        momentum: float,
        augment: dict | None = None,
        warmup_epochs: int = 0,
        channels_last: bool = True,
        distributed: bool = False,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.backbone, dim = create_backbone(arch, stem)
        self.projection_head = MoCoProjectionHead(dim, proj_hidden, proj_out)
        self.backbone_momentum = copy.deepcopy(self.backbone)
        self.projection_head_momentum = copy.deepcopy(self.projection_head)
        deactivate_requires_grad(self.backbone_momentum)
        deactivate_requires_grad(self.projection_head_momentum)
        self.criterion = NTXentLoss(
            temperature=temperature, memory_bank_size=(memory_bank, proj_out), gather_distributed=distributed
        )
        self.aug = AugmentConfig.from_dict(augment)
        self.bank: Bank | None = None
        if channels_last:
            self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projection_head(self.backbone(x))

    @torch.no_grad()
    def forward_momentum(self, x: torch.Tensor) -> torch.Tensor:
        return self.projection_head_momentum(self.backbone_momentum(x)).detach()

    def training_step(self, idx: torch.Tensor, batch_idx: int) -> torch.Tensor:
        hp = self.hparams
        total = max(2, int(self.trainer.estimated_stepping_batches))
        m = cosine_schedule(min(self.global_step, total - 1), total, hp.momentum, 1.0)
        update_momentum(self.backbone, self.backbone_momentum, m=m)
        update_momentum(self.projection_head, self.projection_head_momentum, m=m)
        x, _ = self.bank.batch(idx, self.device)
        q = self(augment(x, hp.input_size, hp.crop, self.aug))
        k = self.forward_momentum(augment(x, hp.input_size, hp.crop, self.aug))
        loss = self.criterion(q, k)
        self.log("train/loss", loss, prog_bar=True, on_step=True, on_epoch=True, batch_size=len(idx))
        self.log("train/momentum", m, on_step=False, on_epoch=True, batch_size=len(idx))
        return loss

    def configure_optimizers(self) -> Any:
        hp = self.hparams
        lr = hp.lr * hp.batch_size * max(1, self.trainer.world_size) / 256
        opt = torch.optim.SGD(self.parameters(), lr=lr, momentum=0.9, weight_decay=hp.weight_decay)
        total = max(1, int(self.trainer.estimated_stepping_batches))
        warm = int(total * hp.warmup_epochs / max(1, hp.epochs))
        from lightly.utils.scheduler import CosineWarmupScheduler

        sched = CosineWarmupScheduler(opt, warmup_epochs=warm, max_epochs=total)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
