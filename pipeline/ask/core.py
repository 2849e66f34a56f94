"""Ask a document a question: THE way a question becomes evidence and an answer.

What it does: :func:`prepare_document` parses a document once and keeps it, with its CCTree and
its evidence index (units and their MiniLM vectors, ``retrieval.evidence``), in a process-wide
LRU cache (:func:`document_cache`) keyed by the sha256 of the input's bytes (or text), the parser
options and the encoder folder: a second question on the same document costs one question
embedding, a ranking and the answer step. :func:`ask_document` answers on a prepared document:
evidence within a word budget, in reading order (question-type-aware: location questions through
the page grid, semantic ones through hybrid BM25 + MiniLM ranking), then an answer from the
evidence (``pipeline.ask.answer``: extractive with the learned scorer, or generative with a local
causal LM under a JSON Schema). :func:`ask_source` does both for a path, bytes or text (what the
façade's ``prunestack.ask`` and the CLI call). The result (:class:`AskResult`) is exactly
``{question, question_type, answer, answer_provenance, evidence: [{text, page, bbox, path,
score}], timings}``.

With ``index=`` (a folder written by ``prunestack rag index``), :func:`ask_source` reads the
prepared document from disk when the index holds a fresh entry for the same bytes
(:func:`prepared_from_index`; the entry must carry this code's :func:`parser_version` and the
encoder's :func:`encoder_version`): no parsing and no unit embedding, the same evidence.

What it does not do: HTTP limits (``api.routes.ask`` checks sizes before it calls here), load
models by itself beyond the registry's shared copies, or write indexes (``pipeline.ask.indexed``
does).
"""

from __future__ import annotations

import functools
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from prunestack.errors import ConfigError, InputError
from prunestack.parsers import cctree
from prunestack.parsers.cctree import CCNode, build_cctree
from prunestack.pipeline.ask.answer import extractive_answer, generative_answer
from prunestack.pipeline.document import BBox, Document
from prunestack.pipeline.document import model as document_model
from prunestack.retrieval import bm25, evidence
from prunestack.retrieval import document as retrieval_document
from prunestack.retrieval.evidence import EvidenceIndex

Engine = Literal["extractive", "generative"]
MAX_BUDGET = 100_000
INDEX_VERSION = 1


class EvidenceItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str
    page: int
    bbox: BBox
    path: list[str]
    score: float


class AskResult(BaseModel):
    """The answer to one question on one document."""

    model_config = ConfigDict(extra="forbid")

    question: str
    question_type: str  # "location" | "semantic"
    answer: str | None
    answer_provenance: dict[str, Any] | None
    evidence: list[EvidenceItem]
    timings: dict[str, float]

    def to_text(self) -> str:
        """The answer, then the evidence (page and path) for a terminal."""
        lines = [f"answer: {self.answer if self.answer is not None else '(none found)'}",
                 f"question type: {self.question_type}", "evidence:"]
        for i, ev in enumerate(self.evidence):
            where = " > ".join(p for p in ev.path if p)
            lines.append(f"[{i}] page {ev.page} | {where} | score {ev.score:.2f}")
            lines.append(f"    {ev.text}")
        return "\n".join(lines)


@dataclass
class PreparedDocument:
    key: str
    doc: Document
    tree: CCNode
    index: EvidenceIndex
    parse_s: float
    index_s: float


class DocumentCache:
    """A bounded LRU of prepared documents (thread-safe)."""

    def __init__(self, max_docs: int = 32) -> None:
        self.max_docs = max_docs
        self._items: OrderedDict[str, PreparedDocument] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> PreparedDocument | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, item: PreparedDocument) -> PreparedDocument:
        with self._lock:
            self._items[item.key] = item
            self._items.move_to_end(item.key)
            while len(self._items) > self.max_docs:
                self._items.popitem(last=False)
        return item

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


_CACHE = DocumentCache()


def document_cache() -> DocumentCache:
    """THE cache of prepared documents in this process."""
    return _CACHE


def document_key(content: bytes | str, **options: Any) -> str:
    """sha256 of the input (bytes, or text as UTF-8) + the options that change the parse."""
    h = hashlib.sha256(content if isinstance(content, bytes) else
                       content.encode("utf-8", "surrogatepass"))
    h.update(repr(sorted(options.items())).encode())
    h.update(f"v{INDEX_VERSION}".encode())
    return h.hexdigest()


def cache_key(key: str, encoder: Any) -> str:
    """The process cache's key of a document (``document_key``) prepared with ``encoder``."""
    return f"{key}|{getattr(encoder, 'folder', None)}"


