"""`prunestack extract FILE --schema S.json` and `prunestack extract-batch DIR --schema S.json`.

Both take ``--encoder DIR`` (the sentence encoder: a pruned MiniLM folder instead of MiniLM) and,
with ``--engine generative --model DIR``, ``--draft DIR`` (a smaller causal LM on the same
vocabulary, e.g. a pruned or trimmed draft, for speculative decoding); every folder loads through
the model registry. ``extract`` prints the JSON (with ``--provenance``: the whole result, data +
provenance + missing report + timings) on stdout; missing required values are reported on stderr.
``extract-batch`` takes a folder or a file list and runs every document through a local process
pool, or with ``--ray`` through Ray Data on an actor pool (``prunestack.api.batch``, the one
batch runner: same rows either way); one row per document in ``--out`` (JSONL, or Parquet with
``--format parquet``), a progress bar, and, when run again, documents already in ``--out`` are
skipped (resume)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from prunestack.errors import ConfigError, InputError

Engine = Annotated[str, typer.Option(help="extractive (offline, default) | generative")]
Model = Annotated[Path | None, typer.Option("--model", help="Local causal LM folder (generative).")]
Encoder = Annotated[Path | None, typer.Option(
    "--encoder", help="Sentence encoder folder, e.g. a pruned MiniLM (default: MiniLM).")]
Draft = Annotated[Path | None, typer.Option(
    "--draft", help="Draft causal LM folder for speculative decoding (generative).")]
SchemaOpt = Annotated[Path, typer.Option("--schema", help="JSON Schema file.")]
Ocr = Annotated[str, typer.Option(
    help="auto | rapidocr | tesseract | paddleocr | rapidocr+tesseract")]


def _check_engine(engine: str, model: Path | None, draft: Path | None = None,
                  encoder: Path | None = None) -> None:
    """Option mistakes, before any document or model is read."""
    if engine not in ("extractive", "generative"):
        raise ConfigError(f"unknown engine {engine!r}", "extractive or generative")
    if engine == "generative" and model is None:
        raise ConfigError("--engine generative needs --model DIR")
    if draft is not None and engine != "generative":
        raise ConfigError("--draft applies to the generative engine",
                          "add --engine generative --model DIR, or drop --draft")
    from prunestack.models import check_folder  # no torch: a cheap import

    for folder in (model, draft, encoder):
        if folder is not None:
            check_folder(folder)  # ModelError naming a missing folder, before any parsing


def extract_cmd(
    file: Annotated[Path, typer.Argument(help="PDF, image or HTML file.")],
    schema: SchemaOpt,
    engine: Engine = "extractive",
    model: Model = None,
    encoder: Encoder = None,
    draft: Draft = None,
    provenance: Annotated[bool, typer.Option(help="Print data, provenance, report, timings.")]
    = False,
    ocr: Ocr = "auto",
    pages: Annotated[str | None, typer.Option(help="Pages, e.g. 1-3.")] = None,
    scorer: Annotated[str, typer.Option(help="extractive: auto (the shipped learned scorer on "
                                        "receipts or with --scorer-model, else rules) | "
                                        "learned | rules")] = "auto",
    scorer_model: Annotated[Path | None, typer.Option(
        "--scorer-model", help="Scorer folder for --scorer learned (`prunestack train "
        "extractor`).")] = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Exit 3 when a value is missing (filled with a placeholder or left "
        "out) or the result does not validate; the JSON is printed either way.")] = False,
) -> None:
    """Extract SCHEMA's fields from FILE; JSON on stdout. Missing values are listed on stderr
    (`missing: …`); with --strict they also make the exit code 3."""
    _check_engine(engine, model, draft, encoder)
    if scorer not in ("auto", "learned", "rules"):
        raise ConfigError(f"unknown scorer {scorer!r}", "auto, learned or rules")
    if scorer_model is not None and not scorer_model.is_dir():
        raise InputError(f"scorer folder not found: {scorer_model}")
    if not file.is_file():
        raise InputError(f"file not found: {file}")
    sch = _load(schema)  # fail fast, before loading any model
    import torch

    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    from prunestack.pipeline.extract import ExtractOptions, extract_file

    opts = ExtractOptions(engine=engine, scorer=scorer,  # type: ignore[arg-type]
                          scorer_model=str(scorer_model) if scorer_model else None)
    res = extract_file(file, sch, engine=engine,  # type: ignore[arg-type]
                       model_dir=model, ocr=ocr, pages=pages, encoder_dir=encoder,
                       draft_dir=draft, options=opts)
    for m in res.missing:
        typer.echo(f"missing: {m.path}: {m.reason} ({m.action})", err=True)
    if not res.valid:
        typer.echo("warning: the result does not validate: " + "; ".join(res.errors), err=True)
    out: Any = res.model_dump(mode="json") if provenance else res.data
    typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
    if strict and (res.missing or not res.valid):
        typer.echo(f"error: --strict: {len(res.missing)} value(s) missing"
                   + ("" if res.valid else ", result not valid"), err=True)
        raise typer.Exit(STRICT_EXIT)


#: the exit code of ``extract --strict`` when a value is missing (2 is bad input, 1 a failure)
STRICT_EXIT = 3


def _load(path: Path) -> dict[str, Any]:
    """The user's schema file, loaded and checked, with an object root to extract."""
    # the schema package pulls in pydantic (~60 ms): not on every CLI start
    from prunestack.pipeline.schema import load_schema, require_object_root

    sch = load_schema(path)
    require_object_root(sch)
    return sch


