"""Batched Taylor scores equal the per-sample definition (LLM-Pruner): the mean gradient, and for
second order the mean squared per-sample gradient, computed here one sample at a time."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from prunestack.pipeline.pruning import criteria as C
from prunestack.pipeline.pruning.engine import encoder_embed, taylor_scores
from prunestack.pipeline.pruning.families import discover
from tests.pruning.conftest import build
from tests.pruning.test_landing import tiny_llama


def per_sample_reference(model, ids, order):
    """{(layer, kind): scores} with one backward per sample, straight from the definitions."""
    spec = discover(model)
    weights = {}
    for ls in spec.layers:
        weights[(ls.index, "heads")] = C.attn_weights(ls.attn)
        weights[(ls.index, "channels")] = C.mlp_weights(ls.mlp)
    flat = [w for d in weights.values() for w in d.values()]
    g = [torch.zeros_like(w, dtype=torch.float64) for w in flat]
    f = [torch.zeros_like(w, dtype=torch.float64) for w in flat]
    with torch.no_grad():
        bank = None if spec.causal else encoder_embed(model, ids)
    for i in range(ids.shape[0]):
        x = ids[i: i + 1]
        if spec.causal:
            loss = model(input_ids=x, labels=x, use_cache=False).loss
        else:
            loss = F.cross_entropy(encoder_embed(model, x) @ bank.T / 0.05, torch.tensor([i]))
        grads = torch.autograd.grad(loss, flat)
        for acc, sq, gr in zip(g, f, grads, strict=True):
            acc += gr.double()
            sq += gr.double() ** 2
    n = ids.shape[0]
    out, k = {}, 0
    for (li, kind), d in weights.items():
        elem = {}
        for name, w in d.items():
            elem[name] = C.taylor_elem(w.detach(), g[k] / n, f[k] / n if order == 2 else None)
            k += 1
        ls = spec.layers[li]
        out[(li, kind)] = (C.heads_from_elem(ls.attn, elem) if kind == "heads"
                           else C.channels_from_elem(ls.mlp, elem))
    return out


@pytest.mark.parametrize("family", ["llama-gqa", "bert"])
@pytest.mark.parametrize("order", [1, 2])
def test_batched_taylor_equals_per_sample_definition(family, order):
    model = tiny_llama(2, layers=2) if family == "llama-gqa" else build("bert")
    ids = torch.randint(3, 500, (6, 24), generator=torch.Generator().manual_seed(1))
    ref = per_sample_reference(model, ids, order)
    spec = discover(model)
    got = taylor_scores(spec, ids, order, spec.layers, batch=4)  # batches of 4 and 2
    assert set(got) == set(ref)
    for key, value in ref.items():
        torch.testing.assert_close(got[key], value, rtol=1e-4, atol=1e-10)
    assert all(p.grad is None for p in model.parameters())
    assert all(p.requires_grad for p in model.parameters())  # flags restored


def test_chunked_linear_cross_entropy_equals_autograd(monkeypatch):
    """The Taylor pass's fused head + loss gives the value and both gradients of the plain
    ``cross_entropy(h @ w.T)``, across chunk edges (chunk 7 over 30 tokens)."""
    from prunestack.pipeline.pruning import engine

    monkeypatch.setattr(engine, "CE_CHUNK", 7)
    g = torch.Generator().manual_seed(3)
    h = torch.randn(30, 16, generator=g, dtype=torch.float64)
    w = torch.randn(50, 16, generator=g, dtype=torch.float64)
    target = torch.randint(0, 50, (30,), generator=g)
    h1, w1 = h.clone().requires_grad_(), w.clone().requires_grad_()
    got = engine._LinearCrossEntropy.apply(h1, w1, target, 0.25)
    (got * 3.0).backward()
    h2, w2 = h.clone().requires_grad_(), w.clone().requires_grad_()
    want = F.cross_entropy(h2 @ w2.T, target, reduction="sum") * 0.25
    (want * 3.0).backward()
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(h1.grad, h2.grad)
    torch.testing.assert_close(w1.grad, w2.grad)


def test_causal_loss_sum_equals_transformers_loss():
    """``causal_lm_loss_sum`` is transformers' own loss times the batch size, fused path or not."""
    from prunestack.pipeline.pruning.engine import causal_lm_loss_sum

    model = tiny_llama(2, layers=2)
    ids = torch.randint(3, 500, (3, 20), generator=torch.Generator().manual_seed(2))
    want = model(input_ids=ids, labels=ids, use_cache=False).loss * 3
    torch.testing.assert_close(causal_lm_loss_sum(model, ids), want, rtol=1e-5, atol=1e-6)
    model.config.final_logit_softcapping = 30.0  # not a plain head: the model's own loss
    torch.testing.assert_close(causal_lm_loss_sum(model, ids), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("family", ["llama-gqa", "bert"])
@pytest.mark.parametrize("order", [1, 2])
def test_bf16_taylor_keeps_the_float32_ranking(family, order):
    """bfloat16 products (``precision="bf16"``, the default on AMX CPUs and CUDA) move the
    scores' low digits, not which heads and channels rank in each layer's top half."""
    model = tiny_llama(2, layers=2) if family == "llama-gqa" else build("bert")
    ids = torch.randint(3, 500, (6, 24), generator=torch.Generator().manual_seed(1))
    spec = discover(model)
    full = taylor_scores(spec, ids, order, spec.layers, batch=4, precision="fp32")
    low = taylor_scores(spec, ids, order, spec.layers, batch=4, precision="bf16")
    assert not all(torch.equal(full[k], low[k]) for k in full)  # really another dtype
    for key, want in full.items():
        half = len(want) // 2
        top = set(want.topk(half).indices.tolist())
        got = set(low[key].topk(half).indices.tolist())
        assert len(top & got) >= 0.9 * half, key
        torch.testing.assert_close(low[key], want, rtol=0.1, atol=1e-3 * float(want.max()))


def test_taylor_precision_auto_follows_the_hardware(monkeypatch):
    from prunestack.pipeline.pruning import engine

    cpu = torch.device("cpu")
    assert engine.taylor_dtype("fp32", cpu) is None
    assert engine.taylor_dtype("bf16", cpu) is torch.bfloat16
    monkeypatch.setattr(engine, "_cpu_has_amx_bf16", lambda: False)
    assert engine.taylor_dtype("auto", cpu) is None
    monkeypatch.setattr(engine, "_cpu_has_amx_bf16", lambda: True)
    assert engine.taylor_dtype("auto", cpu) is torch.bfloat16
