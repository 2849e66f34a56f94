"""Discover the prunable parts of a Hugging Face model from its modules and config.

For every transformer block we find the attention projections (separate q/k/v, Phi-3's fused
``qkv_proj`` or BERT's query/key/value), the MLP (gate/up/down, Phi-3's fused ``gate_up_proj``, or
BERT's intermediate/output) and, for mixture-of-experts blocks (Mixtral, Qwen-MoE), the router and
the 3-D expert tensors. Sizes (head size, head counts, layer count, widths) are always read from the
live modules and the config, never assumed.

This module only describes; it does not change the model (see ``surgery``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

import torch
from torch import nn

from prunestack.errors import ModelError

# model_type -> family tag; everything listed here is tested on a tiny random model.
SUPPORTED = {
    "llama": "llama", "mistral": "llama", "qwen2": "llama", "qwen3": "llama", "gemma": "llama",
    "gemma2": "llama", "phi3": "phi3", "mixtral": "llama", "qwen2_moe": "llama", "bert": "bert",
}


@dataclass
class AttnSpec:
    """Attention of one block. ``fused`` is Phi-3's qkv_proj; otherwise q/k/v are separate."""

    module: nn.Module
    path: str
    o: nn.Linear
    head_dim: int
    n_heads: int
    n_kv: int
    q: nn.Linear | None = None
    k: nn.Linear | None = None
    v: nn.Linear | None = None
    qkv: nn.Linear | None = None

    @property
    def group(self) -> int:
        """Query heads per key/value head (1 without GQA)."""
        return self.n_heads // self.n_kv


@dataclass
class MlpSpec:
    """Dense MLP of one block: channel c = row c of gate/up and column c of down."""

    module: nn.Module
    path: str
    down: nn.Linear
    up: nn.Linear | None = None
    gate: nn.Linear | None = None
    gate_up: nn.Linear | None = None  # fused [gate; up] rows (Phi-3)

    @property
    def width(self) -> int:
        return self.down.in_features


@dataclass
class MoeSpec:
    """Sparse MoE block: router rows [E, H], experts gate_up [E, 2I, H] and down [E, H, I]."""

    module: nn.Module
    path: str
    router: nn.Module
    experts: nn.Module
    top_k: int

    @property
    def n_experts(self) -> int:
        return int(tensor_attr(self.router, "weight").shape[0])


@dataclass
class LayerSpec:
    index: int
    module: nn.Module
    path: str
    attn: AttnSpec | None
    mlp: MlpSpec | None
    moe: MoeSpec | None = None


@dataclass
class ModelSpec:
    model: nn.Module
    model_type: str
    family: str
    causal: bool
    layers_path: str
    layers: list[LayerSpec] = field(default_factory=list)

    @property
    def config(self) -> Any:
        return self.model.config


def _get(module: nn.Module, name: str) -> Any:
    return getattr(module, name, None)


_T = TypeVar("_T")


# Typed accessors. ``nn.Module.__getattr__`` is typed ``Tensor | Module`` for every attribute, so
# ``layer.attention.self.query`` type-checks as neither; these check what they return instead.

def _typed(module: nn.Module, name: str, cls: type[_T], what: str) -> _T:
    """``module.<name>`` checked to be a ``cls``; ModelError naming ``what`` otherwise."""
    value = getattr(module, name, None)
    if not isinstance(value, cls):
        raise ModelError(f"{type(module).__name__}.{name} is {type(value).__name__}, "
                         f"expected {what}")
    return value


def child(module: nn.Module, name: str) -> nn.Module:
    """Submodule ``name`` of ``module``; ModelError when it is missing or not a module."""
    return _typed(module, name, nn.Module, "a submodule")


def linear(module: nn.Module, name: str) -> nn.Linear:
    """The ``nn.Linear`` ``module.<name>``; ModelError when it is missing or another type."""
    return _typed(module, name, nn.Linear, "nn.Linear")


def tensor_attr(module: nn.Module, name: str) -> torch.Tensor:
    """The tensor (parameter or buffer) ``module.<name>``; ModelError when it is not one."""
    return _typed(module, name, torch.Tensor, "a tensor")


def hf_config(module: nn.Module) -> Any:
    """``module.config``, a transformers config. Typed ``Any`` on purpose: its fields depend on
    the model family (``num_key_value_heads``, ``layer_types``, ...)."""
    cfg = getattr(module, "config", None)
    if cfg is None:
        raise ModelError(f"{type(module).__name__} has no config")
    return cfg


