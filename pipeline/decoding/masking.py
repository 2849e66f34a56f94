"""Applying packed token masks to logits cheaply, and computing the next mask off the critical path.

What it does:

* :func:`apply_bitmask` — scores ``[B, V_model]`` + packed bitmask ``[B, W]`` (bit j of int32 word
  w allows token 32·w+j) → new scores with −inf where a token is not allowed. On CPU it works on
  the *words* of the mask, never on a bool ``[B, V]`` tensor: a row whose allowed words are few
  (most grammar states: a key, a bracket, a digit) becomes ``full(−inf)`` plus a gather/scatter of
  the allowed ids; a row that allows almost everything (inside a free string) becomes a copy with
  the few forbidden ids set to −inf. Cost ≈ one pass over ``W = V/32`` words plus one memset or
  memcpy of the row — about 15–40 µs at a 131k vocabulary, single-threaded (numpy), where a
  ``[B, V]`` unpack + ``masked_fill`` costs 100–200 µs and, through torch's intra-op pool, several
  milliseconds on a loaded machine. Other devices/dtypes use the tensor path.
* :class:`MaskPrefetcher` — one worker thread that computes the next mask while the model runs its
  forward pass (llguidance and outlines-core release the GIL while they fill a mask), the way
  serving engines overlap grammar work with the GPU step. Callers must ``wait()`` before reading
  what the job wrote.

What it does not do: decide *which* tokens are allowed (that is the backend's matcher), or keep
masks for more than one state.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from prunestack.pipeline.decoding.types import Matcher
from prunestack.pipeline.decoding.vocab import pack_bitmask, unpack_bitmask

# A row takes the gather/scatter path when at most 1/_SPARSE of its words allow anything;
# beyond that the branch-free additive mask is cheaper (np.nonzero over scattered bits is slow).
_SPARSE = 16


def fill_bitmask(matcher: Matcher, row: torch.Tensor) -> None:
    """Write ``matcher``'s next-token mask into the int32 CPU row ``[W]``."""
    fn = getattr(matcher, "fill_bitmask", None)
    if fn is not None:
        fn(row)
    else:  # any other Matcher implementation: pack its bool mask
        row.copy_(pack_bitmask(matcher.mask()))


