"""Parsed documents inside an index folder: THE way an evidence index is written to and read
back from ``store.sqlite``.

What it does: two tables beside the HTML pages and blocks of :mod:`retrieval.index`::

    documents(id, source, path, sha256, key, size, mtime_ns, options, parser, encoder,
              n_units, dim, doc, tree, vectors)
        source   the file's name relative to the indexed folder (what results are labelled with)
        path     its absolute path when indexed (where a staleness check looks)
        sha256   the content hash of its bytes; key: the ask pipeline's document key (bytes +
                 parse options + its index version); options: those options as JSON
        parser / encoder: the versions it was built with (a mismatch is stale, never served)
        doc      the parsed Document as JSON; lines: its elements' printed lines (JSON
                 ``{element id: [[text, x0, y0, x1, y1], ...]}``: a serialised Document leaves
                 them out, the extractive answer reads them); tree: its CCTree as JSON
        vectors  the units' MiniLM vectors, float32 [n_units, dim], row-major bytes
    units(doc_id, ord, text, words, page, bbox, path, component, element_ids, cells, match,
          tokens, window_tokens)
        one row per evidence unit (``retrieval.evidence.Unit``) in reading order, with the BM25
        tokens of its matching text and of its window (JSON lists)

:func:`put_document` writes a document's rows (replacing an older entry of the same source),
:func:`load_document` rebuilds exactly the ``Document``, CCTree and ``EvidenceIndex`` that were
written (the same floats, the same units and tokens), so a search on it returns the evidence
the freshly built index returns.

What it does not do: parse, embed or decide what is stale (``pipeline.ask.indexed`` does: it
owns the parser and encoder versions), or touch the HTML tables.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from prunestack.errors import InputError
from prunestack.parsers.cctree import CCNode
from prunestack.pipeline.document import BBox, Document, TextLine
from prunestack.retrieval.evidence import EvidenceIndex, Unit

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents(id INTEGER PRIMARY KEY, source TEXT NOT NULL UNIQUE,
    path TEXT, sha256 TEXT NOT NULL, key TEXT NOT NULL, size INTEGER, mtime_ns INTEGER,
    options TEXT, parser TEXT NOT NULL, encoder TEXT NOT NULL, n_units INTEGER, dim INTEGER,
    doc TEXT NOT NULL, lines TEXT, tree TEXT NOT NULL, vectors BLOB);
CREATE INDEX IF NOT EXISTS documents_key ON documents(key);
CREATE TABLE IF NOT EXISTS units(doc_id INTEGER NOT NULL, ord INTEGER NOT NULL, text TEXT,
    words INTEGER, page INTEGER, bbox TEXT, path TEXT, component INTEGER, element_ids TEXT,
    cells TEXT, match TEXT, tokens TEXT, window_tokens TEXT, PRIMARY KEY(doc_id, ord));
"""


@dataclass(frozen=True)
class StoredDocument:
    """One document's entry, without its payload."""

    id: int
    source: str
    path: str
    sha256: str
    key: str
    size: int
    mtime_ns: int
    options: dict[str, Any]
    parser: str
    encoder: str
    n_units: int


_COLS = "id, source, path, sha256, key, size, mtime_ns, options, parser, encoder, n_units"


def open_store(folder: str | Path) -> sqlite3.Connection:
    """The ``store.sqlite`` of index ``folder``, checked to be a store of a readable format
    (without loading faiss: a document question needs no HTML vectors)."""
    from prunestack.retrieval.index import READABLE_FORMATS

    path = Path(folder) / "store.sqlite"
    if not path.is_file():
        raise InputError(f"{folder} is not an index (store.sqlite missing)",
                         "build one with `prunestack rag index DIR --out INDEX`")
    con = sqlite3.connect(str(path))
    try:
        fmt = con.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
    except sqlite3.DatabaseError:
        fmt = None
    if fmt is None or fmt[0] not in READABLE_FORMATS:
        con.close()
        raise InputError(f"{path} is not an index store of a format this version reads",
                         "rebuild it with `prunestack rag index DIR --out INDEX`")
    return con


def ensure_tables(con: sqlite3.Connection) -> None:
    con.executescript(SCHEMA)


def has_tables(con: sqlite3.Connection) -> bool:
    return con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='documents'"
                       ).fetchone() is not None


def _row(r: tuple[Any, ...]) -> StoredDocument:
    return StoredDocument(r[0], r[1], r[2] or "", r[3], r[4], int(r[5] or 0), int(r[6] or 0),
                          json.loads(r[7] or "{}"), r[8], r[9], int(r[10] or 0))


def list_documents(con: sqlite3.Connection) -> list[StoredDocument]:
    """Every document entry, in source order (empty for an index without documents)."""
    if not has_tables(con):
        return []
    return [_row(r) for r in con.execute(f"SELECT {_COLS} FROM documents ORDER BY source")]


def find_by_key(con: sqlite3.Connection, key: str) -> list[StoredDocument]:
    """The entries whose document key is ``key`` (the same bytes under the same options)."""
    if not has_tables(con):
        return []
    return [_row(r) for r in con.execute(f"SELECT {_COLS} FROM documents WHERE key = ?",
                                         (key,))]


