"""One constrained decode step and the model calls around it, shared by every decoding loop.

What it does (gpt-fast style, small pure functions): ``forward_tokens`` feeds a chunk of tokens
through the KV cache, ``prefill`` runs the prompt, ``crop_cache`` drops rejected positions,
``constrain`` masks one logits row with a :class:`Matcher` (and, near the token budget, ranks
closing tokens first so the value closes in time), ``sample`` picks a token, and
``decode_one_token`` is the step itself: logits → constraint mask → sample. A
:class:`DecodeContext` holds what the step needs besides the logits: the matcher, the
budget-closing rule, the forced-token rule and the stop rule. The plain loop
(:mod:`pipeline.decoding.generate`) and the speculative loop (:mod:`pipeline.decoding.speculative`:
the draft's proposals, the target's bonus and greedy verification) both call this step, so their
greedy outputs cannot drift apart.

What it does not do: loop, batch, or own a cache (the loops do).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from prunestack.errors import PrunestackError
from prunestack.pipeline.decoding.masking import (
    RowPlan,
    any_allowed,
    apply_bitmask,
    apply_plans,
    fill_bitmask,
)
from prunestack.pipeline.decoding.types import Matcher
from prunestack.pipeline.decoding.vocab import (
    StringState,
    closing_priority,
    new_bitmask,
    token_bytes,
)

CLOSE_BONUS = 1e4  # larger than any logit gap: near the budget, closing tokens always win


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
        bitmask = new_bitmask(1, matcher.vocab_size)  # [1, W]
        fill_bitmask(matcher, bitmask[0])
    if not any_allowed(bitmask):
        raise PrunestackError("the grammar allows no token here (matcher error)")
    if prepared is not None and logits.device.type == "cpu" and logits.dtype == torch.float32 \
            and prepared[1].shape[-1] == logits.shape[-1]:
        apply_plans(logits.unsqueeze(0), [prepared[0]], prepared[1])
        out = torch.from_numpy(prepared[1][0])  # [V]
    else:
        out = apply_bitmask(logits.unsqueeze(0), bitmask, matcher.vocab_size)[0]  # [V]
    if closing is not None:
        n = min(out.shape[0], closing.shape[0])
        if out.device.type == "cpu" and out.dtype == closing.dtype == torch.float32:
            o = out.numpy()  # a fresh tensor of ours: add in place, single-threaded
            o[:n] += closing[:n].numpy() * CLOSE_BONUS  # -inf stays -inf
            return out
        bonus = torch.zeros_like(out)  # [V]
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


class DecodeContext:
    """What a decode step knows besides the logits, for one sequence: the matcher (or None for
    free text), EOS, the token budget and the closing rule (the last ``margin`` tokens of the
    budget rank closing tokens first; ``closing`` [2, V] priorities from the tokenizer)."""

    def __init__(self, matcher: Matcher | None, tokenizer: Any, eos: int, max_new: int,
                 margin: int) -> None:
        self.matcher, self.eos, self.max_new, self.margin = matcher, eos, max_new, margin
        self.closing = closing_priority(tokenizer) if tokenizer is not None and matcher else None
        self.tbytes = token_bytes(tokenizer) if self.closing is not None else []

    def near_end(self, n_out: int) -> bool:
        """True when the next token (after ``n_out`` generated) falls within the closing margin."""
        return self.closing is not None and self.max_new - n_out <= self.margin

    def mask(self, logits: torch.Tensor, n_out: int, state: StringState,
             bitmask: torch.Tensor | None = None,
             prepared: tuple[RowPlan, np.ndarray] | None = None) -> torch.Tensor:
        """logits [V] → masked logits [V] (+ the closing bonus near the budget)."""
        closing = state.row(self.closing) if self.closing is not None and self.near_end(n_out) \
            else None  # [V_tok]
        return constrain(logits, self.matcher, closing, bitmask, prepared)

    def feed(self, state: StringState, tokens: list[int]) -> None:
        """Track the string state the closing rule reads through the chosen tokens."""
        for t in tokens if self.closing is not None else ():
            state.feed(self.tbytes[t] if t < len(self.tbytes) else None, t)

    def forced_after(self, n_out: int) -> list[int]:
        """The tokens the grammar forces next, cut to the budget (``n_out`` tokens generated,
        the matcher already advanced past the chosen one); advances the matcher through them."""
        if self.matcher is None:
            return []
        forced = self.matcher.forced_tokens()[: max(0, self.max_new - n_out)]
        for f in forced:
            self.matcher.advance(f)
        return forced

    def finished(self) -> bool:
        """True when the value is complete and the grammar allows only EOS next."""
        m = self.matcher
        if m is None or not m.is_accepting():
            return False
        mask = m.mask()  # [V] bool
        return bool(mask[self.eos]) and int(mask.sum()) == 1


def decode_one_token(logits: torch.Tensor, ctx: DecodeContext, n_out: int, state: StringState,
                     temperature: float, generator: torch.Generator,
                     bitmask: torch.Tensor | None = None,
                     prepared: tuple[RowPlan, np.ndarray] | None = None
                     ) -> tuple[int | None, torch.Tensor]:
    """One step: logits [V] → constraint mask → sample. Returns (token, masked logits [V]).

    Within the closing margin the step is greedy whatever the temperature. The token is None when
    no allowed token has a finite score (a draft's trimmed head may lack them all): the caller
    decides (the plain loop raises, a draft stops proposing). ``bitmask``/``prepared``: the
    matcher's mask for this state when a prefetcher already computed it."""
    masked = ctx.mask(logits, n_out, state, bitmask, prepared)  # [V]
    t = 0.0 if ctx.near_end(n_out) else temperature
    if t > 0 and not bool(torch.isfinite(masked).any()):
        return None, masked  # a softmax over no finite score has nothing to draw from
    tok = sample(masked, t, generator)
    return (tok if bool(torch.isfinite(masked[tok])) else None), masked
