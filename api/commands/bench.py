"""`prunestack bench run | score | synth`: run an engine over SOB records, score responses,
synthesise documents with ground truth. Heavy imports happen inside the commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from prunestack.errors import ConfigError

app = typer.Typer(no_args_is_help=True)


def _print_summary(summary: dict[str, Any], out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    from prunestack.eval.aggregate import METRIC_DISPLAY_NAMES
    from prunestack.eval.report import REPORT_METRICS

    ov = summary["summary"]["overall"]["metrics"]
    table = Table(title=f"SOB metrics ({summary['num_records']} records)")
    for col in ("metric", "key", "mean", "95% CI"):
        table.add_column(col)
    for key in REPORT_METRICS:
        m = ov[key]
        table.add_row(METRIC_DISPLAY_NAMES[key], key, f"{m['mean']:.3f}",
                      f"[{m['ci95_low']:.3f}, {m['ci95_high']:.3f}]")
    Console().print(table)
    typer.echo(f"wrote {out / 'summary.json'}, {out / 'report.md'}, {out / 'metrics.png'}")


@app.command("run")
def run(
    records: Annotated[Path, typer.Argument(help="SOB records (JSONL).")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    engine: Annotated[str, typer.Option(help="extractive | generative")] = "extractive",
    model: Annotated[Path | None, typer.Option("--model", help="Model folder (generative).")]
    = None,
    modality: Annotated[str, typer.Option(help="auto | text | image | audio (the gate)")]
    = "auto",
    limit: Annotated[int | None, typer.Option(help="Only the first N records.")] = None,
    samples: Annotated[int, typer.Option(help="Bootstrap resamples.")] = 1000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 42,
) -> None:
    """Run the extraction pipeline over every record (resumable: ids already in
    OUT/responses.jsonl are skipped), then score and report."""
    from prunestack.eval.runner import pipeline_engine, run_benchmark

    eng = pipeline_engine(engine, model)
    model_id = f"prunestack-{engine}" + (f"-{model.name}" if model else "")
    summary = run_benchmark(records, eng, out, modality=modality, model_id=model_id,
                            samples=samples, seed=seed, limit=limit)
    _print_summary(summary, out)


@app.command("score")
def score(
    responses: Annotated[Path, typer.Argument(help="JSONL of {record_id, response}.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    records: Annotated[Path | None, typer.Option(
        "--records", help="SOB records (JSONL); omit for a response file in SOB's own layout.")]
    = None,
    modality: Annotated[str, typer.Option(help="auto | text | image | audio")] = "auto",
    model_id: Annotated[str, typer.Option(help="Name stored in the summary.")] = "unknown",
    samples: Annotated[int, typer.Option(help="Bootstrap resamples.")] = 1000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 42,
) -> None:
    """Score existing responses against records (joined by record_id); OUT/summary.json.
    Without --records, RESPONSES must be in SOB's own layout (metadata/input/output lines)."""
    from prunestack.eval.runner import score_files

    summary = score_files(responses, records, out, modality=modality, model_id=model_id,
                          samples=samples, seed=seed)
    _print_summary(summary, out)


@app.command("synth")
def synth(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    kind: Annotated[str, typer.Option(help="invoice | receipt | form | mixed")] = "invoice",
    n: Annotated[int, typer.Option("--n", help="Number of documents.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 42,
    scans: Annotated[bool, typer.Option("--scans/--no-scans", help="Also degraded scans.")]
    = False,
    digital: Annotated[bool, typer.Option("--digital/--no-digital",
                                          help="Records for born-digital PDFs.")] = True,
    dpi: Annotated[int, typer.Option(help="Scan resolution.")] = 150,
    scan_context: Annotated[str, typer.Option(help="Scan records point at png | pdf.")] = "png",
) -> None:
    """Synthesise documents (born-digital PDFs, optional scans) and SOB records."""
    from prunestack.eval.synth.degrade import ScanConfig
    from prunestack.eval.synth.generate import SynthConfig, generate

    try:
        cfg = SynthConfig.model_validate({
            "kind": kind, "n": n, "seed": seed, "scans": scans, "digital": digital,
            "scan_context": scan_context, "scan": ScanConfig.model_validate({"dpi": dpi})})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(f"bad option {'.'.join(map(str, err['loc']))}: {err['msg']}") from exc
    path = generate(cfg, out)
    typer.echo(f"wrote {path} ({path.read_text().count(chr(10))} records)")
