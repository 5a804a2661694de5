"""Training profiles: a base (profiles/base.yaml) and each profile's differences, on OmegaConf.

base.yaml holds every setting once; a profile (smoke, cpu, gpu or a .yaml file of the same shape)
states only what differs and is laid over it. The config is in OmegaConf's struct mode, so a key
that base.yaml does not have, in a profile or in ``--set finetune.epoch=3``, is refused with its
name: a typo must not silently train with the default. ``--set`` values are parsed by OmegaConf's
grammar (``3`` an int, ``1e-3`` a float, ``[0,0,1,1]`` a list, ``null`` None). Callers get plain dicts.

Two kinds of node are open where the rest is closed: the free-form dicts (``augment``,
``loss_weights``, ``masks``, ``draw``), each one value that a profile or ``--set`` replaces whole (their own
readers refuse unknown keys), and the attacker-family sections (``facenet``, ``agenet``), whose keys
must be keys of the CNN's section they override (:func:`family_config`).
"""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

PROFILES: tuple[str, ...] = ("smoke", "cpu", "gpu")

#: Dicts that are one setting each: replaced whole, their keys checked by their readers.
FREE_FORM: tuple[str, ...] = ("augment", "loss_weights", "masks", "draw")


def _profile_text(name: str) -> str:
    return resources.files("maskprivacy.training").joinpath("profiles", f"{name}.yaml").read_text()


def _open_free_nodes(cfg: DictConfig) -> DictConfig:
    """Struct mode on ``cfg``, lifted on the free-form dicts and the family sections."""
    OmegaConf.set_struct(cfg, True)

    def walk(node: DictConfig) -> None:
        for key in node:
            child = node._get_node(key)
            if isinstance(child, DictConfig):
                if key in FREE_FORM:
                    OmegaConf.set_struct(child, False)
                else:
                    walk(child)

    walk(cfg)
    for family in FAMILIES:
        if isinstance(cfg.get(family), DictConfig):
            OmegaConf.set_struct(cfg[family], False)
    return cfg


def _check_families(cfg: DictConfig, origin: str) -> None:
    """Each key of a family section must be a key of the CNN's section it overrides."""
    for family in FAMILIES:
        over = cfg.get(family)
        if not isinstance(over, DictConfig):
            continue
        for section in over:
            if section == "enabled":
                continue
            values, base = over[section], cfg.get(section)
            if not isinstance(values, DictConfig) or not isinstance(base, DictConfig):
                raise ValueError(f"{origin}: no section {section!r} to override in {family}.{section}")
            for key in values:
                if key not in base:
                    raise ValueError(f"{origin}: no setting '{family}.{section}.{key}' ({section} has no {key!r})")


def _lay_over(cfg: DictConfig, diff: DictConfig, origin: str) -> DictConfig:
    """``cfg`` with ``diff``'s values: merged key by key, the free-form dicts replaced whole."""
    cfg = _open_free_nodes(copy.deepcopy(cfg))

    def replace_free(node: DictConfig, prefix: str) -> None:
        for key in node:
            path = f"{prefix}{key}"
            child = node._get_node(key)
            if key in FREE_FORM:
                _update(cfg, path, child, origin)
            elif isinstance(child, DictConfig):
                replace_free(child, path + ".")

    replace_free(diff, "")
    try:
        out = OmegaConf.merge(cfg, diff)
    except OmegaConfBaseException as e:
        raise ValueError(f"{origin}: no setting {e.full_key!r} in the profile (base.yaml)") from None
    assert isinstance(out, DictConfig)
    out = _open_free_nodes(out)
    _check_families(out, origin)
    return out


def _update(cfg: DictConfig, key: str, value: Any, origin: str) -> None:
    try:
        OmegaConf.update(cfg, key, value, merge=False)
    except OmegaConfBaseException:
        raise ValueError(f"{origin}: no setting {key!r} in the profile (base.yaml)") from None
    _open_free_nodes(cfg)


