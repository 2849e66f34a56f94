"""The pruning run: ``prune(model_or_dir, recipe) -> PruneResult``.

Widths (heads, channels): capture block-0 inputs, then one block at a time: collect per-channel
statistics of the o_proj/down_proj inputs with hooks, score units, and either prune the block at
once and recompute its output before feeding it forward (uniform allocation, Wanda-sp style) or
keep the scores for a global/layer-weighted allocation done after the last block (FLAP style).
Scores are per query head and per channel; ``allocation`` plans heads evenly inside key/value
groups and lets the channels take what the head plan's rounding leaves.
Taylor scores come from batched backward passes over the calibration samples, with gradients
kept only for the prunable weights (per-sample squared gradients for second order come from the
linears' inputs and output gradients, one matrix product per sample). Blocks (ShortGPT),
sublayers (FinerCut) and experts (STUN) have their own short loops below. Which loop and
criterion a method uses, and what it needs, comes from ``methods.METHODS``. Loading goes
through ``prunestack.models``, saving through ``prunestack.saved``; reports live in ``report``.
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
    builtin_corpus,
    capture,
    read_texts,
    run_block,
    token_samples,
)
from prunestack.pipeline.pruning.compensation import compensate
from prunestack.pipeline.pruning.families import AttnSpec, LayerSpec, ModelSpec, child, discover
from prunestack.pipeline.pruning.methods import Method, get_method
from prunestack.pipeline.pruning.recipe import PruneRecipe
from prunestack.pipeline.pruning.report import count_flops, count_params, layer_widths
from prunestack.pipeline.pruning.surgery import finalize_config

#: activation criteria (methods.Method.criterion): the per-input-column score of o_proj /
#: down_proj from the weight and the input statistics, its reduction to query heads and to MLP
#: channels; taylor and magnitude score heads and channels from element scores instead
COLUMN_SCORES: dict[str, tuple[Callable[[torch.Tensor, C.ChannelStats], torch.Tensor],
                               Callable[[torch.Tensor, AttnSpec], torch.Tensor],
                               Callable[[torch.Tensor], torch.Tensor]]] = {
    "fluctuation": (C.flap_channel, C.flap_heads, C.flap_channels),
    "wanda": (C.wanda_channel, C.head_sums, lambda col: col),
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
    tok = load_tokenizer(p) if (p / "tokenizer_config.json").is_file() else None
    name = {torch.float32: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16"}[dtype]
    if not is_causal_folder(p):
        return load_pretrained(p, name, causal=False), tok
    return load_causal_lm(p, name), tok


def is_causal_folder(path: str | Path) -> bool:
    """Whether a model folder holds a causal LM (else an encoder), from its config alone."""
    cfg = json.loads((check_folder(path) / "config.json").read_text())
    return cfg.get("model_type") != "bert" and any(
        a.endswith("ForCausalLM") for a in cfg.get("architectures") or [])


def calibration_ids(tokenizer: Any, recipe: PruneRecipe) -> torch.Tensor:
    if tokenizer is None:
        raise ConfigError("this method needs calibration text but the model has no tokenizer",
                          "save a tokenizer in the model folder")
    docs = read_texts(recipe.calib) if recipe.calib else builtin_corpus("calib")
    return token_samples(tokenizer, docs, recipe.nsamples, recipe.seqlen, recipe.seed)


def calibration_name(recipe: PruneRecipe, ids: torch.Tensor | None,
                     source: str | None = None) -> str:
    """What a run calibrated on, for reports: the text (``source`` when the caller gave the
    token rows) and the windows."""
    if ids is None:
        return "none (the method needs no calibration)"
    text = source or recipe.calib or "built-in calibration-en corpus, calib split (Django " \
                                     "docs + synthetic documents)"
    return f"{text}: {ids.shape[0]} x {ids.shape[1]} tokens"


def encoder_embed(model: nn.Module, ids: torch.Tensor) -> torch.Tensor:
    """Mean-pooled, L2-normalised sentence embeddings [N, H] (no padding in ``ids``)."""
    out = model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
    return F.normalize(out.mean(1), dim=-1)


def _eligible(spec: ModelSpec, recipe: PruneRecipe) -> list[LayerSpec]:
    n = len(spec.layers)
    return [ls for ls in spec.layers if recipe.keep_first <= ls.index < n - recipe.keep_last]


# ---- Taylor ------------------------------------------------------------------------------------

class _PerSampleSquares:
    """Adds each sample's squared gradient of the hooked linears' weights into ``fsum`` (the
    Fisher diagonal of second-order Taylor) from their inputs and output gradients:
    g_i = dL/dy_i^T x_i for a loss that is the sum of the batch's per-sample losses."""

    def __init__(self, linears: dict[int, nn.Linear], fsum: dict[int, torch.Tensor]) -> None:
        self.fsum, self.hooks = fsum, []
        for key, lin in linears.items():
            self.hooks.append(lin.register_forward_hook(
                lambda _m, inp, out, key=key: self._watch(key, inp[0], out)))

    def _watch(self, key: int, x: torch.Tensor, out: torch.Tensor) -> None:
        if not out.requires_grad:
            return
        x = x.detach()

        def grad_hook(gy: torch.Tensor) -> None:  # gy [B, T, out], x [B, T, in]
            for i in range(gy.shape[0]):  # one [out, in] product per sample, never per element
                acc = self.fsum[key].dtype  # under autocast gy and x may differ (bf16 / float32)
                gi = (gy[i].reshape(-1, gy.shape[-1]).T.to(acc)
                      @ x[i].reshape(-1, x.shape[-1]).to(acc))
                self.fsum[key] += gi ** 2

        out.register_hook(grad_hook)

    def remove(self) -> None:
        for h in self.hooks:
            h.remove()