def extract_batch_cmd(
    source: Annotated[Path, typer.Argument(
        help="Folder of documents (searched recursively), or a text file listing one path "
        "(with --ray also a URI such as s3://bucket/a.pdf) a line.")],
    schema: SchemaOpt,
    out: Annotated[Path, typer.Option("--out", help="Results: a JSONL file (appended) or, with "
                                      "--format parquet, a folder of part files; resumable.")],
    engine: Engine = "extractive",
    model: Model = None,
    encoder: Encoder = None,
    draft: Draft = None,
    workers: Annotated[int, typer.Option(help="Worker processes of the local pool.")] = max(
        1, (os.cpu_count() or 2) // 2),
    ocr: Ocr = "auto",
    fmt: Annotated[str, typer.Option("--format", help="jsonl | parquet")] = "jsonl",
    use_ray: Annotated[bool, typer.Option("--ray", help="Run on a Ray cluster (Ray Data, an "
                                          "actor pool; pip install 'prunestack[ray]').")] = False,
    address: Annotated[str | None, typer.Option(
        help="--ray: auto (this machine's cluster) | ray://HOST:10001 | HOST:6379; none: "
        "start a local Ray runtime.")] = None,
    num_workers: Annotated[int | None, typer.Option(
        "--num-workers", help="--ray: actors in the pool (default: cluster CPUs / "
        "--worker-cpus).")] = None,
    batch_size: Annotated[int, typer.Option(help="--ray: documents per batch.")] = 4,
    retries: Annotated[int, typer.Option(help="--ray: retries of a batch whose actor died.")] = 2,
    worker_cpus: Annotated[float, typer.Option(help="--ray: CPUs reserved per actor.")] = 1.0,
    worker_memory_gb: Annotated[float | None, typer.Option(
        help="--ray: memory reserved per actor (GB; the scheduler packs actors by it).")] = None,
) -> None:
    """Extract SCHEMA from every document of SOURCE, one row per document in OUT: a local
    process pool, or with --ray a Ray Data actor pool; resumable, failures recorded as rows."""
    from prunestack.api.batch import Job, Sink, list_documents, run_local, run_ray

    _check_engine(engine, model, draft, encoder)
    if workers < 1:
        raise ConfigError("--workers must be at least 1")
    ray_only = {"--address": address is not None, "--num-workers": num_workers is not None,
                "--worker-memory-gb": worker_memory_gb is not None}
    if not use_ray and any(ray_only.values()):
        given = ", ".join(k for k, v in ray_only.items() if v)
        raise ConfigError(f"{given} appl{'ies' if ', ' not in given else 'y'} to --ray",
                          "add --ray (the local pool takes --workers)")
    if use_ray and ((num_workers is not None and num_workers < 1) or batch_size < 1
                    or retries < 0 or worker_cpus <= 0):
        raise ConfigError("--num-workers and --batch-size must be at least 1, --retries at "
                          "least 0, --worker-cpus above 0")
    sch = _load(schema)
    files = list_documents(source, allow_uris=use_ray)
    sink = Sink(out, fmt)
    todo = sum(f not in sink.seen for f in files)
    typer.echo(f"{len(files)} documents, {len(files) - todo} already done, {todo} to go",
               err=True)
    job = Job(sch, engine, str(model) if model else None, ocr, str(encoder) if encoder else None,
              str(draft) if draft else None)
    if use_ray:
        memory = int(worker_memory_gb * 1e9) if worker_memory_gb else None
        run_ray(job, files, sink, address=address, num_workers=num_workers,
                batch_size=batch_size, retries=retries, cpus_per_worker=worker_cpus,
                memory_per_worker=memory)
    else:
        run_local(job, files, sink, workers)
    typer.echo(f"wrote {out} ({sink.written - sink.failed} ok, {sink.failed} failed)", err=True)


def register(app: typer.Typer) -> None:
    """Add this module's command(s) to the root app."""
    app.command("extract")(extract_cmd)
    app.command("extract-batch")(extract_batch_cmd)
