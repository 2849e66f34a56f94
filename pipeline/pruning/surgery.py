"""Surgery: rebuild weights with the kept rows/columns and keep modules and config consistent.

Query heads are removed evenly inside key/value groups (every kept group keeps the same number
of query heads; a group with none left loses its KV head), so each attention module still has a
whole number of query heads per KV head and stock attention code keeps working.
Channels are removed from gate/up rows and down columns together. Experts are removed from the
router rows and the 3-D expert tensors. Blocks are removed from the layer list (layer indices and
per-layer config lists are renumbered). Sublayers are replaced by a zero-output module.

Modules are edited in place (same objects), so hooks and references stay valid. Global config
fields are updated by :func:`finalize_config` once every layer is done: every width that is the
same in all layers goes into the stock config fields (``num_attention_heads``,
``num_key_value_heads``, ``head_dim``, ``intermediate_size``, expert counts), so
``prunestack.saved`` lists only what still differs per layer.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn

from prunestack.pipeline.pruning.families import (
    AttnSpec,
    LayerSpec,
    MlpSpec,
    ModelSpec,
    MoeSpec,
    discover,
    hf_config,
    set_int_attrs,
    tensor_attr,
)
from prunestack.rebuild import ZeroAttention, ZeroMLP


def _idx(keep: Sequence[int] | torch.Tensor, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(list(keep) if not isinstance(keep, torch.Tensor) else keep,
                           dtype=torch.long, device=device)


@torch.no_grad()
def select_linear(lin: nn.Linear, rows: torch.Tensor | None = None,
                  cols: torch.Tensor | None = None) -> None:
    """Keep ``rows`` (outputs) and ``cols`` (inputs) of ``lin`` in place."""
    w = lin.weight.data  # [out, in]
    if rows is not None:
        w = w.index_select(0, rows.to(w.device))
        if lin.bias is not None:
            lin.bias = nn.Parameter(lin.bias.data.index_select(0, rows.to(w.device)).clone())
    if cols is not None:
        w = w.index_select(1, cols.to(w.device))
    lin.weight = nn.Parameter(w.clone())
    lin.out_features, lin.in_features = int(w.shape[0]), int(w.shape[1])


def head_rows(heads: torch.Tensor, head_dim: int) -> torch.Tensor:
    """Row indices [len(heads) * head_dim] of the given heads."""
    return (heads[:, None] * head_dim + torch.arange(head_dim)[None, :]).reshape(-1)


def query_heads(groups: torch.Tensor, group: int) -> torch.Tensor:
    """Query heads belonging to the given key/value groups, in order."""
    return (groups[:, None] * group + torch.arange(group)[None, :]).reshape(-1)


@torch.no_grad()
def prune_heads(attn: AttnSpec, keep_groups: Sequence[int] | torch.Tensor) -> None:
    """Keep the given key/value groups with all their query heads."""
    g = _idx(sorted(int(x) for x in keep_groups), torch.device("cpu"))
    mask = torch.zeros(attn.n_heads, dtype=torch.bool)
    mask[query_heads(g, attn.group)] = True
    prune_attention(attn, mask)


@torch.no_grad()
def prune_attention(attn: AttnSpec, keep: torch.Tensor) -> None:
    """Keep query heads ``keep`` ([n_heads] bool); a key/value head stays while any of its query
    heads does. Every kept group must keep the same number of query heads (stock attention repeats
    each KV head ``num_key_value_groups`` times); ValueError otherwise. Updates the module's
    counts (heads, KV heads, query heads per KV head)."""
    keep = keep.to(torch.bool).cpu()
    per = keep.reshape(attn.n_kv, attn.group).sum(1)  # [n_kv] kept query heads per group
    kept_groups = torch.nonzero(per).flatten()
    counts = set(per[kept_groups].tolist())
    if len(counts) != 1:
        raise ValueError(f"uneven query heads per key/value group: {per.tolist()}")
    qh = torch.nonzero(keep).flatten()
    q_rows, kv_rows = head_rows(qh, attn.head_dim), head_rows(kept_groups, attn.head_dim)
    if attn.qkv is not None:
        nq = attn.n_heads * attn.head_dim
        nkv = attn.n_kv * attn.head_dim
        rows = torch.cat([q_rows, nq + kv_rows, nq + nkv + kv_rows])
        select_linear(attn.qkv, rows=rows)
    else:
        assert attn.q is not None and attn.k is not None and attn.v is not None
        select_linear(attn.q, rows=q_rows)
        select_linear(attn.k, rows=kv_rows)
        select_linear(attn.v, rows=kv_rows)
    select_linear(attn.o, cols=q_rows)
    n_heads, n_kv = len(qh), len(kept_groups)
    mod = attn.module
    for name, value in (("num_heads", n_heads), ("num_attention_heads", n_heads),
                        ("num_key_value_heads", n_kv), ("num_key_value_groups", n_heads // n_kv),
                        ("all_head_size", n_heads * attn.head_dim)):
        if isinstance(getattr(mod, name, None), int):
            setattr(mod, name, value)
    if attn.qkv is not None and hasattr(mod, "config"):  # Phi-3 reads counts from its config
        cfg = copy.deepcopy(hf_config(mod))
        cfg.num_attention_heads, cfg.num_key_value_heads = n_heads, n_kv
        mod.config = cfg
    attn.n_heads, attn.n_kv = n_heads, n_kv


@torch.no_grad()
def prune_channels(mlp: MlpSpec, keep: Sequence[int] | torch.Tensor) -> None:
    """Keep MLP channels ``keep`` (rows of gate/up, columns of down)."""
    k = _idx(sorted(int(x) for x in keep), torch.device("cpu"))
    if mlp.gate_up is not None:
        width = mlp.down.in_features
        select_linear(mlp.gate_up, rows=torch.cat([k, width + k]))
    else:
        assert mlp.up is not None
        select_linear(mlp.up, rows=k)
        if mlp.gate is not None:
            select_linear(mlp.gate, rows=k)
    select_linear(mlp.down, cols=k)
    for name in ("intermediate_size", "intermediate_dim"):
        if isinstance(getattr(mlp.module, name, None), int):
            setattr(mlp.module, name, len(k))


@torch.no_grad()
def prune_experts(moe: MoeSpec, keep: Sequence[int] | torch.Tensor) -> None:
    """Keep experts ``keep``: router rows and expert tensors; update expert counts."""
    router_w = tensor_attr(moe.router, "weight")  # [E, H]
    k = _idx(sorted(int(x) for x in keep), router_w.device)
    moe.router.weight = nn.Parameter(router_w.data.index_select(0, k).clone())
    bias = getattr(moe.router, "bias", None)  # [E] or None
    if bias is not None:
        moe.router.bias = nn.Parameter(bias.data.index_select(0, k).clone())
    for name in ("gate_up_proj", "down_proj", "gate_up_proj_bias", "down_proj_bias"):
        p = getattr(moe.experts, name, None)
        if isinstance(p, torch.Tensor):
            setattr(moe.experts, name, nn.Parameter(p.data.index_select(0, k).clone()))
    for mod in (moe.router, moe.experts, moe.module):
        set_int_attrs(mod, len(k), "num_experts", "out_features")
    moe.top_k = min(moe.top_k, len(k))


def remove_blocks(spec: ModelSpec, keep: Sequence[int]) -> None:
    """Keep only blocks ``keep`` (ShortGPT); renumber layer indices and per-layer config lists."""
    keep = sorted(int(i) for i in keep)
    model, cfg = spec.model, spec.config
    parent_path, _, name = spec.layers_path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    old = getattr(parent, name)
    new = nn.ModuleList([old[i] for i in keep])
    for new_i, layer in enumerate(new):
        for mod in layer.modules():
            set_int_attrs(mod, new_i, "layer_idx")
    setattr(parent, name, new)
    if isinstance(getattr(cfg, "layer_types", None), list):
        cfg.layer_types = [cfg.layer_types[i] for i in keep]
    if spec.model_type == "qwen2_moe":  # sparse-vs-dense is decided by layer index
        dense = [new_i for new_i, old_i in enumerate(keep)
                 if spec.layers[old_i].moe is None]
        cfg.mlp_only_layers, cfg.decoder_sparse_step = dense, 1
    cfg.num_hidden_layers = len(keep)
    spec.layers = discover(model).layers


def zero_sublayer(layer: LayerSpec, kind: str) -> None:
    """Replace the attention (``kind='attention'``) or MLP sublayer by a zero-output module."""
    if kind == "attention":
        layer.module.self_attn = ZeroAttention()
        layer.attn = None
    else:
        name = "mlp" if hasattr(layer.module, "mlp") else "block_sparse_moe"
        setattr(layer.module, name, ZeroMLP())
        layer.mlp, layer.moe = None, None


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
