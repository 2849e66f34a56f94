"""Free-form flexible-length diffusion decoding (unconstrained text after a prompt).

The loop, one model call per step:

1. **Initial length (DAEDAL)**: start with ``init_len`` masks; while the mean end-token
   probability over the last ``expand_by`` canvas positions is below ``eos_threshold`` (and the
   canvas is under ``max_new_tokens``), append ``expand_by`` masks and call again.
2. **Blocks (semi-autoregressive)**: the block starts at the first masked position; its length is
   the MAP change point of the "span is done" posterior (``diffusion_core.block_boundary``).
3. **Commits**: in the block, every masked token with confidence >= ``threshold``, topped up by the
   remasking score to ``commit_count`` = round(sum of done-probabilities), at least one.
4. **Mask insertion (DAEDAL)**: after committing, if the least confident uncommitted masked
   position of the block has confidence < ``low_confidence``, it becomes ``expand_by`` masks (at
   most one insertion per step, total length capped by ``max_new_tokens``).
5. **Stopping**: once an end token is committed, every position after it becomes the end token;
   decoding stops when no masks remain. The output is the tokens before the first end token.

Constraints (a ``Matcher``) need left-to-right commits; that lives in
``pipeline.decoding.diffusion`` (a whole-output slot), not here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from prunestack.pipeline.decoding.diffusion_core import (
    DiffusionConfig,
    MaskPredictor,
    block_boundary,
    commit_count,
    done_probability,
    normalized_entropy,
    select_commits,
    token_scores,
)


@dataclass
class FreeResult:
    """Output ids (before the first end token) and what the decoder did."""

    ids: list[int]
    model_calls: int
    steps: int
    commits_per_step: list[int] = field(default_factory=list)
    expansions: int = 0
    insertions: int = 0
    canvas_len: int = 0


def diffuse(predictor: MaskPredictor, prompt_ids: list[int], cfg: DiffusionConfig, *, end_id: int,
            max_new_tokens: int = 256) -> FreeResult:
    """Generate after ``prompt_ids`` with flexible length; see the module docstring."""
    mask = predictor.mask_id
    p = len(prompt_ids)
    calls0 = predictor.calls
    gen = [mask] * min(cfg.init_len, max_new_tokens)
    res = FreeResult(ids=[], model_calls=0, steps=0)

    def run() -> torch.Tensor:
        x = torch.tensor([prompt_ids + gen])  # [1, L]
        return predictor(x)[0, p:].softmax(-1)  # [G, V]

    probs: torch.Tensor | None = None
    for _ in range(cfg.max_expand_rounds + 1):
        probs = run()
        tail = probs[-min(cfg.expand_by, len(gen)):, end_id].mean()
        if float(tail) >= cfg.eos_threshold or len(gen) >= max_new_tokens:
            break
        gen += [mask] * min(cfg.expand_by, max_new_tokens - len(gen))
        res.expansions += 1
        probs = None

    while mask in gen and res.steps < cfg.max_steps:
        if probs is None:
            probs = run()
        g = torch.tensor(gen)
        masked = g == mask  # [G]
        a = int(masked.nonzero()[0, 0])
        h = normalized_entropy(probs)  # [G]
        r = done_probability(h, cfg.done_entropy, cfg.done_sharpness)
        r = torch.where(masked, r, torch.ones_like(r))
        b = a + block_boundary(r[a:], cfg.block_min, cfg.block_max) if cfg.parallel else a + 1
        idx = masked[a:b].nonzero().flatten() + a  # masked positions of the block
        tok, conf, score = token_scores(probs[idx], cfg.remasking)
        if cfg.parallel:
            k = commit_count(r[idx]) if cfg.posterior_commits else 1
            pick = select_commits(conf, score, k, cfg.threshold)
        else:
            pick = torch.tensor([int(score.argmax())])
        for j in pick.tolist():
            gen[int(idx[j])] = int(tok[j])
        res.commits_per_step.append(len(pick))
        ends = [i for i, t in enumerate(gen) if t == end_id]
        if ends:  # everything after the first committed end token is the end token
            gen[ends[0] + 1:] = [end_id] * (len(gen) - ends[0] - 1)
        left = torch.ones(len(idx), dtype=torch.bool)
        left[pick] = False
        if cfg.parallel and bool(left.any()) and len(gen) < max_new_tokens and not ends:
            lc = conf.masked_fill(~left, 2.0)
            j = int(lc.argmin())
            if float(lc[j]) < cfg.low_confidence:
                pos = int(idx[j])
                extra = min(cfg.expand_by, max_new_tokens - len(gen) + 1)
                gen[pos:pos + 1] = [mask] * extra
                res.insertions += 1
        res.steps += 1
        probs = None
    out = []
    for t in gen:
        if t == end_id or t == mask:
            break
        out.append(t)
    res.ids = out
    res.model_calls = predictor.calls - calls0
    res.canvas_len = len(gen)
    return res