def prepare_document(key: str, read: Callable[[], Document], encoder: Any = None,
                     cache: DocumentCache | None = None) -> tuple[PreparedDocument, bool]:
    """(prepared document, whether it came from the cache); ``read`` parses on a miss."""
    cache = cache if cache is not None else _CACHE
    key = cache_key(key, encoder)
    hit = cache.get(key)
    if hit is not None:
        return hit, True
    t0 = time.perf_counter()
    doc = read()
    t1 = time.perf_counter()
    tree = build_cctree(doc)
    index = EvidenceIndex.build(doc, tree, encoder)
    t2 = time.perf_counter()
    return cache.put(PreparedDocument(key, doc, tree, index, t1 - t0, t2 - t1)), False


#: modules whose code decides what a document's units are; their sources are in the version
_UNIT_MODULES = (bm25, evidence, retrieval_document)


@functools.cache
def parser_version() -> str:
    """The version of the code that turns bytes into evidence units: the ask index version and
    a hash of the sources of the parser and document packages, the unit builder and this module
    (an index built by other code is stale, never served)."""
    files = [f for pkg in (cctree, document_model)
             for f in sorted(Path(pkg.__file__ or "").parent.rglob("*.py"))]
    files += [Path(m.__file__ or "") for m in _UNIT_MODULES] + [Path(__file__)]
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return f"ask{INDEX_VERSION}+{h.hexdigest()[:16]}"


def encoder_version(encoder: Any) -> str:
    """``folder|config hash|weight bytes`` of a sentence encoder (``encoder.folder``)."""
    folder = Path(encoder.folder).resolve()
    cfg = folder / "config.json"
    chash = hashlib.sha256(cfg.read_bytes()).hexdigest()[:16] if cfg.is_file() else "-"
    weights = sum(p.stat().st_size for p in folder.iterdir()
                  if p.suffix in (".safetensors", ".bin") and p.is_file())
    return f"{folder}|{chash}|{weights}"


def prepared_from_index(index: str | Path, key: str, encoder: Any,
                        cache: DocumentCache | None = None
                        ) -> tuple[PreparedDocument | None, str]:
    """(the prepared document of ``key`` from ``index``, ``"hit"``), or (None, ``"miss"``: no
    entry for these bytes and options / ``"stale"``: only entries of another parser or encoder
    version). A hit goes into the process cache too."""
    from prunestack.retrieval import docstore

    con = docstore.open_store(index)
    try:
        rows = docstore.find_by_key(con, key)
        if not rows:
            return None, "miss"
        pver, ever = parser_version(), encoder_version(encoder)
        fresh = [r for r in rows if r.parser == pver and r.encoder == ever]
        if not fresh:
            return None, "stale"
        doc, tree, evi = docstore.load_document(con, fresh[0].id)
    finally:
        con.close()
    prepared = PreparedDocument(cache_key(key, encoder), doc, tree, evi,
                                0.0, 0.0)
    (cache if cache is not None else document_cache()).put(prepared)
    return prepared, "hit"


def check_question(question: str, budget: int, engine: str, model: Any) -> str:
    """The question, stripped; option mistakes as errors before any parsing."""
    q = " ".join((question or "").split())
    if not q:
        raise InputError("the question is empty", 'ask something, e.g. "What is the total?"')
    if len(q) > 2000:
        raise InputError(f"the question has {len(q)} characters, over 2000",
                         "ask a shorter question")
    if not 1 <= budget <= MAX_BUDGET:
        raise ConfigError(f"budget {budget} is out of range", f"1 to {MAX_BUDGET} words")
    if engine not in ("extractive", "generative"):
        raise ConfigError(f"unknown engine {engine!r}", "extractive or generative")
    if engine == "generative" and model is None:
        raise ConfigError("the generative engine needs a causal LM",
                          "pass --model DIR (a local causal LM folder)")
    return q


