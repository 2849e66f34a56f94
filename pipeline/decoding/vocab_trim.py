"""Draft-model vocabulary trimming (coverage vs. draft latency), after arXiv 2603.05210.

What it does: counts token frequencies over the *assistant responses* of a JSONL corpus, gives the
coverage curve C(k) (share of token occurrences covered by the k most frequent ids), a FLOPs model
of the draft whose LM head has k rows, R(k) = 1 − FLOPs(k)/FLOPs(V), and maximises
U(k) = α·C(k) + (1−α)·R(k) subject to C(k) ≥ c_min with Optuna's TPE sampler (seed 42) over
k ∈ [k_min, min(k_max, V)]. The kept ids are sorted ascending; ``d2t[i] = kept[i] − i`` maps a
draft id to a target id. ``trim_head`` puts a :class:`prunestack.rebuild.TrimmedLMHead` in place
of the LM head: it computes only the k kept rows and scatters them into −inf full-vocabulary
logits, so the trimmed draft is a drop-in for speculative decoding (the target still verifies with
its full vocabulary: greedy output is unchanged). ``trim_draft`` saves the trimmed draft in the
one saved-model format (:mod:`prunestack.saved`: the head keeps only its k rows on disk), so
``prunestack.models.load_causal_lm`` reloads it like any model; ``draft_vocab.json`` beside it
reports the kept ids, ``d2t`` and the search, and ``pareto_plot`` draws C(k) against R(k).

What it does not do: train the draft, prune its layers (``pipeline.pruning``), or load models.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field

from prunestack.errors import ConfigError, InputError, ModelError
from prunestack.jsonl import jsonl_rows
from prunestack.models import DTYPES, load_causal_lm, load_tokenizer
from prunestack.rebuild import TrimmedLMHead
from prunestack.saved import save_model

TRIM_FILE = "draft_vocab.json"  # the trimming report (kept ids, d2t, k, coverage, ...)


class TrimConfig(BaseModel):
    """Options of ``prunestack draft trim``."""

    model_config = ConfigDict(extra="forbid")
    alpha: float = Field(0.5, ge=0.0, le=1.0, description="weight of coverage vs reduction")
    min_coverage: float = Field(0.95, gt=0.0, le=1.0, description="c_min")
    k_min: int = Field(50, ge=1)
    k_max: int = Field(50000, ge=1)
    n_trials: int = Field(60, ge=5, le=1000)
    seed: int = 42
    seq_len: int = Field(512, ge=1, description="context length in the attention FLOPs term")


@dataclass
class TrimResult:
    k: int
    coverage: float
    reduction: float
    utility: float
    best_k_exhaustive: int
    trials: list[tuple[int, float, float, float]] = field(default_factory=list)  # k, C, R, U


# ------------------------------------------------------------------ corpus and coverage


def read_assistant_texts(path: str | Path) -> list[str]:
    """Assistant-response texts from a JSONL file: chat lines ``{"messages": [{"role",
    "content"}]}`` (assistant turns only) or ``{"response"|"completion"|"output": str}``."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"corpus not found: {p}")
    texts: list[str] = []
    for n, row in jsonl_rows(p, p.read_text(encoding="utf-8")):
        if not isinstance(row, dict):
            raise InputError(f"{p}:{n} is not a JSON object")
        for msg in row.get("messages") or []:
            if isinstance(msg, dict) and msg.get("role") == "assistant" and isinstance(
                    msg.get("content"), str):
                texts.append(msg["content"])
        for key in ("response", "completion", "output"):
            if isinstance(row.get(key), str):
                texts.append(row[key])
    if not texts:
        raise InputError(f"{p} has no assistant responses",
                         'lines need "messages" with role "assistant", or a "response" field')
    return texts


def token_counts(texts: list[str], tokenizer: Any, vocab_size: int) -> torch.Tensor:
    """int64 [V]: occurrences of each id over the texts (no special tokens added)."""
    counts = torch.zeros(vocab_size, dtype=torch.int64)
    for i in range(0, len(texts), 256):
        enc = tokenizer(texts[i:i + 256], add_special_tokens=False)["input_ids"]
        flat = torch.tensor([t for ids in enc for t in ids], dtype=torch.int64)
        if flat.numel():
            counts += torch.bincount(flat.clamp(max=vocab_size - 1), minlength=vocab_size)
    return counts


