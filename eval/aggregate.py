"""SOB aggregates: means, difficulty-weighted means, bootstrap CIs and the five category scores,
in the layout of SOB's ``eval_summary.json``.

``summary.overall`` and ``summary.overall_weighted`` each hold ``n``, ``metrics.<key>`` with
``mean``, ``ci95_low``, ``ci95_high``, ``metric_name``, and ``category_scores.<name>`` with the
same numbers plus ``components``. The bootstrap follows the published code exactly (so the same
rows give the same intervals): ``random.Random(seed + weighted)``, metrics then categories in a
fixed order, each resample drawing ``len(rows)`` rows with ``randrange``, percentile bounds at
``floor(0.025·(B−1))`` and ``ceil(0.975·(B−1))`` of the sorted estimates. Weights: easy 1,
medium 2, hard 3, unknown 0. This module does not parse responses (see :mod:`eval.sob`).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from prunestack.eval.records import SobRecord
from prunestack.eval.sob import (
    DIFFICULTY_WEIGHTS,
    WEIGHT_FIELD_PRIORITY,
    resolve_difficulty,
    score_response,
)

METRIC_DISPLAY_NAMES: dict[str, str] = {
    "json_parse_success": "JSON Parse Success",
    "json_root_structured": "Structured JSON Root",
    "schema_valid_input": "Schema Valid Input",
    "schema_compliance": "JSON Pass Rate",
    "leaf_value_em": "Truth Score",
    "value_token_f1": "Faithfulness Score",
    "hier_path_recall": "Path Recall",
    "path_set_f1": "Structure Coverage",
    "type_precision": "Type Safety",
    "strict_json_em": "Perfect Response Rate",
}
SUMMARY_METRICS: tuple[str, ...] = tuple(METRIC_DISPLAY_NAMES)

CATEGORIES: dict[str, list[str]] = {
    "Long Context Extraction": ["leaf_value_em", "value_token_f1", "hier_path_recall"],
    "Complex Schema Handling": ["schema_compliance", "path_set_f1", "type_precision"],
    "Multi-Context Linking": ["leaf_value_em", "value_token_f1"],
    "Output Contract Reliability": ["json_parse_success", "schema_compliance", "type_precision"],
    "Strict Precision": ["strict_json_em"],
}

Row = Mapping[str, Any]


def score_record(
    record: SobRecord, response: Any, modality: str = "text", model_id: str = "unknown",
    already_extracted: bool = False,
) -> dict[str, Any]:
    """One record's SOB row with its metadata (difficulty, weight) — ``eval_records.jsonl``."""
    difficulty, basis, weight = resolve_difficulty(
        record.question_difficulty, record.schema_complexity
    )
    row: dict[str, Any] = {
        "record_id": record.record_id,
        "model_id": model_id,
        "schema_complexity": record.schema_complexity or "unknown",
        "question_difficulty": record.question_difficulty or record.schema_complexity or "unknown",
        "difficulty": difficulty,
        "weighting_basis": basis,
        "difficulty_weight": weight,
        "known_difficulty": 1.0 if difficulty in DIFFICULTY_WEIGHTS else 0.0,
    }
    row.update(score_response(response, record.json_schema, record.ground_truth,
                              modality, already_extracted))  # type: ignore[arg-type]
    return row


def arithmetic_mean(rows: Sequence[Row], key: str) -> float:
    return sum(r[key] for r in rows) / len(rows) if rows else 0.0


def weighted_mean(rows: Sequence[Row], key: str) -> float:
    total = sum(r["difficulty_weight"] for r in rows)
    return sum(r[key] * r["difficulty_weight"] for r in rows) / total if total else 0.0


def category_mean(rows: Sequence[Row], components: Sequence[str], weighted: bool) -> float:
    if not rows:
        return 0.0
    per_row = [
        {**r, "_category": sum(r[m] for m in components) / len(components)} for r in rows
    ]
    mean_of = weighted_mean if weighted else arithmetic_mean
    return mean_of(per_row, "_category")


