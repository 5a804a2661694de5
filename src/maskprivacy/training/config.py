"""Training profiles (YAML) and command-line overrides of any of their values.

A profile is a nested dict; ``--set finetune.epochs=3`` or ``--set model.crop=[0,0,1,1]`` changes
one value (parsed as YAML, so numbers, lists and null work). Unknown keys are refused: a typo must
not silently train with the default.
"""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

import yaml

PROFILES: tuple[str, ...] = ("smoke", "cpu", "gpu")


def load_profile(name_or_path: str) -> dict[str, Any]:
    """A profile by name (smoke, cpu, gpu) or a path to a YAML file of the same shape."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") and p.is_file():
        text = p.read_text()
    elif name_or_path in PROFILES:
        text = resources.files("maskprivacy.training").joinpath("profiles", f"{name_or_path}.yaml").read_text()
    else:
        raise ValueError(f"profile {name_or_path!r}: choose from {', '.join(PROFILES)} or give a .yaml file")
    cfg = yaml.safe_load(text)
    if not isinstance(cfg, dict):
        raise ValueError(f"profile {name_or_path}: expected a mapping at the top level")
    cfg["profile"] = p.stem if p.suffix in (".yaml", ".yml") else name_or_path
    return cfg


def set_value(cfg: dict[str, Any], key: str, value: Any) -> None:
    """Set ``a.b.c`` in ``cfg``; the path must exist (except inside free-form dicts like augment)."""
    parts = key.split(".")
    node = cfg
    for i, k in enumerate(parts[:-1]):
        if not isinstance(node, dict) or k not in node:
            raise ValueError(f"--set {key}: no setting {'.'.join(parts[: i + 1])!r} in the profile")
        node = node[k]
    last = parts[-1]
    free_form = len(parts) >= 2 and parts[-2] in ("augment", "loss_weights", "masks")
    if not isinstance(node, dict) or (last not in node and not free_form):
        raise ValueError(f"--set {key}: no setting {key!r} in the profile")
    node[last] = value


def apply_overrides(cfg: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """``["finetune.epochs=3", ...]`` -> a new config with those values (YAML-parsed)."""
    cfg = copy.deepcopy(cfg)
    for item in overrides or ():
        if "=" not in item:
            raise ValueError(f"--set {item!r}: expected key=value, e.g. finetune.epochs=3")
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as e:
            raise ValueError(f"--set {item!r}: cannot parse the value: {e}") from None
        set_value(cfg, key.strip(), value)
    return cfg


#: CPU feature flags (``/proc/cpuinfo``) of bfloat16 arithmetic in hardware.
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_native_bf16(cpuinfo: str | None = None) -> bool:
    """Whether this CPU computes bfloat16 in hardware (AVX512-BF16 or AMX), read from ``/proc/cpuinfo``.

    Why it decides ``precision: auto`` on a CPU: there, bf16-mixed training of the attackers ran
    faster than float32 (``scripts/bench_train.py --compare precision``, docs/TRAINING.md); on a CPU without
    these instructions oneDNN emulates bf16 and is slower than float32, so it stays at 32. Anything
    that cannot be read (macOS, Windows, a container hiding the file) counts as no.
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            return False
    flags = set()
    for line in cpuinfo.splitlines():
        if line.split(":", 1)[0].strip() in ("flags", "Features"):
            flags.update(line.split(":", 1)[1].split())
    return any(f in flags for f in NATIVE_BF16_FLAGS)


def resolve(cfg: dict[str, Any]) -> dict[str, Any]:
    """Fill ``auto`` values that depend on the machine (accelerator, precision); validate the rest.

    ``precision: auto``: bf16-mixed on a GPU, and on a CPU with bf16 in hardware
    (:func:`cpu_native_bf16`); float32 elsewhere."""
    import torch

    cfg = copy.deepcopy(cfg)
    tr = cfg["trainer"]
    if tr.get("accelerator") in (None, "auto"):
        tr["accelerator"] = "gpu" if torch.cuda.is_available() else "cpu"
    if str(tr.get("precision")) in ("None", "auto"):
        native = tr["accelerator"] in ("gpu", "cuda") or (tr["accelerator"] == "cpu" and cpu_native_bf16())
        tr["precision"] = "bf16-mixed" if native else "32"
    tr["precision"] = str(tr["precision"])
    mode = cfg["finetune"]["mode"]
    if mode not in ("multitask", "per_task", "both"):
        raise ValueError(f"finetune.mode {mode!r}: choose multitask, per_task or both")
    if int(cfg["model"]["input_size"]) < 16:
        raise ValueError("model.input_size must be at least 16 pixels")
    return cfg


def dump(cfg: dict[str, Any]) -> str:
    return yaml.safe_dump(cfg, sort_keys=False)


#: Attacker families beside the paper's CNN, each a section of the profile that overrides the CNN's
#: settings (model, cache, pretrain, finetune, robust) and trains in its own run folder RUN/<family>/;
#: what each one is, for ``reproduce``'s stage list.
FAMILY_DESCRIPTIONS: dict[str, str] = {
    "facenet": "the face-network attacker (dlib's face ResNet fine-tuned)",
    "agenet": "the age-network attacker (Cydral's age ResNet-10 fine-tuned)",
}
FAMILIES: tuple[str, ...] = tuple(FAMILY_DESCRIPTIONS)


def family_config(cfg: dict[str, Any], family: str) -> dict[str, Any] | None:
    """The profile of attacker ``family``: ``cfg`` with ``cfg[family]``'s sections laid over it.

    None when the profile has no such section or says ``enabled: false``. Each overridden section is
    merged key by key (a key's value, e.g. ``augment``, is replaced whole), so a family states only
    what differs from the CNN and shares the rest (seed, splits, trainer, eval).

    >>> base = {"seed": 1, "model": {"arch": "resnet18", "input_size": 64}, "facenet": {"model": {"arch": "dlib_face"}}}
    >>> family_config(base, "facenet")["model"]
    {'arch': 'dlib_face', 'input_size': 64}
    >>> family_config({"facenet": {"enabled": False}}, "facenet") is None
    True
    """
    over = cfg.get(family)
    if not isinstance(over, dict) or not over.get("enabled", True):
        return None
    out = copy.deepcopy({k: v for k, v in cfg.items() if k not in FAMILIES})
    for section, values in over.items():
        if section == "enabled":
            continue
        if section not in out or not isinstance(out[section], dict) or not isinstance(values, dict):
            raise ValueError(f"profile section {family}.{section}: no section {section!r} to override")
        out[section].update(copy.deepcopy(values))
    out["family"] = family
    return out
