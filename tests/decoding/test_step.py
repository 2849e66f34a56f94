"""The shared decode step on hand-made logits: greedy/sampled picks, and no finite score."""

from __future__ import annotations

import torch

from prunestack.pipeline.decoding.step import DecodeContext, decode_one_token
from prunestack.pipeline.decoding.vocab import StringState


def _step(logits: torch.Tensor, temperature: float) -> int | None:
    ctx = DecodeContext(None, None, eos=0, max_new=8, margin=2)
    tok, masked = decode_one_token(logits, ctx, 0, StringState(), temperature,
                                   torch.Generator().manual_seed(0))
    assert torch.equal(masked, logits)  # no matcher: nothing is masked
    return tok


def test_greedy_takes_the_argmax_and_sampling_only_draws_finite_scores():
    logits = torch.tensor([0.0, 3.0, float("-inf"), 1.0])
    assert _step(logits, 0.0) == 1
    one = torch.full((5,), float("-inf"))
    one[3] = -2.0
    assert all(_step(one, 1.0) == 3 for _ in range(3))


def test_no_finite_score_gives_no_token():
    dead = torch.full((5,), float("-inf"))  # a trimmed head without any allowed token
    assert _step(dead, 0.0) is None
    assert _step(dead, 1.0) is None  # not a softmax over nothing
