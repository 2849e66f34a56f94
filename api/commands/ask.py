"""`prunestack ask FILE "question" [--budget 256] [--format text|json] [--engine ... --model DIR]`.

Prints the answer and its evidence (``--format text``, the default) or the whole result as JSON
(``--format json``: ``{question, question_type, answer, answer_provenance, evidence: [{text, page,
bbox, path, score}], timings}``). ``--index INDEX`` reads the parsed document from an index
written by ``prunestack rag index`` when it holds the file's bytes. The work is
:func:`prunestack.pipeline.ask.ask_source`; errors are
:class:`prunestack.errors.PrunestackError`, printed as one line by ``api.cli.main``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from prunestack.errors import ConfigError


def ask_cmd(
    file: Annotated[Path, typer.Argument(help="PDF, image or HTML file.")],
    question: Annotated[str, typer.Argument(help="The question.")],
    budget: Annotated[int, typer.Option("--budget", "-b", help="Evidence budget in words.")]
    = 256,
    fmt: Annotated[str, typer.Option("--format", help="text | json")] = "text",
    engine: Annotated[str, typer.Option(help="extractive (offline, default) | generative")]
    = "extractive",
    model: Annotated[Path | None, typer.Option(
        "--model", help="Local causal LM folder (generative).")] = None,
    encoder: Annotated[Path | None, typer.Option(
        "--encoder", help="Sentence encoder folder (default: MiniLM).")] = None,
    ocr: Annotated[str, typer.Option(
        help="auto | rapidocr | tesseract | paddleocr | rapidocr+tesseract")] = "auto",
    pages: Annotated[str | None, typer.Option(help="Pages, e.g. 1-3.")] = None,
    index: Annotated[Path | None, typer.Option(
        "--index", help="Index folder (prunestack rag index): read the parsed document from it "
        "when it holds these bytes; parse otherwise (timings say index_miss / index_stale).")]
    = None,
) -> None:
    """Answer QUESTION from FILE: evidence within the budget (in reading order) and an answer."""
    from prunestack.models import check_folder
    from prunestack.pipeline.ask.core import ask_source, check_question

    if fmt not in ("text", "json"):
        raise ConfigError(f"unknown format {fmt!r}", "text or json")
    if model is not None and engine != "generative":
        raise ConfigError("--model applies to the generative engine", "add --engine generative")
    check_question(question, budget, engine, model)
    for folder in (model, encoder):
        if folder is not None:
            check_folder(folder)  # a missing folder is named before any parsing
    res = ask_source(file, question, budget, engine=engine,  # type: ignore[arg-type]
                     model_dir=model, encoder_dir=encoder, ocr=ocr, pages=pages, index=index)
    for flag, why in (("index_miss", "is not in"), ("index_stale", "is stale in")):
        if res.timings.get(flag):
            typer.echo(f"note: {file.name} {why} {index}; parsed it", err=True)
    typer.echo(res.model_dump_json(indent=1) if fmt == "json" else res.to_text())


def register(app: typer.Typer) -> None:
    app.command("ask")(ask_cmd)
