"""Where a figure came from: the commit of the code and the machine that produced it.

Every metrics file and benchmark records both, in one shape, because a number without its commit
and machine is not a result (the same training can run several times faster on one 2-core machine
than on another).
"""

from __future__ import annotations

import functools
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

__all__ = ["git_commit", "machine", "machine_line"]


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """Short commit of the code that ran, with +dirty when the tree had changes.

    Read once per process (the first stage that asks), so a commit made while a long run goes on
    does not relabel the stages that follow.
    """
    here = Path(__file__).resolve().parent
    try:
        c = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10
        )
        if c.returncode != 0:
            return "unknown"
        d = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return c.stdout.strip() + ("+dirty" if d.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine() -> dict[str, Any]:
    """The machine and PyTorch build that ran a stage (host, platform, CPU, cores, threads, GPU)."""
    import torch

    m = {
        "host": platform.node(),
        "platform": platform.platform(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    if torch.cuda.is_available():
        m["gpu"] = torch.cuda.get_device_name(0)
        m["gpu_count"] = torch.cuda.device_count()
    return m


def machine_line(m: dict[str, Any] | None = None) -> str:
    """:func:`machine` as one line for printed benchmarks and report headers."""
    m = machine() if m is None else m
    gpu = f", {m['gpu_count']}x {m['gpu']}" if m.get("gpu") else ""
    return f"{m.get('cpu_count')} cores, {m.get('cpu')} ({m.get('platform')}), torch {m.get('torch')}{gpu}"