def set_bits(row: torch.Tensor, ids: set[int] | list[int]) -> None:
    """Zero the packed row ``[W]`` and allow exactly ``ids``."""
    words = row.numpy().view(np.uint32)  # [W], shares memory with row
    words[:] = 0
    for t in ids:
        words[t // 32] |= np.uint32(1 << (t % 32))


def bit_ids(words: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Token ids of the set bits of ``words[idx]`` (uint32 words, int word indices) → int64 [K]."""
    bits = np.unpackbits(words[idx].view(np.uint8), bitorder="little")  # [32·len(idx)]
    pos = np.flatnonzero(bits)
    return idx[pos >> 5].astype(np.int64) * 32 + (pos & 31)


def any_allowed(bitmask: torch.Tensor) -> bool:
    return bool(bitmask.numpy().any())


def _sparse_ids(words: np.ndarray, n: int) -> np.ndarray | None:
    """The allowed ids below ``n`` (int64 [K]) when at most 1/_SPARSE of ``words`` (uint32 [W])
    allow anything — the gather/scatter case; None for a row that allows many words."""
    nonzero = np.flatnonzero(words)
    if _SPARSE * nonzero.shape[0] > words.shape[0]:
        return None
    ids = bit_ids(words, nonzero)
    return ids[ids < n]


def _bits(words: np.ndarray, n: int) -> np.ndarray:
    """uint32 words [W] → one 0/1 uint8 per token id, ids [0, n)."""
    return np.unpackbits(words.view(np.uint8), bitorder="little")[:n]


def write_bias(words: np.ndarray, n_tok: int, out: np.ndarray) -> None:
    """Additive mask: ``out`` float32 [V_model] ← 0 where ``words`` (uint32 [W]) allow a token,
    −inf elsewhere (and at every id ≥ ``n_tok``). ``scores + out`` is the masked row."""
    n = min(out.shape[0], n_tok)
    # branch-free: 1 → 0x00000000 (+0.0), 0 → 0xFF800000 (−inf) as float32 bit patterns
    u = out[:n].view(np.uint32)
    np.subtract(_bits(words, n), np.uint32(1), out=u, dtype=np.uint32)
    np.bitwise_and(u, np.uint32(0xFF800000), out=u)
    out[n:] = -np.inf


def _apply_row(src: np.ndarray, dst: np.ndarray, words: np.ndarray, n_tok: int) -> None:
    """One row: ``dst`` ← ``src`` with −inf where ``words`` (uint32 [W]) forbid. src/dst [V].
    The way is :func:`plan_row`'s (``dst`` may be ``src``: the kept logits are read first)."""
    plan = plan_row(words, n_tok, src.shape[0])
    if plan.bias is not None:
        np.add(src, plan.bias, out=dst)  # x + 0 = x, x + −inf = −inf
        return
    kept = src[plan.ids]
    dst.fill(-np.inf)
    dst[plan.ids] = kept


def _numpy(t: torch.Tensor) -> np.ndarray:
    """Zero-copy numpy view of a CPU tensor (``detach`` only when autograd tracks it: on the
    critical path every torch call right after a forward pass costs tens of µs)."""
    return (t.detach() if t.requires_grad else t).numpy()


def apply_bitmask(scores: torch.Tensor, bitmask: torch.Tensor, n_tok: int,
                  inplace: bool = False) -> torch.Tensor:
    """scores [B, V_model] float, bitmask int32 [B, W] (CPU) → scores with −inf where not allowed.

    Ids at or past ``n_tok`` (the tokenizer's vocabulary; padded embeddings) are never allowed;
    a smaller model head simply ignores mask bits it has no logit for. ``inplace`` writes into
    ``scores`` (only safe when nobody else holds them)."""
    if scores.device.type == "cpu" and scores.dtype in (torch.float32, torch.float64) \
            and bitmask.device.type == "cpu" and scores.is_contiguous():
        src = _numpy(scores)  # [B, V_model], shares memory
        dst = src if inplace else np.empty_like(src)
        words = bitmask.numpy().view(np.uint32)  # [B, W]
        for b in range(src.shape[0]):
            _apply_row(src[b], dst[b], words[b], n_tok)
        return scores if inplace else torch.from_numpy(dst)
    allowed = unpack_bitmask(bitmask.cpu(), n_tok).to(scores.device)  # [B, n_tok]
    v_model = scores.shape[-1]
    if v_model > n_tok:
        pad = allowed.new_zeros((*allowed.shape[:-1], v_model - n_tok))
        allowed = torch.cat([allowed, pad], dim=-1)  # [B, V_model]
    elif v_model < n_tok:
        allowed = allowed[..., :v_model]
    if inplace:
        return scores.masked_fill_(~allowed, float("-inf"))
    return scores.masked_fill(~allowed, float("-inf"))


# A prepared row gathers/scatters its allowed ids only while that is cheaper than one add over the
# row: ≈ 2 × K fancy-index accesses vs V contiguous adds (measured: the add is 4 µs at 32k and
# 22 µs at 131k; a gather + scatter of 2,500 ids was 60–90 µs).
_KEEP_PER_ID = 128


@dataclass
class RowPlan:
    """One row's mask, prepared ahead of the logits by :func:`plan_row` (off the critical path):
    either ``keep`` — copy ``ids`` from the scores into a row pre-filled with −inf (few allowed
    ids) — or ``bias`` — add a float32 row of 0 / −inf to the scores (one vectorised pass, no
    gather; a bool ``masked_fill_`` over the same row costs ~10× more)."""

    keep: bool
    ids: np.ndarray  # int64 [K]: the allowed ids when ``keep``, else empty
    bias: np.ndarray | None  # float32 [V_model]: 0 where allowed, −inf elsewhere, when not ``keep``


def plan_row(words: np.ndarray, n_tok: int, v_model: int) -> RowPlan:
    """uint32 words [W] → the cheaper of the two ways to apply them to a row of ``v_model``."""
    n = min(v_model, n_tok)
    ids = _sparse_ids(words, n)
    if ids is not None and _KEEP_PER_ID * ids.shape[0] <= v_model:
        return RowPlan(True, ids, None)
    bias = np.empty(v_model, dtype=np.float32)
    write_bias(words, n_tok, bias)
    return RowPlan(False, np.empty(0, np.int64), bias)


def apply_plans(scores: torch.Tensor, plans: list[RowPlan], out: np.ndarray) -> None:
    """scores [B, V] float32 CPU + one plan per row → written into ``out`` [B, V] (a fresh array
    filled with −inf by whoever prepared the plans, usually wrapped in a tensor already so that
    the caller's critical path makes no torch call). A ``keep`` row touches only its ids; a bias
    row is one ``np.add``."""
    src = _numpy(scores)  # [B, V]
    for b, plan in enumerate(plans):
        if plan.bias is not None:
            np.add(src[b], plan.bias, out=out[b])  # x + 0 = x, x + −inf = −inf
        else:
            out[b, plan.ids] = src[b, plan.ids]


class MaskPrefetcher:
    """A single background worker for mask computation that overlaps the model's forward pass.

    ``submit(fn)`` queues ``fn`` for the worker (a previous job is waited for first, so jobs never
    overlap); ``wait()`` returns once the job is done and re-raises its error. The worker is one
    daemon thread fed through ``queue.SimpleQueue`` (a few µs per hand-over; llguidance and
    outlines-core release the GIL while filling a mask, numpy while scanning it). ``busy_s``
    accumulates the time jobs took on the worker — work moved off the critical path, reported by
    the benchmark so that the hidden cost stays visible."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], Any] | None] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[BaseException | None] = queue.SimpleQueue()
        self._busy = [0.0]  # shared with the worker, which holds no reference to self
        self._thread: threading.Thread | None = None
        self._pending = False

    @property
    def busy_s(self) -> float:
        return self._busy[0]

    @staticmethod
    def _run(jobs: queue.SimpleQueue[Callable[[], Any] | None],
             done: queue.SimpleQueue[BaseException | None], busy: list[float]) -> None:
        while True:
            fn = jobs.get()
            if fn is None:
                return
            t0 = time.perf_counter()
            try:
                fn()
                err: BaseException | None = None
            except BaseException as e:  # handed to the waiting thread
                err = e
            busy[0] += time.perf_counter() - t0
            del fn
            done.put(err)

    def submit(self, fn: Callable[[], Any]) -> None:
        self.wait()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="mask-prefetch", daemon=True,
                                            args=(self._jobs, self._done, self._busy))
            self._thread.start()
        self._pending = True
        self._jobs.put(fn)

    def wait(self) -> None:
        if self._pending:
            self._pending = False
            err = self._done.get()
            if err is not None:
                raise err

    def close(self) -> None:
        self.wait()
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join()
            self._thread = None

    def __del__(self) -> None:  # an unclosed prefetcher still stops its worker
        if getattr(self, "_thread", None) is not None:
            self._jobs.put(None)
