"""What the PDF text layer and every OCR backend hand to the layout step: words and lines.

``parsers.pdf`` and ``parsers.ocr`` produce ``PageLines`` (one per page); ``parsers.layout`` turns
them into ``Element``s of a ``Page``. Nothing here reads files.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from prunestack.pipeline.document import BBox, PageFrame, Source


class Word(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str
    bbox: BBox
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)
    font_size: float | None = None
    bold: bool | None = None
    #: position in the PDF's drawing order (pdfium's character index of the first glyph); None
    #: from OCR. The layout step asks it when columns and rows disagree (``parsers.layout``).
    order: int | None = None


class Line(BaseModel):
    """Words on one baseline, left to right, separated by single spaces in ``text``."""

    model_config = ConfigDict(extra="forbid")

    words: list[Word]
    bbox: BBox
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def font_size(self) -> float | None:
        sizes = [w.font_size for w in self.words if w.font_size]
        return max(sizes) if sizes else None

    @property
    def bold(self) -> bool | None:
        flags = [w.bold for w in self.words if w.bold is not None]
        return all(flags) if flags else None


class PageLines(BaseModel):
    """One page's lines. With a ``frame`` they (and ``width`` × ``height``) are in that frame —
    a levelled scan, sideways text read upright — not on the page itself."""

    model_config = ConfigDict(extra="forbid")

    number: int = Field(ge=1)
    width: float
    height: float
    lines: list[Line]
    source: Source
    ocr_backend: str | None = None
    frame: PageFrame | None = None
    #: the words' drawing order (``Word.order``) is the reading order: the OCR layer of a
    #: scanned PDF, drawn by an OCR engine that read the image (``parsers.pdf``)
    drawn_order: bool = False
