"""`prunestack html clean FILE` and `prunestack html prune FILE --query Q --budget N`.

Both print HTML to stdout (``--json`` for prune prints the kept paths, token count and scores too).
Errors are :class:`prunestack.errors.PrunestackError`, printed as one line by ``api.cli.main``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from prunestack.errors import ConfigError

app = typer.Typer(no_args_is_help=True)


def _read(path: Path) -> bytes:
    # the file checks every input gets: missing, not a file, over the size limit
    from prunestack.parsers.ingest import read_input

    return read_input(path)[0]


@app.command("clean")
def clean_cmd(
    file: Annotated[Path, typer.Argument(help="HTML file")],
    keep_href: Annotated[bool, typer.Option("--keep-href", help="keep link targets")] = False,
    encoding: Annotated[str | None, typer.Option(help="page encoding if undeclared")] = None,
) -> None:
    """Clean a page: drop scripts, styles, attributes and empty tags; keep tables and structure."""
    from prunestack.retrieval.clean import CleanConfig, clean_html

    typer.echo(clean_html(_read(file), CleanConfig(keep_href=keep_href), encoding=encoding))


@app.command("prune")
def prune_cmd(
    file: Annotated[Path, typer.Argument(help="HTML file")],
    query: Annotated[str, typer.Option("--query", "-q", help="the question")],
    budget: Annotated[int, typer.Option("--budget", "-b", help="max tokens of the output")],
    pruner: Annotated[str, typer.Option(
        help="bm25 | embed | hybrid (BM25 + MiniLM ranks fused) | auto (hybrid on English "
             "pages, bm25 on others) | gen | two-step")] = "bm25",
    model: Annotated[Path | None, typer.Option(help="causal LM folder (gen, two-step)")] = None,
    encoder: Annotated[Path | None, typer.Option(
        help="encoder folder for embed / hybrid / auto (default MiniLM)")] = None,
    tokenizer: Annotated[Path | None, typer.Option(
        help="tokenizer folder that counts the budget (default: words of the output's text)")
    ] = None,
    max_words: Annotated[int, typer.Option(help="block size in words")] = 256,
    coarse: Annotated[str, typer.Option(help="two-step coarse pruner: bm25 | embed")] = "bm25",
    keep_href: Annotated[bool, typer.Option("--keep-href")] = False,
    boilerplate_weight: Annotated[float, typer.Option(
        help="demote nav/footer/cookie/share/related blocks: score x (1 - w x prior); 0 = off")
    ] = 0.8,
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON result")] = False,
) -> None:
    """Keep the blocks of a page most relevant to QUERY within BUDGET tokens; print the HTML."""
    from prunestack.retrieval.prune import PruneConfig, prune_html

    try:
        cfg = PruneConfig(pruner=pruner, max_words=max_words, coarse=coarse,  # type: ignore[arg-type]
                          keep_href=keep_href, boilerplate={"weight": boilerplate_weight})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(k) for k in first["loc"])
        raise ConfigError(f"invalid option {where}: {first['msg']}") from exc
    result = prune_html(_read(file), query, budget, cfg.pruner, model=model, encoder=encoder,
                        tokenizer=tokenizer, config=cfg)
    if as_json:
        typer.echo(json.dumps(result.model_dump(), ensure_ascii=False, indent=1))
    else:
        typer.echo(result.html)
