"""`prunestack extract FILE --schema S.json` and `prunestack extract-batch DIR --schema S.json`.

Both take ``--encoder DIR`` (the sentence encoder: a pruned MiniLM folder instead of MiniLM) and,
with ``--engine generative --model DIR``, ``--draft DIR`` (a smaller causal LM on the same
vocabulary, e.g. a pruned or trimmed draft, for speculative decoding); every folder loads through
the model registry. ``extract`` prints the JSON (with ``--provenance``: the whole result, data +
provenance + missing report + timings) on stdout; missing required values are reported on stderr.
``extract-batch`` runs a process pool over every document in a folder, shows a progress bar, appends
one JSON line per document to ``--out`` and, when run again, skips documents already in that file
(resume)."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from prunestack.errors import ConfigError, InputError, PrunestackError

DOC_SUFFIXES = {".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".html",
                ".htm"}
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


def _batch_one(args: tuple[str, dict[str, Any], str, str | None, str, str | None, str | None]
               ) -> dict[str, Any]:
    path, schema, engine, model, ocr, encoder, draft = args
    import torch

    torch.set_num_threads(1)
    from prunestack.pipeline.extract import extract_file

    try:
        res = extract_file(path, schema, engine=engine, model_dir=model,  # type: ignore[arg-type]
                           ocr=ocr, encoder_dir=encoder, draft_dir=draft)
        return {"file": path, "ok": True, "data": res.data, "valid": res.valid,
                "missing": [m.model_dump() for m in res.missing],
                "provenance": {k: v.model_dump(mode="json") for k, v in res.provenance.items()},
                "seconds": res.timings.get("total")}
    except PrunestackError as exc:
        return {"file": path, "ok": False, "error": str(exc)}
    except Exception as exc:  # one bad file must not stop a batch
        return {"file": path, "ok": False, "error": f"{type(exc).__name__}: {exc}"}


def _load(path: Path) -> dict[str, Any]:
    """The user's schema file, loaded and checked, with an object root to extract."""
    # the schema package pulls in pydantic (~60 ms): not on every CLI start
    from prunestack.pipeline.schema import load_schema, require_object_root

    sch = load_schema(path)
    require_object_root(sch)
    return sch


def done_files(out: Path) -> set[str]:
    """Files already answered in ``out``. A line cut short by an interrupted run is dropped
    (the file is rewritten without it) so its document is done again."""
    done: set[str] = set()
    if not out.is_file():
        return done
    good: list[str] = []
    lines = out.read_text(encoding="utf-8").splitlines()
    for line in lines:
        try:
            done.add(json.loads(line)["file"])
            good.append(line)
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
    if len(good) != len(lines) or (lines and not out.read_bytes().endswith(b"\n")):
        out.write_text("".join(g + "\n" for g in good), encoding="utf-8")
    return done


def extract_batch_cmd(
    folder: Annotated[Path, typer.Argument(help="Folder of documents (searched recursively).")],
    schema: SchemaOpt,
    out: Annotated[Path, typer.Option("--out", help="Results JSONL (appended; resumable).")],
    engine: Engine = "extractive",
    model: Model = None,
    encoder: Encoder = None,
    draft: Draft = None,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = max(1, (os.cpu_count() or
                                                                              2) // 2),
    ocr: Ocr = "auto",
) -> None:
    """Extract SCHEMA from every document in FOLDER with a process pool; resumable."""
    from tqdm import tqdm

    _check_engine(engine, model, draft, encoder)
    if not folder.is_dir():
        raise InputError(f"not a folder: {folder}")
    if workers < 1:
        raise ConfigError("--workers must be at least 1")
    sch = _load(schema)
    files = sorted(str(p.resolve()) for p in folder.rglob("*")
                   if p.is_file() and p.suffix.lower() in DOC_SUFFIXES)
    done = done_files(out)
    todo = [f for f in files if f not in done]
    typer.echo(f"{len(files)} documents, {len(files) - len(todo)} already done, "
               f"{len(todo)} to go", err=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    jobs = [(f, sch, engine, str(model) if model else None, ocr,
             str(encoder) if encoder else None, str(draft) if draft else None) for f in todo]
    failed = 0
    with out.open("a", encoding="utf-8") as fh:
        if workers == 1:
            results: Any = map(_batch_one, jobs)
            pool = None
        else:
            pool = mp.get_context("spawn").Pool(workers)
            results = pool.imap_unordered(_batch_one, jobs)
        try:
            for rec in tqdm(results, total=len(jobs), desc="extract", unit="doc"):
                failed += not rec["ok"]
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                fh.flush()
        finally:
            if pool is not None:
                pool.close()
                pool.join()
    typer.echo(f"wrote {out} ({len(jobs) - failed} ok, {failed} failed)", err=True)


def register(app: typer.Typer) -> None:
    """Add this module's command(s) to the root app."""
    app.command("extract")(extract_cmd)
    app.command("extract-batch")(extract_batch_cmd)
