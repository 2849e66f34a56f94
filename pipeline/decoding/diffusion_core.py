"""Pieces shared by the diffusion decoders: mask predictors, options, and the pure scoring math.

A *mask predictor* is any bidirectional model that, given a sequence containing mask tokens,
returns logits for every position (``[B, L, V]``). ``MaskPredictor`` wraps a Hugging Face
``AutoModelForMaskedLM`` (BERT-style: no shift), a LLaDA-style model (no shift) or a Dream-style
model (logits shifted by one position: the logit at ``i - 1`` predicts token ``i``), and counts
model calls. The math here is pure tensor functions: confidence scores for the remasking
strategies, per-position normalised entropy, the "span is done" posterior that picks block
boundaries and how many tokens to commit per step (rule written out in ``docs/diffusion.md``).

This module does not run a decoding loop (``diffusion_free`` and ``diffusion`` do) and never
loads a model from a hub.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from prunestack.errors import ConfigError, ModelError

Remasking = Literal["low_confidence", "margin", "entropy"]


class DiffusionConfig(BaseModel):
    """Options of the diffusion decoders (defaults follow Fast-dLLM and DAEDAL where they apply)."""

    model_config = ConfigDict(extra="forbid")

    threshold: float = Field(0.9, gt=0.0, le=1.0,
                             description="commit every masked token with confidence >= this")
    remasking: Remasking = Field("low_confidence",
                                 description="score that ranks tokens beyond the threshold")
    posterior_commits: bool = Field(True, description="commit round(sum of done-probabilities) "
                                    "tokens per step (at least one); off: threshold + one")
    done_entropy: float = Field(0.15, gt=0.0, lt=1.0,
                                description="normalised entropy at which a position is 50% done")
    done_sharpness: float = Field(0.05, gt=0.0,
                                  description="logistic width of the done-probability")
    block_min: int = Field(4, ge=1)
    block_max: int = Field(32, ge=1)
    init_len: int = Field(16, ge=1, description="free-form: initial masked canvas length")
    eos_threshold: float = Field(0.5, ge=0.0, le=1.0,
                                 description="DAEDAL: expand while end confidence is below this")
    expand_by: int = Field(8, ge=1, description="DAEDAL: masks added per expansion / insertion")
    low_confidence: float = Field(0.1, ge=0.0, le=1.0,
                                  description="DAEDAL: insert masks where confidence is below this")
    max_expand_rounds: int = Field(8, ge=0)
    slot_init_len: int | None = Field(None, ge=1,
                                      description="slot length at start (None: by type)")
    slot_max_len: int = Field(48, ge=1, description="slot length cap before finish mode")
    max_steps: int = Field(1024, ge=1)
    end_token_id: int | None = Field(None, description="slot/sequence filler; None: eos, pad, sep")
    parallel: bool = Field(True, description="False: one token per model call, left to right "
                           "(the autoregressive baseline over the same masked LM)")

    @model_validator(mode="after")
    def _blocks(self) -> DiffusionConfig:
        if self.block_min > self.block_max:
            raise ConfigError(f"block_min {self.block_min} > block_max {self.block_max}")
        return self


def make_config(options: dict[str, Any]) -> DiffusionConfig:
    """``DiffusionConfig(**options)`` with a ``ConfigError`` (one line) on bad options."""
    try:
        return DiffusionConfig(**options)
    except ValidationError as exc:
        errs = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"bad diffusion options: {errs}",
                          f"fields: {sorted(DiffusionConfig.model_fields)}") from exc


class MaskPredictor:
    """Callable ``ids [B, L] -> logits [B, L, V]`` over a bidirectional model; counts calls."""

    def __init__(self, model: Any, mask_id: int, *, shift: bool = False) -> None:
        self.model = model
        self.mask_id = int(mask_id)
        self.shift = shift
        self.calls = 0

    @torch.no_grad()
    def __call__(self, ids: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        dev = next(self.model.parameters()).device
        logits = self.model(input_ids=ids.to(dev)).logits.float().cpu()  # [B, L, V]
        if self.shift:  # Dream: position i-1 predicts token i; position 0 keeps its own logit
            logits = torch.cat([logits[:, :1], logits[:, :-1]], dim=1)
        return logits


def make_predictor(model: Any, tokenizer: Any, kind: str = "auto") -> MaskPredictor:
    """A ``MaskPredictor`` for an HF masked LM ('bert'), LLaDA ('llada') or Dream ('dream')."""
    if isinstance(model, MaskPredictor):
        return model
    cfg = getattr(model, "config", None)
    model_type = str(getattr(cfg, "model_type", "")).lower()
    if kind == "auto":
        kind = "dream" if "dream" in model_type else "llada" if "llada" in model_type else "bert"
    if kind not in ("bert", "llada", "dream"):
        raise ConfigError(f"unknown mask-predictor kind {kind!r}", "bert, llada, dream or auto")
    mask_id = getattr(tokenizer, "mask_token_id", None)
    if mask_id is None:
        mask_id = getattr(cfg, "mask_token_id", None)
    if mask_id is None and kind == "llada":
        mask_id = 126336  # LLaDA's [MASK]
    if mask_id is None:
        raise ModelError("the tokenizer has no mask token", "diffusion decoding needs a masked LM")
    if hasattr(model, "eval"):
        model.eval()
    return MaskPredictor(model, mask_id, shift=(kind == "dream"))


def end_token(tokenizer: Any, override: int | None = None) -> int:
    """Filler token after a finished sequence or slot: eos, else pad, else sep."""
    if override is not None:
        return int(override)
    for name in ("eos_token_id", "pad_token_id", "sep_token_id"):
        v = getattr(tokenizer, name, None)
        if v is not None:
            return int(v)
    raise ModelError("tokenizer has no eos, pad or sep token", "pass end_token_id=")


# --- pure math ---------------------------------------------------------------------------


def normalized_entropy(probs: torch.Tensor) -> torch.Tensor:
    """[..., V] probabilities -> [...] entropy / log(V), in [0, 1]."""
    v = probs.shape[-1]
    h = -(probs * torch.log(probs.clamp_min(1e-12))).sum(-1)
    return h / math.log(max(v, 2))


def support_entropy(probs: torch.Tensor, allowed: torch.Tensor | None) -> torch.Tensor:
    """Entropy normalised by log(#allowed tokens) (constrained positions); [N, V] -> [N]."""
    h = -(probs * torch.log(probs.clamp_min(1e-12))).sum(-1)
    n = allowed.sum(-1).float() if allowed is not None else torch.full_like(h, probs.shape[-1])
    return torch.where(n > 1, h / torch.log(n.clamp_min(2.0)), torch.zeros_like(h))


def token_scores(probs: torch.Tensor, strategy: Remasking) -> tuple[torch.Tensor, ...]:
    """[N, V] -> (token [N], confidence [N], score [N]); higher score = commit first."""
    top2 = probs.topk(min(2, probs.shape[-1]), dim=-1)
    tok, conf = top2.indices[:, 0], top2.values[:, 0]
    if strategy == "low_confidence":
        score = conf
    elif strategy == "margin":
        second = top2.values[:, 1] if probs.shape[-1] > 1 else torch.zeros_like(conf)
        score = conf - second
    elif strategy == "entropy":
        score = -normalized_entropy(probs)
    else:  # pragma: no cover - validated by DiffusionConfig
        raise ConfigError(f"unknown remasking strategy {strategy!r}")
    return tok, conf, score


def done_probability(h: torch.Tensor, centre: float, sharpness: float) -> torch.Tensor:
    """P(position is resolved) = sigmoid((centre - h) / sharpness); h normalised entropy."""
    return torch.sigmoid((centre - h) / sharpness)


def block_boundary(r: torch.Tensor, block_min: int, block_max: int) -> int:
    """Length of the next block from done-probabilities ``r`` [n] of the positions after the
    decoded prefix: the MAP change point ``b`` maximising
    ``prod_{i<b} r_i * (1 - r_b)`` over ``b`` in [block_min, min(block_max, n)], where the factor
    ``1 - r_b`` is 1 at the upper end (a block cut by ``block_max`` or by the end of the canvas),
    i.e. "the span [0, b) is done and position b is not"."""
    n = int(r.shape[0])
    if n <= block_min:
        return n
    hi = min(block_max, n)
    logr = torch.log(r.clamp(1e-9, 1.0))
    cum = torch.cat([torch.zeros(1), logr.cumsum(0)])  # [n + 1]: log prod_{i<b} r_i
    not_done = torch.cat([torch.log((1 - r).clamp(1e-9, 1.0)), torch.zeros(1)])  # [n + 1]
    not_done[hi] = 0.0
    cand = torch.arange(block_min, hi + 1)
    score = cum[cand] + not_done[cand]
    return int(cand[int(score.argmax())])


def commit_count(r_masked: torch.Tensor) -> int:
    """Tokens to commit this step: the expected number of resolved masked positions in the
    block, ``max(1, round(sum r_i))``."""
    return max(1, math.floor(float(r_masked.sum()) + 0.5))


def select_commits(conf: torch.Tensor, score: torch.Tensor, k: int,
                   threshold: float) -> torch.Tensor:
    """Indices to commit among N candidates: all with ``conf >= threshold``, topped up to ``k`` by
    ``score`` (always at least one); [N] -> [M] sorted ascending."""
    chosen = conf >= threshold
    need = max(k, 1) - int(chosen.sum())
    if need > 0:
        rest = score.masked_fill(chosen, float("-inf"))
        chosen[rest.topk(min(need, int((~chosen).sum()))).indices] = True
    return chosen.nonzero().flatten()
