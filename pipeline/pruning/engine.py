"""The pruning run: ``prune(model_or_dir, recipe) -> PruneResult``.

Widths (heads, channels): capture block-0 inputs, then one block at a time: collect per-channel
statistics of the o_proj/down_proj inputs with hooks, score units, and either prune the block at
once and recompute its output before feeding it forward (uniform allocation, Wanda-sp style) or
keep the scores for a global/layer-weighted allocation done after the last block (FLAP style).
Taylor scores come from a short backward over a few samples, one sample at a time, with
gradients kept only for the prunable weights. Blocks (ShortGPT), sublayers (FinerCut) and experts
(STUN) have their own short loops below. Which loop and criterion a method uses, and what it
needs, comes from ``methods.METHODS``. Loading goes through ``prunestack.models``, saving through
``prunestack.saved``; reports live in ``report``.
"""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from prunestack.errors import ConfigError, ModelError
from prunestack.models import check_folder, load_causal_lm, load_pretrained, load_tokenizer
from prunestack.pipeline.pruning import allocation as alloc
from prunestack.pipeline.pruning import criteria as C
from prunestack.pipeline.pruning import structures as S
from prunestack.pipeline.pruning import surgery
from prunestack.pipeline.pruning.calibration import (
    capture,
    local_english,
    read_texts,
    run_block,
    token_samples,
)
from prunestack.pipeline.pruning.compensation import compensate
from prunestack.pipeline.pruning.families import LayerSpec, ModelSpec, child, discover
from prunestack.pipeline.pruning.methods import Method, get_method
from prunestack.pipeline.pruning.recipe import PruneRecipe
from prunestack.pipeline.pruning.report import count_flops, count_params, layer_widths
from prunestack.pipeline.pruning.surgery import finalize_config

#: per-input-column scores of o_proj/down_proj from the weight and the input statistics, by
#: criterion (methods.Method.criterion); other width criteria score whole units
COLUMN_SCORES: dict[str, Callable[[torch.Tensor, C.ChannelStats], torch.Tensor]] = {
    "fluctuation": C.flap_channel,
    "wanda": C.wanda_channel,
}


@dataclass
class PruneResult:
    model: nn.Module
    tokenizer: Any
    recipe: PruneRecipe
    spec: ModelSpec
    stats: dict[str, Any] = field(default_factory=dict)