class _LinearCrossEntropy(torch.autograd.Function):
    """Sum of token cross-entropies of ``h @ w.T`` against ``target``, times ``scale``, without
    keeping the [tokens, vocab] logits: the forward pass works in chunks of ``CE_CHUNK`` tokens
    and computes the gradients (softmax - one-hot) there, so the backward pass only scales them.
    Same value and gradients as ``F.cross_entropy(h @ w.T, target, reduction="sum") * scale``;
    on CPU the log-softmax over a 32k vocabulary and its backward were half of a Taylor pass.
    ``low``: a dtype (bfloat16) for the two matrix products; the softmax stays float32."""

    @staticmethod
    def forward(ctx: Any, h: torch.Tensor, w: torch.Tensor, target: torch.Tensor,
                scale: float, low: torch.dtype | None = None) -> torch.Tensor:
        acc = torch.promote_types(h.dtype, torch.float32)  # float32 (or float64 in tests)
        h = h.to(acc)
        with torch.autocast(h.device.type, enabled=False):  # the products' dtype is ``low``
            total = h.new_zeros(())
            gh = torch.empty_like(h) if ctx.needs_input_grad[0] else None
            gw = torch.zeros_like(w) if ctx.needs_input_grad[1] else None
            wl = w.to(low) if low is not None else w
            for s in range(0, h.shape[0], CE_CHUNK):
                hc, tc = h[s: s + CE_CHUNK], target[s: s + CE_CHUNK]
                # one fused full-precision log-softmax over the [c, V] products (the passes
                # over the vocabulary, not the products, were most of this function's time)
                lsm = torch.log_softmax(hc.to(wl.dtype) @ wl.T, dim=-1, dtype=acc)
                total -= lsm.gather(1, tc[:, None]).sum()
                if gh is None and gw is None:
                    continue
                probs = lsm.exp_()  # softmax, in place
                probs[torch.arange(len(tc)), tc] -= 1.0
                if gh is not None:
                    gh[s: s + CE_CHUNK] = (probs.to(wl.dtype) @ wl).to(acc).mul_(scale)
                if gw is not None:
                    gw.addmm_(probs.T, hc, alpha=scale)
        ctx.save_for_backward(*(g for g in (gh, gw) if g is not None))
        ctx.has = (gh is not None, gw is not None)
        return total * scale

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        saved = iter(ctx.saved_tensors)
        gh = next(saved) * grad if ctx.has[0] else None
        gw = next(saved) * grad if ctx.has[1] else None
        return gh, gw, None, None, None


#: tokens per chunk of :class:`_LinearCrossEntropy` (a [chunk, vocab] float32 block at a time)
CE_CHUNK = 256


