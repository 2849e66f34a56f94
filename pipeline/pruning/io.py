"""Save and reload pruned models.

After surgery, ``finalize_config`` writes every width that is the same in all layers into the
stock config fields (``num_attention_heads``, ``num_key_value_heads``, ``head_dim``,
``intermediate_size``, expert counts). ``overrides`` then builds a model from that config on the
meta device and lists what still differs (per-layer shapes, created biases, module counts,
zeroed sublayers). When nothing differs, the folder is a stock checkpoint
(``AutoModelForCausalLM.from_pretrained`` loads it). When something does, the list goes to
``config["prunestack"]``, the self-contained ``remote.py`` is saved beside the weights as
``modeling_prunestack.py`` with an ``auto_map`` (stock transformers loads it with
``trust_remote_code=True``), and ``load_pruned`` rebuilds it without remote code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import torch
import transformers
from torch import nn
from transformers import PreTrainedModel

from prunestack.errors import ModelError
from prunestack.pipeline.pruning import remote
from prunestack.pipeline.pruning.families import ModelSpec, hf_config, set_int_attrs

_INT_ATTRS = ("num_heads", "num_attention_heads", "num_key_value_heads", "num_key_value_groups",
              "all_head_size", "num_experts", "intermediate_size", "intermediate_dim", "top_k",
              "out_features", "in_features", "layer_idx")


def stock_class(model: nn.Module) -> type:
    for cls in type(model).__mro__:
        if cls.__module__.startswith("transformers.models."):
            return cls
    raise ModelError(f"{type(model).__name__} is not a transformers model class")


def finalize_config(spec: ModelSpec, head_dim: int | None = None) -> None:
    """Write uniform widths into the stock config fields."""
    cfg = spec.config
    attns = [ls.attn for ls in spec.layers if ls.attn is not None]
    if attns and spec.family != "bert":  # BERT derives head size from hidden / heads: keep
        heads = {(a.n_heads, a.n_kv) for a in attns}
        if len(heads) == 1:
            n, n_kv = heads.pop()
            saved = {k: getattr(cfg, k, None) for k in ("head_dim", "num_attention_heads",
                                                         "num_key_value_heads")}
            try:
                cfg.head_dim = head_dim or attns[0].head_dim
                cfg.num_attention_heads = n
                if hasattr(cfg, "num_key_value_heads"):
                    cfg.num_key_value_heads = n_kv
                if hasattr(cfg, "validate"):
                    cfg.validate()
            except Exception:  # e.g. LlamaConfig insists hidden % heads == 0: keep per-module
                for k, v in saved.items():
                    if v is not None:
                        setattr(cfg, k, v)
    mlps = [ls.mlp for ls in spec.layers if ls.mlp is not None]
    widths = {m.width for m in mlps}
    if len(widths) == 1:
        cfg.intermediate_size = widths.pop()
    moes = [ls.moe for ls in spec.layers if ls.moe is not None]
    counts = {m.n_experts for m in moes}
    if len(counts) == 1:
        n_experts = counts.pop()
        set_int_attrs(cfg, n_experts, "num_local_experts", "num_experts")
        cfg.num_experts_per_tok = min(cfg.num_experts_per_tok, n_experts)
        set_int_attrs(spec.model, n_experts, "num_experts")  # Mixtral's aux-loss count


def overrides(model: nn.Module) -> dict[str, Any]:
    """What differs between ``model`` and a stock model built from its config."""
    cls = stock_class(model)
    with torch.device("meta"):
        ref = cls(model.config)
    ref_params = dict(ref.named_parameters())
    params = {}
    for name, p in model.named_parameters():
        rp = ref_params.get(name)
        if rp is None or tuple(rp.shape) != tuple(p.shape):
            params[name] = list(p.shape)
    zeroed, attrs, mcfg = {}, {}, {}
    ref_mods = dict(ref.named_modules())
    for path, mod in model.named_modules():
        if isinstance(mod, remote.ZeroAttention | remote.ZeroMLP):
            zeroed[path] = "attention" if isinstance(mod, remote.ZeroAttention) else "mlp"
            continue
        rm = ref_mods.get(path)
        if rm is None or any(path.startswith(z + ".") for z in zeroed):
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
    missing = [n for n in ref_params if n not in dict(model.named_parameters())
               and not any(n.startswith(z + ".") for z in zeroed)]
    if missing:
        raise ModelError(f"pruned model lacks parameters of its stock class: {missing[:3]}")
    return {k: v for k, v in (("params", params), ("attrs", attrs), ("module_config", mcfg),
                              ("zeroed", zeroed)) if v}


def is_stock(model: nn.Module) -> bool:
    return not overrides(model)


def _auto_name(model: nn.Module) -> str:
    return "AutoModelForCausalLM" if hasattr(model, "generate") and \
        stock_class(model).__name__.endswith("ForCausalLM") else "AutoModel"


def save_pruned(model: nn.Module, out: str | Path, tokenizer: Any = None,
                meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write a reloadable folder; returns the ``prunestack`` entry written into config.json."""
    if not isinstance(model, PreTrainedModel):
        raise ModelError(f"{type(model).__name__} is not a transformers model",
                         "save_pruned writes the folder with save_pretrained")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = hf_config(model)
    cfg.prunestack = None
    if hasattr(cfg, "auto_map"):
        del cfg.auto_map
    diff = overrides(model)
    entry: dict[str, Any] = {"version": 1, "uniform": not diff, **(meta or {}), **diff}
    cfg.prunestack = entry
    cls = stock_class(model)
    cfg.architectures = [cls.__name__]
    if diff:
        cfg.auto_map = {_auto_name(model): "modeling_prunestack.PrunedModel"}
        if _auto_name(model) == "AutoModelForCausalLM":
            cfg.auto_map["AutoModel"] = "modeling_prunestack.PrunedModel"
    model.save_pretrained(out)
    saved = json.loads((out / "config.json").read_text())
    if saved.get("architectures") != [cls.__name__]:  # a reloaded Pruned* subclass saves its name
        saved["architectures"] = [cls.__name__]
        (out / "config.json").write_text(json.dumps(saved, indent=2, sort_keys=True) + "\n")
    if diff:
        src = Path(remote.__file__).read_text()
        src += (f"\n\nfrom transformers import {cls.__name__} as _Base  # noqa: E402\n\n"
                "PrunedModel = pruned_class(_Base)\n")
        (out / "modeling_prunestack.py").write_text(src)
    if tokenizer is not None:
        tokenizer.save_pretrained(out)
    return entry


