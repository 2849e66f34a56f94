"""A persistent multi-page HTML index: faiss vectors on disk + a SQLite block store.

``HtmlIndex.build(dir, out)`` cleans every ``*.html``/``*.htm`` page under ``dir``, splits it into
blocks, embeds each block (MiniLM or a given encoder folder) and writes::

    out/index.faiss   IndexFlatIP over unit vectors (row i = block id i)
    out/store.sqlite  pages(id, source, html)  — source path relative to dir, cleaned HTML
                      blocks(id, page_id, ord, path, source_path, kind, words, text, prior)
                      — prior: the block's boilerplate prior (:mod:`retrieval.boilerplate`)
                      meta(key, value)         — encoder, dim, max_words, format version

``HtmlIndex.load(out).query(question, budget)`` embeds the question, ranks blocks across pages
(cosine × (1 − weight × boilerplate prior)), keeps the best that fit the token budget and
returns, per source page, the kept blocks rendered in
document order inside their ancestor tags (``<article data-source="page.html">...</article>``).
Block trees are rebuilt from the stored cleaned HTML at query time, deterministically, and checked
against the stored paths. No incremental updates of pages: rebuild to add pages.

The same folder also holds parsed documents (PDFs, images) for ``prunestack ask``: their tables
live in ``store.sqlite`` too (:mod:`retrieval.docstore`; format 3). A rebuild of the pages keeps
them (``pipeline.ask.indexed`` decides which are still fresh); an index of format 2 (pages only)
still loads.
"""

from __future__ import annotations

import html as htmllib
import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from prunestack.errors import ConfigError, InputError, PrunestackError
from prunestack.models import check_folder, minilm_path, registry
from prunestack.retrieval.blocktree import Block, BlockTree, build_block_tree, render
from prunestack.retrieval.boilerplate import BoilerplateConfig, block_priors, demote
from prunestack.retrieval.budget import TokenCounter, make_counter
from prunestack.retrieval.clean import _start, serialize

FORMAT_VERSION = 3  # 2: blocks.prior; 3: documents and units (retrieval.docstore)
READABLE_FORMATS = ("2", "3")
SUFFIXES = (".html", ".htm", ".xhtml")


@dataclass
class RagResult:
    html: str
    tokens: int
    budget: int
    blocks: list[dict[str, Any]] = field(default_factory=list)  # page, path, score, text

    def to_dict(self) -> dict[str, Any]:
        return {"html": self.html, "tokens": self.tokens, "budget": self.budget,
                "blocks": self.blocks}


@dataclass
class BuildStats:
    pages: int
    blocks: int
    skipped: list[tuple[str, str]]  # (page, reason)


def _connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(str(path))
    con.execute("PRAGMA journal_mode=OFF")
    return con


def _reset_store(path: Path) -> sqlite3.Connection:
    """``path`` opened with no page, block or meta table: the document tables of a store of this
    format stay; any other file there (older format, not SQLite) is replaced."""
    if path.is_file():
        try:
            con = _connect(path)
            fmt = con.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
            if fmt is not None and fmt[0] == str(FORMAT_VERSION):
                con.executescript("DROP TABLE IF EXISTS pages; DROP TABLE IF EXISTS blocks; "
                                  "DROP TABLE IF EXISTS meta;")
                return con
            con.close()
        except sqlite3.DatabaseError:
            pass
        path.unlink()
    return _connect(path)


@dataclass
class IndexedPage:
    """One page, ready for the index: its cleaned HTML, block rows (path, source_path, kind,
    words, text, prior) and their vectors [n_blocks, dim]."""

    cleaned: str
    blocks: list[tuple[str, str | None, str, int, str, float]]
    vectors: np.ndarray


