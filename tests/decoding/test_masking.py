"""apply_bitmask (word-level numpy paths vs a plain masked_fill reference), set_bits, the
prefetcher's hand-over (a post the polling worker picks up, a wake once it blocks), and the
processor's forward-hook prefetch: same output with and without it, under greedy, sampling,
batching, beam search and assisted generation, and the same masks whether the worker polls or
is woken."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from prunestack.pipeline.decoding import JsonSchemaLogitsProcessor, masking
from prunestack.pipeline.decoding.masking import (
    MaskPrefetcher,
    apply_bitmask,
    apply_plans,
    bit_ids,
    plan_row,
    set_bits,
)
from prunestack.pipeline.decoding.vocab import pack_bitmask, unpack_bitmask

SCHEMA = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 8},
                                           "tags": {"type": "array", "maxItems": 2,
                                                    "items": {"enum": ["a", "bb"]}}},
          "required": ["name", "tags"]}


def _reference(scores: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    v_model, n = scores.shape[-1], allowed.shape[-1]
    full = torch.zeros(scores.shape, dtype=torch.bool)
    full[:, : min(v_model, n)] = allowed[:, : min(v_model, n)]
    return scores.masked_fill(~full, float("-inf"))


@pytest.mark.parametrize("density", [0.0005, 0.01, 0.5, 0.97, 0.9999])
@pytest.mark.parametrize("v_model", [1000, 1003, 990])
def test_apply_bitmask_matches_masked_fill(density, v_model):
    gen = torch.Generator().manual_seed(int(density * 1e4) + v_model)
    n_tok = 1000
    allowed = torch.rand(3, n_tok, generator=gen) < density
    allowed[1] = ~allowed[1]  # one row of the opposite density: both paths in one batch
    allowed[2, :] = False
    allowed[2, 999] = True  # the last id of a partial last word
    packed = torch.stack([pack_bitmask(r) for r in allowed])  # [3, W]
    scores = torch.randn(3, v_model, generator=gen)
    want = _reference(scores, allowed)
    got = apply_bitmask(scores, packed, n_tok)
    assert torch.equal(got, want)
    assert not torch.equal(scores, got) or bool(allowed.all())  # the input is left alone
    inplace = scores.clone()
    assert torch.equal(apply_bitmask(inplace, packed, n_tok, inplace=True), want)
    assert torch.equal(inplace, want)
    # the tensor (non-numpy) path agrees too
    assert torch.equal(apply_bitmask(scores.to(torch.bfloat16), packed, n_tok).float(),
                       _reference(scores.to(torch.bfloat16), allowed).float())


@pytest.mark.parametrize("v_model", [4096, 4103, 4000])
def test_prepared_plans_match_masked_fill(v_model):
    """Both plan kinds (keep a few ids; add a 0/−inf bias row) give the reference mask, with a
    model head wider or narrower than the tokenizer's vocabulary."""
    gen = torch.Generator().manual_seed(v_model)
    n_tok = 4096
    allowed = torch.zeros(3, n_tok, dtype=torch.bool)
    allowed[0, torch.randint(0, n_tok, (5,), generator=gen)] = True  # sparse: keep
    allowed[1] = torch.rand(n_tok, generator=gen) < 0.97  # inside a string: bias
    allowed[2, torch.randint(0, n_tok, (400,), generator=gen)] = True  # too many ids to gather
    packed = torch.stack([pack_bitmask(r) for r in allowed])  # [3, W]
    words = packed.numpy().view(np.uint32)
    plans = [plan_row(words[b], n_tok, v_model) for b in range(3)]
    assert [p.keep for p in plans] == [True, False, False]
    scores = torch.randn(3, v_model, generator=gen)
    out = np.full((3, v_model), -np.inf, dtype=np.float32)
    apply_plans(scores, plans, out)
    assert torch.equal(torch.from_numpy(out), _reference(scores, allowed))


def test_bit_ids_and_set_bits():
    row = torch.zeros(4, dtype=torch.int32)
    set_bits(row, {0, 31, 32, 127})
    words = row.numpy().view(np.uint32)
    assert bit_ids(words, np.flatnonzero(words)).tolist() == [0, 31, 32, 127]
    assert unpack_bitmask(row.unsqueeze(0), 128)[0].nonzero().flatten().tolist() == [0, 31, 32,
                                                                                     127]