def load_pruned(folder: str | Path, dtype: Any = None, device: str | None = None) -> nn.Module:
    """Load a folder written by ``save_pruned`` (stock or per-layer widths), in eval mode."""
    p = Path(folder)
    cfg_path = p / "config.json"
    if not cfg_path.is_file():
        raise ModelError(f"no config.json in {p}", "pass a folder written by prunestack prune")
    cfg = json.loads(cfg_path.read_text())
    arch = (cfg.get("architectures") or [None])[0]
    base = getattr(transformers, arch, None) if arch else None
    if not (isinstance(base, type) and issubclass(base, PreTrainedModel)):
        raise ModelError(f"{p}: unknown architecture {arch!r}")
    entry = cfg.get("prunestack") or {}
    has_diff = any(entry.get(k) for k in ("params", "attrs", "module_config", "zeroed"))
    # pruned_class returns a subclass of ``base`` (typed plain ``type``: remote.py stays
    # self-contained), so it is a PreTrainedModel class too.
    cls = cast(type[PreTrainedModel], remote.pruned_class(base)) if has_diff else base
    try:
        # typed as nn.Module: transformers' ``@wraps(nn.Module.to)`` on ``PreTrainedModel.to``
        # makes mypy read ``to`` as an unbound function
        model: nn.Module = cls.from_pretrained(str(p), dtype=dtype, local_files_only=True)
    except Exception as exc:
        raise ModelError(f"cannot load pruned model from {p}: {exc}") from exc
    if device:
        model = model.to(device)
    return model.eval()
