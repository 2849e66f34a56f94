"""The one saved-model format: how prunestack writes a model folder and reads it back.

A folder is what ``save_pretrained`` writes (``config.json``, ``model.safetensors``, tokenizer
files when given) plus, in ``config["prunestack"]``, what prunestack needs to rebuild it: format
``version``, ``uniform`` (true when the folder is a stock checkpoint) and the caller's metadata
(pruning recipe, recovery losses, draft-trimming report). Pruned models (``pipeline.pruning``)
and vocabulary-trimmed drafts (``pipeline.decoding.vocab_trim``) are both saved here.

``overrides`` builds a model from the saved config on the meta device and lists what still
differs (per-layer shapes, created biases, module counts, zeroed sublayers, trimmed LM heads).
When nothing differs, the folder is a stock checkpoint (``AutoModelForCausalLM.from_pretrained``
loads it). When something does, the list goes into the entry, the self-contained
:mod:`prunestack.rebuild` is saved beside the weights as ``modeling_prunestack.py`` with an
``auto_map`` (stock transformers loads it with ``trust_remote_code=True``), and
:func:`load_saved` rebuilds it without remote code.

It does not decide what to prune or trim, and it does not cache: ``prunestack.models`` hands out
shared loaded models.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import torch
import transformers
from torch import nn
from transformers import PreTrainedModel

from prunestack import rebuild
from prunestack.errors import ModelError

#: keys of ``config["prunestack"]`` that describe shapes (the rest is the caller's metadata)
SHAPE_KEYS = ("params", "attrs", "module_config", "zeroed", "trimmed")
#: keys the format itself writes
FORMAT_KEYS = ("version", "uniform", *SHAPE_KEYS)

_INT_ATTRS = ("num_heads", "num_attention_heads", "num_key_value_heads", "num_key_value_groups",
              "all_head_size", "num_experts", "intermediate_size", "intermediate_dim", "top_k",
              "out_features", "in_features", "layer_idx")


def stock_class(model: nn.Module) -> type:
    for cls in type(model).__mro__:
        if cls.__module__.startswith("transformers.models."):
            return cls
    raise ModelError(f"{type(model).__name__} is not a transformers model class")


def overrides(model: nn.Module) -> dict[str, Any]:
    """What differs between ``model`` and a stock model built from its config."""
    cls = stock_class(model)
    with torch.device("meta"):
        ref = cls(model.config)
    ref_params = dict(ref.named_parameters())
    zeroed, trimmed, attrs, mcfg = {}, {}, {}, {}
    replaced: list[str] = []  # modules whose parameters the rebuild creates itself
    for path, mod in model.named_modules():
        if isinstance(mod, rebuild.ZeroAttention | rebuild.ZeroMLP):
            zeroed[path] = "attention" if isinstance(mod, rebuild.ZeroAttention) else "mlp"
            replaced.append(path)
        elif isinstance(mod, rebuild.TrimmedLMHead):
            trimmed[path] = int(mod.weight.shape[0])
            replaced.append(path)

    def inside(name: str) -> bool:
        return any(name.startswith(r + ".") for r in replaced)

    params = {}
    for name, p in model.named_parameters():
        rp = ref_params.get(name)
        if not inside(name) and (rp is None or tuple(rp.shape) != tuple(p.shape)):
            params[name] = list(p.shape)
    ref_mods = dict(ref.named_modules())
    for path, mod in model.named_modules():
        rm = ref_mods.get(path)
        if rm is None or path in replaced or inside(path):
            continue
        diff = {k: getattr(mod, k) for k in _INT_ATTRS if isinstance(getattr(mod, k, None), int)
                and getattr(rm, k, None) != getattr(mod, k)}
        diff.pop("in_features", None), diff.pop("out_features", None)  # from the weight shape
        if diff:
            attrs[path] = diff
        mc, rc = getattr(mod, "config", None), getattr(rm, "config", None)
        if mc is not None and rc is not None and mc is not model.config:
            d = {k: getattr(mc, k) for k in ("num_attention_heads", "num_key_value_heads")
                 if getattr(mc, k, None) != getattr(rc, k, None)}
            if d:
                mcfg[path] = d
    own = dict(model.named_parameters())
    missing = [n for n in ref_params if n not in own and not any(
        n.startswith(z + ".") for z in zeroed)]
    if missing:
        raise ModelError(f"model lacks parameters of its stock class: {missing[:3]}")
    return {k: v for k, v in (("params", params), ("attrs", attrs), ("module_config", mcfg),
                              ("zeroed", zeroed), ("trimmed", trimmed)) if v}


def _auto_name(model: nn.Module) -> str:
    return "AutoModelForCausalLM" if hasattr(model, "generate") and \
        stock_class(model).__name__.endswith("ForCausalLM") else "AutoModel"


def save_model(model: nn.Module, out: str | Path, tokenizer: Any = None,
               meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write a reloadable folder; returns the ``prunestack`` entry written into config.json."""
    if not isinstance(model, PreTrainedModel):
        raise ModelError(f"{type(model).__name__} is not a transformers model",
                         "the folder is written with save_pretrained")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg: Any = model.config
    cfg.prunestack = None
    if hasattr(cfg, "auto_map"):
        del cfg.auto_map
    diff = overrides(model)
    entry: dict[str, Any] = {"version": 1, "uniform": not diff, **(meta or {}), **diff}
    cfg.prunestack = entry
    cls = stock_class(model)
    cfg.architectures = [cls.__name__]
    if diff:
        auto = _auto_name(model)
        cfg.auto_map = {auto: "modeling_prunestack.PrunedModel"}
        if auto == "AutoModelForCausalLM":
            cfg.auto_map["AutoModel"] = "modeling_prunestack.PrunedModel"
    model.save_pretrained(out)
    saved = json.loads((out / "config.json").read_text())
    if saved.get("architectures") != [cls.__name__]:  # a reloaded Pruned* subclass saves its name
        saved["architectures"] = [cls.__name__]
        (out / "config.json").write_text(json.dumps(saved, indent=2, sort_keys=True) + "\n")
    if diff:
        src = Path(rebuild.__file__).read_text()
        src += (f"\n\nfrom transformers import {cls.__name__} as _Base  # noqa: E402\n\n"
                "PrunedModel = pruned_class(_Base)\n")
        (out / "modeling_prunestack.py").write_text(src)
    if tokenizer is not None:
        tokenizer.save_pretrained(out)
    return entry


