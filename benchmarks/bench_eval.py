"""`make bench` → eval: the pipeline's current engine on a seeded synthetic set, scored as SOB.

Generates ``N`` mixed documents (invoices, till receipts, forms; seed 42) as born-digital PDFs and
as degraded scans (PNG, OCR needed), runs ``parsers.ingest.parse`` + ``pipeline.extract`` (the
extractive engine, the offline default) on every record, and reports:

* the SOB metrics (overall with 95% bootstrap CIs, and per variant: digital vs scan);
* pages per second, end to end and for parsing alone, per variant;
* the share of ground-truth field values visible in the parsed text — for scans, what OCR
  recovered (rules of :mod:`eval.synth.verify`).

Writes ``reports/bench_eval/`` (``bench_eval.json``, ``bench_eval.md``, ``bench_eval.png`` and the
runner's ``run/`` folder with responses, summary.json, report.md and charts) and prints a table.
``PRUNESTACK_BENCH_EVAL_DOCS`` sets N (default 8, i.e. 8 + 8 records: about ten minutes on two
busy cores, mostly OCR and MiniLM retrieval).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

REPORT_DIR = Path("reports/bench_eval")
SEED = 42


class PipelineProbe:
    """Engine for the runner that also keeps per-record timings and the parsed text."""

    def __init__(self, engine: str = "extractive") -> None:
        self.engine = engine
        self.stats: dict[str, dict[str, Any]] = {}

    def __call__(self, record: Any) -> str:
        from prunestack.parsers.ingest import parse
        from prunestack.pipeline.extract import extract_document

        t0 = time.perf_counter()
        doc = parse(Path(record.context))
        t1 = time.perf_counter()
        res = extract_document(doc, record.json_schema, engine=self.engine)
        t2 = time.perf_counter()
        self.stats[record.record_id] = {"parse_s": t1 - t0, "extract_s": t2 - t1,
                                        "pages": len(doc.pages), "text": doc.text}
        return json.dumps(res.data, ensure_ascii=False)


def _variant_stats(records: list[Any], probe: PipelineProbe) -> dict[str, dict[str, float]]:
    from prunestack.eval.synth.verify import recovered

    out: dict[str, dict[str, float]] = {}
    for variant in ("digital", "scan"):
        recs = [r for r in records if r.variant == variant and r.record_id in probe.stats]
        if not recs:
            continue
        st = [probe.stats[r.record_id] for r in recs]
        pages = sum(s["pages"] for s in st)
        parse_s = sum(s["parse_s"] for s in st)
        total_s = parse_s + sum(s["extract_s"] for s in st)
        found = total = 0
        for r, s in zip(recs, st, strict=True):
            f, t, _ = recovered(s["text"], r.ground_truth)
            found, total = found + f, total + t
        out[variant] = {"records": float(len(recs)), "pages": float(pages),
                        "pages_per_s": pages / total_s if total_s else 0.0,
                        "parse_pages_per_s": pages / parse_s if parse_s else 0.0,
                        "seconds": total_s, "values_visible_share": found / total if total else 0.0,
                        "values_total": float(total)}
    return out


def _chart(per_variant: dict[str, dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [("leaf_value_em", "Value Accuracy"), ("value_token_f1", "Faithfulness"),
            ("path_set_f1", "Structure Coverage"), ("values_visible_share", "values in text")]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    width = 0.38
    for i, (variant, stats) in enumerate(per_variant.items()):
        xs = [k + (i - 0.5) * width for k in range(len(keys))]
        ax.bar(xs, [stats.get(k, 0.0) for k, _ in keys], width, label=variant)
    ax.set_xticks(range(len(keys)), [name for _, name in keys])
    ax.set_ylim(0, 1.05)
    ax.set_title("Synthetic documents: born-digital vs scanned")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    from prunestack.eval.records import load_records
    from prunestack.eval.report import REPORT_METRICS, group_means
    from prunestack.eval.runner import run_benchmark
    from prunestack.eval.synth.generate import SynthConfig, generate

    n_docs = int(os.environ.get("PRUNESTACK_BENCH_EVAL_DOCS", "8"))
    if REPORT_DIR.exists():
        shutil.rmtree(REPORT_DIR)  # fresh: the probe's timings must cover every record
    data = REPORT_DIR / "data"
    records_file = generate(SynthConfig(kind="mixed", n=n_docs, seed=SEED, scans=True), data)
    records = load_records(records_file)

    probe = PipelineProbe("extractive")
    t0 = time.perf_counter()
    summary = run_benchmark(records_file, probe, REPORT_DIR / "run", modality="image",
                            model_id="prunestack-extractive")
    wall = time.perf_counter() - t0
    rows = [json.loads(x) for x in (REPORT_DIR / "run" / "eval_records.jsonl").read_text()
            .splitlines()]
    per_variant = _variant_stats(records, probe)
    for variant, means in group_means(rows, records, "variant").items():
        per_variant.setdefault(variant, {}).update(means)

    ov = summary["summary"]["overall"]["metrics"]
    result = {
        "documents": n_docs, "records": len(records), "seed": SEED, "engine": "extractive",
        "modality_gate": "image", "wall_seconds": wall,
        "overall": {k: ov[k] for k in REPORT_METRICS},
        "category_scores": {k: v["mean"] for k, v in
                            summary["summary"]["overall"]["category_scores"].items()},
        "per_variant": per_variant,
        "engine_errors": summary["data_quality"].get("engine_error_count", 0),
    }
    (REPORT_DIR / "bench_eval.json").write_text(json.dumps(result, indent=2) + "\n")
    _chart(per_variant, REPORT_DIR / "bench_eval.png")

    table = Table(title=f"SOB on {n_docs} synthetic documents x (digital, scan), seed {SEED}")
    table.add_column("metric")
    table.add_column("all [95% CI]")
    for v in per_variant:
        table.add_column(v)
    md = ["# Extraction benchmark on synthetic documents", "",
          f"{n_docs} documents (invoices, receipts, forms; seed {SEED}), each as a born-digital "
          "PDF and as a degraded scan; extractive engine; SOB image gate. "
          "Command: `python -m benchmarks.run_all eval`.", "",
          "| metric | all [95% CI] | " + " | ".join(per_variant) + " |",
          "|---|---|" + "---|" * len(per_variant)]
    for key in REPORT_METRICS:
        m = ov[key]
        cells = [f"{m['mean']:.3f} [{m['ci95_low']:.3f}, {m['ci95_high']:.3f}]",
                 *[f"{per_variant[v].get(key, 0.0):.3f}" for v in per_variant]]
        table.add_row(key, *cells)
        md.append(f"| `{key}` | " + " | ".join(cells) + " |")
    extra = [("pages/s (parse + extract)", "pages_per_s", "{:.3f}"),
             ("pages/s (parse only)", "parse_pages_per_s", "{:.3f}"),
             ("GT values visible in parsed text", "values_visible_share", "{:.1%}")]
    for label, key, fmt in extra:
        cells = ["", *[fmt.format(per_variant[v].get(key, 0.0)) for v in per_variant]]
        table.add_row(label, *cells)
        md.append(f"| {label} | " + " | ".join(cells) + " |")
    md += ["", "For scans, *GT values visible in parsed text* is the share of ground-truth field "
           "values that OCR recovered (rules in `eval/synth/verify.py`).", "",
           "![digital vs scan](bench_eval.png)", "",
           f"Full SOB report: [run/report.md](run/report.md). Wall time {wall:.0f} s."]
    (REPORT_DIR / "bench_eval.md").write_text("\n".join(md) + "\n")
    Console().print(table)
    print(f"wrote {REPORT_DIR / 'bench_eval.json'}, {REPORT_DIR / 'bench_eval.md'}")


if __name__ == "__main__":
    main()
