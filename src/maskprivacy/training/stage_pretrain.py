"""Stage ``pretrain``: MoCo v2 (lightly) on the train faces of one condition."""

from __future__ import annotations

import os
import time
from pathlib import Path

from maskprivacy.atomic import replacing, write_json
from maskprivacy.layout import SPLITS, RunLayout
from maskprivacy.provenance import git_commit, machine
from maskprivacy.training.rows import pretrain_rows
from maskprivacy.training.runtime import cache_path, load_bank, make_trainer, resume_path, say, setup_torch


def pretrain(cfg: dict, run: str | os.PathLike, condition: str) -> Path | None:
    """MoCo v2 on the train faces of ``condition``; writes RUN/pretrain/<condition>/backbone.pt.

    Returns None when ``pretrain.enabled`` is false (fine-tuning then starts from random weights).
    """
    import lightning as L
    import torch

    pc = cfg["pretrain"]
    if not pc.get("enabled", True):
        return None
    run = Path(run)
    sdir = RunLayout(run).pretrain_dir(condition)
    out = sdir / "backbone.pt"
    if out.is_file():
        return out
    from maskprivacy.training.bank import rows_loader
    from maskprivacy.training.moco import MoCoModule

    setup_torch(cfg)
    c, bank = load_bank(cfg, cache_path(run, cfg, condition))
    split_paths = {s: RunLayout(run).split_csv(s) for s in SPLITS}
    rows = pretrain_rows(c.names, split_paths)
    bs = min(int(pc["batch_size"]), max(2, len(rows)))
    say(
        f"[pretrain {condition}] MoCo v2 on {len(rows)} train faces (train in both splits), {pc['epochs']} epochs, batch {bs}"
    )
    L.seed_everything(int(cfg["seed"]), workers=True, verbose=False)
    m = cfg["model"]
    tr = cfg["trainer"]
    distributed = str(tr["strategy"]).startswith("ddp") or int(tr["num_nodes"]) > 1
    size = int(pc.get("input_size") or m["input_size"])
    module = MoCoModule(
        m["arch"],
        m["stem"],
        size,
        list(m["crop"]),
        float(pc["lr"]),
        float(pc["weight_decay"]),
        bs,
        int(pc["epochs"]),
        float(pc["temperature"]),
        int(pc["memory_bank"]),
        int(pc["proj_hidden"]),
        int(pc["proj_out"]),
        float(pc["momentum"]),
        pc.get("augment"),
        int(pc.get("warmup_epochs") or 0),
        bool(tr.get("channels_last", True)),
        distributed,
    )
    module.attach(bank, resident=bool(cfg["data"].get("resident")))
    trainer, _ = make_trainer(cfg, sdir, int(pc["epochs"]), None, 0, pc.get("limit_train_batches"))
    resumed = resume_path(sdir) is not None
    t0, c0 = time.perf_counter(), time.process_time()
    trainer.fit(
        module, train_dataloaders=rows_loader(rows, bs, shuffle=True, drop_last=True), ckpt_path=resume_path(sdir)
    )
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if trainer.is_global_zero:
        state = {k: v.detach().cpu() for k, v in module.backbone.state_dict().items()}
        with replacing(out) as tmp:
            torch.save(state, tmp)
        loss = trainer.callback_metrics.get("train/loss_epoch")
        write_json(
            sdir / "pretrain.json",
            {
                "condition": condition,
                "n_images": int(len(rows)),
                "epochs": int(pc["epochs"]),
                "final_loss": float(loss) if loss is not None else None,
                "input_size": size,
                "wall_s": round(wall, 2),
                "cpu_s": round(cpu, 2),
                "precision": str(cfg["trainer"]["precision"]),
                "resumed": resumed,
                "machine": machine(),
                "commit": git_commit(),
            },
        )
    return out
