"""Allocation: given unit scores and unit costs per layer, decide what to keep.

Attention is planned per layer from *per-query-head* scores. A plan keeps ``k`` key/value groups
(the best by the sum of their member heads' scores) and the best ``q`` query heads inside each of
them, so every kept group has the same number of query heads and stock GQA attention still works.
With one query head per group (no GQA) a plan is simply ``k`` heads.

- ``uniform``: every layer removes the share ``ratio`` of its pruned structures. The attention plan
  is the (k, q) whose removed cost is nearest ``ratio`` of the attention cost; the MLP then removes
  whatever the layer still owes (the head plan's rounding is taken by the channels, not dropped).
- ``global`` (FLAP AL-AM): the caller gives scores that are comparable across layers and kinds
  (FLAP standardises channel scores per layer, see ``criteria``); units of all layers go into one
  ranked list and the best are kept until the kept cost reaches (1 - ratio) of the total. A unit's
  cost is its parameter (or FLOP) count. Head units are heads without GQA and, with GQA, "slots":
  the r-th best query head of every group at once (score: the mean of those heads' scores).
- ``layer-importance``: per-layer ratios r_l = clip(c + lam * z_l) where z_l is the standardised
  *un*importance of block l (ShortGPT block influence); c is found by bisection so the
  cost-weighted mean of r_l equals the target; then uniform inside each layer.

MLP widths are rounded to a multiple of ``round_to`` (8 by default); the rounding residue of one
layer is carried into the next, so the total still lands on the target. Every layer keeps at least
one head and one rounding step of channels. Pure functions over tensors; no model access.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from prunestack.pipeline.pruning.criteria import standardise


@dataclass
class HeadLayout:
    """Attention of one layer: ``q_cost`` per query head (its q rows + o columns), ``kv_cost`` per
    key/value head (its k + v rows)."""

    n_heads: int
    n_kv: int
    q_cost: float
    kv_cost: float

    @property
    def group(self) -> int:
        return self.n_heads // self.n_kv

    def cost(self, k: int, q: int) -> float:
        """Cost of ``k`` groups with ``q`` query heads each."""
        return k * (q * self.q_cost + self.kv_cost)

    @property
    def total(self) -> float:
        return self.cost(self.n_kv, self.group)


@dataclass
class LayerUnits:
    """What one layer offers: head scores [n_heads] with their layout, channel scores [width]."""

    layer: int
    heads: torch.Tensor | None = None
    layout: HeadLayout | None = None
    channels: torch.Tensor | None = None
    ch_cost: float = 0.0

    @property
    def total(self) -> float:
        a = self.layout.total if self.layout is not None and self.heads is not None else 0.0
        c = self.ch_cost * self.channels.numel() if self.channels is not None else 0.0
        return a + c


@dataclass
class LayerKeep:
    heads: torch.Tensor | None  # [n_heads] bool
    channels: torch.Tensor | None  # [width] bool


def group_scores(heads: torch.Tensor, n_kv: int) -> torch.Tensor:
    """[n_kv] sum of the member query heads' scores of each key/value group."""
    return heads.reshape(n_kv, -1).sum(1)


def head_mask(heads: torch.Tensor, lay: HeadLayout, k: int, q: int) -> torch.Tensor:
    """[n_heads] bool: the best ``k`` groups (by group score), the best ``q`` heads in each."""
    hs = heads.double().reshape(lay.n_kv, lay.group)  # [n_kv, g]
    keep = torch.zeros(lay.n_kv, lay.group, dtype=torch.bool)
    groups = torch.topk(group_scores(hs.reshape(-1), lay.n_kv), k).indices
    best = torch.topk(hs[groups], q, dim=1).indices  # [k, q]
    keep[groups[:, None], best] = True
    return keep.reshape(-1)


