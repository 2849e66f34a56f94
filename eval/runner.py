"""Benchmark runner: run an engine over SOB records, keep its responses, score them.

``run_benchmark(records_file, engine, out)`` asks ``engine(record) -> str`` for every record whose
``record_id`` is not yet in ``out/responses.jsonl`` (so an interrupted run resumes where it
stopped), appends one ``{"record_id", "response", "seconds", "error"?}`` line per record and
flushes it, then scores everything with :func:`score_files` semantics and writes
``eval_records.jsonl``, ``summary.json`` (SOB's ``eval_summary.json`` layout), ``report.md`` and
PNG charts. A record whose context is a file (path relative to the records file) is handed to the
engine with ``context`` made absolute. An engine exception is recorded as an empty response with
its error and scores as a failure; the run goes on — except a ``ConfigError``/``ModelError``
(wrong engine, missing model folder), which stops the run with that error.

:func:`pipeline_engine` builds the real engine from ``pipeline.extract`` (imported lazily): a file
(PDF, image, HTML) goes through ``extract_file(path, schema, engine=..., model_dir=...)``, inline
text or a text file through ``extract_text(text, schema, engine=...)``; the response is
``json.dumps(result.data)``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from prunestack.errors import ConfigError, InputError, ModelError
from prunestack.eval.aggregate import build_summary, score_record
from prunestack.eval.records import (
    SobRecord,
    is_sob_native,
    load_records,
    load_responses,
    load_sob_native,
    resolve_context_path,
)
from prunestack.eval.report import write_report
from prunestack.pipeline import extract as extract_mod

Engine = Callable[[SobRecord], str]
ENGINES = ("extractive", "generative")
DOC_SUFFIXES = {".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".html", ".htm"}


def pipeline_engine(engine: str, model_dir: str | Path | None = None) -> Engine:
    """The product's extraction pipeline as an engine (``pipeline.extract``)."""
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}", f"one of {', '.join(ENGINES)}")
    if engine == "generative" and model_dir is None:
        raise ConfigError("the generative engine needs a model",
                          "pass --model DIR (a local Hugging Face causal LM folder)")
    if model_dir is not None and not Path(model_dir).is_dir():
        raise ConfigError(f"model folder not found: {model_dir}")

    eng: Any = engine  # validated above: "extractive" | "generative"

    def run(record: SobRecord) -> str:
        path = Path(record.context)
        is_file = path.is_absolute() and path.is_file()
        if is_file and path.suffix.lower() in DOC_SUFFIXES:
            result = extract_mod.extract_file(path, record.json_schema, engine=eng,
                                              model_dir=model_dir)
        else:  # inline text, or a text file (.txt, .md) read as text
            text = path.read_text(encoding="utf-8", errors="replace") if is_file else (
                record.context)
            kw = {"model_dir": model_dir} if model_dir is not None else {}
            result = extract_mod.extract_text(text, record.json_schema, engine=eng, **kw)
        return json.dumps(result.data, ensure_ascii=False)

    return run


def infer_modality(records: Iterable[SobRecord], records_file: str | Path) -> str:
    """``image`` when the contexts are document files (PDFs, scans), else ``text``."""
    for rec in records:
        p = resolve_context_path(rec, records_file)
        if p is None or p.suffix.lower() not in DOC_SUFFIXES:
            return "text"
    return "image"


def _load_existing(path: Path) -> set[str]:
    """record_ids already answered; a torn last line (killed mid-write) is dropped."""
    if not path.is_file():
        return set()
    good: list[str] = []
    done: set[str] = set()
    torn = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            done.add(str(obj["record_id"]))
            good.append(line)
        except (ValueError, KeyError, TypeError):
            torn = True
    if torn:
        path.write_text("".join(g + "\n" for g in good), encoding="utf-8")
    return done


def _with_abs_context(rec: SobRecord, records_file: Path) -> SobRecord:
    p = resolve_context_path(rec, records_file)
    return rec if p is None else rec.model_copy(update={"context": str(p.resolve())})


def collect_responses(
    records: list[SobRecord], records_file: str | Path, engine: Engine, responses_path: Path,
    progress: bool = True,
) -> dict[str, int]:
    """Append the engine's responses for records not yet answered; returns counts."""
    from tqdm import tqdm

    responses_path.parent.mkdir(parents=True, exist_ok=True)
    done = _load_existing(responses_path)
    todo = [r for r in records if r.record_id not in done]
    errors = 0
    with responses_path.open("a", encoding="utf-8") as fh:
        for rec in tqdm(todo, desc="bench", unit="rec", disable=not progress):
            t0 = time.perf_counter()
            line: dict[str, Any] = {"record_id": rec.record_id}
            try:
                line["response"] = engine(_with_abs_context(rec, Path(records_file)))
            except (ConfigError, ModelError):
                raise  # a setup mistake (engine, model folder) fails the run, not one record
            except Exception as exc:  # one bad document must not end the benchmark
                errors += 1
                line["response"] = ""
                line["error"] = f"{type(exc).__name__}: {exc}"[:500]
            line["seconds"] = round(time.perf_counter() - t0, 4)
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
            fh.flush()
    return {"skipped_existing": len(done), "new": len(todo), "engine_error_count": errors}