def ask_document(prepared: PreparedDocument, question: str, budget: int = 256, *,
                 engine: Engine = "extractive", encoder: Any = None, scorer: Any = None,
                 model: Any = None, tokenizer: Any = None, draft: Any = None,
                 cached: bool = False, load_s: float | None = None,
                 notes: dict[str, float] | None = None) -> AskResult:
    """Evidence and an answer for ``question`` on a prepared document (see the module
    docstring). ``scorer``: a learned scorer (default: the shipped one, loaded on first use).
    ``load_s``: seconds spent reading the prepared document from an index (a ``load`` timing,
    counted in ``total``); ``notes``: flags added to the timings after ``total``."""
    q = check_question(question, budget, engine, model)
    t0 = time.perf_counter()
    found = prepared.index.search(q, budget, encoder)
    t1 = time.perf_counter()
    if engine == "generative":
        answer, prov, _ = generative_answer(found.evidence, q, model, tokenizer, draft)
    else:
        if scorer is None:
            from prunestack.pipeline.extract.scorer import load_scorer

            scorer = load_scorer()
        answer, prov = extractive_answer(prepared.doc, found.evidence, q, scorer)
    t2 = time.perf_counter()
    timings = {"parse": 0.0 if cached else round(prepared.parse_s, 4),
               "index": 0.0 if cached else round(prepared.index_s, 4),
               "retrieve": round(t1 - t0, 4), "answer": round(t2 - t1, 4)}
    if load_s is not None:
        timings["load"] = round(load_s, 4)
    timings["total"] = round(sum(timings.values()), 4)
    timings["cached"] = 1.0 if cached else 0.0
    timings.update(notes or {})
    return AskResult(
        question=q, question_type=found.question.kind, answer=answer, answer_provenance=prov,
        evidence=[EvidenceItem(text=e.text, page=e.page, bbox=e.bbox, path=e.path,
                               score=round(e.score, 4)) for e in found.evidence],
        timings=timings)


def open_source(source: str | Path | bytes, ocr: str = "auto", pages: str | None = None,
                name: str | None = None) -> tuple[str, Callable[[], Document], bytes | None]:
    """(document key, a parser of the source, its bytes or None for text): THE reading of an
    ask source, shared by :func:`ask_source` and the persistent index
    (``pipeline.ask.indexed``), so both key and parse a file the same way."""
    from prunestack.parsers.ingest import _is_path, parse, parse_source, read_upload

    if isinstance(source, str) and not _is_path(source):
        def read_text() -> Document:
            return parse_source(source, pages=pages, name=name)

        return document_key(source, kind="text", pages=pages), read_text, None
    upload = read_upload(source.strip() if isinstance(source, str) else source, name)

    def read() -> Document:
        return parse(upload, ocr=ocr, pages=pages)

    return document_key(upload.data, ocr=ocr, pages=pages), read, upload.data


def ask_source(source: str | Path | bytes, question: str, budget: int = 256, *,
               engine: Engine = "extractive", model_dir: str | Path | None = None,
               encoder_dir: str | Path | None = None, draft_dir: str | Path | None = None,
               ocr: str = "auto", pages: str | None = None, name: str | None = None,
               cache: DocumentCache | None = None,
               index: str | Path | None = None) -> AskResult:
    """:func:`ask_document` for a path, bytes or text (``parsers.ingest.parse_source``'s
    rules), parsed once per process and cached; models through the registry. ``index``: an
    index folder (``prunestack rag index``); when it holds a fresh entry for these bytes
    (same content hash, options, parser and encoder versions) the document is read from it
    instead of parsed (timings ``load`` and ``index_hit``); otherwise it is parsed as without
    it, and the timings say why (``index_miss``: not in the index; ``index_stale``: built by
    another parser or encoder version)."""
    from prunestack.models import registry

    check_question(question, budget, engine, model_dir)  # before any reading or loading
    key, read, _data = open_source(source, ocr, pages, name)
    reg = registry()
    encoder = reg.encoder(encoder_dir)
    model = tok = draft = None
    if engine == "generative" and model_dir is not None:
        model, tok = reg.causal_lm(model_dir), reg.tokenizer(model_dir)
        draft = reg.causal_lm(draft_dir) if draft_dir is not None else None
    load_s: float | None = None
    notes: dict[str, float] = {}
    held = (cache if cache is not None else _CACHE).get(cache_key(key, encoder))
    if index is not None and held is None:  # a document already in this process: no reading
        t0 = time.perf_counter()
        stored, state = prepared_from_index(index, key, encoder, cache)
        notes[f"index_{state}"] = 1.0
        if stored is not None:
            load_s = time.perf_counter() - t0
            return ask_document(stored, question, budget, engine=engine, encoder=encoder,
                                model=model, tokenizer=tok, draft=draft, cached=False,
                                load_s=load_s, notes=notes)
    prepared, hit = prepare_document(key, read, encoder, cache)
    return ask_document(prepared, question, budget, engine=engine, encoder=encoder,
                        model=model, tokenizer=tok, draft=draft, cached=hit, notes=notes)
