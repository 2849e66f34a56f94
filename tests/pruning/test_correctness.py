"""Correctness of the pruning math: planted units, exact compensation, GQA grouping, ratios."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from prunestack.pipeline.pruning import allocation as A
from prunestack.pipeline.pruning import prune
from prunestack.pipeline.pruning.compensation import compensate
from prunestack.pipeline.pruning.criteria import ChannelStats, flap_channel, wanda_channel
from prunestack.pipeline.pruning.families import discover
from prunestack.pipeline.pruning.surgery import prune_heads, select_linear
from tests.pruning.conftest import build


def _logits(model, x):
    with torch.no_grad():
        out = model(input_ids=x)
    return out.logits if hasattr(out, "logits") else out.last_hidden_state


@torch.no_grad()
def _plant_llama(model, dead_group: int, dead_channels: torch.Tensor) -> None:
    """Make KV group ``dead_group`` and MLP channels ``dead_channels`` contribute nothing."""
    for ls in discover(model).layers:
        a, m = ls.attn, ls.mlp
        hd, g = a.head_dim, a.group
        q_cols = slice(dead_group * g * hd, (dead_group + 1) * g * hd)
        a.o.weight[:, q_cols] = 0
        a.q.weight[q_cols] = 0
        a.k.weight[dead_group * hd:(dead_group + 1) * hd] = 0
        a.v.weight[dead_group * hd:(dead_group + 1) * hd] = 0
        m.down.weight[:, dead_channels] = 0
        m.up.weight[dead_channels] = 0
        m.gate.weight[dead_channels] = 0


@pytest.mark.parametrize("method", ["flap", "wanda-sp", "magnitude", "taylor"])
def test_planted_zero_units_are_removed_and_logits_unchanged(method, byte_tok):
    model = build("llama")
    dead = torch.arange(0, 96, 4)  # 24 of 96 channels = 25 %
    _plant_llama(model, dead_group=2, dead_channels=dead)
    x = torch.randint(3, 500, (2, 16))
    before = _logits(model, x)
    res = prune(model, {"method": method, "ratio": 0.25, "allocation": "uniform",
                        "nsamples": 4, "seqlen": 32, "compensation": False},
                tokenizer=byte_tok, progress=False)
    for row in res.stats["layers"]:
        assert (row["heads"], row["kv_heads"], row["intermediate"]) == (6, 3, 72)
    spec = discover(model)
    for ls in spec.layers:  # the surviving channels are exactly the live ones
        assert torch.count_nonzero(ls.mlp.down.weight.abs().sum(0) == 0) == 0
        assert torch.count_nonzero(ls.attn.o.weight.abs().sum(0) == 0) == 0
    torch.testing.assert_close(_logits(model, x), before, rtol=1e-5, atol=1e-5)


def test_flap_compensation_exact_for_constant_channels(byte_tok):
    """BERT FFN channels whose input is constant (zero weight row, nonzero bias) are removed
    first by FLAP (zero variance) and the bias update makes the output exactly unchanged."""
    model = build("bert")
    spec = discover(model)
    const = torch.arange(1, 96, 4)  # 24 channels
    with torch.no_grad():
        for ls in spec.layers:
            ls.mlp.up.weight[const] = 0
            ls.mlp.up.bias[const] = torch.linspace(0.5, 2.0, len(const))
    x = torch.randint(3, 500, (2, 16))
    before = _logits(model, x)
    prune(model, {"method": "flap", "ratio": 0.25, "structures": ["channels"],
                  "allocation": "uniform", "nsamples": 4, "seqlen": 32},
          tokenizer=byte_tok, progress=False)
    assert all(ls.mlp.width == 72 for ls in discover(model).layers)
    torch.testing.assert_close(_logits(model, x), before, rtol=1e-4, atol=1e-4)


def test_compensation_creates_bias_and_is_exact():
    torch.manual_seed(0)
    lin = nn.Linear(6, 3, bias=False)
    x = torch.randn(50, 6)
    x[:, [1, 4]] = torch.tensor([0.7, -1.3])  # constant channels
    ref = lin(x)
    st = ChannelStats(6)
    st.update(x)
    keep = torch.tensor([True, False, True, True, False, True])
    assert compensate(lin, st.mean.float(), keep) is True
    select_linear(lin, cols=torch.nonzero(keep).flatten())
    torch.testing.assert_close(lin(x[:, keep]), ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("family", ["llama", "phi3"])
def test_gqa_groups_move_with_their_query_heads(family):
    """Pruning KV group 1 must equal silencing exactly its query heads in the dense model."""
    model = build(family)
    ref = copy.deepcopy(model)
    x = torch.randint(3, 500, (1, 12))
    spec, rspec = discover(model), discover(ref)
    for ls, rls in zip(spec.layers, rspec.layers, strict=True):
        hd, g = ls.attn.head_dim, ls.attn.group
        with torch.no_grad():  # group 1 = query heads g..2g-1
            rls.attn.o.weight[:, g * hd: 2 * g * hd] = 0
        prune_heads(ls.attn, [0, 2, 3])
        assert ls.attn.n_heads == 6 and ls.attn.n_kv == 3
    torch.testing.assert_close(_logits(model, x), _logits(ref, x), rtol=1e-5, atol=1e-5)


def test_criteria_formulas():
    torch.manual_seed(0)
    x = torch.randn(3, 40, 5) * torch.tensor([1.0, 2.0, 0.0, 0.5, 3.0])
    st = ChannelStats(5)
    for part in x.split(1):
        st.update(part)
    flat = x.reshape(-1, 5).double()
    torch.testing.assert_close(st.mean, flat.mean(0))
    torch.testing.assert_close(st.var, flat.var(0))
    w = torch.randn(4, 5)
    torch.testing.assert_close(flap_channel(w, st), flat.var(0) * (w.double() ** 2).sum(0))
    torch.testing.assert_close(wanda_channel(w, st),
                               (w.abs().double() * flat.pow(2).mean(0).sqrt()).mean(0))


def _layers(seed=0, n_kv=2):
    """Two layers of 8 query heads over ``n_kv`` KV heads and 64 channels, random scores."""
    g = torch.Generator().manual_seed(seed)
    lay = A.HeadLayout(n_heads=8, n_kv=n_kv, q_cost=32.0, kv_cost=32.0)
    return [A.LayerUnits(layer=i, heads=torch.rand(8, generator=g, dtype=torch.float64),
                         layout=lay, channels=torch.rand(64, generator=g, dtype=torch.float64),
                         ch_cost=3.0) for i in range(2)]


@pytest.mark.parametrize("n_kv", [2, 8])
@pytest.mark.parametrize("ratio", [0.2, 0.3, 0.5])
def test_allocations_land_within_one_rounding_step(ratio, n_kv):
    layers = _layers(n_kv=n_kv)
    total = sum(u.total for u in layers)
    for keeps in (A.global_rank(layers, ratio, step=8), A.uniform(layers, ratio, step=8),
                  A.layer_weighted(layers, ratio, {0: 0.1, 1: 0.9}, step=8)):
        assert abs(A.achieved(layers, keeps) - ratio) <= 8 * 3.0 / total
        for k in keeps:
            assert int(k.channels.sum()) % 8 == 0  # widths are multiples of 8
            per = k.heads.reshape(n_kv, -1).sum(1)
            assert len(set(per[per > 0].tolist())) == 1  # the same count in every kept group
    keeps = A.layer_weighted(layers, ratio, {0: 0.1, 1: 0.9}, step=1)
    removed = [A.removed_cost(u, k) for u, k in zip(layers, keeps, strict=True)]
    assert removed[0] >= removed[1]  # the less important layer loses more


def test_group_score_is_the_sum_of_member_heads():
    heads = torch.tensor([0.1, 0.9, 0.5, 0.4, 0.0, 0.2, 0.3, 0.3], dtype=torch.float64)
    lay = A.HeadLayout(n_heads=8, n_kv=2, q_cost=1.0, kv_cost=1.0)
    torch.testing.assert_close(A.group_scores(heads, 2), torch.tensor([1.9, 0.8],
                                                                      dtype=torch.float64))
    # one whole group (the weaker by the sum), or the best 2 heads inside each group
    assert A.head_mask(heads, lay, 1, 4).tolist() == [True] * 4 + [False] * 4
    assert A.head_mask(heads, lay, 2, 2).tolist() == [False, True, True, False,
                                                      False, False, True, True]
    assert A.head_plan(lay, 0.4) == (2, 2)  # 4 query heads = 0.4 of the cost, KV heads stay
    assert A.head_plan(lay, 0.5) == (1, 4)  # half the groups = exactly 0.5
