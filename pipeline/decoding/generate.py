"""Constrained generation as small pure functions (gpt-fast style), and ``generate_json``.

What it does: ``prefill`` runs the prompt, ``forward_tokens`` feeds a chunk of tokens through the
KV cache, ``constrain`` masks one logits row with a :class:`Matcher` (and, near the token budget,
ranks closing tokens first so the value closes in time), ``sample`` picks a token. ``generate``
loops them for one sequence: after each sampled token, the tokens the grammar forces next
(``Matcher.forced_tokens``) are appended without a model call of their own: they ride in the same
forward pass as the sampled token. ``generate_json`` wraps it: prompt text + schema in, parsed
and validated JSON out, with token counts, model-call count and timings.

What it does not do: batching (one sequence; use ``JsonSchemaLogitsProcessor`` with
``model.generate`` for batches and beam search) or speculative decoding
(``pipeline.decoding.speculative``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from prunestack.cancel import checkpoint
from prunestack.errors import DeadlineError, PrunestackError
from prunestack.pipeline.decoding.backends import compile_schema
from prunestack.pipeline.decoding.masking import (
    MaskPrefetcher,
    RowPlan,
    any_allowed,
    apply_bitmask,
    apply_plans,
    fill_bitmask,
    plan_row,
)
from prunestack.pipeline.decoding.types import Matcher
from prunestack.pipeline.decoding.vocab import (
    StringState,
    closing_priority,
    eos_id,
    new_bitmask,
    token_bytes,
)
from prunestack.pipeline.schema import (
    SchemaSource,
    as_decimal,
    closing_budget,
    load_schema,
    prepare_schema,
    validator,
)

CLOSE_BONUS = 1e4  # larger than any logit gap: near the budget, closing tokens always win


@dataclass
class GenerationStats:
    tokens: list[int] = field(default_factory=list)
    model_calls: int = 0
    forced: int = 0
    prefill_s: float = 0.0
    decode_s: float = 0.0


@dataclass
class JsonResult:
    """What ``generate_json`` returns."""

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
    def ms_per_token(self) -> float:
        return 1000 * self.decode_s / max(1, self.tokens)


def crop_cache(cache: Any, length: int) -> None:
    """Drop cached positions past ``length``."""
    extra = cache.get_seq_length() - length
    if extra > 0:
        cache.crop(-extra)


@torch.inference_mode()
def forward_tokens(model: Any, tokens: torch.Tensor, cache: Any) -> torch.Tensor:
    """tokens [1, S] appended after the cache → logits [S, V] (float32)."""
    return model(input_ids=tokens, past_key_values=cache, use_cache=True).logits[0].float()


def prefill(model: Any, prompt_ids: torch.Tensor, cache: Any) -> torch.Tensor:
    """prompt_ids [1, T] → logits [V] for the first new token."""
    return forward_tokens(model, prompt_ids, cache)[-1]


def constrain(logits: torch.Tensor, matcher: Matcher | None, closing: torch.Tensor | None = None,
              bitmask: torch.Tensor | None = None,
              prepared: tuple[RowPlan, np.ndarray] | None = None) -> torch.Tensor:
    """logits [V] → masked logits [V]; with ``closing`` [V_tok] priorities, closing tokens win.
    ``bitmask`` [1, W]: the matcher's packed mask for this state when already computed;
    ``prepared``: its :class:`RowPlan` and a fresh −inf output row [1, V] (cheapest to apply)."""
    if matcher is None:
        return logits
    if bitmask is None:
        bitmask = new_bitmask(1, matcher.vocab_size)
        fill_bitmask(matcher, bitmask[0])
    if not any_allowed(bitmask):
        raise PrunestackError("the grammar allows no token here (matcher error)")
    if prepared is not None and logits.device.type == "cpu" and logits.dtype == torch.float32 \
            and prepared[1].shape[-1] == logits.shape[-1]:
        apply_plans(logits.unsqueeze(0), [prepared[0]], prepared[1])
        out = torch.from_numpy(prepared[1][0])
    else:
        out = apply_bitmask(logits.unsqueeze(0), bitmask, matcher.vocab_size)[0]
    if closing is not None:
        n = min(out.shape[0], closing.shape[0])
        if out.device.type == "cpu" and out.dtype == closing.dtype == torch.float32:
            o = out.numpy()  # a fresh tensor of ours: add in place, single-threaded
            o[:n] += closing[:n].numpy() * CLOSE_BONUS  # -inf stays -inf
            return out
        bonus = torch.zeros_like(out)
        bonus[:n] = closing[:n].to(out.device) * CLOSE_BONUS
        out = out + bonus  # -inf stays -inf
    return out


def sample(logits: torch.Tensor, temperature: float = 0.0,
           generator: torch.Generator | None = None) -> int:
    """logits [V] → token id: argmax when temperature is 0, else a softmax draw."""
    if temperature <= 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits / temperature, dim=-1)  # [V]
    return int(torch.multinomial(probs, 1, generator=generator))




def generate(model: Any, prompt_ids: torch.Tensor, matcher: Matcher | None, eos: int,
             max_new_tokens: int = 256, temperature: float = 0.0, seed: int = 0,
             tokenizer: Any = None, closing_margin: int = 16, use_forced: bool = True
             ) -> GenerationStats:
    """Constrained decoding of one sequence. prompt_ids [1, T]. Stops at EOS (not returned), when
    the grammar allows only EOS, or at ``max_new_tokens``. With a ``tokenizer`` and a matcher,
    the last ``closing_margin`` tokens of the budget rank closing tokens first (see
    ``schema.closing_budget`` for a margin that always suffices)."""
    from transformers import DynamicCache

    closing = closing_priority(tokenizer) if tokenizer is not None and matcher else None  # [2, V]
    tbytes = token_bytes(tokenizer) if closing is not None else []
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
            near_end = closing is not None and max_new_tokens - len(out) <= closing_margin
            prefetch.wait()
            masked = constrain(logits, matcher,
                               state.row(closing) if near_end and closing is not None else None,
                               bitmask, prepared.pop() if prepared else None)
            tok = sample(masked, 0.0 if near_end else temperature, gen)
            if not torch.isfinite(masked[tok]):  # every allowed token at −inf (a trimmed head)
                raise PrunestackError("the model gives no allowed token a finite score")
            if tok == eos:
                break
            chunk = [tok]
            if matcher is not None:
                matcher.advance(tok)
                if use_forced:
                    room = max_new_tokens - len(out) - 1
                    forced = matcher.forced_tokens()[:room]
                    for f in forced:
                        matcher.advance(f)
                    chunk += forced
                    stats.forced += len(forced)
            out.extend(chunk)
            for t in chunk if closing is not None else ():
                state.feed(tbytes[t] if t < len(tbytes) else None, t)
            if matcher is not None and matcher.is_accepting() and _only_eos(matcher, eos):
                break
            if len(out) >= max_new_tokens:
                break
            if matcher is not None:
                prefetch.submit(next_mask)
            logits = forward_tokens(model, torch.tensor([chunk], device=device), cache)[-1]
            stats.model_calls += 1
    finally:
        prefetch.close()
    stats.decode_s = time.perf_counter() - t0
    return stats


def _only_eos(matcher: Matcher, eos: int) -> bool:
    m = matcher.mask()
    return bool(m[eos]) and int(m.sum()) == 1


def encode_prompt(tokenizer: Any, prompt: str) -> torch.Tensor:
    ids = tokenizer(prompt, return_tensors="pt").input_ids  # [1, T]
    if ids.shape[1] == 0:
        bos = getattr(tokenizer, "bos_token_id", None)
        ids = torch.tensor([[bos if bos is not None else eos_id(tokenizer)]])
    return ids


def generate_json(model: Any, tokenizer: Any, prompt: str, schema: SchemaSource,
                  backend: str = "auto", max_new_tokens: int = 256, temperature: float = 0.0,
                  seed: int = 0, compile_timeout_s: float = 30.0, draft: Any = None,
                  k: int = 4) -> JsonResult:
    """Generate JSON valid against ``schema``. Near ``max_new_tokens`` the decoder prefers tokens
    that close the value; if it still cannot close in time, ``DeadlineError``. With a ``draft``
    model, decoding is speculative (``k`` drafted tokens per round; greedy output unchanged)."""
    raw = load_schema(schema)
    t0 = time.perf_counter()
    matcher = compile_schema(raw, tokenizer, backend, compile_timeout_s)
    compile_s = time.perf_counter() - t0
    eos = eos_id(tokenizer)
    margin = closing_budget(prepare_schema(raw)) + 4
    ids = encode_prompt(tokenizer, prompt)
    draft_calls, rate = 0, None
    if draft is not None:
        from prunestack.pipeline.decoding.speculative import speculative_generate

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