def _plain(cfg: DictConfig) -> dict[str, Any]:
    out = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(out, dict)
    return out


def load_profile(name_or_path: str) -> dict[str, Any]:
    """A profile by name (smoke, cpu, gpu) or a path to a YAML file of differences, laid over base.yaml."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") and p.is_file():
        text, origin = p.read_text(), str(p)
    elif name_or_path in PROFILES:
        text, origin = _profile_text(name_or_path), f"profile {name_or_path}"
    else:
        raise ValueError(f"profile {name_or_path!r}: choose from {', '.join(PROFILES)} or give a .yaml file")
    try:
        diff = OmegaConf.create(text or "{}")
    except (OmegaConfBaseException, yaml.YAMLError) as e:
        raise ValueError(f"{origin}: cannot read it: {e}") from None
    if not isinstance(diff, DictConfig):
        raise ValueError(f"{origin}: expected a mapping at the top level")
    diff = OmegaConf.create(rename_old_keys(_plain(diff)))
    cfg = _plain(_lay_over(OmegaConf.create(_profile_text("base")), diff, origin))
    cfg["profile"] = p.stem if p.suffix in (".yaml", ".yml") else name_or_path
    return cfg


#: keys an older profile or run spelled otherwise: old dotted suffix -> today's
RENAMED = {"finetune.mode": "finetune.approach"}


def renamed_key(key: str) -> str:
    """Today's spelling of a dotted key (``facenet.finetune.mode`` -> ``facenet.finetune.approach``)."""
    for old, new in RENAMED.items():
        if key == old or key.endswith("." + old):
            return key[: len(key) - len(old)] + new
    return key


def rename_old_keys(cfg: dict[str, Any]) -> dict[str, Any]:
    """A config saved before a key was renamed (a run's train_config.yaml), in today's spelling; in place."""
    for section in [cfg, *(v for v in cfg.values() if isinstance(v, dict))]:
        for old, new in RENAMED.items():
            parent, o_key = old.split(".")
            n_key = new.split(".")[1]  # a rename within the same section
            node = section.get(parent)
            if isinstance(node, dict) and o_key in node and n_key not in node:
                node[n_key] = node.pop(o_key)
    return cfg


def apply_overrides(cfg: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """``["finetune.epochs=3", ...]`` -> a new config with those values, typed by OmegaConf's grammar.

    A free-form dict given whole (``finetune.augment={scale: [0.5, 1]}``) replaces the old one; one of
    its keys (``finetune.augment.hue=0.05``) is set inside it."""
    conf = _open_free_nodes(OmegaConf.create(copy.deepcopy(cfg)))
    for item in overrides or ():
        if "=" not in item:
            raise ValueError(f"--set {item!r}: expected key=value, e.g. finetune.epochs=3")
        key = renamed_key(item.split("=", 1)[0].strip())
        item = f"{key}={item.split('=', 1)[1]}"
        try:
            value = OmegaConf.select(OmegaConf.from_dotlist([item.strip()]), key)
        except (OmegaConfBaseException, yaml.YAMLError) as e:
            raise ValueError(f"--set {item!r}: cannot parse the value: {e}") from None
        _update(conf, key, value, f"--set {item}")
    _check_families(conf, "--set")
    return _plain(conf)


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
    approach = cfg["finetune"]["approach"]
    if approach not in ("multitask", "per_task", "both"):
        raise ValueError(f"finetune.approach {approach!r}: choose multitask, per_task or both")
    if int(cfg["model"]["input_size"]) < 16:
        raise ValueError("model.input_size must be at least 16 pixels")
    from maskprivacy.training.domain_adversarial import domain_weight
    from maskprivacy.training.weight_mix import mix_grid

    for section in [cfg.get("real")] + [(cfg.get(f) or {}).get("real") for f in FAMILIES]:
        if isinstance(section, dict):  # refused before any stage runs, not hours later at the real-mask stage
            domain_weight(section)
            mix_grid(section)
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