def set_int_attrs(obj: object, value: int, *names: str) -> None:
    """Set to ``value`` each of ``names`` that ``obj`` already holds as an int (module counts
    such as ``num_experts`` or ``layer_idx``; nothing is created)."""
    for name in names:
        if isinstance(getattr(obj, name, None), int):
            setattr(obj, name, value)


def _attn(cfg: Any, layer: nn.Module, path: str, family: str) -> AttnSpec | None:
    if family == "bert":
        att = child(layer, "attention")
        bsa = child(att, "self")
        hd = int(_get(bsa, "attention_head_size"))
        bq = linear(bsa, "query")
        n = bq.out_features // hd
        return AttnSpec(module=bsa, path=f"{path}.attention.self",
                        o=linear(child(att, "output"), "dense"), head_dim=hd, n_heads=n, n_kv=n,
                        q=bq, k=linear(bsa, "key"), v=linear(bsa, "value"))
    sa = _get(layer, "self_attn")
    if sa is None or _get(sa, "o_proj") is None:  # absent or zeroed by sublayer removal
        return None
    hd = int(getattr(sa, "head_dim", 0) or cfg.hidden_size // cfg.num_attention_heads)
    if _get(sa, "qkv_proj") is not None:
        n_kv = int(getattr(sa, "num_key_value_heads", None) or cfg.num_key_value_heads)
        total = sa.qkv_proj.out_features // hd
        return AttnSpec(module=sa, path=f"{path}.self_attn", o=sa.o_proj, head_dim=hd,
                        n_heads=total - 2 * n_kv, n_kv=n_kv, qkv=sa.qkv_proj)
    n = sa.q_proj.out_features // hd
    n_kv = sa.k_proj.out_features // hd
    if n % n_kv:
        raise ModelError(f"{path}: {n} query heads are not a multiple of {n_kv} key/value heads")
    return AttnSpec(module=sa, path=f"{path}.self_attn", o=sa.o_proj, head_dim=hd, n_heads=n,
                    n_kv=n_kv, q=sa.q_proj, k=sa.k_proj, v=sa.v_proj)


def _mlp(layer: nn.Module, path: str, family: str) -> tuple[MlpSpec | None, MoeSpec | None]:
    if family == "bert":
        return MlpSpec(module=layer, path=path, down=linear(child(layer, "output"), "dense"),
                       up=linear(child(layer, "intermediate"), "dense")), None
    mlp = _get(layer, "mlp") or _get(layer, "block_sparse_moe")
    if mlp is None:
        return None, None
    mpath = f"{path}.mlp" if _get(layer, "mlp") is not None else f"{path}.block_sparse_moe"
    experts = _get(mlp, "experts")
    if experts is not None:
        router = mlp.gate
        top_k = int(_get(router, "top_k") or getattr(mlp, "top_k", 1))
        return None, MoeSpec(module=mlp, path=mpath, router=router, experts=experts, top_k=top_k)
    if _get(mlp, "gate_up_proj") is not None:
        return MlpSpec(module=mlp, path=mpath, down=mlp.down_proj, gate_up=mlp.gate_up_proj), None
    if _get(mlp, "down_proj") is None:
        return None, None
    return MlpSpec(module=mlp, path=mpath, down=mlp.down_proj, up=mlp.up_proj,
                   gate=_get(mlp, "gate_proj")), None


def layers_of(model: nn.Module) -> tuple[str, nn.ModuleList]:
    """The ModuleList holding the transformer blocks and its dotted path."""
    for path in ("model.layers", "layers", "encoder.layer", "bert.encoder.layer",
                 "model.model.layers"):
        try:
            mod = model.get_submodule(path)
        except AttributeError:
            continue
        if isinstance(mod, nn.ModuleList):
            return path, mod
    raise ModelError(f"cannot find the transformer blocks of {type(model).__name__}")


def discover(model: nn.Module) -> ModelSpec:
    """Describe the blocks of ``model``; raise ModelError for a family we do not support."""
    cfg = getattr(model, "config", None)
    mtype = getattr(cfg, "model_type", None)
    if mtype not in SUPPORTED:
        raise ModelError(f"model family {mtype!r} is not supported for pruning",
                         f"supported: {', '.join(sorted(SUPPORTED))}")
    family = SUPPORTED[mtype]
    lpath, layers = layers_of(model)
    spec = ModelSpec(model=model, model_type=mtype, family=family, causal=family != "bert",
                     layers_path=lpath)
    for i, layer in enumerate(layers):
        path = f"{lpath}.{i}"
        mlp, moe = _mlp(layer, path, family)
        spec.layers.append(LayerSpec(index=i, module=layer, path=path,
                                     attn=_attn(cfg, layer, path, family), mlp=mlp, moe=moe))
    return spec
