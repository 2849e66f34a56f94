"""`prunestack parse FILE`: parse a PDF, image or HTML file and print its CCTree.

Formats: ``tree`` (indented outline, default), ``markdown``, ``json`` (the CCTree JSON; schema in
docs/cctree.md). The file type comes from the bytes, not the name. Bad input raises a
``PrunestackError`` that ``api.cli.main`` prints as one line on stderr with a non-zero exit.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer


class OutputFormat(StrEnum):
    JSON = "json"
    MARKDOWN = "markdown"
    TREE = "tree"


class OcrChoice(StrEnum):
    AUTO = "auto"
    RAPIDOCR = "rapidocr"
    TESSERACT = "tesseract"
    PADDLEOCR = "paddleocr"
    RAPIDOCR_TESSERACT = "rapidocr+tesseract"


def parse_command(
    file: Path = typer.Argument(..., help="PDF, image (PNG/JPEG/TIFF/WebP/BMP/GIF) or HTML file."),
    format: OutputFormat = typer.Option(OutputFormat.TREE, "--format", "-f",
                                        help="Output: json | markdown | tree."),
    ocr: OcrChoice = typer.Option(OcrChoice.AUTO, "--ocr",
                                  help="OCR backend for images and pages without a text layer."),
    pages: str | None = typer.Option(None, "--pages", help="Pages to read, e.g. 1-3,5 (PDF)."),
    dpi: int = typer.Option(200, "--dpi", min=200, max=600,
                            help="Render resolution for OCR'd PDF pages."),
    force_ocr: bool = typer.Option(False, "--force-ocr",
                                   help="OCR PDF pages even when they have a text layer."),
) -> None:
    """Parse FILE into a document tree (CCTree) and print it."""
    from prunestack.parsers.cctree import build_cctree
    from prunestack.parsers.ingest import parse
    from prunestack.parsers.serialize import to_json, to_markdown, to_tree

    doc = parse(file, ocr=ocr.value, pages=pages, dpi=dpi, force_ocr=force_ocr)
    tree = build_cctree(doc)
    render = {OutputFormat.JSON: to_json, OutputFormat.MARKDOWN: to_markdown,
              OutputFormat.TREE: to_tree}[format]
    typer.echo(render(tree))


def register(app: typer.Typer) -> None:
    """Add ``parse`` to the root app."""
    app.command("parse")(parse_command)