def read_entry(folder: str | Path) -> dict[str, Any]:
    """``config["prunestack"]`` of a folder ({} for a folder prunestack did not write)."""
    p = Path(folder) / "config.json"
    if not p.is_file():
        return {}
    return json.loads(p.read_text()).get("prunestack") or {}


def load_saved(folder: str | Path, dtype: Any = None, device: str | None = None) -> nn.Module:
    """Load a folder written by :func:`save_model` (stock or rebuilt shapes), in eval mode."""
    p = Path(folder)
    cfg_path = p / "config.json"
    if not cfg_path.is_file():
        raise ModelError(f"no config.json in {p}", "pass a folder written by prunestack")
    cfg = json.loads(cfg_path.read_text())
    arch = (cfg.get("architectures") or [None])[0]
    base = getattr(transformers, arch, None) if arch else None
    if not (isinstance(base, type) and issubclass(base, PreTrainedModel)):
        raise ModelError(f"{p}: unknown architecture {arch!r}")
    entry = cfg.get("prunestack") or {}
    has_diff = any(entry.get(k) for k in SHAPE_KEYS)
    # pruned_class returns a subclass of ``base`` (typed plain ``type``: rebuild.py stays
    # self-contained), so it is a PreTrainedModel class too.
    cls = cast(type[PreTrainedModel], rebuild.pruned_class(base)) if has_diff else base
    try:
        # typed as nn.Module: transformers' ``@wraps(nn.Module.to)`` on ``PreTrainedModel.to``
        # makes mypy read ``to`` as an unbound function
        model: nn.Module = cls.from_pretrained(str(p), dtype=dtype, local_files_only=True)
    except Exception as exc:
        raise ModelError(f"cannot load a saved model from {p}: {exc}") from exc
    if device:
        model = model.to(device)
    return model.eval()
