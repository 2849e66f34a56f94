"""Documents parsed once, asked many times: THE persistent index of the ask pipeline.

What it does:

- :func:`build_index` (``prunestack rag index SRC --out INDEX``) indexes a folder (or one file):
  HTML pages as blocks for pruning (:class:`retrieval.index.HtmlIndex`, unchanged), PDFs and
  images as *documents*: each is read, keyed and parsed with the ask pipeline's own functions
  (:func:`pipeline.ask.core.open_source`, :func:`~pipeline.ask.core.prepare_document`: the same
  parser, CCTree, evidence units with their tree context and MiniLM vectors), and the result is
  written to the index folder (:mod:`retrieval.docstore`) with its content hash, parse options
  and the parser and encoder versions (``pipeline.ask.core``'s). A
  rebuild reuses an entry whose key and versions still match and re-parses the others.
- reading one document back for ``prunestack ask FILE --index INDEX`` is
  :func:`pipeline.ask.core.prepared_from_index` (the ask pipeline's own step; it owns the
  versions, :func:`~pipeline.ask.core.parser_version` and
  :func:`~pipeline.ask.core.encoder_version`).
- :func:`query_index` (``prunestack rag query INDEX "q"``): evidence across every indexed
  document within a word budget, each item as ``ask`` returns it plus its ``document``.
  Entries whose file changed on disk, or that another parser or encoder version built, are
  re-built first (and listed in ``rebuilt``); a stale entry whose file is gone is an error.
  The ranking is the ask ranking over all units at once (BM25 statistics over the whole
  index, RRF with the MiniLM cosine), packed with windows that never cross documents.

What it does not do: parse or embed by itself (the ask pipeline's functions do), rank HTML
blocks (``retrieval.index``), or watch files: staleness is checked when asked.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from prunestack.errors import InputError, PrunestackError, UnsupportedTypeError
from prunestack.pipeline.ask.core import (
    DocumentCache,
    EvidenceItem,
    check_question,
    encoder_version,
    open_source,
    parser_version,
    prepare_document,
)
from prunestack.retrieval import docstore
from prunestack.retrieval.bm25 import tokenize
from prunestack.retrieval.evidence import EvidenceIndex, pack

#: files indexed as documents (parsed like ``prunestack ask`` parses them)
DOCUMENT_SUFFIXES = (".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".gif")
class DocumentEvidence(EvidenceItem):
    """An evidence item of :func:`query_index`: ``ask``'s fields plus the document's name."""

    document: str


class IndexQueryResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str
    question_type: str
    evidence: list[DocumentEvidence]
    words: int
    budget: int
    rebuilt: list[str]
    timings: dict[str, float]

    def to_text(self) -> str:
        lines = [f"question type: {self.question_type}", "evidence:"]
        for i, ev in enumerate(self.evidence):
            where = " > ".join(p for p in ev.path if p)
            lines.append(f"[{i}] {ev.document} | page {ev.page} | {where} | "
                         f"score {ev.score:.2f}")
            lines.append(f"    {ev.text}")
        return "\n".join(lines)


@dataclass
class IndexReport:
    """What :func:`build_index` did."""

    pages: int = 0
    blocks: int = 0
    documents: list[str] = field(default_factory=list)  # parsed now
    reused: list[str] = field(default_factory=list)  # fresh entries kept
    removed: list[str] = field(default_factory=list)  # entries whose file is no longer there
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)
    units: int = 0


def _split(src: Path) -> tuple[Path, list[Path], list[Path]]:
    """(root that names are relative to, HTML pages, documents) of a folder or one file."""
    from prunestack.retrieval.index import SUFFIXES

    if not src.exists():
        raise InputError(f"not found: {src}", "pass a folder or a .pdf, image or .html file")
    if src.is_dir():
        files = sorted(p for p in src.rglob("*") if p.is_file())
        html = [p for p in files if p.suffix.lower() in SUFFIXES]
        docs = [p for p in files if p.suffix.lower() in DOCUMENT_SUFFIXES]
        if not html and not docs:
            raise InputError(f"no .html, .pdf or image files under {src}",
                             "rag index takes HTML pages, PDFs and images")
        return src, html, docs
    suffix = src.suffix.lower()
    if suffix in SUFFIXES:
        return src.parent, [src], []
    if suffix in DOCUMENT_SUFFIXES:
        return src.parent, [], [src]
    raise UnsupportedTypeError(f"{src.name}: rag index does not take {suffix or 'this'} files",
                               "pass a folder, a .pdf, an image (.png, .jpg, .tif, ...) or an "
                               ".html file")


def _index_one(con: sqlite3.Connection, f: Path, source: str, encoder: Any,
               options: dict[str, Any]) -> int:
    """Parse, index and store one document (the ask pipeline's functions); its unit count."""
    key, read, data = open_source(f, **options)
    prepared, _ = prepare_document(key, read, encoder, DocumentCache(1))
    st = f.stat()
    docstore.put_document(
        con, source=source, path=str(f.resolve()), sha256=hashlib.sha256(data or b"").hexdigest(),
        key=key, size=st.st_size, mtime_ns=st.st_mtime_ns, options=options,
        parser=parser_version(), encoder=encoder_version(encoder), doc=prepared.doc,
        tree=prepared.tree, index=prepared.index)
    return len(prepared.index.units)


def build_index(src: str | Path, out: str | Path, *, encoder: str | Path | None = None,
                max_words: int = 128, ocr: str = "auto", progress: bool = False,
                ray: bool = False, address: str | None = None,
                num_workers: int | None = None) -> IndexReport:
    """Index ``src`` (a folder, searched recursively, or one file) into ``out``; see the module
    docstring. A document that fails to parse is skipped (and reported) in a folder and an
    error for a single file. ``ray``, ``address``, ``num_workers``: HTML pages only."""
    from prunestack.models import registry
    from prunestack.retrieval.index import HtmlIndex

    src, out = Path(src), Path(out)
    root, html, docs = _split(src)
    options: dict[str, Any] = {"ocr": ocr, "pages": None}
    if src.is_file() and docs:
        open_source(src, **options)  # an unreadable file fails before anything is written
    stats = HtmlIndex.build(root, out, encoder=encoder, max_words=max_words,
                            progress=progress and bool(html), ray=ray, address=address,
                            num_workers=num_workers, files=html)
    report = IndexReport(stats.pages, stats.blocks, skipped=list(stats.skipped))
    enc = registry().encoder(encoder)
    pver, ever = parser_version(), encoder_version(enc)
    con = sqlite3.connect(str(out / "store.sqlite"))
    try:
        docstore.ensure_tables(con)
        old = {d.source: d for d in docstore.list_documents(con)}
        items: Any = docs
        if progress and docs:
            from tqdm import tqdm

            items = tqdm(docs, desc="indexing documents", unit="doc")
        for f in items:
            name = str(f.relative_to(root))
            prev = old.pop(name, None)
            try:
                key, _, _ = open_source(f, **options)
                if prev is not None and (prev.key, prev.parser, prev.encoder) == (key, pver,
                                                                                   ever):
                    st = f.stat()
                    docstore.touch(con, prev.id, str(f.resolve()), st.st_size, st.st_mtime_ns)
                    report.reused.append(name)
                    report.units += prev.n_units
                    continue
                report.units += _index_one(con, f, name, enc, options)
                report.documents.append(name)
            except PrunestackError as exc:
                if src.is_file():
                    raise
                if prev is not None:
                    docstore.delete_document(con, prev.id)
                report.skipped.append((name, str(exc)))
            con.commit()
        for gone in old.values():
            docstore.delete_document(con, gone.id)
            report.removed.append(gone.source)
        con.commit()
    finally:
        con.close()
    if not report.pages and not report.documents and not report.reused:
        raise InputError(f"nothing under {src} could be indexed",
                         "; ".join(f"{n}: {r}" for n, r in report.skipped[:3]) or None)
    return report


def refresh(con: sqlite3.Connection, encoder: Any) -> list[str]:
    """Re-build the entries that are stale (file changed on disk, other parser or encoder
    version); the names re-built. A stale entry whose file is gone is an InputError."""
    pver, ever = parser_version(), encoder_version(encoder)
    rebuilt = []
    for d in docstore.list_documents(con):
        why = ("another parser version" if d.parser != pver else
               "another encoder" if d.encoder != ever else None)
        path = Path(d.path)
        if path.is_file():
            st = path.stat()
            if why is None and (st.st_size, st.st_mtime_ns) != (d.size, d.mtime_ns):
                key, _, _ = open_source(path, **d.options)
                if key != d.key:
                    why = "changed on disk"
                else:
                    docstore.touch(con, d.id, d.path, st.st_size, st.st_mtime_ns)
        elif why is not None:
            raise InputError(f"{d.source} in the index was built by {why} and {path} is gone",
                             "rebuild the index: prunestack rag index DIR --out INDEX")
        if why is not None:
            _index_one(con, path, d.source, encoder, d.options)
            rebuilt.append(d.source)
        con.commit()
    return rebuilt


def query_index(index: str | Path, question: str, budget: int = 256, *,
                encoder_dir: str | Path | None = None) -> IndexQueryResult:
    """Evidence for ``question`` across the documents of ``index`` (see the module docstring);
    evidence grouped by document (best document first), in reading order within each.
    ``encoder_dir``: default, the encoder the index was built with."""
    from prunestack.models import registry

    q = check_question(question, budget, "extractive", None)
    con = docstore.open_store(index)
    if encoder_dir is None:
        row = con.execute("SELECT value FROM meta WHERE key = 'encoder'").fetchone()
        encoder_dir = row[0] if row is not None else None
    try:
        encoder = registry().encoder(encoder_dir)
    except BaseException:
        con.close()
        raise
    t0 = time.perf_counter()
    try:
        rebuilt = refresh(con, encoder)
        entries = docstore.list_documents(con)
        loaded = [docstore.load_document(con, d.id)[2] for d in entries]
    finally:
        con.close()
    t1 = time.perf_counter()
    group = [k for k, ix in enumerate(loaded) for _ in ix.units]
    units = [u for ix in loaded for u in ix.units]
    vecs = [ix.vectors for ix in loaded if ix.vectors is not None and len(ix.units)]
    merged = EvidenceIndex(
        units, [t for ix in loaded for t in ix.tokens],
        [t for ix in loaded for t in ix.window_tokens],
        np.vstack(vecs) if vecs and len(vecs) == sum(1 for ix in loaded if ix.units) else None,
        max((ix.n_pages for ix in loaded), default=1))
    qtype, fused = merged.rank(q, encoder)
    chosen = pack(units, fused, budget, qtok=tokenize(q), group=group)
    top = float(fused.max()) if len(fused) else 1.0
    best: dict[int, float] = {}
    for i in chosen:
        best[group[i]] = max(best.get(group[i], -1.0), float(fused[i]))
    order = sorted(chosen, key=lambda i: (-best[group[i]], group[i], i))
    evidence = [DocumentEvidence(text=chosen[i], page=units[i].page, bbox=units[i].bbox,
                                 path=list(units[i].path),
                                 score=round(float(fused[i]) / (top or 1.0), 4),
                                 document=entries[group[i]].source) for i in order]
    t2 = time.perf_counter()
    return IndexQueryResult(question=q, question_type=qtype.kind, evidence=evidence,
                            words=sum(len(e.text.split()) for e in evidence), budget=budget,
                            rebuilt=rebuilt, timings={"load": round(t1 - t0, 4),
                                                      "retrieve": round(t2 - t1, 4)})