def coverage_curve(counts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """counts [V] → (ids by decreasing frequency [V], C [V] with C[k−1] = coverage of top k)."""
    order = torch.argsort(counts, descending=True, stable=True)
    total = max(int(counts.sum()), 1)
    return order, torch.cumsum(counts[order], 0).double() / total


# ------------------------------------------------------------------ FLOPs model


def draft_flops(config: Any, k: int, seq_len: int = 512) -> float:
    """Forward FLOPs per token of a Llama-style draft whose LM head has k rows."""
    h = config.hidden_size
    n_layers = config.num_hidden_layers
    n_q = config.num_attention_heads
    n_kv = getattr(config, "num_key_value_heads", None) or n_q
    hd = getattr(config, "head_dim", None) or h // n_q
    inter = config.intermediate_size
    attn_proj = 2 * h * hd * (n_q + 2 * n_kv) + 2 * n_q * hd * h
    attn_scores = 2 * 2 * seq_len * n_q * hd  # QKᵀ and AV against seq_len cached positions
    mlp = 2 * 3 * h * inter  # gate, up, down
    return float(n_layers * (attn_proj + attn_scores + mlp) + 2 * h * k)


def reduction(config: Any, k: int, vocab: int, seq_len: int = 512) -> float:
    """R(k) = 1 − FLOPs(k)/FLOPs(V)."""
    return 1.0 - draft_flops(config, k, seq_len) / draft_flops(config, vocab, seq_len)


def utility(c: float, r: float, alpha: float, c_min: float) -> float:
    """α·C + (1−α)·R, or a penalty below −1 that grows with the coverage shortfall."""
    if c < c_min:
        return -1.0 - (c_min - c)
    return alpha * c + (1 - alpha) * r


def search_k(cov: torch.Tensor, config: Any, cfg: TrimConfig) -> TrimResult:
    """Optuna TPE over k ∈ [k_min, min(k_max, V)]; also the exhaustive optimum for reference."""
    import optuna

    vocab = cov.shape[0]
    lo, hi = min(cfg.k_min, vocab), min(cfg.k_max, vocab)
    if float(cov[hi - 1]) < cfg.min_coverage:
        raise ConfigError(f"min_coverage {cfg.min_coverage} is unreachable: the top {hi} ids "
                          f"cover {float(cov[hi - 1]):.3f}", "lower --min-coverage")

    def score(k: int) -> tuple[float, float, float]:
        c = float(cov[k - 1])
        r = reduction(config, k, vocab, cfg.seq_len)
        return c, r, utility(c, r, cfg.alpha, cfg.min_coverage)

    trials: list[tuple[int, float, float, float]] = []

    def objective(trial: Any) -> float:
        k = trial.suggest_int("k", lo, hi)
        c, r, u = score(k)
        trials.append((k, c, r, u))
        return u

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=cfg.seed))
    study.optimize(objective, n_trials=cfg.n_trials)
    k = int(study.best_params["k"])
    c, r, u = score(k)
    ks = torch.arange(lo, hi + 1)
    cs = cov[ks - 1]
    head = 2 * config.hidden_size
    rs = head * (vocab - ks).double() / draft_flops(config, vocab, cfg.seq_len)
    us = torch.where(cs >= cfg.min_coverage, cfg.alpha * cs + (1 - cfg.alpha) * rs,
                     torch.full_like(cs, -2.0))
    best = int(ks[int(torch.argmax(us))])
    return TrimResult(k=k, coverage=c, reduction=r, utility=u, best_k_exhaustive=best,
                      trials=trials)


def kept_ids(order: torch.Tensor, k: int, always: list[int]) -> torch.Tensor:
    """The k most frequent ids plus ``always`` (EOS, specials), sorted ascending [k']."""
    keep = torch.cat([order[:k], torch.tensor(always, dtype=order.dtype)])
    return torch.unique(keep)  # sorted


def d2t(kept: torch.Tensor) -> torch.Tensor:
    """Draft id → target id offsets: target = draft + d2t[draft]."""
    return kept - torch.arange(kept.shape[0], dtype=kept.dtype)