def causal_lm_loss_sum(model: nn.Module, x: torch.Tensor,
                       low: torch.dtype | None = None) -> torch.Tensor:
    """The summed per-sample causal LM losses of ``x`` [B, L] (each sample's mean next-token
    cross-entropy, summed over the batch): ``model(input_ids=x, labels=x).loss * B`` as
    transformers computes it, through :class:`_LinearCrossEntropy` when the output head is a
    plain linear layer over the base model's last hidden state (no bias, logit scale or
    soft-capping), else through the model's own loss. ``low``: the output layer's dtype for its
    products (the caller runs the rest under autocast)."""
    get_head = getattr(model, "get_output_embeddings", None)
    head = get_head() if callable(get_head) else None
    base = getattr(model, "base_model", model)
    cfg = getattr(model, "config", None)
    if not (isinstance(head, nn.Linear) and head.bias is None and base is not model
            and not getattr(cfg, "final_logit_softcapping", None)
            and getattr(cfg, "logit_scale", None) in (None, 1, 1.0)):
        return model(input_ids=x, labels=x, use_cache=False).loss * x.shape[0]
    h = base(input_ids=x, use_cache=False).last_hidden_state  # [B, L, H]
    hs = h[:, :-1].reshape(-1, h.shape[-1])
    target = x[:, 1:].reshape(-1)
    return _LinearCrossEntropy.apply(hs, head.weight, target, 1.0 / (x.shape[1] - 1), low)


#: auto Taylor batch: samples per backward keep samples x seqlen x hidden x blocks under this
TAYLOR_BUDGET = 2**24


