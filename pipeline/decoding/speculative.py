"""Speculative decoding: a small draft proposes, the full target verifies, under the same schema.

What it does: ``speculative_generate`` runs rounds of ``draft_steps`` (the draft proposes up to
``k`` tokens, each masked by the schema, with the grammar's forced tokens appended for free) and
``verify`` (one target forward pass over the uncached suffix + all drafted tokens), then accepts a
prefix. Greedy mode accepts a drafted token iff it is the target's masked argmax, so the output is
token-for-token the output of :func:`pipeline.decoding.generate.generate` (same masks, same
budget-closing rule, same forced tokens). Sampling mode uses the standard rule: accept token x
with probability min(1, p(x)/q(x)), else draw from normalise(max(0, p − q)); after a fully
accepted round one bonus token comes from the target. The draft may have a trimmed vocabulary
(``pipeline.decoding.vocab_trim``): its head scatters into −inf full-vocabulary logits, so ids are
always the target's. Reports acceptance rate and model-call counts.

What it does not do: batches (one sequence), tree drafts, or tokenizer translation (draft and
target must share the tokenizer).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from prunestack.cancel import checkpoint
from prunestack.pipeline.decoding.generate import constrain, crop_cache, forward_tokens
from prunestack.pipeline.decoding.types import Matcher
from prunestack.pipeline.decoding.vocab import StringState, closing_priority, token_bytes


@dataclass
class Step:
    """One model-chosen token, the forced tokens after it, and what was known when choosing."""

    token: int
    forced: list[int]
    mask_logits_draft: torch.Tensor | None  # q's masked logits [V] (sampling mode)
    near_end: bool


@dataclass
class SpecStats:
    tokens: list[int] = field(default_factory=list)
    target_calls: int = 0
    draft_calls: int = 0
    drafted: int = 0
    accepted: int = 0
    rounds: int = 0
    decode_s: float = 0.0

    @property
    def acceptance_rate(self) -> float:
        return self.accepted / self.drafted if self.drafted else 0.0


class _Ctx:
    """Shared decoding context: matcher, closing rule, string state, budget."""

    def __init__(self, matcher: Matcher | None, tokenizer: Any, eos: int, max_new: int,
                 margin: int) -> None:
        self.matcher, self.eos, self.max_new, self.margin = matcher, eos, max_new, margin
        self.closing = closing_priority(tokenizer) if tokenizer is not None and matcher else None
        self.tbytes = token_bytes(tokenizer) if self.closing is not None else []

    def near_end(self, n_out: int) -> bool:
        return self.closing is not None and self.max_new - n_out <= self.margin

    def masked(self, logits: torch.Tensor, n_out: int, state: StringState) -> torch.Tensor:
        """logits [V] → masked (+ closing bonus near the budget) [V]."""
        near = self.near_end(n_out)
        assert self.closing is not None or not near
        return constrain(logits, self.matcher,
                         state.row(self.closing) if near and self.closing is not None
                         else None)

    def feed(self, state: StringState, tokens: list[int]) -> None:
        for t in tokens if self.closing is not None else ():
            state.feed(self.tbytes[t] if t < len(self.tbytes) else None, t)

    def forced_after(self, n_out: int) -> list[int]:
        """Forced tokens after a chosen token (matcher already advanced past it); advances."""
        if self.matcher is None:
            return []
        forced = self.matcher.forced_tokens()[: max(0, self.max_new - n_out)]
        for f in forced:
            self.matcher.advance(f)
        return forced

    def finished_after(self) -> bool:
        m = self.matcher
        if m is None or not m.is_accepting():
            return False
        mask = m.mask()
        return bool(mask[self.eos]) and int(mask.sum()) == 1


def _pick(masked: torch.Tensor, temperature: float, near: bool,
          gen: torch.Generator) -> int:
    if temperature <= 0 or near:
        return int(torch.argmax(masked))
    return int(torch.multinomial(torch.softmax(masked / temperature, -1), 1, generator=gen))


def draft_steps(draft: Any, cache: Any, feed: list[int], ctx: _Ctx, n_out: int,
                state: StringState, k: int, temperature: float, gen: torch.Generator,
                stats: SpecStats) -> list[Step]:
    """Propose up to ``k`` steps. ``feed`` = tokens the draft cache has not seen yet (≥ 1).
    The matcher is advanced through all proposals; the caller rolls it back."""
    device = next(draft.parameters()).device
    steps: list[Step] = []
    st = copy.copy(state)
    logits = forward_tokens(draft, torch.tensor([feed], device=device), cache)[-1]  # [V]
    stats.draft_calls += 1
    while len(steps) < k and n_out < ctx.max_new:
        near = ctx.near_end(n_out)
        masked = ctx.masked(logits, n_out, st)  # [V]
        if not torch.isfinite(masked).any():
            break  # a trimmed draft may have no allowed token here: let the target decide
        tok = _pick(masked, temperature, near, gen)
        forced: list[int] = []
        if tok != ctx.eos and ctx.matcher is not None:
            ctx.matcher.advance(tok)
            forced = ctx.forced_after(n_out + 1)
        steps.append(Step(tok, forced, masked if temperature > 0 and not near else None, near))
        n_out += 1 + len(forced)
        ctx.feed(st, [tok, *forced])
        if tok == ctx.eos or ctx.finished_after() or len(steps) == k or n_out >= ctx.max_new:
            break
        logits = forward_tokens(draft, torch.tensor([[tok, *forced]], device=device), cache)[-1]
        stats.draft_calls += 1
    return steps


def verify(target: Any, cache: Any, chunk: list[int]) -> torch.Tensor:
    """Target logits [S, V] over ``chunk`` (uncached suffix + drafted tokens), one call."""
    device = next(target.parameters()).device
    return forward_tokens(target, torch.tensor([chunk], device=device), cache)


def speculative_generate(target: Any, draft: Any, prompt_ids: torch.Tensor,
                         matcher: Matcher | None, eos: int, max_new_tokens: int = 256,
                         k: int = 4, temperature: float = 0.0, seed: int = 0,
                         tokenizer: Any = None, closing_margin: int = 16) -> SpecStats:
    """Speculative decoding of one sequence; prompt_ids [1, T]. Greedy (temperature 0) output
    equals ``generate(target, ...)`` with the same arguments."""
    from transformers import DynamicCache

    stats = SpecStats()
    gen = torch.Generator().manual_seed(seed)
    ctx = _Ctx(matcher, tokenizer, eos, max_new_tokens, closing_margin)
    seq = prompt_ids[0].tolist()
    n_prompt = len(seq)
    t_cache, d_cache = DynamicCache(), DynamicCache()
    if n_prompt > 1:  # keep the last prompt token uncached: every round feeds ≥ 1 token
        p = prompt_ids[:, :-1]
        forward_tokens(target, p.to(next(target.parameters()).device), t_cache)
        forward_tokens(draft, p.to(next(draft.parameters()).device), d_cache)
        stats.target_calls += 1
        stats.draft_calls += 1
    state = StringState()
    t0 = time.perf_counter()
    done = False
    while not done and len(seq) - n_prompt < max_new_tokens:
        checkpoint("speculative decoding")  # a cancelled API request stops here
        stats.rounds += 1
        n_out = len(seq) - n_prompt
        c_t, c_d = t_cache.get_seq_length(), d_cache.get_seq_length()
        steps = draft_steps(draft, d_cache, seq[c_d:], ctx, n_out, state, k, temperature, gen,
                            stats)
        drafted = [t for s in steps for t in (s.token, *s.forced)]
        if matcher is not None:  # EOS is never advanced into the matcher
            matcher.rollback(sum(len(s.forced) + (s.token != eos) for s in steps))
        stats.drafted += len(steps)
        logits = verify(target, t_cache, seq[c_t:] + drafted)  # [S, V]
        stats.target_calls += 1
        pos = len(seq) - c_t - 1  # row of logits predicting the next token
        new: list[int] = []
        n_acc_tokens = 0  # drafted tokens kept (their target KV entries stay valid)
        for s in steps:
            n = n_out + len(new)
            near = ctx.near_end(n)
            masked_p = ctx.masked(logits[pos], n, state)
            if temperature <= 0 or near:
                ok = int(torch.argmax(masked_p)) == s.token
                alt = None if ok else int(torch.argmax(masked_p))
            else:
                p = torch.softmax(masked_p / temperature, -1)
                assert s.mask_logits_draft is not None  # kept for every sampled draft step
                q = torch.softmax(s.mask_logits_draft / temperature, -1)
                ok = bool(torch.rand((), generator=gen) * q[s.token] <= p[s.token])
                alt = None if ok else _residual(p, q, gen)
            if not ok:
                new += _commit(ctx, int(alt), n, state)  # type: ignore[arg-type]
                done = alt == eos or ctx.finished_after()
                break
            stats.accepted += 1
            new += _commit(ctx, s.token, n, state, forced=s.forced)
            n_acc_tokens += 1 + len(s.forced)
            pos += 1 + len(s.forced)
            if s.token == eos or ctx.finished_after() or n_out + len(new) >= max_new_tokens:
                done = True
                break
        else:  # every step accepted: bonus token from the target's last row
            n = n_out + len(new)
            if n < max_new_tokens:
                near = ctx.near_end(n)
                bonus = _pick(ctx.masked(logits[pos], n, state), temperature, near, gen)
                new += _commit(ctx, bonus, n, state)
                done = bonus == eos or ctx.finished_after()
        if new and new[-1] == eos:
            new = new[:-1]
            done = True
        valid = len(seq) + n_acc_tokens  # cached positions that match the committed sequence
        seq += new
        crop_cache(t_cache, min(valid, len(seq) - 1))
        crop_cache(d_cache, min(d_cache.get_seq_length(), valid, len(seq) - 1))
    stats.tokens = seq[n_prompt:]
    stats.decode_s = time.perf_counter() - t0
    return stats


def _residual(p: torch.Tensor, q: torch.Tensor, gen: torch.Generator) -> int:
    r = torch.clamp(p - q, min=0)  # [V]
    r = r if float(r.sum()) > 0 else p
    return int(torch.multinomial(r / r.sum(), 1, generator=gen))


def _commit(ctx: _Ctx, tok: int, n_out: int, state: StringState,
            forced: list[int] | None = None) -> list[int]:
    """Advance the matcher by a chosen token and its forced tokens; returns them."""
    if tok == ctx.eos:
        return [tok]
    if ctx.matcher is not None:
        ctx.matcher.advance(tok)
        if forced is None:
            forced = ctx.forced_after(n_out + 1)
        else:
            for f in forced:
                ctx.matcher.advance(f)
    out = [tok, *(forced or [])]
    ctx.feed(state, out)
    return out