def load_any(path: str | Path, dtype: Any = torch.float32) -> tuple[nn.Module, Any]:
    """A fresh model and its tokenizer from a local folder (causal LM, or encoder for BERT
    configs); never the registry's shared copy, since pruning edits it in place."""
    p = check_folder(path)
    cfg = json.loads((p / "config.json").read_text())
    tok = load_tokenizer(p) if (p / "tokenizer_config.json").is_file() else None
    name = {torch.float32: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16"}[dtype]
    if cfg.get("model_type") == "bert" or not any(
            a.endswith("ForCausalLM") for a in cfg.get("architectures") or []):
        return load_pretrained(p, name, causal=False), tok
    return load_causal_lm(p, name), tok


def calibration_ids(tokenizer: Any, recipe: PruneRecipe) -> torch.Tensor:
    if tokenizer is None:
        raise ConfigError("this method needs calibration text but the model has no tokenizer",
                          "save a tokenizer in the model folder")
    docs = read_texts(recipe.calib) if recipe.calib else local_english("calib")
    return token_samples(tokenizer, docs, recipe.nsamples, recipe.seqlen, recipe.seed)


def encoder_embed(model: nn.Module, ids: torch.Tensor) -> torch.Tensor:
    """Mean-pooled, L2-normalised sentence embeddings [N, H] (no padding in ``ids``)."""
    out = model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
    return F.normalize(out.mean(1), dim=-1)


def _eligible(spec: ModelSpec, recipe: PruneRecipe) -> list[LayerSpec]:
    n = len(spec.layers)
    return [ls for ls in spec.layers if recipe.keep_first <= ls.index < n - recipe.keep_last]


# ---- Taylor ------------------------------------------------------------------------------------

def taylor_scores(spec: ModelSpec, ids: torch.Tensor, order: int,
                  layers: list[LayerSpec]) -> dict[tuple[int, str], torch.Tensor]:
    model = spec.model
    weights: dict[tuple[int, str], dict[str, torch.Tensor]] = {}
    for ls in layers:
        if ls.attn is not None:
            weights[(ls.index, "heads")] = C.attn_weights(ls.attn)
        if ls.mlp is not None:
            weights[(ls.index, "channels")] = C.mlp_weights(ls.mlp)
    wanted = {id(w) for d in weights.values() for w in d.values()}
    flags = {n: p.requires_grad for n, p in model.named_parameters()}
    for p in model.parameters():
        p.requires_grad_(id(p) in wanted)
    gsum = {id(w): torch.zeros_like(w) for d in weights.values() for w in d.values()}
    fsum = {k: torch.zeros_like(v) for k, v in gsum.items()} if order == 2 else None
    bank: torch.Tensor | None = None
    if not spec.causal:
        with torch.no_grad():
            bank = encoder_embed(model, ids)  # [N, H] dense targets
    model.eval()
    try:
        for i in range(ids.shape[0]):
            x = ids[i: i + 1]
            if spec.causal:
                loss = model(input_ids=x, labels=x, use_cache=False).loss
            else:  # contrastive: sample i must stay nearest its own dense embedding
                assert bank is not None  # built above for every non-causal model
                e = encoder_embed(model, x)
                loss = F.cross_entropy(e @ bank.T / 0.05, torch.tensor([i]))
            loss.backward()
            for d in weights.values():
                for w in d.values():
                    if w.grad is not None:
                        gsum[id(w)] += w.grad
                        if fsum is not None:
                            fsum[id(w)] += w.grad**2
                        w.grad = None
    finally:
        for pname, p in model.named_parameters():
            p.requires_grad_(flags[pname])
    n = ids.shape[0]
    out: dict[tuple[int, str], torch.Tensor] = {}
    for (li, kind), d in weights.items():
        elem = {k: C.taylor_elem(w.detach(), gsum[id(w)] / n,
                                 None if fsum is None else fsum[id(w)] / n) for k, w in d.items()}
        ls = spec.layers[li]
        if kind == "heads":
            assert ls.attn is not None  # "heads" weights are only collected where attn is set
            out[(li, kind)] = C.heads_from_elem(ls.attn, elem)
        else:
            assert ls.mlp is not None  # "channels" weights are only collected where mlp is set
            out[(li, kind)] = C.channels_from_elem(ls.mlp, elem)
    return out


# ---- heads and channels ------------------------------------------------------------------------

def _apply(ls: LayerSpec, kind: str, keep: torch.Tensor, mean: torch.Tensor | None,
           compensate_bias: bool) -> None:
    if kind == "heads":
        attn = ls.attn
        assert attn is not None
        if compensate_bias and mean is not None:
            cols = keep.repeat_interleave(attn.group * attn.head_dim)  # [n_heads * head_dim]
            compensate(attn.o, mean, cols)
        surgery.prune_heads(attn, torch.nonzero(keep).flatten())
    else:
        mlp = ls.mlp
        assert mlp is not None
        if compensate_bias and mean is not None:
            compensate(mlp.down, mean, keep)
        surgery.prune_channels(mlp, torch.nonzero(keep).flatten())


def prune_widths(spec: ModelSpec, recipe: PruneRecipe, ids: torch.Tensor | None,
                 bar: Callable[..., Any]) -> dict[str, Any]:
    layers = _eligible(spec, recipe)
    structs = set(recipe.structures or [])
    method = get_method(recipe.method)
    needs_data = _needs_ids(method, recipe)
    if needs_data and ids is None:
        raise ConfigError(f"{recipe.method} needs calibration data")
    column_score = COLUMN_SCORES.get(method.criterion)
    tay: dict[tuple[int, str], torch.Tensor] = {}
    if method.criterion == "taylor":
        assert ids is not None  # taylor is in needs_data: missing ids were rejected above
        tay = taylor_scores(spec, ids, recipe.taylor_order, layers)
    sequential = recipe.allocation == "uniform"
    groups: list[alloc.UnitGroup] = []
    pending: list[tuple[LayerSpec, str, torch.Tensor | None]] = []
    importance: dict[int, float] = {}
    hidden: torch.Tensor | None = None
    extras: list[tuple[tuple, dict]] = []
    if needs_data:
        assert ids is not None  # missing ids were rejected above
        hidden, extras = capture(spec.model, _layers_module(spec), ids)
    eligible = {ls.index for ls in layers}
    for ls in bar(spec.layers, desc=f"{recipe.method} layers"):
        stats: dict[str, C.ChannelStats] = {}
        hooks = []
        todo = []
        if ls.index in eligible and ls.attn is not None and "heads" in structs:
            todo.append(("heads", ls.attn.o))
        if ls.index in eligible and ls.mlp is not None and "channels" in structs:
            todo.append(("channels", ls.mlp.down))
        if hidden is not None:
            for kind, lin in todo:
                stats[kind] = C.ChannelStats(lin.in_features)
                hooks.append(lin.register_forward_pre_hook(
                    lambda _m, a, st=stats[kind]: st.update(a[0].detach())))
            out = run_block(ls.module, hidden, extras[ls.index])
            for h in hooks:
                h.remove()
            importance[ls.index] = S.block_influence(hidden, out)
        layer_groups = []
        for kind, lin in todo:
            col = column_score(lin.weight.detach(), stats[kind]) if column_score else None
            if kind == "heads":
                assert ls.attn is not None
                sc = (C.heads_from_cols(col, ls.attn) if col is not None else
                      tay[(ls.index, kind)] if tay else C.magnitude_heads(ls.attn))
                cost = S.head_unit_cost(ls.attn, recipe.count, recipe.flops_seqlen)
            else:
                assert ls.mlp is not None
                sc = (col if col is not None else
                      tay[(ls.index, kind)] if tay else C.magnitude_channels(ls.mlp))
                cost = S.channel_unit_cost(ls.mlp, recipe.count)
            g = alloc.UnitGroup(layer=ls.index, kind=kind, scores=sc.detach().cpu(), cost=cost)
            mean = stats[kind].mean if kind in stats else None
            layer_groups.append((g, mean))
        if sequential and layer_groups:
            keeps = alloc.uniform([g for g, _ in layer_groups], recipe.ratio)
            for (g, mean), keep in zip(layer_groups, keeps, strict=True):
                groups.append(g)
                pending.append((ls, g.kind, keep))
                _apply(ls, g.kind, keep, mean, bool(recipe.compensation))
            if hidden is not None:
                out = run_block(ls.module, hidden, extras[ls.index])  # recompute after pruning
        else:
            for g, mean in layer_groups:
                groups.append(g)
                pending.append((ls, g.kind, mean))
        if hidden is not None:
            hidden = out
    if sequential:
        keeps = [k for _, _, k in pending]  # type: ignore[misc]
    else:
        keeps = alloc.allocate(groups, recipe.ratio, str(recipe.allocation), importance)
        for (ls, kind, mean), keep in zip(pending, keeps, strict=True):
            _apply(ls, kind, keep, mean, bool(recipe.compensation))
    return {"achieved_ratio": alloc.achieved(groups, keeps),  # type: ignore[arg-type]
            "block_influence": importance}


def _layers_module(spec: ModelSpec) -> nn.ModuleList:
    return spec.model.get_submodule(spec.layers_path)  # type: ignore[return-value]


# ---- blocks, sublayers, experts ----------------------------------------------------------------

def _block_cost(ls: LayerSpec) -> float:
    return float(sum(p.numel() for p in ls.module.parameters()))


def _greedy(order: list[Any], costs: dict[Any, float], target: float) -> list[Any]:
    chosen, removed = [], 0.0
    for c in order:
        if removed + costs[c] / 2 <= target:
            chosen.append(c)
            removed += costs[c]
    return chosen


def prune_blocks(spec: ModelSpec, recipe: PruneRecipe, ids: torch.Tensor,
                 bar: Callable[..., Any]) -> dict[str, Any]:
    hidden, extras = capture(spec.model, _layers_module(spec), ids)
    bi = {}
    for ls in bar(spec.layers, desc="block influence"):
        out = run_block(ls.module, hidden, extras[ls.index])
        bi[ls.index] = S.block_influence(hidden, out)
        hidden = out
    cand = sorted((ls.index for ls in _eligible(spec, recipe)), key=lambda i: bi[i])
    costs = {ls.index: _block_cost(ls) for ls in spec.layers}
    total = sum(costs[i] for i in cand)
    drop = _greedy(cand, costs, recipe.ratio * total)
    if len(drop) >= len(spec.layers):
        raise ConfigError("ratio would remove every block")
    surgery.remove_blocks(spec, [i for i in range(len(spec.layers)) if i not in drop])
    return {"achieved_ratio": sum(costs[i] for i in drop) / total, "removed_blocks": sorted(drop),
            "block_influence": bi}


def _zero_hook(_m: nn.Module, _a: Any, out: Any) -> Any:
    if isinstance(out, tuple):
        return (torch.zeros_like(out[0]), *out[1:])
    return torch.zeros_like(out)


def prune_sublayers(spec: ModelSpec, recipe: PruneRecipe, ids: torch.Tensor,
                    bar: Callable[..., Any]) -> dict[str, Any]:
    model = spec.model
    x = ids[: min(8, ids.shape[0])]
    with torch.no_grad():
        ref = model(input_ids=x, use_cache=False).logits  # [N, L, V]
    mods: dict[tuple[int, str], nn.Module] = {}
    costs: dict[tuple[int, str], float] = {}
    for ls in _eligible(spec, recipe):
        if ls.attn is not None and ls.index > 0:  # block 0 keeps attention: it owns cache length
            mods[(ls.index, "attention")] = child(ls.module, "self_attn")
        sub = getattr(ls.module, "mlp", None)
        if isinstance(sub, nn.Module):
            mods[(ls.index, "mlp")] = sub
    for key, m in mods.items():
        costs[key] = float(sum(p.numel() for p in m.parameters()))
    total = sum(costs.values())
    target = recipe.ratio * total
    removed, chosen, hooks = 0.0, [], []
    pbar = bar(total=max(1, round(recipe.ratio * len(mods))), desc="FinerCut steps")
    while True:
        left = [k for k in mods if k not in chosen and removed + costs[k] / 2 <= target]
        if not left:
            break
        best, best_js = None, float("inf")
        for k in left:
            h = mods[k].register_forward_hook(_zero_hook)
            with torch.no_grad():
                js = S.js_divergence(ref, model(input_ids=x, use_cache=False).logits)
            h.remove()
            if js < best_js:
                best, best_js = k, js
        assert best is not None
        chosen.append(best)
        removed += costs[best]
        hooks.append(mods[best].register_forward_hook(_zero_hook))
        pbar.update(1)
    pbar.close()
    for h in hooks:
        h.remove()
    for li, kind in chosen:
        surgery.zero_sublayer(spec.layers[li], kind)
    return {"achieved_ratio": removed / total if total else 0.0,
            "removed_sublayers": [f"{li}.{kind}" for li, kind in chosen]}


def prune_experts(spec: ModelSpec, recipe: PruneRecipe, ids: torch.Tensor | None,
                  bar: Callable[..., Any]) -> dict[str, Any]:
    """STUN: data-free (``ids`` is unused; every loop takes the same arguments)."""
    moes = [ls for ls in _eligible(spec, recipe) if ls.moe is not None]
    before = after = 0
    for ls in bar(moes, desc="STUN experts"):
        moe = ls.moe
        assert moe is not None
        n = moe.n_experts
        k = max(moe.top_k, n - round(recipe.ratio * n))
        surgery.prune_experts(moe, S.stun_select(moe.router.weight, k))
        before, after = before + n, after + k
    return {"achieved_ratio": 1 - after / before}


# ---- entry point -------------------------------------------------------------------------------

#: the engine loop of each ``methods.Method.loop``: (spec, recipe, ids, bar) -> stats
LOOPS: dict[str, Callable[..., dict[str, Any]]] = {
    "widths": prune_widths, "blocks": prune_blocks, "sublayers": prune_sublayers,
    "experts": prune_experts,
}


def _needs_ids(method: Method, recipe: PruneRecipe) -> bool:
    return method.calibration or bool(recipe.compensation) or \
        recipe.allocation == "layer-importance"


def _check_model(method: Method, spec: ModelSpec, recipe: PruneRecipe) -> None:
    """ModelError when the model lacks what ``method`` needs."""
    if method.needs == "causal" and not spec.causal:
        raise ModelError(f"{method.name} pruning ({method.source}) needs a causal LM")
    if method.needs == "moe" and not any(ls.moe is not None for ls in _eligible(spec, recipe)):
        raise ModelError(f"{spec.model_type} has no mixture-of-experts blocks to prune")


def _no_bar(it: Any = None, **_kw: Any) -> Any:
    if it is None:
        class _B:
            def update(self, _n: int) -> None: ...

            def close(self) -> None: ...
        return _B()
    return it


def prune(model_or_dir: nn.Module | str | Path, recipe: PruneRecipe | dict[str, Any],
          tokenizer: Any = None, progress: bool = True) -> PruneResult:
    """Prune a model (in place) or a model folder according to ``recipe``."""
    t0 = time.perf_counter()
    if isinstance(recipe, dict):
        recipe = PruneRecipe.build(**recipe)
    if isinstance(model_or_dir, str | Path):
        model, tok = load_any(model_or_dir)
        tokenizer = tokenizer or tok
    else:
        model = model_or_dir
    model.eval()
    spec = discover(model)
    method = get_method(recipe.method)
    _check_model(method, spec, recipe)
    torch.manual_seed(recipe.seed)
    bar = (lambda it=None, **kw: tqdm(it, leave=False, **kw)) if progress else _no_bar
    ctx = recipe.flops_seqlen
    before = {"params": count_params(model), "flops_per_token": count_flops(spec, ctx)}
    head_dim = next((ls.attn.head_dim for ls in spec.layers if ls.attn), None)
    ids = calibration_ids(tokenizer, recipe) if _needs_ids(method, recipe) else None
    info = LOOPS[method.loop](spec, recipe, ids, bar)
    finalize_config(spec, head_dim)
    spec = discover(model)
    after = {"params": count_params(model), "flops_per_token": count_flops(spec, ctx)}
    stats = {
        "family": spec.model_type, "recipe": recipe.model_dump(mode="json"),
        "params_before": before["params"], "params_after": after["params"],
        "flops_per_token_before": before["flops_per_token"],
        "flops_per_token_after": after["flops_per_token"], "flops_context": ctx,
        "model_params_removed": 1 - after["params"] / before["params"],
        "model_flops_removed": 1 - after["flops_per_token"] / before["flops_per_token"],
        "layers": layer_widths(spec), "wall_s": time.perf_counter() - t0,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **info,
    }
    return PruneResult(model=model, tokenizer=tokenizer, recipe=recipe, spec=spec, stats=stats)