def taylor_batch(spec: ModelSpec, seqlen: int, batch: int | None = None) -> int:
    """Samples per backward: ``batch`` if given, else as many as the activation budget allows."""
    if batch:
        return batch
    hidden = int(getattr(spec.config, "hidden_size", 1024))
    return max(1, TAYLOR_BUDGET // (seqlen * hidden * max(1, len(spec.layers))))


def _cpu_has_amx_bf16() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return "amx_bf16" in line.split()
    except OSError:
        pass
    return False


def taylor_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The dtype of Taylor's forward and backward products: None (float32) for "fp32",
    bfloat16 for "bf16", and for "auto" bfloat16 where it is fast — a CUDA device that supports
    it, or a CPU with AMX bf16 tiles (Intel Sapphire Rapids and later: ~4x float32's matrix
    products) — else float32. Gradients still accumulate in float32 ``.grad``."""
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    return torch.bfloat16 if device.type == "cpu" and _cpu_has_amx_bf16() else None


def taylor_scores(spec: ModelSpec, ids: torch.Tensor, order: int, layers: list[LayerSpec],
                  batch: int | None = None,
                  precision: str = "fp32") -> dict[tuple[int, str], torch.Tensor]:
    """Per-head and per-channel Taylor scores from the mean gradient over ``ids`` (and, for
    ``order`` 2, the mean squared per-sample gradient), with ``batch`` samples per backward
    (None: :func:`taylor_batch`). Each backward adds the batch's summed per-sample losses into
    the weights' ``.grad``, so batching changes nothing but the speed. ``precision``: see
    :func:`taylor_dtype` (bfloat16 products change the scores' low digits, not their order
    much: see ``docs/pruning.md``)."""
    batch = taylor_batch(spec, ids.shape[1], batch)
    model = spec.model
    device = next(model.parameters()).device
    low = taylor_dtype(precision, device)
    weights: dict[tuple[int, str], dict[str, torch.Tensor]] = {}
    owners: dict[int, nn.Linear] = {}
    for ls in layers:
        if ls.attn is not None:
            weights[(ls.index, "heads")] = C.attn_weights(ls.attn)
            for lin in (ls.attn.q, ls.attn.k, ls.attn.v, ls.attn.qkv, ls.attn.o):
                if lin is not None:
                    owners[id(lin.weight)] = lin
        if ls.mlp is not None:
            weights[(ls.index, "channels")] = C.mlp_weights(ls.mlp)
            for lin in (ls.mlp.gate, ls.mlp.up, ls.mlp.gate_up, ls.mlp.down):
                if lin is not None:
                    owners[id(lin.weight)] = lin
    params = {id(w): w for d in weights.values() for w in d.values()}
    flags = {n: p.requires_grad for n, p in model.named_parameters()}
    for p in model.parameters():
        p.requires_grad_(id(p) in params)
        p.grad = None
    fsum = {k: torch.zeros_like(w) for k, w in params.items()} if order == 2 else None
    squares = _PerSampleSquares({k: owners[k] for k in params}, fsum) if fsum else None
    bank: torch.Tensor | None = None
    if not spec.causal:
        with torch.no_grad():
            bank = encoder_embed(model, ids)  # [N, H] dense targets
    model.eval()
    try:
        for start in range(0, ids.shape[0], batch):
            x = ids[start: start + batch]  # [B, L]
            with torch.autocast(device.type, dtype=low or torch.float32, enabled=low is not None):
                if spec.causal:
                    loss = causal_lm_loss_sum(model, x, low)
                else:  # contrastive: sample i must stay nearest its own dense embedding
                    assert bank is not None  # built above for every non-causal model
                    e = encoder_embed(model, x).float()  # [B, H]
                    loss = F.cross_entropy(e @ bank.T / 0.05, torch.arange(
                        start, start + x.shape[0]), reduction="sum")
            loss.backward()  # .grad accumulates the per-sample gradients' sum
        gsum = {k: (w.grad if w.grad is not None else torch.zeros_like(w)).detach()
                for k, w in params.items()}
    finally:
        for w in params.values():
            w.grad = None
        if squares is not None:
            squares.remove()
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

def _apply(ls: LayerSpec, keep: alloc.LayerKeep, means: dict[str, torch.Tensor],
           compensate_bias: bool) -> None:
    if keep.heads is not None:
        attn = ls.attn
        assert attn is not None
        if compensate_bias and "heads" in means:
            compensate(attn.o, means["heads"], keep.heads.repeat_interleave(attn.head_dim))
        surgery.prune_attention(attn, keep.heads)
    if keep.channels is not None:
        mlp = ls.mlp
        assert mlp is not None
        if compensate_bias and "channels" in means:
            compensate(mlp.down, means["channels"], keep.channels)
        surgery.prune_channels(mlp, torch.nonzero(keep.channels).flatten())


def _units(ls: LayerSpec, recipe: PruneRecipe, method: Method, cols: dict[str, torch.Tensor],
           tay: dict[tuple[int, str], torch.Tensor], kinds: list[str]) -> alloc.LayerUnits:
    """Scores and costs of one layer's heads and channels (see ``criteria`` for the rules)."""
    u = alloc.LayerUnits(layer=ls.index)
    crit = method.criterion
    comparable = recipe.allocation == "global" and crit != "fluctuation"  # FLAP's already are
    if "heads" in kinds:
        attn = ls.attn
        assert attn is not None
        if crit in COLUMN_SCORES:
            h = COLUMN_SCORES[crit][1](cols["heads"], attn)
        elif crit == "taylor":
            h = tay[(ls.index, "heads")]
        else:
            h = C.magnitude_heads(attn)
        qc, kvc = S.head_costs(attn, recipe.count, recipe.flops_seqlen)
        u.heads = (C.standardise(h) if comparable else h.double()).detach().cpu()
        u.layout = alloc.HeadLayout(attn.n_heads, attn.n_kv, qc, kvc)
    if "channels" in kinds:
        mlp = ls.mlp
        assert mlp is not None
        if crit in COLUMN_SCORES:
            c = COLUMN_SCORES[crit][2](cols["channels"])
        elif crit == "taylor":
            c = tay[(ls.index, "channels")]
        else:
            c = C.magnitude_channels(mlp)
        u.channels = (C.standardise(c) if comparable else c.double()).detach().cpu()
        u.ch_cost = S.channel_unit_cost(mlp, recipe.count)
    return u


def prune_widths(spec: ModelSpec, recipe: PruneRecipe, ids: torch.Tensor | None,
                 bar: Callable[..., Any], apply: bool = True) -> dict[str, Any]:
    """Score (and, with ``apply``, prune) heads and channels. Uniform allocation prunes each block
    as soon as it is scored and feeds the pruned block's output forward (Wanda-sp); the others
    score every block of the dense model first and allocate afterwards (FLAP).
    With ``apply=False`` nothing is pruned and the stats hold the dense scores (``units``)."""
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
        tay = taylor_scores(spec, ids, recipe.taylor_order, layers,
                            recipe.taylor_batch, recipe.taylor_precision)
    sequential = apply and recipe.allocation == "uniform"
    rounding = alloc.Channels(recipe.round_to)
    units: list[alloc.LayerUnits] = []
    keeps: list[alloc.LayerKeep] = []
    pending: list[tuple[LayerSpec, dict[str, torch.Tensor]]] = []
    importance: dict[int, float] = {}
    hidden: torch.Tensor | None = None
    extras: list[tuple[tuple, dict]] = []
    if needs_data:
        assert ids is not None  # missing ids were rejected above
        hidden, extras = capture(spec.model, _layers_module(spec), ids)
    eligible = {ls.index for ls in layers}
    for ls in bar(spec.layers, desc=f"{recipe.method} layers"):
        stats: dict[str, C.ChannelStats] = {}
        todo: list[tuple[str, nn.Linear]] = []
        if ls.index in eligible and ls.attn is not None and "heads" in structs:
            todo.append(("heads", ls.attn.o))
        if ls.index in eligible and ls.mlp is not None and "channels" in structs:
            todo.append(("channels", ls.mlp.down))
        if hidden is not None:
            hooks = []
            for kind, lin in todo:
                stats[kind] = C.ChannelStats(lin.in_features)
                hooks.append(lin.register_forward_pre_hook(
                    lambda _m, a, st=stats[kind]: st.update(a[0].detach())))
            out = run_block(ls.module, hidden, extras[ls.index])
            for h in hooks:
                h.remove()
            importance[ls.index] = S.block_influence(hidden, out)
        if todo:
            cols = ({kind: column_score[0](lin.weight.detach(), stats[kind])
                     for kind, lin in todo} if column_score else {})
            u = _units(ls, recipe, method, cols, tay, [k for k, _ in todo])
            means = {k: st.mean for k, st in stats.items()}
            units.append(u)
            if sequential:
                keep = alloc.uniform_layer(u, recipe.ratio, rounding)
                keeps.append(keep)
                _apply(ls, keep, means, bool(recipe.compensation))
                if hidden is not None:
                    out = run_block(ls.module, hidden, extras[ls.index])  # after pruning
            else:
                pending.append((ls, means))
        if hidden is not None:
            hidden = out
    if not apply:
        return {"units": units, "block_influence": importance}
    if not sequential:
        keeps = alloc.allocate(units, recipe.ratio, str(recipe.allocation), recipe.round_to,
                               importance)
        for (ls, means), keep in zip(pending, keeps, strict=True):
            _apply(ls, keep, means, bool(recipe.compensation))
    return {"achieved_ratio": alloc.achieved(units, keeps), "block_influence": importance}


def width_scores(model: nn.Module, recipe: PruneRecipe | dict[str, Any],
                 tokenizer: Any = None, ids: torch.Tensor | None = None
                 ) -> list[alloc.LayerUnits]:
    """The head and channel scores a width method computes on the dense ``model`` (nothing is
    pruned): one ``LayerUnits`` per eligible block, heads [n_heads], channels [width]."""
    if isinstance(recipe, dict):
        recipe = PruneRecipe.build(**recipe)
    spec = discover(model)
    method = get_method(recipe.method)
    if ids is None and _needs_ids(method, recipe):
        ids = calibration_ids(tokenizer, recipe)
    return prune_widths(spec, recipe, ids, _no_bar, apply=False)["units"]


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
          tokenizer: Any = None, progress: bool = True,
          ids: torch.Tensor | None = None) -> PruneResult:
    """Prune a model (in place) or a model folder according to ``recipe``. ``ids`` [N, L]
    (unpadded token rows) replaces the recipe's calibration text when given: a task's own
    inputs, e.g. the learned scorer's (field, candidate) pairs."""
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
    source = "caller's token rows" if ids is not None else None
    if ids is None and _needs_ids(method, recipe):
        ids = calibration_ids(tokenizer, recipe)
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
        "calibration": calibration_name(recipe, ids, source),
        "layers": layer_widths(spec), "wall_s": time.perf_counter() - t0,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **info,
    }
    return PruneResult(model=model, tokenizer=tokenizer, recipe=recipe, spec=spec, stats=stats)
