"""THE batch extraction behind ``prunestack extract-batch``: many documents in, one row each out.

- :func:`list_documents`: a folder (searched recursively for document suffixes) or a file list
  (one path or URI a line) as the job's ids.
- :func:`extract_row`: the per-document function. The local process pool and the Ray actors both
  run it, so their rows are the same: ``{"file", "ok": true, "data", "valid", "missing",
  "provenance", "seconds"}``, or ``{"file", "ok": false, "error"}`` for a document that failed
  (a failure is a row, never the end of the job).
- :class:`Sink`: the output, JSONL (one line per row, appended) or Parquet (a folder of part
  files; ``data``, ``missing`` and ``provenance`` as JSON text), with the ids already in it
  (resume: they are skipped) and exactly-once writes (a repeated id is dropped). Only the driver
  process writes.
- :func:`run_local` (a ``spawn`` process pool) and :func:`run_ray` (Ray Data over an actor pool
  whose actors load the models once, through :mod:`prunestack.scaleout`), each with a progress bar.

Not here: the CLI options (``api.commands.extract``), extraction itself
(``pipeline.extract``), Ray plumbing and fault handling (``prunestack.scaleout``).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePath
from typing import Any

from prunestack.errors import ConfigError, InputError, PrunestackError

DOC_SUFFIXES = {".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".html",
                ".htm"}
FORMATS = ("jsonl", "parquet")
#: the columns of a Parquet output, in order; the nested ones hold JSON text
PARQUET_COLUMNS = ("file", "ok", "data", "valid", "missing", "provenance", "seconds", "error")
JSON_COLUMNS = ("data", "missing", "provenance")


@dataclass(frozen=True)
class Job:
    """What every document of a batch is extracted with (picklable: it travels to workers)."""

    schema: dict[str, Any]
    engine: str = "extractive"
    model: str | None = None
    ocr: str = "auto"
    encoder: str | None = None
    draft: str | None = None


# ---- inputs -------------------------------------------------------------------------------------

def is_uri(name: str) -> bool:
    return "://" in name


def list_documents(source: Path, allow_uris: bool = False) -> list[str]:
    """The ids of a job: absolute paths of the documents under folder ``source``, or the lines of
    file list ``source`` (blank lines and ``#`` comments skipped; a relative path is relative to
    the list's folder; a URI such as ``s3://bucket/a.pdf`` only when ``allow_uris``)."""
    if source.is_dir():
        return sorted(str(p.resolve()) for p in source.rglob("*")
                      if p.is_file() and p.suffix.lower() in DOC_SUFFIXES)
    if not source.is_file():
        raise InputError(f"not a folder or a file list: {source}",
                         "pass a folder of documents or a text file with one path a line")
    if source.suffix.lower() in DOC_SUFFIXES:
        raise InputError(f"{source} is a document, not a folder or a file list",
                         "use `prunestack extract` for one document")
    ids: list[str] = []
    missing: list[str] = []
    for line in source.read_text(encoding="utf-8").splitlines():
        name = line.strip()
        if not name or name.startswith("#"):
            continue
        if is_uri(name):
            if not allow_uris:
                raise InputError(f"{source} lists a URI ({name}); the local pool reads local "
                                 "files only", "add --ray: Ray Data reads URIs (s3://, gs://)")
            ids.append(name)
            continue
        p = Path(name) if Path(name).is_absolute() else source.parent / name
        (ids if p.is_file() else missing).append(str(p.resolve()))
    if missing:
        raise InputError(f"{len(missing)} listed file(s) not found, first: {missing[0]}",
                         f"paths in {source} are relative to its folder")
    return list(dict.fromkeys(ids))


# ---- the per-document function ----------------------------------------------------------------

def warm(job: Job) -> None:
    """Load the models ``job`` needs into this process's registry, once (a worker's start)."""
    import torch

    from prunestack.models import registry

    torch.set_num_threads(1)
    models = registry()
    models.encoder(job.encoder)
    if job.engine == "generative" and job.model:
        models.causal_lm(job.model)
        models.tokenizer(job.model)
        if job.draft:
            models.causal_lm(job.draft)


def extract_row(file: str, data: bytes | None, job: Job) -> dict[str, Any]:
    """The row of one document: ``data`` are its bytes (as Ray Data read them), or None to read
    ``file`` from disk. Any error becomes a failure row."""
    import torch

    torch.set_num_threads(1)
    from prunestack.parsers.ingest import parse
    from prunestack.pipeline.extract import extract_parsed

    source: bytes | Path = data if data is not None else Path(file)
    try:
        res = extract_parsed(
            lambda: parse(source, ocr=job.ocr, name=PurePath(file).name), job.schema,
            job.engine, model_dir=job.model, encoder_dir=job.encoder,  # type: ignore[arg-type]
            draft_dir=job.draft)
        return {"file": file, "ok": True, "data": res.data, "valid": res.valid,
                "missing": [m.model_dump() for m in res.missing],
                "provenance": {k: v.model_dump(mode="json") for k, v in res.provenance.items()},
                "seconds": res.timings.get("total")}
    except PrunestackError as exc:
        return {"file": file, "ok": False, "error": str(exc)}
    except Exception as exc:  # one bad file must not stop a batch
        return {"file": file, "ok": False, "error": f"{type(exc).__name__}: {exc}"}


def _local_row(file: str, job: Job) -> dict[str, Any]:
    return extract_row(file, None, job)


def ray_worker(job: Job) -> Callable[[str, bytes], dict[str, Any]]:
    """What each Ray actor builds once: the models loaded, then :func:`extract_row`."""
    warm(job)
    return partial(_ray_row, job=job)


def _ray_row(file: str, data: bytes, job: Job) -> dict[str, Any]:
    return extract_row(file, data, job)


# ---- the output ---------------------------------------------------------------------------------

def done_files(out: Path) -> set[str]:
    """Files already answered in JSONL ``out``. A line cut short by an interrupted run is dropped
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


def to_parquet_record(row: dict[str, Any]) -> dict[str, Any]:
    """A row as one Parquet record: every column present, nested values as JSON text."""
    rec = {c: row.get(c) for c in PARQUET_COLUMNS}
    for c in JSON_COLUMNS:
        if c in row:
            rec[c] = json.dumps(row[c], ensure_ascii=False)
    return rec


def read_parquet_rows(out: Path) -> list[dict[str, Any]]:
    """The rows of a Parquet output folder, nested values parsed back (keys a row lacks are
    left out, so a row reads back as it was written)."""
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    for part in sorted(out.glob("part-*.parquet")):
        for rec in pq.read_table(part).to_pylist():
            row = {k: v for k, v in rec.items() if v is not None}
            for c in JSON_COLUMNS:
                if c in row:
                    row[c] = json.loads(row[c])
            rows.append(row)
    return rows


@dataclass
class Sink:
    """Where rows go: JSONL ``out`` (appended, flushed per row) or a Parquet folder ``out``
    (a part file per ``flush_rows`` rows, written to a temporary name and renamed, so a part is
    never half there). ``seen``: ids already in ``out`` plus those written since."""

    out: Path
    format: str = "jsonl"
    flush_rows: int = 256
    seen: set[str] = field(default_factory=set)
    written: int = 0
    failed: int = 0
    _buffer: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ConfigError(f"unknown format {self.format!r}", " or ".join(FORMATS))
        if self.format == "jsonl":
            if self.out.is_dir():
                raise InputError(f"{self.out} is a folder", "--format jsonl writes one file")
            self.seen = done_files(self.out)
        else:
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise ConfigError("--format parquet needs pyarrow",
                                  "pip install 'prunestack[ray]'") from None
            if self.out.is_file():
                raise InputError(f"{self.out} is a file", "--format parquet writes a folder")
            self.seen = {r["file"] for r in read_parquet_rows(self.out)} if self.out.is_dir() \
                else set()
        self.out.parent.mkdir(parents=True, exist_ok=True)

    def write(self, row: dict[str, Any]) -> bool:
        """Write ``row`` unless its file already has one; whether it was written."""
        if row["file"] in self.seen:
            return False
        self.seen.add(row["file"])
        self.written += 1
        self.failed += not row["ok"]
        if self.format == "jsonl":
            with self.out.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            self._buffer.append(to_parquet_record(row))
            if len(self._buffer) >= self.flush_rows:
                self.flush()
        return True

    def flush(self) -> None:
        if self.format != "parquet" or not self._buffer:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.out.mkdir(parents=True, exist_ok=True)
        n = len(list(self.out.glob("part-*.parquet")))
        schema = pa.schema([("file", pa.string()), ("ok", pa.bool_()), ("data", pa.string()),
                            ("valid", pa.bool_()), ("missing", pa.string()),
                            ("provenance", pa.string()), ("seconds", pa.float64()),
                            ("error", pa.string())])
        tmp = self.out / f".part-{n:05d}.parquet.tmp"
        pq.write_table(pa.Table.from_pylist(self._buffer, schema=schema), tmp)
        os.replace(tmp, self.out / f"part-{n:05d}.parquet")
        self._buffer.clear()


# ---- the runners --------------------------------------------------------------------------------

def _drain(rows: Iterable[dict[str, Any]], sink: Sink, total: int, desc: str) -> None:
    from tqdm import tqdm

    try:
        for row in tqdm(rows, total=total, desc=desc, unit="doc"):
            sink.write(row)
    finally:
        sink.flush()  # what is done stays done, even when the run is interrupted


def run_local(job: Job, files: list[str], sink: Sink, workers: int) -> None:
    """Every file of ``files`` not yet in ``sink`` through a ``spawn`` pool of ``workers``."""
    todo = [f for f in files if f not in sink.seen]
    if workers == 1:
        _drain((_local_row(f, job) for f in todo), sink, len(todo), "extract")
        return
    with mp.get_context("spawn").Pool(workers) as pool:
        _drain(pool.imap_unordered(partial(_local_row, job=job), todo), sink, len(todo),
               "extract")


def _ray_rows(job: Job, todo: list[str], **pool: Any) -> Iterator[dict[str, Any]]:
    from prunestack.scaleout import Failure, map_files

    for file, res in map_files(todo, ray_worker, (job,), **pool):
        if isinstance(res, Failure):
            yield {"file": file, "ok": False, "error": res.error}
        else:
            yield res | {"file": file}  # the id the job listed, not Ray's spelling of it


def run_ray(job: Job, files: list[str], sink: Sink, *, address: str | None = None,
            num_workers: int | None = None, batch_size: int = 4, retries: int = 2,
            cpus_per_worker: float = 1.0, memory_per_worker: int | None = None) -> None:
    """Every file of ``files`` not yet in ``sink`` through Ray Data on an actor pool of
    ``num_workers`` (None: as many as the cluster's CPUs allow), connected as
    :func:`prunestack.scaleout.ray_session` does."""
    from prunestack.scaleout import ray_session

    todo = [f for f in files if f not in sink.seen]
    if not todo:
        return
    with ray_session(address) as ray:
        if num_workers is None:
            cpus = float(ray.cluster_resources().get("CPU", 1))
            num_workers = max(1, int(cpus // cpus_per_worker))
        _drain(_ray_rows(job, todo, num_workers=min(num_workers, len(todo)),
                         batch_size=batch_size, retries=retries,
                         cpus_per_worker=cpus_per_worker, memory_per_worker=memory_per_worker),
               sink, len(todo), "extract (ray)")
