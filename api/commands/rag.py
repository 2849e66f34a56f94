"""`prunestack rag index DIR --out INDEX` and `prunestack rag query INDEX "question" --budget N`.

``index`` writes a faiss index + SQLite block store (see :mod:`retrieval.index`; with ``--ray``
the pages are embedded in Ray actors, the index is the same); ``query`` prints
the pruned context across pages, one ``<article data-source=...>`` per source page (``--json``
adds the kept blocks with page, path and score).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True)


@app.command("index")
def index_cmd(
    src: Annotated[Path, typer.Argument(help="folder of .html/.htm pages (searched recursively)")],
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
) -> None:
    """Clean, split and embed every page; write the index."""
    from prunestack.errors import ConfigError
    from prunestack.retrieval.index import HtmlIndex

    if not use_ray and (address is not None or num_workers is not None):
        raise ConfigError("--address and --num-workers apply to --ray", "add --ray")
    if num_workers is not None and num_workers < 1:
        raise ConfigError("--num-workers must be at least 1")
    stats = HtmlIndex.build(src, out, encoder=encoder, max_words=max_words, progress=True,
                            ray=use_ray, address=address, num_workers=num_workers)
    for page, reason in stats.skipped:
        typer.echo(f"skipped {page}: {reason}", err=True)
    typer.echo(f"indexed {stats.pages} pages, {stats.blocks} blocks -> {out}")


@app.command("query")
def query_cmd(
    index: Annotated[Path, typer.Argument(help="index folder")],
    question: Annotated[str, typer.Argument(help="the question")],
    budget: Annotated[int, typer.Option("--budget", "-b", help="max tokens of the output")],
    top_k: Annotated[int, typer.Option(help="candidate blocks from the vector search")] = 200,
    tokenizer: Annotated[Path | None, typer.Option(
        help="tokenizer folder that counts the budget (default: whitespace words)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON result")] = False,
) -> None:
    """Pruned context for QUESTION across the indexed pages, within BUDGET tokens."""
    from prunestack.retrieval.index import HtmlIndex

    ix = HtmlIndex.load(index)
    try:
        result = ix.query(question, budget, top_k=top_k, tokenizer=tokenizer)
    finally:
        ix.close()
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=1))
    else:
        typer.echo(result.html)