# ------------------------------------------------------------------ the trimmed head


def trim_head(model: Any, kept: torch.Tensor) -> Any:
    """Replace ``model.lm_head`` by a :class:`TrimmedLMHead` over ``kept`` (in place)."""
    head = model.get_output_embeddings()
    if isinstance(head, TrimmedLMHead):
        raise ModelError("this draft's LM head is already trimmed",
                         "trim the untrimmed draft folder")
    if head is None or not hasattr(head, "weight"):
        raise ModelError(f"{type(model).__name__} has no LM head to trim")
    if int(kept.max()) >= head.weight.shape[0]:
        raise ModelError("kept ids exceed the model's vocabulary")
    model.config.tie_word_embeddings = False
    model.lm_head = TrimmedLMHead(head.weight, kept.to(head.weight.device),
                                  getattr(head, "bias", None))
    return model


def pareto_plot(cov: torch.Tensor, config: Any, result: TrimResult, cfg: TrimConfig,
                path: str | Path) -> Path:
    """PNG of R(k) against C(k) over k, the TPE trials and the chosen k."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    vocab = cov.shape[0]
    ks = torch.unique(torch.logspace(0, torch.log10(torch.tensor(float(vocab))), 300).long())
    cs = [float(cov[k - 1]) for k in ks.tolist()]
    rs = [reduction(config, k, vocab, cfg.seq_len) for k in ks.tolist()]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.plot(cs, rs, "-", color="grey", label="C(k) vs R(k)")
    ax.scatter([t[1] for t in result.trials], [t[2] for t in result.trials], s=12,
               label=f"TPE trials ({len(result.trials)})")
    ax.scatter([result.coverage], [result.reduction], s=80, marker="*", color="red",
               label=f"chosen k={result.k}")
    ax.axvline(cfg.min_coverage, ls="--", color="black", lw=0.8, label="c_min")
    ax.set_xlabel("coverage C(k)")
    ax.set_ylabel("FLOPs reduction R(k)")
    ax.set_title(f"draft vocabulary trimming (α={cfg.alpha})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def trim_draft(model_dir: str | Path, corpus: str | Path, out: str | Path,
               cfg: TrimConfig | None = None) -> tuple[TrimResult, Path]:
    """The whole ``draft trim`` pipeline: corpus → coverage → search → trimmed draft folder (the
    one saved-model format) + ``draft_vocab.json`` + Pareto PNG."""
    cfg = cfg or TrimConfig()
    tok = load_tokenizer(model_dir)
    model = load_causal_lm(model_dir, dtype=_saved_dtype(model_dir), device="cpu")
    config = model.config
    vocab = int(config.vocab_size)
    cov_order, cov = coverage_curve(token_counts(read_assistant_texts(corpus), tok, vocab))
    result = search_k(cov, config, cfg)
    named = (tok.eos_token_id, tok.bos_token_id, tok.pad_token_id, tok.unk_token_id)
    always = sorted({int(i) for i in named if i is not None and i < vocab})
    kept = kept_ids(cov_order, result.k, always)
    report = {"k": result.k, "kept_count": int(kept.shape[0]), "coverage": result.coverage,
              "reduction": result.reduction, "utility": result.utility,
              "best_k_exhaustive": result.best_k_exhaustive, "config": cfg.model_dump(),
              "vocab_size": vocab}
    dst = Path(out)
    save_model(trim_head(model, kept), dst, tok, meta={"draft_trim": report})
    (dst / TRIM_FILE).write_text(json.dumps({"kept": kept.tolist(), "d2t": d2t(kept).tolist(),
                                             **report}))
    pareto_plot(cov, config, result, cfg, dst / "pareto.png")
    (dst / "trim_trials.json").write_text(json.dumps(asdict(result)["trials"]))
    return result, dst


def _saved_dtype(model_dir: str | Path) -> str:
    """The dtype a folder's config declares (float32 when it names none we load), so the trimmed
    copy is saved as the draft was."""
    cfg = json.loads((Path(model_dir) / "config.json").read_text())
    name = str(cfg.get("dtype") or cfg.get("torch_dtype") or "float32")
    return name if name in DTYPES else "float32"