def index_page(data: bytes, max_words: int, enc: Any) -> IndexedPage | str:
    """Clean, split and embed one page (``data``: its bytes); the reason when it is skipped.
    The local build and the Ray actors both run this, so their indexes are the same."""
    try:
        raw_tree = build_block_tree(data, max_words)  # knows source elements
        cleaned = serialize(raw_tree.root) if raw_tree is not None else ""
        tree = build_block_tree(cleaned, max_words) if cleaned else None
    except PrunestackError as exc:
        return str(exc)
    if tree is None or not tree.blocks:
        return "no text"
    vecs = enc.encode([b.text for b in tree.blocks])  # [n_blocks, dim]
    same = raw_tree is not None and [b.path for b in raw_tree.blocks] == [
        b.path for b in tree.blocks]
    sources = [b.source_path for b in raw_tree.blocks] if same and raw_tree else [
        None] * len(tree.blocks)
    # priors from the ORIGINAL page (class names, roles); the cleaned copy has none
    priors = (block_priors(raw_tree.root, raw_tree.blocks) if same and raw_tree
              else block_priors(tree.root, tree.blocks))  # [n_blocks]
    return IndexedPage(cleaned, [(b.path, sources[i], b.kind, b.words, b.text, float(priors[i]))
                                 for i, b in enumerate(tree.blocks)], vecs)


def page_worker(encoder: str, max_words: int) -> Callable[[str, bytes], IndexedPage | str]:
    """What each Ray actor builds once: THE encoder of ``encoder`` loaded, then
    :func:`index_page`."""
    enc = registry().encoder(encoder)
    return lambda _path, data: index_page(data, max_words, enc)


def _pages_on_ray(files: list[Path], encoder: Path, max_words: int, address: str | None,
                  num_workers: int | None) -> Iterator[tuple[Path, IndexedPage | str]]:
    """(file, page or skip reason) in ``files`` order, computed by Ray actors; a page that comes
    back early waits for those before it (so the index is the one the local build writes)."""
    from prunestack.scaleout import Failure, map_files, ray_session

    order = {str(f): i for i, f in enumerate(files)}
    ready: dict[int, IndexedPage | str] = {}
    nxt = 0
    with ray_session(address) as ray:
        workers = num_workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        for path, res in map_files([str(f) for f in files], page_worker,
                                   (str(encoder), max_words), num_workers=workers):
            ready[order[path]] = (f"worker failed: {res.error}" if isinstance(res, Failure)
                                  else res)
            while nxt in ready:
                yield files[nxt], ready.pop(nxt)
                nxt += 1


