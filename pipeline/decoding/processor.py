"""A JSON-schema logits processor for ``transformers``' ``model.generate``.

What it does: keeps one :class:`Matcher` per batch row and, on *every* call, re-syncs it from
``input_ids`` (longest common prefix with what it consumed → roll back the difference → advance
the new tokens). It therefore works when the sequence jumps backwards or forwards between calls:
assisted (speculative) generation, where drafts are verified and rejected, and beam search, where
rows are reordered. Masks are packed bitmasks filled by the backend and applied word by word
(:func:`pipeline.decoding.masking.apply_bitmask`), never a Python loop over the vocabulary. A
model whose embedding is padded past the tokenizer's vocabulary (V_model > V_tok) gets the extra
ids masked; a smaller model head ignores ids it does not have.

With ``model=`` (or :meth:`JsonSchemaLogitsProcessor.attach`), a forward pre-hook on that model
reads the tokens about to be fed (the prompt before the first call, then the ones sampled at the
previous step) and posts a job to a worker thread that advances the matchers and computes the
next masks *while the forward pass runs* (the hand-over is a post the worker polls for, not a
wake-up: :class:`~prunestack.pipeline.decoding.masking.MaskPrefetcher`). The processor then
checks that ``input_ids`` are exactly what the worker assumed (always true for greedy and
sampling; not for beam search reorders or rejected drafts) and falls back to the re-sync path
otherwise, so the result is the same with or without the hook — only faster: on a hit the call
is one compare and one in-place add of the row the worker prepared.

What it does not do: append forced tokens (``generate`` calls the model for every token; our own
loop in ``pipeline.decoding.generate`` does that), or guarantee closure under ``max_new_tokens``
(use ``generate_json``, which steers towards closing brackets near the budget).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from prunestack.pipeline.decoding.backends import compile_schema
from prunestack.pipeline.decoding.masking import (
    MaskPrefetcher,
    apply_bitmask,
    fill_bitmask,
    set_bits,
    write_bias,
)
from prunestack.pipeline.decoding.types import Matcher
from prunestack.pipeline.decoding.vocab import new_bitmask, pack_bitmask


def allows(matcher: Matcher, token_id: int) -> bool:
    """Whether ``matcher`` accepts ``token_id`` next (cheap path when the backend has one)."""
    fn = getattr(matcher, "allows", None)
    if fn is not None:
        return bool(fn(token_id))
    m = matcher.mask()
    return token_id < m.shape[0] and bool(m[token_id])


class _Row:
    """One sequence's matcher and the generated tokens it has seen. Once the grammar refuses a
    token (EOS consumed, a finished beam padded) the row is *dead* from that position on."""

    def __init__(self, matcher: Matcher) -> None:
        self.matcher = matcher
        self.seen: list[int] = []
        self.dead_from: int | None = None  # index in `seen` of the first refused token
        self.masked_at: int | None = None  # len(seen) the packed mask row was computed for

    def sync(self, generated: list[int]) -> None:
        seen, n = self.seen, len(self.seen)
        if len(generated) == n and generated == seen:
            return
        if len(generated) >= n and generated[:n] == seen:
            k = n
        else:
            k = 0
            for a, b in zip(seen, generated, strict=False):
                if a != b:
                    break
                k += 1
        self.masked_at = None
        if k < n:
            live = n if self.dead_from is None else self.dead_from
            if k < live:
                self.matcher.rollback(live - k)
                self.dead_from = None
            del seen[k:]
        for t in generated[k:]:
            if self.dead_from is None:
                if allows(self.matcher, t):
                    self.matcher.advance(t)
                else:
                    self.dead_from = len(seen)
            seen.append(t)


@dataclass
class _Prepared:
    """The next call's masks, made by the worker during the forward pass, so that the call itself
    is one compare and one in-place add (two torch ops, like the one ``masked_fill_`` of a bare
    mask)."""

    out: torch.Tensor  # float32 [B, V_model], fresh: 0 where allowed, −inf elsewhere; += scores
    expect: torch.Tensor  # int64 [B, T]: the input_ids these masks are for (prompt + generated)
    prompt: np.ndarray | None = None  # int64 [B, P]: set for the first call (expect is the prompt)


class JsonSchemaLogitsProcessor:
    """``LogitsProcessor``: restrict next-token scores to what the schema allows.

    ``prompt_len`` is the length of ``input_ids`` at the first call unless given. Rows that have
    finished (EOS) may only emit EOS (or pad). ``closed`` (default): no key the schema does not
    name (a generation preference; ``False`` admits every key the schema allows).
    ``expected_uses``: how many documents it will constrain (batch rows, over all calls) — the
    ``auto`` backend's compile-vs-mask trade-off (:func:`compile_schema`). ``model``:
    overlap mask computation with that model's forward pass (see the module docstring); call
    :meth:`detach` when done with it."""

    def __init__(self, schema: dict | str | Path, tokenizer: Any, backend: str = "auto",
                 prompt_len: int | None = None, compile_timeout_s: float = 30.0,
                 model: Any = None, closed: bool = True, expected_uses: int = 1) -> None:
        self.schema = schema
        self.expected_uses = expected_uses
        self.closed = closed
        self.tokenizer = tokenizer
        self.backend = backend
        self.compile_timeout_s = compile_timeout_s
        self._first = compile_schema(schema, tokenizer, backend, compile_timeout_s,
                                     expected_uses, closed=closed)
        self.vocab_size = self._first.vocab_size
        self.eos_token_id = int(tokenizer.eos_token_id)
        pad = getattr(tokenizer, "pad_token_id", None)
        self.pad_token_id = int(pad) if pad is not None else self.eos_token_id
        self.prompt_len = prompt_len
        self.rows: list[_Row] = []
        self._bitmask = new_bitmask(1, self.vocab_size)
        self._v_model: int | None = None  # the model head's width, known after the first call
        self._batch: int | None = None  # rows and masks match a batch of this size (hook path)
        self._fed: torch.Tensor | None = None  # input_ids of the forward pass now running
        self._ready: _Prepared | None = None  # the worker's masks for the next call
        self._prompt = np.zeros((0, 0), dtype=np.int64)  # [B, P] prompt ids, set on a full sync
        self._prefetch = MaskPrefetcher()
        self._hook: Any = None
        self.hook_seconds = 0.0  # time the pre-hook spent on the caller's thread
        self.calls = 0  # calls made
        self.prefetch_hits = 0  # calls whose masks the worker had already computed
        if model is not None:
            self.attach(model)

    def attach(self, model: Any) -> JsonSchemaLogitsProcessor:
        """Compute masks while ``model``'s forward pass runs (a forward pre-hook)."""
        self.detach()
        self._hook = model.register_forward_pre_hook(self._before_forward, with_kwargs=True)
        self._prefetch.start()
        return self

    @property
    def worker_seconds(self) -> float:
        """Time the prefetch worker spent off the critical path (masks computed during forwards)."""
        return self._prefetch.busy_s

    @property
    def worker_cpu_seconds(self) -> float:
        """CPU time of the prefetch worker thread: its jobs plus its polls for the next one."""
        return self._prefetch.cpu_s

    @property
    def worker_wakes(self) -> int:
        """Hand-overs that had to wake the sleeping worker (the others were posts it polled)."""
        return self._prefetch.wakes

    def detach(self) -> None:
        if self._hook is not None:
            self._hook.remove()
            self._hook = None
        self._prefetch.close()

    def _ensure_rows(self, batch: int) -> None:
        while len(self.rows) < batch:
            m = self._first if not self.rows else compile_schema(
                self.schema, self.tokenizer, self.backend, self.compile_timeout_s,
                self.expected_uses, closed=self.closed)
            self.rows.append(_Row(m))
        if self._bitmask.shape[0] != batch:
            self._bitmask = new_bitmask(batch, self.vocab_size)  # [B, W]
            for row in self.rows:
                row.masked_at = None

    def _fill(self, b: int) -> None:
        row, bm = self.rows[b], self._bitmask[b]
        if row.dead_from is not None:
            set_bits(bm, {self.eos_token_id, self.pad_token_id})
        else:
            fill_bitmask(row.matcher, bm)
        row.masked_at = len(row.seen)

    def _before_forward(self, module: Any, args: tuple, kwargs: dict) -> None:
        """Forward pre-hook: the model is about to read ``input_ids`` — the prompt before the
        first call, then [B, 1], the tokens sampled at the previous step. Hand the worker what
        the next call needs (:meth:`_first_masks`, :meth:`_next_masks`); the hand-over is a
        post, not a wake-up (:class:`MaskPrefetcher`)."""
        t0 = time.perf_counter()
        ids = kwargs.get("input_ids", args[0] if args else None)
        if ids is not None:
            if self.calls == 0:
                job = self._first_masks(module, ids)
                if job is not None:
                    self._prefetch.submit(job)
            else:  # checked by the worker: nothing here that the critical path can spare
                self._fed = ids
                self._prefetch.submit(self._next_masks)
        self.hook_seconds += time.perf_counter() - t0

    def _first_masks(self, module: Any, ids: torch.Tensor) -> Callable[[], None] | None:
        """Before the first call: the job that prepares its masks from the prompt ``ids`` [B, P]
        (what a fresh processor would do in that call), or None when the model's head width is
        unknown. The call uses them only if its ``input_ids`` are exactly ``ids``."""
        shape = ids.shape
        head = module.get_output_embeddings() if hasattr(module, "get_output_embeddings") \
            else None
        weight = getattr(head, "weight", None)
        if len(shape) != 2 or weight is None or self.prompt_len not in (None, shape[1]):
            return None
        v_model = int(weight.shape[0])

        def job() -> None:  # the forward only reads ``ids``, so the worker may too
            prompt = np.array(ids.tolist(), dtype=np.int64)  # [B, P]
            self._ensure_rows(prompt.shape[0])
            bias = np.empty((prompt.shape[0], v_model), dtype=np.float32)
            words = self._bitmask.numpy().view(np.uint32)  # [B, W]
            for b, row in enumerate(self.rows[: prompt.shape[0]]):
                row.sync([])
                self._fill(b)
                write_bias(words[b], self.vocab_size, bias[b])
            self._ready = _Prepared(torch.from_numpy(bias), torch.from_numpy(prompt), prompt)

        return job

    def _next_masks(self) -> None:
        """The worker's job between calls: advance each row by its token in ``_fed`` [B, 1] (what
        the forward pass reads, so the worker may read it too) and prepare the next call's
        masks; nothing when that is not one new token per row."""
        ids, v_model = self._fed, self._v_model
        if ids is None or v_model is None or ids.dim() != 2 or ids.shape[1] != 1 \
                or ids.shape[0] != self._batch:
            return
        new = [r[0] for r in ids.tolist()]  # one C call, no indexing op
        words = self._bitmask.numpy().view(np.uint32)  # [B, W]
        bias = np.empty((len(new), v_model), dtype=np.float32)
        for b, t in enumerate(new):
            row = self.rows[b]
            row.sync([*row.seen, t])
            self._fill(b)
            write_bias(words[b], self.vocab_size, bias[b])
        seen = np.array([row.seen for row in self.rows], dtype=np.int64)  # [B, T_gen]
        expect = np.concatenate([self._prompt, seen], axis=1)  # [B, T]
        self._ready = _Prepared(torch.from_numpy(bias), torch.from_numpy(expect))

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        # input_ids: [B, T]   scores: [B, V_model]
        self._prefetch.wait()
        self.calls += 1
        ready, self._ready = self._ready, None
        # the worker's masks hold when these are exactly the ids it assumed (not after a beam
        # reorder or a rejected draft) and the scores are float32 on the CPU, of its shape
        if ready is not None and scores.is_cpu and input_ids.is_cpu \
                and scores.dtype is torch.float32 and scores.shape == ready.out.shape \
                and torch.equal(input_ids, ready.expect):
            self.prefetch_hits += 1
            if ready.prompt is not None:  # the first call: what the full sync below would set
                self.prompt_len, self._prompt = ready.prompt.shape[1], ready.prompt
                self._v_model = scores.shape[-1]
                self._batch = scores.shape[0]
            # the worker wrote every element of ``out`` (its pages are mapped, its lines cached)
            return ready.out.add_(scores)  # 0 + x = x, −inf + x = −inf
        if self.prompt_len is None:
            self.prompt_len = input_ids.shape[1]
        batch = scores.shape[0]
        self._ensure_rows(batch)
        self._v_model = scores.shape[-1]
        self._batch = batch if len(self.rows) == batch else None
        ids = input_ids.cpu()
        self._prompt = ids[:, : self.prompt_len].numpy().copy()  # [B, P], for the worker
        generated = ids[:, self.prompt_len:].tolist()  # B lists of ints
        for b in range(batch):
            row = self.rows[b]
            row.sync(generated[b])
            if row.masked_at != len(row.seen):
                self._fill(b)
        return apply_bitmask(scores, self._bitmask, self.vocab_size)


def apply_mask(scores: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """scores [B, V_model], allowed bool [B, V_tok] → new scores with −inf where not allowed.
    Ids past the tokenizer's vocabulary (padded embeddings) are never allowed. Packs the bool
    mask and calls :func:`pipeline.decoding.masking.apply_bitmask`."""
    packed = torch.stack([pack_bitmask(r) for r in allowed.cpu()])  # [B, W]
    return apply_bitmask(scores, packed, allowed.shape[-1])