def delete_document(con: sqlite3.Connection, doc_id: int) -> None:
    con.execute("DELETE FROM units WHERE doc_id = ?", (doc_id,))
    con.execute("DELETE FROM documents WHERE id = ?", (doc_id,))


def touch(con: sqlite3.Connection, doc_id: int, path: str, size: int, mtime_ns: int) -> None:
    """Record where and with which size and mtime an unchanged entry's file was last seen."""
    con.execute("UPDATE documents SET path = ?, size = ?, mtime_ns = ? WHERE id = ?",
                (path, size, mtime_ns, doc_id))


def _lines_json(doc: Document) -> str:
    return json.dumps({e.id: [[ln.text, ln.bbox.x0, ln.bbox.y0, ln.bbox.x1, ln.bbox.y1]
                             for ln in e.lines]
                       for e in doc.elements() if e.lines})


def _with_lines(doc: Document, lines_json: str | None) -> Document:
    lines = json.loads(lines_json or "{}")
    for e in doc.elements():
        if e.id in lines:
            e.lines = [TextLine(text=t, bbox=BBox(x0=a, y0=b, x1=c, y1=d))
                       for t, a, b, c, d in lines[e.id]]
    return doc


def put_document(con: sqlite3.Connection, *, source: str, path: str, sha256: str, key: str,
                 size: int, mtime_ns: int, options: dict[str, Any], parser: str, encoder: str,
                 doc: Document, tree: CCNode, index: EvidenceIndex) -> int:
    """Write one document's entry (an older entry of the same ``source`` goes first); its id."""
    old = con.execute("SELECT id FROM documents WHERE source = ?", (source,)).fetchone()
    if old is not None:
        delete_document(con, old[0])
    vecs = index.vectors
    blob = None if vecs is None else np.ascontiguousarray(vecs, dtype=np.float32).tobytes()
    dim = 0 if vecs is None else int(vecs.shape[1])
    cur = con.execute(
        "INSERT INTO documents(source, path, sha256, key, size, mtime_ns, options, parser, "
        "encoder, n_units, dim, doc, lines, tree, vectors) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (source, path, sha256, key, size, mtime_ns, json.dumps(options, sort_keys=True), parser,
         encoder, len(index.units), dim, doc.model_dump_json(), _lines_json(doc),
         tree.model_dump_json(), blob))
    doc_id = int(cur.lastrowid or 0)
    con.executemany(
        "INSERT INTO units(doc_id, ord, text, words, page, bbox, path, component, element_ids, "
        "cells, match, tokens, window_tokens) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [(doc_id, i, u.text, u.words, u.page, u.bbox.model_dump_json(), json.dumps(u.path),
          u.component, json.dumps(u.element_ids), json.dumps(sorted(u.cells)), u.match,
          json.dumps(index.tokens[i]), json.dumps(index.window_tokens[i]))
         for i, u in enumerate(index.units)])
    return doc_id


def load_document(con: sqlite3.Connection, doc_id: int
                  ) -> tuple[Document, CCNode, EvidenceIndex]:
    """The Document, CCTree and evidence index of entry ``doc_id``, as they were written."""
    head = con.execute("SELECT source, n_units, dim, doc, lines, tree, vectors, encoder "
                       "FROM documents WHERE id = ?", (doc_id,)).fetchone()
    if head is None:
        raise InputError(f"no document {doc_id} in the index", "rebuild the index")
    source, n_units, dim, doc_json, lines_json, tree_json, blob, encoder = head
    units: list[Unit] = []
    tokens: list[list[str]] = []
    windows: list[list[str]] = []
    for (text, words, page, bbox, path, comp, eids, cells, match, tok, win) in con.execute(
            "SELECT text, words, page, bbox, path, component, element_ids, cells, match, "
            "tokens, window_tokens FROM units WHERE doc_id = ? ORDER BY ord", (doc_id,)):
        units.append(Unit(text, words, page, BBox.model_validate_json(bbox),
                          tuple(json.loads(path)), comp, tuple(json.loads(eids)),
                          frozenset(tuple(c) for c in json.loads(cells)), match))
        tokens.append(json.loads(tok))
        windows.append(json.loads(win))
    if len(units) != n_units:
        raise InputError(f"the index holds {len(units)} units of {source}, its entry says "
                         f"{n_units}", "rebuild the index")
    vectors = None
    if blob is not None:
        vectors = np.frombuffer(blob, dtype=np.float32).reshape(n_units, dim)  # [N, dim]
    doc = _with_lines(Document.model_validate_json(doc_json), lines_json)
    return (doc, CCNode.model_validate_json(tree_json),
            EvidenceIndex(units, tokens, windows, vectors, len(doc.pages),
                          encoder_name=_folder_of(encoder)))


def _folder_of(encoder_id: str) -> str:
    """The folder part of an encoder version string (``folder|config hash|weights size``)."""
    return encoder_id.split("|", 1)[0]