class HtmlIndex:
    def __init__(self, folder: Path, index: Any, con: sqlite3.Connection, meta: dict[str, str],
                 encoder: Any = None) -> None:
        self.folder, self.index, self.con, self.meta = folder, index, con, meta
        self._encoder = encoder
        self.max_words = int(meta["max_words"])

    # -- build ----------------------------------------------------------------------------------
    @classmethod
    def build(cls, src: str | Path, out: str | Path, encoder: str | Path | None = None,
              max_words: int = 128, progress: bool = False, ray: bool = False,
              address: str | None = None, num_workers: int | None = None,
              files: list[Path] | None = None) -> BuildStats:
        """Index every page under ``src`` into ``out`` (``files``: these pages instead, named
        relative to ``src``; may be empty when the folder holds only documents). With ``ray``,
        pages are cleaned, split and embedded in a pool of Ray actors
        (:func:`prunestack.scaleout.map_files`; ``address`` and ``num_workers`` as there), each
        holding the encoder once; the files written are the same as without it (pages in the
        same order, the same vectors). Document entries of an index of this format are kept."""
        import faiss

        src, out = Path(src), Path(out)
        if files is None:
            if not src.is_dir():
                raise InputError(f"not a folder: {src}", "pass a folder of .html files")
            files = sorted(p for p in src.rglob("*")
                           if p.suffix.lower() in SUFFIXES and p.is_file())
            if not files:
                raise InputError(f"no .html/.htm files under {src}")
        if max_words < 1:
            raise ConfigError(f"max_words must be >= 1, got {max_words}")
        folder = Path(encoder) if encoder is not None else minilm_path()
        if ray:  # the driver never loads the encoder: its size comes from the folder
            dim = int(json.loads((check_folder(folder) / "config.json").read_text())[
                "hidden_size"])
        else:
            enc = registry().encoder(encoder)
            folder, dim = enc.folder, enc.dim
        out.mkdir(parents=True, exist_ok=True)
        (out / "index.faiss").unlink(missing_ok=True)
        con = _reset_store(out / "store.sqlite")
        con.executescript("""
            CREATE TABLE pages(id INTEGER PRIMARY KEY, source TEXT NOT NULL, html TEXT NOT NULL);
            CREATE TABLE blocks(id INTEGER PRIMARY KEY, page_id INTEGER NOT NULL, ord INTEGER,
                path TEXT, source_path TEXT, kind TEXT, words INTEGER, text TEXT, prior REAL);
            CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);""")
        index = faiss.IndexFlatIP(dim)
        skipped: list[tuple[str, str]] = []
        n_pages = n_blocks = 0
        pages = (_pages_on_ray(files, folder, max_words, address, num_workers) if ray else
                 ((f, index_page(f.read_bytes(), max_words, enc)) for f in files))
        if progress:
            from tqdm import tqdm

            pages = tqdm(pages, total=len(files), desc="indexing pages" + " (ray)" * ray,
                         unit="page")
        for f, page in pages:
            rel = str(f.relative_to(src))
            if isinstance(page, str):
                skipped.append((rel, page))
                continue
            if page.vectors.shape[1] != dim:
                raise ConfigError(f"{rel}: vectors of {page.vectors.shape[1]} dimensions, the "
                                  f"encoder's config says {dim}", "check the encoder folder")
            cur = con.execute("INSERT INTO pages(source, html) VALUES (?, ?)",
                              (rel, page.cleaned))
            con.executemany(
                "INSERT INTO blocks(id, page_id, ord, path, source_path, kind, words, text, "
                "prior) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(n_blocks + i, cur.lastrowid, i, *row) for i, row in enumerate(page.blocks)])
            index.add(page.vectors)
            n_blocks += len(page.blocks)
            n_pages += 1
        meta = {"format": str(FORMAT_VERSION), "encoder": str(folder), "dim": str(dim),
                "max_words": str(max_words), "pages": str(n_pages), "blocks": str(n_blocks)}
        con.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", list(meta.items()))
        con.commit()
        con.close()
        faiss.write_index(index, str(out / "index.faiss"))
        return BuildStats(n_pages, n_blocks, skipped)

    # -- load -----------------------------------------------------------------------------------
    @classmethod
    def load(cls, folder: str | Path, encoder: Any = None) -> HtmlIndex:
        import faiss

        folder = Path(folder)
        if not (folder / "index.faiss").is_file() or not (folder / "store.sqlite").is_file():
            raise InputError(f"{folder} is not an index (index.faiss / store.sqlite missing)",
                             "build one with `prunestack rag index DIR --out INDEX`")
        con = _connect(folder / "store.sqlite")
        try:
            meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError:
            con.close()
            raise InputError(f"{folder / 'store.sqlite'} is not an index store",
                             "rebuild the index") from None
        if meta.get("format") not in READABLE_FORMATS:
            con.close()
            raise InputError(f"index format {meta.get('format')} is not one of "
                             f"{', '.join(READABLE_FORMATS)}", "rebuild the index")
        index = faiss.read_index(str(folder / "index.faiss"))
        if index.ntotal != int(meta["blocks"]):
            raise InputError("index.faiss and store.sqlite disagree on the number of blocks",
                             "rebuild the index")
        return cls(folder, index, con, meta, encoder)

    @property
    def encoder(self) -> Any:
        if self._encoder is None:
            self._encoder = registry().encoder(self.meta["encoder"])
        return self._encoder

    def _page_tree(self, page_id: int) -> tuple[str, BlockTree]:
        source, html = self.con.execute("SELECT source, html FROM pages WHERE id = ?",
                                        (page_id,)).fetchone()
        tree = build_block_tree(html, self.max_words)
        stored = [r[0] for r in self.con.execute(
            "SELECT path FROM blocks WHERE page_id = ? ORDER BY ord", (page_id,))]
        if tree is None or [b.path for b in tree.blocks] != stored:
            raise InputError(f"stored blocks of {source} do not match its HTML",
                             "the index was built by another version; rebuild it")
        return source, tree

    # -- query ----------------------------------------------------------------------------------
    def query(self, question: str, budget: int, top_k: int = 200,
              tokenizer: str | Path | Any | None = None,
              boilerplate: BoilerplateConfig | None = None) -> RagResult:
        if not question.strip():
            raise InputError("question is empty")
        if budget < 0:
            raise ConfigError(f"budget must be >= 0, got {budget}")
        counter: TokenCounter = make_counter(tokenizer)
        if budget == 0 or self.index.ntotal == 0:
            return RagResult("", 0, budget)
        q = self.encoder.encode([question])  # [1, dim]
        sims, ids = self.index.search(q, min(top_k, self.index.ntotal))
        marks = ",".join("?" * len(ids[0]))
        rows = {r[0]: r for r in self.con.execute(
            f"SELECT id, page_id, ord, source_path, prior FROM blocks WHERE id IN ({marks})",
            [int(i) for i in ids[0]])}
        trees: dict[int, tuple[str, BlockTree]] = {}
        found: list[tuple[int, Block]] = []  # (page_id, block) in faiss order
        raw: list[float] = []
        priors: list[float] = []
        self._sources: dict[int, str | None] = {}
        for score, bid in zip(sims[0], ids[0], strict=True):
            if bid < 0:
                continue
            _, page_id, ord_, src_path, prior = rows[int(bid)]
            if page_id not in trees:
                trees[page_id] = self._page_tree(page_id)
            block = trees[page_id][1].blocks[ord_]
            self._sources[id(block)] = src_path
            found.append((page_id, block))
            raw.append(float(score))
            priors.append(prior or 0.0)
        adj = demote(np.array(raw), np.array(priors), (boilerplate or BoilerplateConfig()).weight)
        cands = [(float(a), page_id, block) for a, (page_id, block) in zip(adj, found,
                                                                           strict=True)]
        cands.sort(key=lambda c: -c[0])  # stable: equal scores keep faiss order
        return self._select(cands, trees, budget, counter)

    def _select(self, cands: list[tuple[float, int, Block]],
                trees: dict[int, tuple[str, BlockTree]], budget: int,
                counter: TokenCounter) -> RagResult:
        costs = counter.count_many([b.html for _, _, b in cands])
        opened: set[int] = set()
        chosen: list[int] = []
        used = 0
        for i, (_, page_id, b) in enumerate(cands):
            anc = [a for a in b.ancestors() if id(a) not in opened and a.tag not in
                   ("html", "head", "body")]
            extra = costs[i] + sum(counter.count(_start(a) + f"</{a.tag}>") for a in anc)
            if page_id not in opened:
                extra += counter.count(self._wrap(trees[page_id][0], ""))
            if used + extra <= budget:
                chosen.append(i)
                used += extra
                opened.update(id(a) for a in anc)
                opened.add(page_id)
        while chosen:
            html = self._assemble([cands[i] for i in chosen], trees)
            n = counter.count(html)
            if n <= budget:
                blocks = [{"page": trees[cands[i][1]][0], "path": cands[i][2].path,
                           "source_path": self._sources.get(id(cands[i][2])),
                           "score": cands[i][0], "text": cands[i][2].text} for i in chosen]
                return RagResult(html, n, budget, blocks)
            chosen.pop()  # lowest-scored goes first
        return RagResult("", 0, budget)

    @staticmethod
    def _wrap(source: str, inner: str) -> str:
        return f'<article data-source="{htmllib.escape(source, quote=True)}">{inner}</article>'

    def _assemble(self, kept: list[tuple[float, int, Block]],
                  trees: dict[int, tuple[str, BlockTree]]) -> str:
        """Pages ordered by their best block; blocks in document order inside each page."""
        by_page: dict[int, list[Block]] = {}
        for _, page_id, b in kept:
            by_page.setdefault(page_id, []).append(b)
        parts = []
        for page_id, blocks in by_page.items():
            source, tree = trees[page_id]
            order = {id(b): i for i, b in enumerate(tree.blocks)}
            blocks.sort(key=lambda b: order[id(b)])
            parts.append(self._wrap(source, render(tree.root, blocks, skeleton=False)))
        return "".join(parts)

    def stats(self) -> dict[str, Any]:
        return json.loads(json.dumps(self.meta)) | {"folder": str(self.folder)}

    def close(self) -> None:
        self.con.close()
