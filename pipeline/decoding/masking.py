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
  what the job wrote. While jobs come once per decode step, handing one over is a post the
  worker polls for (a timed wait), not a wake-up: no system call on the caller's thread.

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


# Hand-over policy (see MaskPrefetcher): the worker polls for a posted job with a timed wait while
# jobs come at a steady pace, and blocks (to be woken by the poster) otherwise.
_MIN_POLL_S = 1e-4  # below this a timed wait mostly measures the timer (~70 µs even for 0 here)
_MAX_POLL_S = 5e-3
_POLLS_PER_LEAD = 4  # polls within the time a job may start late and still be ready in time
_SLEEP_THROUGH = 0.9  # the first poll after a job comes this far into the expected period
_PATIENCE_PERIODS = 3  # keep polling this many job periods after the last post, then block,
_MIN_PATIENCE_S = 0.25  # and at least this long after the last post (or the start)
_WAKE = object()  # a token that only wakes the worker (stale ones are harmless)


class _Shared:
    """What the caller and the worker share (the worker holds no reference to the prefetcher, so
    that an unclosed prefetcher can still be collected and stop it). Written under the GIL; each
    field has one writer: ``posted_at``/``period``/``lead`` the caller, ``polling``/``job_s``/
    ``busy`` the worker."""

    def __init__(self) -> None:
        self.slot: list[Callable[[], Any]] = []  # 0 or 1 posted job; append/pop are atomic
        self.jobs: queue.SimpleQueue[object] = queue.SimpleQueue()  # wake tokens; None: stop
        self.done: queue.SimpleQueue[BaseException | None] = queue.SimpleQueue()
        self.polling = False  # the worker will look at ``slot`` without being woken
        self.posted_at = 0.0  # perf_counter of the last post
        self.period: float | None = None  # seconds between the last two posts
        self.lead: float | None = None  # seconds from the last post to the caller's wait
        self.job_s = 0.0  # how long the last job took
        self.busy = 0.0  # total time jobs took on the worker
        self.polls = 0  # timed waits the worker made

    def poll_s(self) -> float | None:
        """The worker's next timed wait, or None to block (no post for a while). While posts
        come at a steady pace: one wait through most of the period (no post can come before the
        caller has waited for the last job; a poll while the caller runs Python only takes the
        GIL from it), then polls often enough that a job posted just after one still finishes
        before the caller waits for it."""
        since = time.perf_counter() - self.posted_at
        if since > max(_PATIENCE_PERIODS * (self.period or 0.0), _MIN_PATIENCE_S):
            return None
        if self.lead is None:  # no job waited for yet (the prompt's forward pass): polls
            return min(max(since / _POLLS_PER_LEAD, _MIN_POLL_S), _MAX_POLL_S)  # grow with it
        poll = min(max((self.lead - self.job_s) / _POLLS_PER_LEAD, _MIN_POLL_S), _MAX_POLL_S)
        if self.period is not None:
            return max(_SLEEP_THROUGH * self.period - since, poll)
        return poll


class MaskPrefetcher:
    """A single background worker for mask computation that overlaps the model's forward pass.

    ``submit(fn)`` hands ``fn`` to the worker (a previous job is waited for first, so jobs never
    overlap); ``wait()`` returns once the job is done and re-raises its error. ``busy_s``
    accumulates the time jobs took on the worker — work moved off the critical path, reported by
    the benchmark so that the hidden cost stays visible.

    The hand-over costs the caller no system call while jobs come at a steady pace (one per
    decode step): waking a sleeping thread (a futex wake) costs the caller 15–60 µs right after a
    forward pass has streamed the LM head through the caches, and milliseconds on a loaded
    machine (the woken thread can preempt the caller). So ``submit`` only puts ``fn`` in a slot
    and the worker finds it after a timed wait, which ends in the kernel's timer, not in the
    caller: one wait through 90 % of the last period (post to post), then polls every
    ``(lead − job time) / 4``, clamped to 0.1–5 ms, where the lead is how long after a post the
    caller last waited — a job starts at most one poll late and is still ready in time. About
    two polls a step, each a few µs of CPU with the GIL: a small fraction of a core, not a
    spinning one (``cpu_s``, ``polls``). When no post came for 3 periods (and 0.25 s) the worker
    blocks, and the next ``submit`` wakes it (``wakes`` counts those); ``wait()`` also wakes it
    when the job is still in the slot (a forward pass shorter than the last ones)."""

    def __init__(self) -> None:
        self._s = _Shared()
        self._thread: threading.Thread | None = None
        self._pending = False
        self._posts = 0
        self.wakes = 0  # hand-overs that had to wake the worker (a system call on this thread)
        self._cpu_s = 0.0

    @property
    def busy_s(self) -> float:
        return self._s.busy

    @property
    def polls(self) -> int:
        return self._s.polls

    @property
    def cpu_s(self) -> float:
        """CPU time the worker thread used (its jobs and its polls): its thread clock, read while
        it runs and kept at ``close``; 0.0 where the platform has no per-thread clock."""
        clock_id = getattr(time, "pthread_getcpuclockid", None)
        if clock_id is not None and self._thread is not None and self._thread.ident is not None:
            try:
                self._cpu_s = time.clock_gettime(clock_id(self._thread.ident))
            except OSError:  # the thread has just exited
                pass
        return self._cpu_s

    @staticmethod
    def _run(s: _Shared) -> None:
        while True:
            if not s.slot:
                poll = s.poll_s()
                if poll is None:
                    s.polling = False
                    if not s.slot and s.jobs.get() is None:  # re-checked after announcing it
                        return
                else:
                    s.polling = True
                    s.polls += 1
                    try:
                        if s.jobs.get(timeout=poll) is None:
                            return
                    except queue.Empty:
                        pass
                continue
            fn = s.slot.pop()
            t0 = time.perf_counter()
            try:
                fn()
                err: BaseException | None = None
            except BaseException as e:  # handed to the waiting thread
                err = e
            s.job_s = time.perf_counter() - t0
            s.busy += s.job_s
            del fn
            s.done.put(err)

    def start(self) -> None:
        """Start the worker now (``submit`` does it otherwise): thread start-up is not per step."""
        if self._thread is None:
            self._s.posted_at = time.perf_counter()  # polls from now, for _MIN_PATIENCE_S
            self._thread = threading.Thread(target=self._run, name="mask-prefetch", daemon=True,
                                            args=(self._s,))
            self._thread.start()

    def submit(self, fn: Callable[[], Any]) -> None:
        if self._pending:
            self.wait()
        if self._thread is None:
            self.start()
        s = self._s
        now = time.perf_counter()
        if self._posts:
            s.period = now - s.posted_at
        self._posts += 1
        s.posted_at = now
        self._pending = True
        s.slot.append(fn)
        if not s.polling:  # blocking (or about to): wake it
            self.wakes += 1
            s.jobs.put(_WAKE)

    def wait(self) -> None:
        if self._pending:
            self._pending = False
            s = self._s
            s.lead = time.perf_counter() - s.posted_at
            if s.slot:  # not picked up yet: start it now
                self.wakes += 1
                s.jobs.put(_WAKE)
            err = s.done.get()
            if err is not None:
                raise err

    def close(self) -> None:
        self.wait()
        if self._thread is not None:
            self.cpu_s  # noqa: B018 - read while the thread's clock exists
            self._s.jobs.put(None)
            self._thread.join()
            self._thread = None

    def __del__(self) -> None:  # an unclosed prefetcher still stops its worker
        if getattr(self, "_thread", None) is not None:
            self._s.jobs.put(None)