def head_plan(lay: HeadLayout, ratio: float) -> tuple[int, int]:
    """(k, q) whose removed share of the attention cost is nearest ``ratio``; ties keep more
    key/value groups (query heads go before whole groups)."""
    plans = [(k, q) for k in range(1, lay.n_kv + 1) for q in range(1, lay.group + 1)]
    return min(plans, key=lambda p: (abs(1 - lay.cost(*p) / lay.total - ratio), -p[0], -p[1]))


def round_width(width: int, keep: float, step: int) -> int:
    """``keep`` channels rounded to a multiple of ``step`` (at least one step, at most width)."""
    if keep >= width - step / 2:  # nothing to remove at this granularity: the width stays
        return width
    if step <= 1 or width < step:
        return int(min(width, max(1, round(keep))))
    return int(min(step * (width // step), max(step, step * round(keep / step))))


def _keep_top(scores: torch.Tensor, k: int) -> torch.Tensor:
    keep = torch.zeros(scores.numel(), dtype=torch.bool)
    if k > 0:
        keep[torch.topk(scores.double(), k).indices] = True
    return keep


class Channels:
    """Rounds MLP widths to a multiple of ``step``, carrying the residue from layer to layer."""

    def __init__(self, step: int) -> None:
        self.step, self.carry = step, 0.0

    def keep(self, scores: torch.Tensor, cost: float, remove: float) -> torch.Tensor:
        """Keep mask for a layer that should remove ``remove`` cost from its channels."""
        width = scores.numel()
        want = remove + self.carry  # cost to remove, with what earlier layers still owe
        k = round_width(width, width - want / cost, self.step) if width else 0
        if remove == 0 and self.carry == 0:
            k = width
        self.carry = want - (width - k) * cost
        return _keep_top(scores, k)


def uniform_layer(units: LayerUnits, ratio: float, rounding: Channels) -> LayerKeep:
    """One layer at ``ratio``: the nearest head plan, then the channels take the difference."""
    hk = None
    removed = 0.0
    if units.heads is not None and units.layout is not None:
        lay = units.layout
        k, q = head_plan(lay, ratio)
        hk = head_mask(units.heads, lay, k, q)
        removed = lay.total - lay.cost(k, q)
    ck = None
    if units.channels is not None:
        owe = max(0.0, ratio * units.total - removed)
        ck = rounding.keep(units.channels, units.ch_cost, owe)
    return LayerKeep(hk, ck)


def uniform(layers: list[LayerUnits], ratio: float, step: int = 8) -> list[LayerKeep]:
    rounding = Channels(step)
    return [uniform_layer(u, ratio, rounding) for u in layers]


def _units(u: LayerUnits) -> list[tuple[float, float, int]]:
    """(score, cost, slot) of each head unit of a layer for the global list (slot = index)."""
    lay = u.layout
    assert lay is not None and u.heads is not None
    if lay.group == 1:
        return [(float(s), lay.q_cost + lay.kv_cost, i) for i, s in enumerate(u.heads.tolist())]
    ranked = u.heads.double().reshape(lay.n_kv, lay.group).sort(1, descending=True).values
    return [(float(ranked[:, r].mean()), lay.n_kv * lay.q_cost, r) for r in range(lay.group)]


def global_rank(layers: list[LayerUnits], ratio: float, step: int = 8) -> list[LayerKeep]:
    """One ranked list of head units and channels (scores must already be comparable)."""
    total = sum(u.total for u in layers)
    budget = (1.0 - ratio) * total
    kept = 0.0
    cand: list[tuple[float, int, str, int, float]] = []  # score, layer pos, kind, index, cost
    head_keep: list[set[int]] = [set() for _ in layers]
    ch_keep: list[torch.Tensor | None] = []
    for li, u in enumerate(layers):
        if u.heads is not None and u.layout is not None:
            units = sorted(_units(u), key=lambda t: -t[0])
            head_keep[li].add(units[0][2])  # every layer keeps one head unit
            kept += units[0][1]
            if u.layout.group > 1:  # slots are query heads: the key/value heads all stay
                kept += u.layout.n_kv * u.layout.kv_cost
            cand += [(s, li, "heads", j, c) for s, c, j in units[1:]]
        if u.channels is not None:
            order = torch.argsort(u.channels.double(), descending=True).tolist()
            mask = torch.zeros(u.channels.numel(), dtype=torch.bool)
            mask[order[0]] = True
            kept += u.ch_cost
            cand += [(float(u.channels[j]), li, "channels", j, u.ch_cost) for j in order[1:]]
            ch_keep.append(mask)
        else:
            ch_keep.append(None)
    cand.sort(key=lambda t: -t[0])
    for _, li, kind, j, c in cand:
        if kept + c / 2 > budget:  # keep while it brings us closer to the budget
            continue
        kept += c
        if kind == "heads":
            head_keep[li].add(j)
        else:
            m = ch_keep[li]
            assert m is not None
            m[j] = True
    rounding = Channels(step)
    out = []
    for li, u in enumerate(layers):
        hk = None
        if u.heads is not None and u.layout is not None:
            lay = u.layout
            n = len(head_keep[li])
            if lay.group == 1:
                hk = torch.zeros(lay.n_heads, dtype=torch.bool)
                hk[sorted(head_keep[li])] = True
            else:
                hk = head_mask(u.heads, lay, lay.n_kv, n)
        ck = None
        m = ch_keep[li]
        if m is not None and u.channels is not None:
            ck = rounding.keep(u.channels, u.ch_cost, float((~m).sum()) * u.ch_cost)
        out.append(LayerKeep(hk, ck))
    return out


def layer_ratios(importance: torch.Tensor, costs: torch.Tensor, ratio: float,
                 lam: float = 0.2, cap: float = 0.95) -> torch.Tensor:
    """[L] per-layer ratios: less important layers lose more; cost-weighted mean = ratio."""
    z = -standardise(importance)  # high = unimportant
    lam = min(lam, ratio, 1 - ratio) if 0 < ratio < 1 else 0.0

    def mean_at(c: float) -> float:
        r = (c + lam * z).clamp(0.0, cap)
        return float((r * costs).sum() / costs.sum())

    lo, hi = -1.0, 2.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if mean_at(mid) < ratio else (lo, mid)
    return (lo + lam * z).clamp(0.0, cap)


def layer_weighted(layers: list[LayerUnits], ratio: float, importance: dict[int, float],
                   step: int = 8) -> list[LayerKeep]:
    imp = torch.tensor([importance[u.layer] for u in layers], dtype=torch.float64)
    cost = torch.tensor([u.total for u in layers], dtype=torch.float64)
    r = layer_ratios(imp, cost, ratio)
    rounding = Channels(step)
    return [uniform_layer(u, float(r_l), rounding) for u, r_l in zip(layers, r.tolist(),
                                                                      strict=True)]


def allocate(layers: list[LayerUnits], ratio: float, how: str, step: int = 8,
             importance: dict[int, float] | None = None) -> list[LayerKeep]:
    if how == "uniform":
        return uniform(layers, ratio, step)
    if how == "global":
        return global_rank(layers, ratio, step)
    if importance is None:
        raise ValueError("layer-importance allocation needs block importances")
    return layer_weighted(layers, ratio, importance, step)


def removed_cost(u: LayerUnits, keep: LayerKeep) -> float:
    """Cost that ``keep`` removes from layer ``u``."""
    out = 0.0
    if u.layout is not None and keep.heads is not None:
        lay = u.layout
        per = keep.heads.reshape(lay.n_kv, lay.group).sum(1)
        k = int((per > 0).sum())
        q = int(per.max()) if k else 0
        out += lay.total - lay.cost(k, q)
    if keep.channels is not None:
        out += u.ch_cost * int((~keep.channels).sum())
    return out


def achieved(layers: list[LayerUnits], keeps: list[LayerKeep]) -> float:
    """Share of the layers' total cost that the keep masks remove."""
    total = sum(u.total for u in layers)
    removed = sum(removed_cost(u, k) for u, k in zip(layers, keeps, strict=True))
    return removed / total if total else 0.0

