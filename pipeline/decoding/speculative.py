"""Speculative decoding: a small draft proposes, the full target verifies, under the same schema.

What it does: ``speculative_generate`` runs rounds of ``draft_steps`` (the draft proposes up to
``k`` tokens, each chosen by the shared ``pipeline.decoding.step.decode_one_token``, with the
grammar's forced tokens appended for free) and ``verify`` (one target forward pass over the
uncached suffix + all drafted tokens), then accepts a prefix. Greedy mode accepts a drafted token
iff the target's own decode step (the one the plain loop calls) picks it, so the output is
token-for-token the output of :func:`pipeline.decoding.generate.generate` (same step, same masks,
same budget-closing rule, same forced tokens). Sampling mode uses the standard rule: accept token x
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
from prunestack.errors import PrunestackError
from prunestack.pipeline.decoding.step import (
    DecodeContext,
    crop_cache,
    decode_one_token,
    forward_tokens,
)
from prunestack.pipeline.decoding.types import Matcher
from prunestack.pipeline.decoding.vocab import StringState


@dataclass
class Step:
    """One drafted token, the forced tokens after it, and the draft's masked logits when it was
    sampled (None when greedy: within the closing margin or at temperature 0)."""

    token: int
    forced: list[int]
    mask_logits_draft: torch.Tensor | None  # q's masked logits [V] (sampling mode)


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


def draft_steps(draft: Any, cache: Any, feed: list[int], ctx: DecodeContext, n_out: int,
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
        tok, masked = decode_one_token(logits, ctx, n_out, st, temperature, gen)  # masked [V]
        if tok is None:
            break  # a trimmed draft may have no allowed token here: let the target decide
        forced: list[int] = []
        if tok != ctx.eos and ctx.matcher is not None:
            ctx.matcher.advance(tok)
            forced = ctx.forced_after(n_out + 1)
        steps.append(Step(tok, forced, masked if temperature > 0 and not near else None))
        n_out += 1 + len(forced)
        ctx.feed(st, [tok, *forced])
        if tok == ctx.eos or ctx.finished() or len(steps) == k or n_out >= ctx.max_new:
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
    from transformers import DynamicCache  # heavy import: only when a loop runs

    stats = SpecStats()
    gen = torch.Generator().manual_seed(seed)
    ctx = DecodeContext(matcher, tokenizer, eos, max_new_tokens, closing_margin)
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
            if temperature <= 0 or ctx.near_end(n):  # greedy: the target's own step decides
                alt = _target_step(logits[pos], ctx, n, state, gen)
                ok = alt == s.token
            else:
                masked_p = ctx.mask(logits[pos], n, state)  # [V]
                p = torch.softmax(masked_p / temperature, -1)  # [V]
                assert s.mask_logits_draft is not None  # kept for every sampled draft step
                q = torch.softmax(s.mask_logits_draft / temperature, -1)  # [V]
                ok = bool(torch.rand((), generator=gen) * q[s.token] <= p[s.token])
                alt = s.token if ok else _residual(p, q, gen)
            if not ok:
                new += _commit(ctx, alt, n, state)
                done = alt == eos or ctx.finished()
                break
            stats.accepted += 1
            new += _commit(ctx, s.token, n, state, forced=s.forced)
            n_acc_tokens += 1 + len(s.forced)
            pos += 1 + len(s.forced)
            if s.token == eos or ctx.finished() or n_out + len(new) >= max_new_tokens:
                done = True
                break
        else:  # every step accepted: bonus token from the target's last row
            n = n_out + len(new)
            if n < max_new_tokens:
                bonus = _target_step(logits[pos], ctx, n, state, gen, temperature)
                new += _commit(ctx, bonus, n, state)
                done = bonus == eos or ctx.finished()
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


def _target_step(logits: torch.Tensor, ctx: DecodeContext, n_out: int, state: StringState,
                 gen: torch.Generator, temperature: float = 0.0) -> int:
    """The target's token for one row of its logits [V]: the shared decode step."""
    tok, _ = decode_one_token(logits, ctx, n_out, state, temperature, gen)
    if tok is None:
        raise PrunestackError("the model gives no allowed token a finite score")
    return tok


def _residual(p: torch.Tensor, q: torch.Tensor, gen: torch.Generator) -> int:
    r = torch.clamp(p - q, min=0)  # [V]
    r = r if float(r.sum()) > 0 else p
    return int(torch.multinomial(r / r.sum(), 1, generator=gen))


def _commit(ctx: DecodeContext, tok: int, n_out: int, state: StringState,
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