def percentile_bounds(values: Sequence[float]) -> tuple[float, float]:
    if not values:
        return 0.0, 0.0
    lo = max(0, math.floor(0.025 * (len(values) - 1)))
    hi = min(len(values) - 1, math.ceil(0.975 * (len(values) - 1)))
    return values[lo], values[hi]


def _bootstrap(rows: Sequence[Row], stat, samples: int, rng: random.Random) -> tuple[float, float]:
    if not rows:
        return 0.0, 0.0
    n = len(rows)
    estimates = sorted(stat([rows[rng.randrange(n)] for _ in range(n)]) for _ in range(samples))
    return percentile_bounds(estimates)


def summarize_rows(
    rows: Sequence[Row], samples: int = 1000, seed: int = 42, weighted: bool = False
) -> dict[str, Any]:
    """``summary.overall`` (or ``overall_weighted``) of SOB's ``eval_summary.json``."""
    rng = random.Random(seed + (1 if weighted else 0))
    mean_of = weighted_mean if weighted else arithmetic_mean
    metrics: dict[str, Any] = {}
    for key in SUMMARY_METRICS:
        lo, hi = _bootstrap(rows, lambda s, k=key: mean_of(s, k), samples, rng)
        metrics[key] = {"mean": mean_of(rows, key), "ci95_low": lo, "ci95_high": hi,
                        "metric_name": METRIC_DISPLAY_NAMES[key]}
    categories: dict[str, Any] = {}
    for name, comps in CATEGORIES.items():
        lo, hi = _bootstrap(rows, lambda s, c=comps: category_mean(s, c, weighted), samples, rng)
        categories[name] = {"mean": category_mean(rows, comps, weighted), "ci95_low": lo,
                            "ci95_high": hi, "category_name": name, "components": list(comps)}
    out: dict[str, Any] = {"n": len(rows), "metrics": metrics, "category_scores": categories}
    if weighted:
        out["weighting"] = "schema_complexity"
        out["weight_field_priority"] = list(WEIGHT_FIELD_PRIORITY)
        out["difficulty_weights"] = dict(DIFFICULTY_WEIGHTS)
    return out


def build_summary(
    rows: Sequence[Row],
    *,
    response_file: str = "",
    modality: str = "text",
    samples: int = 1000,
    seed: int = 42,
    top_k_errors: int = 20,
    extra_quality: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """The whole ``eval_summary.json`` payload for scored rows."""
    quality = {
        "json_parse_fail_count": sum(1 for r in rows if r["json_parse_success"] == 0.0),
        "json_non_structured_root_count": sum(
            1 for r in rows if r["json_root_structured"] == 0.0
        ),
        "invalid_schema_input_count": sum(1 for r in rows if r["schema_valid_input"] == 0.0),
        "unknown_difficulty_count": sum(1 for r in rows if r["known_difficulty"] == 0.0),
        "malformed_jsonl_line_count": 0,
    }
    quality.update(extra_quality or {})
    missing_gt: Counter[str] = Counter()
    missing_req: Counter[str] = Counter()
    for r in rows:
        missing_gt.update(r.get("missing_gt_paths", []))
        missing_req.update(r.get("missing_required_paths", []))
    payload: dict[str, Any] = {
        "response_file": response_file,
        "modality": modality,
        "num_records": len(rows),
        "model_ids": sorted({str(r.get("model_id", "unknown")) for r in rows}),
        "data_quality": quality,
        "summary": {
            "overall": summarize_rows(rows, samples, seed, weighted=False),
            "overall_weighted": summarize_rows(rows, samples, seed, weighted=True),
        },
    }
    errors: dict[str, Any] = {}
    if missing_gt:
        errors["top_missing_gt_paths"] = [
            {"path": p, "count": c} for p, c in missing_gt.most_common(top_k_errors)
        ]
    if missing_req:
        errors["top_missing_required_paths"] = [
            {"path": p, "count": c} for p, c in missing_req.most_common(top_k_errors)
        ]
    if errors:
        payload["error_analysis"] = errors
    return payload
