"""Allocation: given unit scores and unit costs per (layer, structure), decide what to keep.

- ``uniform``: remove round(ratio * n) units of every group (the same share in every layer).
- ``global`` (FLAP AL-AM): standardise scores within each group ((s - mean) / std), rank all units
  of all groups in one list, keep the best until the kept cost reaches (1 - ratio) of the total.
  A unit's cost is its parameter (or FLOP) count, so a head weighs what its weights weigh.
- ``layer-importance``: per-layer ratios r_l = clip(c + lam * z_l) where z_l is the standardised
  *un*importance of block l (ShortGPT block influence); c is found by bisection so the
  cost-weighted mean of r_l equals the target; then uniform inside each layer.

Every group keeps at least ``min_keep`` units (attention needs one head, an MLP one channel).
Pure functions over tensors; no model access.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class UnitGroup:
    layer: int
    kind: str  # "heads" | "channels"
    scores: torch.Tensor  # [n]
    cost: float  # cost of one unit (params or FLOPs)
    min_keep: int = 1

    @property
    def n(self) -> int:
        return int(self.scores.numel())


def _keep_top(scores: torch.Tensor, k: int) -> torch.Tensor:
    keep = torch.zeros(scores.numel(), dtype=torch.bool)
    if k > 0:
        keep[torch.topk(scores.double(), k).indices] = True
    return keep


def uniform(groups: list[UnitGroup], ratio: float) -> list[torch.Tensor]:
    out = []
    for g in groups:
        k = max(g.min_keep, g.n - round(ratio * g.n))
        out.append(_keep_top(g.scores, k))
    return out


def standardise(s: torch.Tensor) -> torch.Tensor:
    s = s.double()
    std = s.std() if s.numel() > 1 else torch.tensor(0.0, dtype=torch.float64)
    return (s - s.mean()) / (std if std > 0 else 1.0)


def global_rank(groups: list[UnitGroup], ratio: float) -> list[torch.Tensor]:
    total = sum(g.cost * g.n for g in groups)
    budget = (1.0 - ratio) * total
    keeps = [torch.zeros(g.n, dtype=torch.bool) for g in groups]
    kept = 0.0
    cand: list[tuple[float, int, int]] = []
    for gi, g in enumerate(groups):
        z = standardise(g.scores)
        order = torch.argsort(z, descending=True).tolist()
        for j in order[: g.min_keep]:  # forced keeps
            keeps[gi][j] = True
            kept += g.cost
        cand += [(float(z[j]), gi, j) for j in order[g.min_keep:]]
    cand.sort(key=lambda t: -t[0])
    for _, gi, j in cand:
        c = groups[gi].cost
        if kept + c / 2 > budget:  # keep while it brings us closer to the budget
            continue
        keeps[gi][j] = True
        kept += c
    return keeps


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


def layer_weighted(groups: list[UnitGroup], ratio: float,
                   importance: dict[int, float]) -> list[torch.Tensor]:
    layers = sorted({g.layer for g in groups})
    imp = torch.tensor([importance[l_] for l_ in layers], dtype=torch.float64)
    cost = torch.tensor([sum(g.cost * g.n for g in groups if g.layer == l_) for l_ in layers],
                        dtype=torch.float64)
    r = layer_ratios(imp, cost, ratio)
    per = dict(zip(layers, r.tolist(), strict=True))
    return [uniform([g], per[g.layer])[0] for g in groups]


def allocate(groups: list[UnitGroup], ratio: float, how: str,
             importance: dict[int, float] | None = None) -> list[torch.Tensor]:
    if how == "uniform":
        return uniform(groups, ratio)
    if how == "global":
        return global_rank(groups, ratio)
    if importance is None:
        raise ValueError("layer-importance allocation needs block importances")
    return layer_weighted(groups, ratio, importance)


def achieved(groups: list[UnitGroup], keeps: list[torch.Tensor]) -> float:
    """Share of the groups' total cost that the keep masks remove."""
    total = sum(g.cost * g.n for g in groups)
    removed = sum(g.cost * int((~k).sum()) for g, k in zip(groups, keeps, strict=True))
    return removed / total if total else 0.0