def score_all(
    records: list[SobRecord], responses: dict[str, Any], modality: str, model_id: str
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Rows for every record (a missing response scores as a failure) and quality counts."""
    ids = {r.record_id for r in records}
    rows = [score_record(r, responses.get(r.record_id), modality, model_id) for r in records]
    quality = {"missing_response_count": sum(1 for r in records if r.record_id not in responses),
               "unknown_response_count": sum(1 for k in responses if k not in ids)}
    return rows, quality


def write_outputs(
    rows: list[dict[str, Any]], records: list[SobRecord], out: Path, *, response_file: str,
    modality: str, quality: dict[str, int], samples: int = 1000, seed: int = 42,
    title: str = "SOB benchmark",
) -> dict[str, Any]:
    """eval_records.jsonl, summary.json, report.md and PNG charts; returns the summary."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / "eval_records.jsonl").open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    summary = build_summary(rows, response_file=response_file, modality=modality,
                            samples=samples, seed=seed, extra_quality=quality)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    write_report(summary, rows, records, out, title=title)
    return summary


def sob_file_modality(path: str | Path) -> str:
    """SOB's ``infer_modality`` from a response file's path."""
    p = Path(path)
    full, name = p.as_posix().lower(), p.name.lower()
    if "text_response" in full:
        return "text"
    if "images_response" in full or "image_response" in full or "_image" in name:
        return "image"
    if "audio_response" in full or "_audio" in name:
        return "audio"
    return "text"


def score_sob_native(
    responses_file: str | Path, out: str | Path, modality: str = "auto", samples: int = 1000,
    seed: int = 42,
) -> dict[str, Any]:
    """Score a response file in SOB's own layout (as published in JigsawStack/sob), exactly as
    its ``evaluate.py``: the stored ``candidate_response`` is already extracted."""
    records, responses, models, malformed = load_sob_native(responses_file)
    mod = sob_file_modality(responses_file) if modality == "auto" else modality
    _check_modality(mod)
    model_id = models[0] if len(models) == 1 else "multiple"
    rows = [score_record(r, responses[r.record_id], mod, model_id, already_extracted=True)
            for r in records]
    return write_outputs(rows, records, Path(out), response_file=str(responses_file),
                         modality=mod, quality={"malformed_jsonl_line_count": malformed},
                         samples=samples, seed=seed)


def score_files(
    responses_file: str | Path, records_file: str | Path | None, out: str | Path,
    modality: str = "auto", model_id: str = "unknown", samples: int = 1000, seed: int = 42,
) -> dict[str, Any]:
    """``prunestack bench score``: join responses with records by record_id and score. Without
    a records file the responses must be in SOB's own layout (records embedded)."""
    if records_file is None:
        if not is_sob_native(responses_file):
            raise InputError(f"{responses_file} holds no records",
                             "pass --records RECORDS.jsonl, or a response file in SOB's layout")
        return score_sob_native(responses_file, out, modality, samples, seed)
    records = load_records(records_file)
    responses = load_responses(responses_file)
    mod = infer_modality(records, records_file) if modality == "auto" else modality
    _check_modality(mod)
    rows, quality = score_all(records, responses, mod, model_id)
    return write_outputs(rows, records, Path(out), response_file=str(responses_file),
                         modality=mod, quality=quality, samples=samples, seed=seed)


def run_benchmark(
    records_file: str | Path, engine: Engine, out: str | Path, *, modality: str = "auto",
    model_id: str = "unknown", samples: int = 1000, seed: int = 42, progress: bool = True,
    limit: int | None = None,
) -> dict[str, Any]:
    """``prunestack bench run``: collect (resumably) and score. Returns the summary with a
    ``run`` block (counts and mean seconds per record)."""
    records = load_records(records_file)
    if limit is not None:
        records = records[:limit]
    mod = infer_modality(records, records_file) if modality == "auto" else modality
    _check_modality(mod)
    out_dir = Path(out)
    resp_path = out_dir / "responses.jsonl"
    counts = collect_responses(records, records_file, engine, resp_path, progress)
    responses = load_responses(resp_path)
    rows, quality = score_all(records, responses, mod, model_id)
    quality["engine_error_count"] = _count_errors(resp_path)
    summary = write_outputs(rows, records, out_dir, response_file=str(resp_path), modality=mod,
                            quality=quality, samples=samples, seed=seed)
    secs = _seconds(resp_path, {r.record_id for r in records})
    summary["run"] = {**counts, "mean_seconds_per_record": secs}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def _check_modality(mod: str) -> None:
    if mod not in ("text", "image", "audio"):
        raise InputError(f"unknown modality {mod!r}", "auto, text, image or audio")


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def _count_errors(path: Path) -> int:
    return sum(1 for x in _lines(path) if x.get("error"))


def _seconds(path: Path, ids: set[str]) -> float:
    secs = [float(x.get("seconds", 0.0)) for x in _lines(path) if str(x["record_id"]) in ids]
    return sum(secs) / len(secs) if secs else 0.0
