"""`prunestack rag index SRC --out INDEX` and `prunestack rag query INDEX "question" --budget N`.

``index`` takes a folder (searched recursively) or one file: HTML pages become a faiss index +
SQLite block store (see :mod:`retrieval.index`; with ``--ray`` the pages are embedded in Ray
actors, the index is the same), PDFs and images are parsed once by the ask pipeline and stored
with their evidence units and MiniLM vectors (:mod:`pipeline.ask.indexed`); a rebuild re-parses
only documents whose bytes, parser or encoder changed. ``query`` prints the pruned HTML context
across pages, one ``<article data-source=...>`` per source page, and the evidence across the
indexed documents (each with its document, page, path and score); ``--json`` prints both as
JSON (``html``, ``tokens``, ``blocks`` for pages; ``documents``: ``ask``'s evidence result).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True)


@app.command("index")
def index_cmd(
    src: Annotated[Path, typer.Argument(
        help="folder (searched recursively) or file: .html/.htm pages, PDFs, images")],
    out: Annotated[Path, typer.Option("--out", "-o", help="index folder to write")],
    encoder: Annotated[Path | None, typer.Option(help="encoder folder (default MiniLM)")] = None,
    max_words: Annotated[int, typer.Option(help="block size in words")] = 128,
    use_ray: Annotated[bool, typer.Option(
        "--ray", help="clean, split and embed in Ray actors (pip install 'prunestack[ray]'); "
        "the same index")] = False,
    address: Annotated[str | None, typer.Option(
        help="--ray: auto | ray://HOST:10001 | HOST:6379; none: a local Ray runtime")] = None,
    num_workers: Annotated[int | None, typer.Option(
        "--num-workers", help="--ray: actors (default: the cluster's CPUs)")] = None,
    ocr: Annotated[str, typer.Option(
        help="documents: auto | rapidocr | tesseract | paddleocr | rapidocr+tesseract")]
    = "auto",
) -> None:
    """Clean, split and embed every page; parse and embed every document; write the index."""
    from prunestack.errors import ConfigError
    from prunestack.pipeline.ask.indexed import build_index

    if not use_ray and (address is not None or num_workers is not None):
        raise ConfigError("--address and --num-workers apply to --ray", "add --ray")
    if num_workers is not None and num_workers < 1:
        raise ConfigError("--num-workers must be at least 1")
    rep = build_index(src, out, encoder=encoder, max_words=max_words, ocr=ocr, progress=True,
                      ray=use_ray, address=address, num_workers=num_workers)
    for name, reason in rep.skipped:
        typer.echo(f"skipped {name}: {reason}", err=True)
    docs = len(rep.documents) + len(rep.reused)
    typer.echo(f"indexed {rep.pages} pages, {rep.blocks} blocks, {docs} documents "
               f"({len(rep.documents)} parsed, {len(rep.reused)} unchanged), {rep.units} units "
               f"-> {out}")


@app.command("query")
def query_cmd(
    index: Annotated[Path, typer.Argument(help="index folder")],
    question: Annotated[str, typer.Argument(help="the question")],
    budget: Annotated[int, typer.Option(
        "--budget", "-b", help="max tokens of the HTML output; max words of the evidence")],
    top_k: Annotated[int, typer.Option(help="candidate blocks from the vector search")] = 200,
    tokenizer: Annotated[Path | None, typer.Option(
        help="tokenizer folder that counts the budget (default: whitespace words)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON result")] = False,
) -> None:
    """Pruned context for QUESTION across the indexed pages, within BUDGET tokens, and evidence
    across the indexed documents, within BUDGET words."""
    from prunestack.pipeline.ask.indexed import query_index
    from prunestack.retrieval import docstore
    from prunestack.retrieval.index import HtmlIndex

    ix = HtmlIndex.load(index)
    try:
        pages = int(ix.meta.get("pages", 0))
        result = ix.query(question, budget, top_k=top_k, tokenizer=tokenizer) if pages else None
        n_docs = len(docstore.list_documents(ix.con))
    finally:
        ix.close()
    docs = query_index(index, question, budget) if n_docs or result is None else None
    for name in docs.rebuilt if docs is not None else []:
        typer.echo(f"re-indexed {name} (stale)", err=True)
    if as_json:
        out = result.to_dict() if result is not None else {}
        if docs is not None:
            out["documents"] = docs.model_dump()
        typer.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    if result is not None:
        typer.echo(result.html)
    if docs is not None:
        typer.echo(docs.to_text())
