"""Reports for a scored benchmark: a Markdown page and PNG charts (matplotlib, Agg backend).

``write_report(summary, rows, records, out)`` writes ``report.md`` (overall and
difficulty-weighted metrics with 95% CIs, the five category scores, a breakdown by record group —
``kind`` and ``variant`` of synthetic records, or difficulty — and the most often missed paths),
``metrics.png`` (metric means with CI error bars) and ``categories.png``. It reads only what it is
given; scoring is done by :mod:`eval.aggregate`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prunestack.eval.aggregate import CATEGORIES, METRIC_DISPLAY_NAMES
from prunestack.eval.records import SobRecord

#: Metrics shown in reports (the eight the issue and SOB's leaderboard use).
REPORT_METRICS = ("json_parse_success", "schema_compliance", "leaf_value_em", "value_token_f1",
                  "hier_path_recall", "path_set_f1", "type_precision", "strict_json_em")


def metrics_table(summary: dict[str, Any]) -> str:
    """Markdown table: metric | mean [CI] | weighted mean [CI]."""
    ov = summary["summary"]["overall"]["metrics"]
    wt = summary["summary"]["overall_weighted"]["metrics"]
    lines = ["| metric | key | mean [95% CI] | difficulty-weighted [95% CI] |",
             "|---|---|---|---|"]
    for key in REPORT_METRICS:
        a, b = ov[key], wt[key]
        lines.append(f"| {METRIC_DISPLAY_NAMES[key]} | `{key}` | {a['mean']:.3f} "
                     f"[{a['ci95_low']:.3f}, {a['ci95_high']:.3f}] | {b['mean']:.3f} "
                     f"[{b['ci95_low']:.3f}, {b['ci95_high']:.3f}] |")
    return "\n".join(lines)


def categories_table(summary: dict[str, Any]) -> str:
    cats = summary["summary"]["overall"]["category_scores"]
    lines = ["| category | components | mean [95% CI] |", "|---|---|---|"]
    for name in CATEGORIES:
        c = cats[name]
        lines.append(f"| {name} | {', '.join(c['components'])} | {c['mean']:.3f} "
                     f"[{c['ci95_low']:.3f}, {c['ci95_high']:.3f}] |")
    return "\n".join(lines)


def group_means(rows: Sequence[dict[str, Any]], records: Sequence[SobRecord], field: str
                ) -> dict[str, dict[str, float]]:
    """Mean of each report metric per value of a record field (e.g. ``variant``)."""
    by_id = {r.record_id: r for r in records}
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        rec = by_id.get(row["record_id"])
        value = getattr(rec, field, None) if rec is not None else None
        if value is None and rec is not None and rec.model_extra:
            value = rec.model_extra.get(field)
        if value is not None:
            groups[str(value)].append(row)
    return {g: {"n": float(len(rs)), **{k: sum(r[k] for r in rs) / len(rs)
                                        for k in REPORT_METRICS}}
            for g, rs in sorted(groups.items())}


def breakdown_table(rows: Sequence[dict[str, Any]], records: Sequence[SobRecord], field: str
                    ) -> str:
    means = group_means(rows, records, field)
    if len(means) < 2:
        return ""
    head = "| " + field + " | n | " + " | ".join(f"`{k}`" for k in REPORT_METRICS) + " |"
    lines = [head, "|" + "---|" * (len(REPORT_METRICS) + 2)]
    for g, m in means.items():
        vals = " | ".join(f"{m[k]:.3f}" for k in REPORT_METRICS)
        lines.append(f"| {g} | {int(m['n'])} | {vals} |")
    return "\n".join(lines)


def _bar_chart(names: list[str], means: list[float], lows: list[float], highs: list[float],
               title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 0.45 * len(names) + 1.4))
    err = [[m - lo for m, lo in zip(means, lows, strict=True)],
           [hi - m for m, hi in zip(means, highs, strict=True)]]
    labels = [f"{n} ({m:.3f})" for n, m in zip(names, means, strict=True)]
    ax.barh(labels, means, xerr=err, color="#4c72b0", ecolor="#c44e52", capsize=3)
    ax.set_xlim(0, 1.05)
    ax.invert_yaxis()
    ax.set_xlabel("score (mean, 95% bootstrap CI)")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_charts(summary: dict[str, Any], out: Path, title: str) -> list[Path]:
    ov = summary["summary"]["overall"]
    m = [ov["metrics"][k] for k in REPORT_METRICS]
    p1 = out / "metrics.png"
    _bar_chart([METRIC_DISPLAY_NAMES[k] for k in REPORT_METRICS], [x["mean"] for x in m],
               [x["ci95_low"] for x in m], [x["ci95_high"] for x in m], f"{title}: SOB metrics",
               p1)
    c = [ov["category_scores"][k] for k in CATEGORIES]
    p2 = out / "categories.png"
    _bar_chart(list(CATEGORIES), [x["mean"] for x in c], [x["ci95_low"] for x in c],
               [x["ci95_high"] for x in c], f"{title}: SOB categories", p2)
    return [p1, p2]


def write_report(summary: dict[str, Any], rows: Sequence[dict[str, Any]],
                 records: Sequence[SobRecord], out: Path, title: str = "SOB benchmark") -> Path:
    out.mkdir(parents=True, exist_ok=True)
    write_charts(summary, out, title)
    parts = [f"# {title}", "",
             f"{summary['num_records']} records, modality `{summary.get('modality', 'text')}`, "
             f"responses `{summary.get('response_file', '')}`. Scored as SOB's `evaluate.py` "
             "(1,000 bootstrap resamples, seed 42 unless stated otherwise).", "",
             "## Metrics", "", metrics_table(summary), "", "![metrics](metrics.png)", "",
             "## Category scores", "", categories_table(summary), "",
             "![categories](categories.png)", ""]
    for field in ("variant", "kind", "question_difficulty"):
        table = breakdown_table(rows, records, field)
        if table:
            parts += [f"## By {field}", "", table, ""]
    dq = summary.get("data_quality", {})
    parts += ["## Data quality", "", "| count | value |", "|---|---|"]
    parts += [f"| {k} | {v} |" for k, v in dq.items()]
    missing = summary.get("error_analysis", {}).get("top_missing_gt_paths", [])
    if missing:
        parts += ["", "## Most often missed ground-truth paths", "", "| path | records |",
                  "|---|---|"]
        parts += [f"| `{m['path']}` | {m['count']} |" for m in missing[:10]]
    path = out / "report.md"
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path
