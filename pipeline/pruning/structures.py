"""What can be removed and what each unit costs; the math of the coarse structures.

- head costs: a query head = its q rows + o columns (+ biases), a key/value head = its k + v rows;
  or FLOPs: 2 x params + attention scores/values (4 x context x head_dim per query head per
  token). A key/value group costs its KV head plus its query heads.
- channel unit = one MLP channel (gate/up rows + down column).
- ShortGPT block influence BI = 1 - mean_t cos(h_in_t, h_out_t).
- FinerCut: Jensen-Shannon divergence between next-token distributions.
- STUN: greedy agglomerative clustering of experts by the distance of their router rows; keep the
  expert nearest each cluster centre.
Pure functions; surgery lives in ``surgery``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from prunestack.pipeline.pruning.families import AttnSpec, MlpSpec


def _b(lin: torch.nn.Linear | None) -> int:
    return 0 if lin is None or lin.bias is None else 1


def head_costs(attn: AttnSpec, count: str = "params", context: int = 512) -> tuple[float, float]:
    """(cost of one query head: its q rows + o columns [+ attention FLOPs], cost of one key/value
    head: its k + v rows)."""
    hd = attn.head_dim
    hidden = attn.o.out_features
    if attn.qkv is not None:
        q = hd * (hidden + _b(attn.qkv)) + hd * hidden
        kv = 2 * hd * (hidden + _b(attn.qkv))
    else:
        q = hd * (hidden + _b(attn.q)) + hd * hidden
        kv = hd * (hidden + _b(attn.k)) + hd * (hidden + _b(attn.v))
    if count == "params":
        return float(q), float(kv)
    return float(2 * q + 4 * context * hd), float(2 * kv)


def channel_unit_cost(mlp: MlpSpec, count: str = "params") -> float:
    hidden = mlp.down.out_features
    n_in = 2 if mlp.gate_up is not None or mlp.gate is not None else 1
    lin = mlp.gate_up or mlp.up
    params = n_in * (hidden + _b(lin)) + hidden
    return float(params if count == "params" else 2 * params)


def block_influence(h_in: torch.Tensor, h_out: torch.Tensor) -> float:
    """1 - mean cosine similarity of a block's input and output hidden states [N, L, H]."""
    cos = F.cosine_similarity(h_in.double(), h_out.double(), dim=-1)  # [N, L]
    return float(1.0 - cos.mean())


def js_divergence(logits_p: torch.Tensor, logits_q: torch.Tensor) -> float:
    """Mean Jensen-Shannon divergence (nats) between softmax(logits_p) and softmax(logits_q)."""
    lp = F.log_softmax(logits_p.double(), -1)
    lq = F.log_softmax(logits_q.double(), -1)
    m = torch.logsumexp(torch.stack([lp, lq]), 0) - torch.log(torch.tensor(2.0, dtype=lp.dtype))
    kl_pm = (lp.exp() * (lp - m)).sum(-1)
    kl_qm = (lq.exp() * (lq - m)).sum(-1)
    return float((0.5 * (kl_pm + kl_qm)).mean())


def stun_select(router: torch.Tensor, k: int) -> list[int]:
    """Indices of ``k`` representative experts from router rows [E, H] (STUN clustering).

    Average-linkage agglomerative clustering on Euclidean distances between router rows, merged
    until ``k`` clusters remain (equivalent to tuning a distance threshold for the budget); each
    cluster keeps the member nearest its centroid.
    """
    w = router.detach().double()
    e = w.shape[0]
    if k >= e:
        return list(range(e))
    d = torch.cdist(w, w)  # [E, E]
    clusters: list[list[int]] = [[i] for i in range(e)]
    while len(clusters) > k:
        best, pair = float("inf"), (0, 1)
        for a in range(len(clusters)):
            for b in range(a + 1, len(clusters)):
                dist = float(d[clusters[a]][:, clusters[b]].mean())
                if dist < best:
                    best, pair = dist, (a, b)
        a, b = pair
        clusters[a] += clusters.pop(b)
    keep = []
    for members in clusters:
        centre = w[members].mean(0)
        keep.append(members[int(torch.argmin(((w[members] - centre) ** 2).sum(1)))])
    return sorted(keep)
