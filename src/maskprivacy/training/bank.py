"""The training data as tensors: cached images + labels, indexed by a sampler of integers.

Batches are lists of row numbers; the LightningModule gathers the images from a :class:`Bank`
that lives in host memory, or on the GPU (``data.resident``), and augments them there. So there
is no per-image Python, no DataLoader worker and no host-to-device image copy in the loop, and
Lightning's DistributedSampler still shards the rows across DDP processes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from maskprivacy.tasks import TASK_NAMES
from maskprivacy.training.cache import CacheData


@dataclass
class Bank:
    images: torch.Tensor  # (N, S, S, 3) uint8
    age: torch.Tensor  # (N,) int64 years
    sex: torch.Tensor
    race: torch.Tensor
    age_bucket: torch.Tensor

    @classmethod
    def from_cache(cls, c: CacheData) -> "Bank":
        return cls(
            torch.from_numpy(np.ascontiguousarray(c.images)),
            torch.from_numpy(c.age),
            torch.from_numpy(c.sex),
            torch.from_numpy(c.race),
            torch.from_numpy(c.age_bucket),
        )

    def to(self, device: torch.device | str) -> "Bank":
        return Bank(*(t.to(device) for t in (self.images, self.age, self.sex, self.race, self.age_bucket)))

    @property
    def device(self) -> torch.device:
        return self.images.device

    def batch(self, idx: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Rows ``idx`` -> uint8 (B, 3, S, S) images and label tensors on ``device``."""
        i = idx.to(self.device)
        x = self.images[i].permute(0, 3, 1, 2).to(device, non_blocking=True)
        y = {k: getattr(self, k)[i].to(device, non_blocking=True) for k in TASK_NAMES}
        return x, y


class Rows(Dataset):
    """A dataset of row numbers (what a batch is made of)."""

    def __init__(self, rows: np.ndarray):
        self.rows = np.asarray(rows, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> int:
        return int(self.rows[i])


def rows_loader(rows: np.ndarray, batch_size: int, shuffle: bool, drop_last: bool = False) -> DataLoader:
    return DataLoader(Rows(rows), batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, num_workers=0)


class BankFed:
    """What the Lightning modules of pretraining and fine-tuning share: they read a :class:`Bank`.

    The data is attached, not passed to ``__init__``, because Lightning saves ``__init__``'s arguments
    in every checkpoint; ``resident`` moves it to the accelerator at fit start, when each DDP rank
    knows its own device.
    """

    bank: Bank | None = None
    resident: bool = False

    def attach(self, bank: Bank, resident: bool = False) -> None:
        """Give the module its data; ``resident`` copies it to the accelerator when the fit starts."""
        self.bank, self.resident = bank, resident

    def on_fit_start(self) -> None:
        if self.bank is None:
            raise RuntimeError("attach(bank) before fit")
        if self.resident and self.device.type != "cpu":  # type: ignore[attr-defined]  # here each DDP rank knows its own device
            self.bank = self.bank.to(self.device)  # type: ignore[attr-defined]