def test_prefetcher_reraises_the_jobs_error():
    p = MaskPrefetcher()
    p.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        p.wait()
    ran: list[bool] = []
    p.submit(lambda: ran.append(True))  # the worker survives a failed job
    p.close()
    assert ran == [True]


def test_prefetcher_runs_jobs_one_at_a_time_on_its_worker_and_times_them():
    p = MaskPrefetcher()
    spans: list[tuple[str, float, float]] = []

    def job() -> None:
        t0 = time.perf_counter()
        time.sleep(0.2)
        spans.append((threading.current_thread().name, t0, time.perf_counter()))

    p.submit(job)
    p.submit(job)  # waits for the first job: jobs never overlap
    p.wait()
    assert [name for name, _, _ in spans] == ["mask-prefetch"] * 2  # off the calling thread
    assert spans[1][1] >= spans[0][2]
    worked = sum(end - start for _, start, end in spans)
    assert worked <= p.busy_s < worked + 0.15  # busy_s: the time the jobs took on the worker
    p.close()


def _generate(model, tok, attach, **kw):
    tok.padding_side = "left"
    tok.pad_token = tok.pad_token or tok.unk_token
    enc = tok(kw.pop("prompts", ["Person:"]), return_tensors="pt", padding=True)
    proc = JsonSchemaLogitsProcessor(SCHEMA, tok, model=model if attach else None)
    torch.manual_seed(3)
    out = model.generate(**enc, logits_processor=[proc], max_new_tokens=30,
                         pad_token_id=tok.pad_token_id, **kw)
    proc.detach()
    return out, proc


@pytest.mark.parametrize("kw", [
    {"do_sample": False},
    {"do_sample": True, "temperature": 1.0},
    {"do_sample": False, "prompts": ["Person:", "A much longer prompt than that:"]},
    {"do_sample": False, "num_beams": 3},
])
def test_attached_processor_gives_identical_output(target, tok, kw):
    plain, p0 = _generate(target, tok, False, **dict(kw))
    hooked, p1 = _generate(target, tok, True, **dict(kw))
    assert torch.equal(plain, hooked)
    assert p0.prefetch_hits == 0
    if kw.get("num_beams", 1) == 1:  # greedy/sampling: the worker's guess is always right
        assert p1.prefetch_hits == p1.calls  # the first call's masks come from the prompt
    assert p1.hook_seconds > 0 and p1.worker_seconds > 0


def test_attached_processor_under_assisted_generation(target, draft, tok):
    ids = tok("Person:", return_tensors="pt").input_ids
    plain = target.generate(ids, logits_processor=[JsonSchemaLogitsProcessor(SCHEMA, tok)],
                            max_new_tokens=30, do_sample=False, pad_token_id=0)
    draft.generation_config.num_assistant_tokens = 4
    proc = JsonSchemaLogitsProcessor(SCHEMA, tok, model=target)
    assisted = target.generate(ids, logits_processor=[proc], assistant_model=draft,
                               max_new_tokens=30, do_sample=False, pad_token_id=0)
    proc.detach()
    assert torch.equal(plain, assisted)


def test_unclosed_prefetcher_stops_its_worker():
    import gc

    p = MaskPrefetcher()
    p.submit(lambda: None)
    p.wait()
    worker = p._thread
    assert worker is not None and worker.is_alive()
    del p
    gc.collect()
    worker.join(timeout=5)
    assert not worker.is_alive()


def _until(cond, timeout=5.0):
    t0 = time.perf_counter()
    while not cond():
        assert time.perf_counter() - t0 < timeout, "the worker never got there"
        time.sleep(0.001)


