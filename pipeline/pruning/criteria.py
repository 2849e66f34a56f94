"""Importance criteria as pure tensor functions, plus a streaming per-channel statistic.

- magnitude: squared L2 norm of every weight that belongs to a unit (data-free).
- Wanda-sp: mean over output rows of |W_ij| * sqrt(mean x_j^2), on the inputs of o_proj/down_proj.
- FLAP fluctuation (WIFV): var(x_j) * sum_i W_ij^2 (sample variance via Welford/Chan updates).
- Taylor (LLM-Pruner): first order |W * dL/dW|; second order |W*g - 1/2 W*F*W| with F the mean
  squared per-sample gradient (``param_mix``). Element scores are summed over each coupled group.

Every criterion scores *query heads* [n_heads] and MLP channels [width]; ``allocation`` combines
head scores into key/value groups (the sum of the member heads' scores) where it needs them, the
same rule for every criterion. Reductions to heads, per criterion:

- FLAP, as the reference computes it (FLAP ``lib/prune.py``, AL-AM): attention channel scores are
  squared, each layer's channel vector is standardised ((S - mean) / std, unbiased std) and a
  head's score is the *mean* of its head_dim standardised channel scores; MLP channel scores are
  standardised per layer (not squared). Scores are then comparable across layers and kinds.
- Wanda-sp (FLAP repo's baseline): a head's score is the *sum* of its channels' scores.
- Taylor / magnitude: a head's score is the sum of its element scores (q rows, o columns) plus
  an equal share of its key/value group's k and v rows, so the group sums are the coupled-group
  sums of LLM-Pruner.

No model code lives here.
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


# ---- reductions to heads and channels ----------------------------------------------------------

def standardise(s: torch.Tensor) -> torch.Tensor:
    """(s - mean) / std over one layer's vector (unbiased std, FLAP's ``standarlization``)."""
    s = s.double()
    std = s.std() if s.numel() > 1 else torch.tensor(0.0, dtype=torch.float64)
    return (s - s.mean()) / (std if std > 0 else 1.0)


def head_sums(col: torch.Tensor, attn: AttnSpec) -> torch.Tensor:
    """[n_heads] sum of a per-column score of o_proj's input [n_heads * head_dim] per head."""
    return col.reshape(attn.n_heads, attn.head_dim).sum(1)


def flap_heads(col: torch.Tensor, attn: AttnSpec) -> torch.Tensor:
    """[n_heads] FLAP AL-AM head scores from o_proj's fluctuation metric [n_heads * head_dim]."""
    return standardise(col.double() ** 2).reshape(attn.n_heads, attn.head_dim).mean(1)


def flap_channels(col: torch.Tensor) -> torch.Tensor:
    """[width] FLAP AL-AM channel scores: the layer's fluctuation metric, standardised."""
    return standardise(col)


def heads_from_elem(attn: AttnSpec, elem: dict[str, torch.Tensor]) -> torch.Tensor:
    """[n_heads] head scores summing element scores of q rows and o columns, plus an equal share
    of the group's k/v rows.

    ``elem`` maps 'q','k','v' (or 'qkv') and 'o' to element-score tensors shaped like the weights.
    """
    hd, n, n_kv, g = attn.head_dim, attn.n_heads, attn.n_kv, attn.group
    out = head_sums(elem["o"].sum(0), attn)
    if "qkv" in elem:
        rows = elem["qkv"].sum(1)
        q, k, v = rows[: n * hd], rows[n * hd: (n + n_kv) * hd], rows[(n + n_kv) * hd:]
    else:
        q, k, v = elem["q"].sum(1), elem["k"].sum(1), elem["v"].sum(1)
    kv = (k + v).reshape(n_kv, hd).sum(1) / g  # [n_kv] share of each member head
    return out + q.reshape(n, hd).sum(1) + kv.repeat_interleave(g)


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
