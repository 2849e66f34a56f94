"""Importance criteria as pure tensor functions, plus a streaming per-channel statistic.

- magnitude: squared L2 norm of every weight that belongs to a unit (data-free).
- Wanda-sp: mean over output rows of |W_ij| * sqrt(mean x_j^2), on the inputs of o_proj/down_proj.
- FLAP fluctuation (WIFV): var(x_j) * sum_i W_ij^2 (sample variance via Welford/Chan updates).
- Taylor (LLM-Pruner): first order |W * dL/dW|; second order |W*g - 1/2 W*F*W| with F the mean
  squared per-sample gradient (``param_mix``). Element scores are summed over each coupled group.

Scores are returned per *unit*: per key/value group for heads (a KV head with its query heads),
per channel for MLPs. No model code lives here.
"""

from __future__ import annotations

import torch

from prunestack.pipeline.pruning.families import AttnSpec, MlpSpec


class ChannelStats:
    """Streaming mean, sample variance and mean square of each input channel (Welford/Chan)."""

    def __init__(self, channels: int) -> None:
        self.n = 0
        self.mean = torch.zeros(channels, dtype=torch.float64)
        self.m2 = torch.zeros(channels, dtype=torch.float64)
        self.sumsq = torch.zeros(channels, dtype=torch.float64)

    def update(self, x: torch.Tensor) -> None:
        x = x.reshape(-1, x.shape[-1]).to(torch.float64).cpu()  # [tokens, C]
        nb = x.shape[0]
        if nb == 0:
            return
        bmean = x.mean(0)
        bm2 = ((x - bmean) ** 2).sum(0)
        tot = self.n + nb
        delta = bmean - self.mean
        self.mean += delta * nb / tot
        self.m2 += bm2 + delta**2 * self.n * nb / tot
        self.sumsq += (x**2).sum(0)
        self.n = tot

    @property
    def var(self) -> torch.Tensor:
        return self.m2 / max(self.n - 1, 1)

    @property
    def mean_sq(self) -> torch.Tensor:
        return self.sumsq / max(self.n, 1)


# ---- per input channel of o_proj / down_proj ---------------------------------------------------

def flap_channel(w: torch.Tensor, stats: ChannelStats) -> torch.Tensor:
    """[in] fluctuation metric of each input column of w [out, in]."""
    return stats.var.to(torch.float64) * (w.to(torch.float64) ** 2).sum(0)


def wanda_channel(w: torch.Tensor, stats: ChannelStats) -> torch.Tensor:
    """[in] Wanda-sp: mean over rows of |W_ij| * ||x_j|| (RMS over tokens)."""
    return (w.abs().to(torch.float64) * stats.mean_sq.sqrt()[None, :]).mean(0)


def taylor_elem(w: torch.Tensor, g: torch.Tensor, f: torch.Tensor | None = None) -> torch.Tensor:
    """Element importance: |W g| (first order) or |W g - 1/2 W F W| (second order, F given)."""
    w, g = w.to(torch.float64), g.to(torch.float64)
    if f is None:
        return (w * g).abs()
    return (w * g - 0.5 * w * f.to(torch.float64) * w).abs()


# ---- reductions to units -----------------------------------------------------------------------

def heads_from_cols(col: torch.Tensor, attn: AttnSpec) -> torch.Tensor:
    """[n_kv] group scores from a per-column score of o_proj's input [n_heads * head_dim]."""
    per_head = col.reshape(attn.n_heads, attn.head_dim).sum(1)
    return per_head.reshape(attn.n_kv, attn.group).sum(1)


def _rows_to_groups(rows: torch.Tensor, n_kv: int, per_group_heads: int, hd: int) -> torch.Tensor:
    return rows.reshape(n_kv, per_group_heads * hd).sum(1)


def heads_from_elem(attn: AttnSpec, elem: dict[str, torch.Tensor]) -> torch.Tensor:
    """[n_kv] group scores summing element scores of q/k/v rows and o columns.

    ``elem`` maps 'q','k','v' (or 'qkv') and 'o' to element-score tensors shaped like the weights.
    """
    hd, n, n_kv, g = attn.head_dim, attn.n_heads, attn.n_kv, attn.group
    out = heads_from_cols(elem["o"].sum(0), attn)
    if "qkv" in elem:
        rows = elem["qkv"].sum(1)
        q, k, v = rows[: n * hd], rows[n * hd: (n + n_kv) * hd], rows[(n + n_kv) * hd:]
    else:
        q, k, v = elem["q"].sum(1), elem["k"].sum(1), elem["v"].sum(1)
    return (out + _rows_to_groups(q, n_kv, g, hd) + _rows_to_groups(k, n_kv, 1, hd)
            + _rows_to_groups(v, n_kv, 1, hd))


def channels_from_elem(mlp: MlpSpec, elem: dict[str, torch.Tensor]) -> torch.Tensor:
    """[width] channel scores summing down columns and gate/up rows."""
    width = mlp.width
    score = elem["down"].sum(0)
    if "gate_up" in elem:
        rows = elem["gate_up"].sum(1)
        score = score + rows[:width] + rows[width:]
    else:
        score = score + elem["up"].sum(1)
        if "gate" in elem:
            score = score + elem["gate"].sum(1)
    return score


def attn_weights(attn: AttnSpec) -> dict[str, torch.Tensor]:
    if attn.qkv is not None:
        return {"qkv": attn.qkv.weight, "o": attn.o.weight}
    assert attn.q is not None and attn.k is not None and attn.v is not None
    return {"q": attn.q.weight, "k": attn.k.weight, "v": attn.v.weight, "o": attn.o.weight}


def mlp_weights(mlp: MlpSpec) -> dict[str, torch.Tensor]:
    out = {"down": mlp.down.weight}
    if mlp.gate_up is not None:
        out["gate_up"] = mlp.gate_up.weight
    else:
        assert mlp.up is not None
        out["up"] = mlp.up.weight
        if mlp.gate is not None:
            out["gate"] = mlp.gate.weight
    return out


def magnitude_heads(attn: AttnSpec) -> torch.Tensor:
    sq = {k: w.detach().double() ** 2 for k, w in attn_weights(attn).items()}
    return heads_from_elem(attn, sq)


def magnitude_channels(mlp: MlpSpec) -> torch.Tensor:
    sq = {k: w.detach().double() ** 2 for k, w in mlp_weights(mlp).items()}
    return channels_from_elem(mlp, sq)
