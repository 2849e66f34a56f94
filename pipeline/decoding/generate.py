"""The plain constrained decoding loop, and ``generate_json``.

What it does: ``generate`` decodes one sequence with the shared step of
:mod:`pipeline.decoding.step` (``prefill``, then ``decode_one_token`` — logits → constraint mask →
sample — and ``forward_tokens`` per step). After each sampled token, the tokens the grammar
forces next (``Matcher.forced_tokens``) are appended without a model call of their own: they ride
in the same forward pass as the sampled token. The next mask is computed on a worker thread while
that forward pass runs (``MaskPrefetcher``). ``generate_json`` wraps the plain or the
speculative loop: prompt text + schema in, parsed and validated JSON out, with token counts,
model-call count and timings.

What it does not do: batching (one sequence; use ``JsonSchemaLogitsProcessor`` with
``model.generate`` for batches and beam search), or the step itself (``pipeline.decoding.step``)
and the speculative rounds (``pipeline.decoding.speculative``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel

from prunestack.cancel import checkpoint
from prunestack.errors import DeadlineError, PrunestackError
from prunestack.pipeline.decoding.backends import compile_schema
from prunestack.pipeline.decoding.masking import MaskPrefetcher, RowPlan, fill_bitmask, plan_row
from prunestack.pipeline.decoding.speculative import speculative_generate
from prunestack.pipeline.decoding.step import (
    DecodeContext,
    decode_one_token,
    forward_tokens,
    prefill,
)
from prunestack.pipeline.decoding.types import Matcher
from prunestack.pipeline.decoding.vocab import StringState, eos_id, new_bitmask
from prunestack.pipeline.schema import (
    SchemaSource,
    as_decimal,
    closing_budget,
    load_schema,
    prepare_schema,
    validator,
)


@dataclass
class GenerationStats:
    tokens: list[int] = field(default_factory=list)
    model_calls: int = 0
    forced: int = 0
    prefill_s: float = 0.0
    decode_s: float = 0.0


class JsonResult(BaseModel):
    """What ``generate_json`` returns: the generated ``text``, its parsed ``value`` (also
    ``data``), whether it validates, and the decoding counts and times."""

    text: str
    value: Any
    valid: bool
    tokens: int
    model_calls: int
    forced_tokens: int
    compile_s: float
    prefill_s: float
    decode_s: float
    backend: str
    draft_calls: int = 0
    acceptance_rate: float | None = None

    @property
    def data(self) -> Any:
        """The parsed JSON value (the name every prunestack result uses)."""
        return self.value

    @property
    def ms_per_token(self) -> float:
        return 1000 * self.decode_s / max(1, self.tokens)


def generate(model: Any, prompt_ids: torch.Tensor, matcher: Matcher | None, eos: int,
             max_new_tokens: int = 256, temperature: float = 0.0, seed: int = 0,
             tokenizer: Any = None, closing_margin: int = 16, use_forced: bool = True
             ) -> GenerationStats:
    """Constrained decoding of one sequence. prompt_ids [1, T]. Stops at EOS (not returned), when
    the grammar allows only EOS, or at ``max_new_tokens``. With a ``tokenizer`` and a matcher,
    the last ``closing_margin`` tokens of the budget rank closing tokens first (see
    ``schema.closing_budget`` for a margin that always suffices)."""
    from transformers import DynamicCache  # heavy import: only when a loop runs

    ctx = DecodeContext(matcher, tokenizer, eos, max_new_tokens, closing_margin)
    state = StringState()
    stats = GenerationStats()
    gen = torch.Generator().manual_seed(seed)
    cache = DynamicCache()
    device = next(model.parameters()).device
    bitmask = new_bitmask(1, matcher.vocab_size) if matcher is not None else None  # [1, W]
    prefetch = MaskPrefetcher()  # computes the next mask while the forward pass runs
    t0 = time.perf_counter()
    logits = prefill(model, prompt_ids.to(device), cache)  # [V]
    stats.model_calls += 1
    stats.prefill_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = stats.tokens
    v_model = logits.shape[-1]
    prepared: list[tuple[RowPlan, np.ndarray]] = []  # the next step's mask, when computed

    def next_mask() -> None:  # runs on the worker, or inline for the first token
        if matcher is not None and bitmask is not None:
            fill_bitmask(matcher, bitmask[0])
            words = bitmask[0].numpy().view(np.uint32)  # [W]
            prepared.append((plan_row(words, matcher.vocab_size, v_model),
                             np.full((1, v_model), -np.inf, dtype=np.float32)))

    next_mask()
    try:
        while len(out) < max_new_tokens:
            checkpoint("decoding")  # a cancelled API request stops here (prunestack.cancel)
            prefetch.wait()
            tok, _ = decode_one_token(logits, ctx, len(out), state, temperature, gen, bitmask,
                                      prepared.pop() if prepared else None)
            if tok is None:  # every allowed token at −inf (a trimmed head)
                raise PrunestackError("the model gives no allowed token a finite score")
            if tok == eos:
                break
            chunk = [tok]
            if matcher is not None:
                matcher.advance(tok)
                if use_forced:  # they ride in the next forward pass with the sampled token
                    forced = ctx.forced_after(len(out) + 1)
                    chunk += forced
                    stats.forced += len(forced)
            out.extend(chunk)
            ctx.feed(state, chunk)
            if ctx.finished() or len(out) >= max_new_tokens:
                break
            if matcher is not None:
                prefetch.submit(next_mask)
            logits = forward_tokens(model, torch.tensor([chunk], device=device), cache)[-1]  # [V]
            stats.model_calls += 1
    finally:
        prefetch.close()
    stats.decode_s = time.perf_counter() - t0
    return stats


def encode_prompt(tokenizer: Any, prompt: str) -> torch.Tensor:
    ids = tokenizer(prompt, return_tensors="pt").input_ids  # [1, T]
    if ids.shape[1] == 0:
        bos = getattr(tokenizer, "bos_token_id", None)
        ids = torch.tensor([[bos if bos is not None else eos_id(tokenizer)]])
    return ids


def generate_json(model: Any, tokenizer: Any, prompt: str, schema: SchemaSource,
                  backend: str = "auto", max_new_tokens: int = 256, temperature: float = 0.0,
                  seed: int = 0, compile_timeout_s: float = 30.0, draft: Any = None,
                  k: int = 4, closed: bool = True) -> JsonResult:
    """Generate JSON valid against ``schema``. ``closed`` (default): the model writes no key the
    schema does not name (``compile_schema(closed=True)``); ``False``: any key the schema
    allows. Near ``max_new_tokens`` the decoder prefers tokens that close the value; if it still
    cannot close in time, ``DeadlineError``. With a ``draft`` model, decoding is speculative
    (``k`` drafted tokens per round; greedy output unchanged)."""
    raw = load_schema(schema)
    t0 = time.perf_counter()
    matcher = compile_schema(raw, tokenizer, backend, compile_timeout_s, closed=closed)
    compile_s = time.perf_counter() - t0
    eos = eos_id(tokenizer)
    margin = closing_budget(prepare_schema(raw, closed=closed)) + 4
    ids = encode_prompt(tokenizer, prompt)
    draft_calls, rate = 0, None
    if draft is not None:
        spec = speculative_generate(model, draft, ids, matcher, eos, max_new_tokens, k,
                                    temperature, seed, tokenizer=tokenizer, closing_margin=margin)
        stats = GenerationStats(tokens=spec.tokens, model_calls=spec.target_calls,
                                decode_s=spec.decode_s)
        draft_calls, rate = spec.draft_calls, spec.acceptance_rate
    else:
        stats = generate(model, ids, matcher, eos, max_new_tokens, temperature, seed,
                         tokenizer=tokenizer, closing_margin=margin)
    text = tokenizer.decode(stats.tokens, skip_special_tokens=True)
    if not matcher.is_accepting():
        raise DeadlineError(f"the JSON value did not close within max_new_tokens={max_new_tokens}",
                            "raise max_new_tokens or bound strings/arrays with maxLength/maxItems")
    try:
        value = json.loads(text)
        valid = validator(raw).is_valid(as_decimal(value))
    except json.JSONDecodeError:
        value, valid = None, False
    return JsonResult(text=text, value=value, valid=valid, tokens=len(stats.tokens),
                      model_calls=stats.model_calls, forced_tokens=stats.forced,
                      compile_s=compile_s, prefill_s=stats.prefill_s, decode_s=stats.decode_s,
                      backend=getattr(matcher, "backend", type(matcher).__name__),
                      draft_calls=draft_calls, acceptance_rate=rate)