def test_prefetcher_post_to_a_polling_worker_wakes_nobody_and_a_blocked_one_is_woken(monkeypatch):
    monkeypatch.setattr(masking, "_MIN_PATIENCE_S", 0.3)
    p = MaskPrefetcher()
    names: list[str] = []
    p.start()
    _until(lambda: p._s.polling)  # just started: it polls for _MIN_PATIENCE_S
    p.submit(lambda: names.append(threading.current_thread().name))
    assert p.wakes == 0  # a post: no system call on this thread
    _until(lambda: not p._s.slot)  # picked up by a poll, not by wait()
    p.wait()
    assert names == ["mask-prefetch"] and p.wakes == 0 and p.polls > 0
    _until(lambda: not p._s.polling)  # no post for _MIN_PATIENCE_S: it blocks (no more polls)
    polls = p.polls
    time.sleep(0.05)
    assert p.polls == polls
    p.submit(lambda: names.append(threading.current_thread().name))
    assert p.wakes == 1  # the fallback: the post wakes the blocked worker
    p.wait()
    assert names == ["mask-prefetch"] * 2
    p.close()


def test_prefetcher_wait_wakes_a_worker_that_has_not_polled_yet(monkeypatch):
    monkeypatch.setattr(masking, "_MIN_POLL_S", 30.0)  # its next poll would come far too late
    monkeypatch.setattr(masking, "_MAX_POLL_S", 30.0)
    monkeypatch.setattr(masking, "_MIN_PATIENCE_S", 60.0)
    p = MaskPrefetcher()
    p.start()
    _until(lambda: p._s.polling)
    p.submit(lambda: None)
    t0 = time.perf_counter()
    p.wait()  # the job is still in the slot: wait() wakes the worker instead of sitting it out
    assert time.perf_counter() - t0 < 5 and p.wakes == 1
    p.close()


def test_prefetcher_polls_cost_a_small_fraction_of_a_core():
    p = MaskPrefetcher()
    t0 = time.perf_counter()
    for _ in range(25):  # a steady pace, like decode steps: post, "forward pass", wait
        p.submit(lambda: None)
        time.sleep(0.02)
        p.wait()
    wall = time.perf_counter() - t0
    assert p.wakes < 25  # posts were picked up by polls
    assert p.cpu_s < 0.25 * wall  # a spinning worker would use ~all of it
    p.close()


class _Recorder:
    """Wraps a processor; keeps which ids each call left finite, per row."""

    def __init__(self, inner):
        self.inner, self.masks = inner, []

    def __call__(self, input_ids, scores):
        out = self.inner(input_ids, scores)
        self.masks.append(torch.isfinite(out))
        return out


@pytest.mark.parametrize("kw", [
    {"do_sample": False, "prompts": ["Person:", "A much longer prompt than that:"]},
    {"do_sample": True, "temperature": 1.0},
])
def test_polling_and_woken_worker_give_the_masks_of_the_plain_processor(target, tok, kw,
                                                                        monkeypatch):
    tok.padding_side = "left"
    tok.pad_token = tok.pad_token or tok.unk_token
    enc = tok(kw.pop("prompts", ["Person:"]), return_tensors="pt", padding=True)
    runs = {}
    for mode in ("plain", "polling", "woken"):
        if mode == "woken":  # the worker never polls: every hand-over wakes it (the old path)
            monkeypatch.setattr(masking, "_MIN_PATIENCE_S", 0.0)
            monkeypatch.setattr(masking, "_PATIENCE_PERIODS", 0)
        proc = JsonSchemaLogitsProcessor(SCHEMA, tok, model=target if mode != "plain" else None)
        rec = _Recorder(proc)
        torch.manual_seed(3)
        out = target.generate(**enc, logits_processor=[rec], max_new_tokens=30,
                              pad_token_id=tok.pad_token_id, **kw)
        proc.detach()
        runs[mode] = (out, rec.masks, proc)
    out, masks, _ = runs["plain"]
    for mode in ("polling", "woken"):
        assert torch.equal(runs[mode][0], out)
        assert len(runs[mode][1]) == len(masks)
        assert all(torch.equal(a, b) for a, b in zip(runs[mode][1], masks, strict=True))
        proc = runs[mode][2]
        assert proc.prefetch_hits == proc.calls
    assert runs["polling"][2].worker_wakes < runs["polling"][2].calls
    assert runs["woken"][2].worker_wakes >= runs["woken"][2].calls
