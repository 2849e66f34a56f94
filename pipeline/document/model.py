"""The typed document model every area shares: Element, Page, Document (boxes: :mod:`.geometry`).

Coordinates are in page units with the origin at the top-left corner and y growing downwards
(PDF points for PDFs, pixels of the original image for images, 0 for HTML, which has no
geometry), always on the page as given: a page whose layout was worked out in another frame (a
levelled scan, sideways text) says so in ``Page.frame``, and its boxes have been mapped back.
Every element carries its page number (1-based), its box, its text, a confidence in [0, 1] and
the source it came from. This module holds data, and copies of it with boxes moved through a
frame (``Page.placed`` onto the page, ``Document.levelled`` onto a scan's levelled page): no
parsing, no I/O beyond JSON (de)serialisation.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from prunestack.pipeline.document.geometry import IDENTITY, BBox, PageFrame


class ElementKind(StrEnum):
    TITLE = "title"
    HEADING = "heading"
    TEXT = "text"
    LIST_ITEM = "list_item"
    TABLE = "table"
    FIGURE = "figure"
    CAPTION = "caption"
    KEY_VALUE = "key_value"
    HEADER = "header"
    FOOTER = "footer"
    PAGE_NUMBER = "page_number"
    SIDEBAR = "sidebar"


#: Kinds that are page furniture (MoDora's per-page supplement), not body content.
FURNITURE_KINDS = frozenset(
    {ElementKind.HEADER, ElementKind.FOOTER, ElementKind.PAGE_NUMBER, ElementKind.SIDEBAR}
)


class Source(StrEnum):
    PDF_TEXT = "pdf-text"
    OCR = "ocr"
    HTML = "html"
    TEXT = "text"


class TableCell(BaseModel):
    model_config = ConfigDict(extra="forbid")

    row: int
    col: int
    text: str
    bbox: BBox | None = None
    row_span: int = 1
    col_span: int = 1


class TextLine(BaseModel):
    """One printed line (or line piece) of a multi-line element, with its own box."""

    model_config = ConfigDict(extra="forbid")

    text: str
    bbox: BBox


class Element(BaseModel):
    """One piece of page content: a line group, heading, table, key-value pair, figure..."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="stable id within the document, e.g. 'p1-e7'")
    kind: ElementKind
    text: str
    page: int = Field(ge=1)
    bbox: BBox
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)
    source: Source
    level: int | None = Field(
        default=None, description="heading level (1 = top) for titles/headings"
    )
    # Tables: cells in row-major order. Key-value pairs: key and value separately.
    cells: list[TableCell] | None = None
    key: str | None = None
    value: str | None = None
    value_bbox: BBox | None = None
    # Optional style facts the layout step uses (font size in points, bold).
    font_size: float | None = None
    bold: bool | None = None
    # The printed lines of an element the layout step joined from several (OCR lines, text-layer
    # lines), each with its box; kept in memory for line-level readers (the learned field
    # scorer), left out of serialised documents.
    lines: list[TextLine] | None = Field(default=None, exclude=True)

    @property
    def is_furniture(self) -> bool:
        return self.kind in FURNITURE_KINDS

    def moved(self, to: Callable[[BBox], BBox]) -> Element:
        """This element with every box it holds (its own, a key-value pair's value box, table
        cells' boxes) passed through ``to``."""
        update: dict[str, Any] = {"bbox": to(self.bbox)}
        if self.value_bbox is not None:
            update["value_bbox"] = to(self.value_bbox)
        if self.cells:
            update["cells"] = [c.model_copy(update={"bbox": to(c.bbox)}) if c.bbox is not None
                               else c for c in self.cells]
        if self.lines:
            update["lines"] = [ln.model_copy(update={"bbox": to(ln.bbox)}) for ln in self.lines]
        return self.model_copy(update=update)

    def table_rows(self) -> list[list[str]]:
        """The table as a dense list of rows (empty strings where no cell starts)."""
        if not self.cells:
            return []
        n_rows = max(c.row for c in self.cells) + 1
        n_cols = max(c.col for c in self.cells) + 1
        grid = [["" for _ in range(n_cols)] for _ in range(n_rows)]
        for c in self.cells:
            grid[c.row][c.col] = c.text
        return grid


class Page(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: int = Field(ge=1)
    width: float = Field(ge=0)
    height: float = Field(ge=0)
    elements: list[Element] = Field(default_factory=list)
    ocr_backend: str | None = Field(
        default=None, description="set when the page text came from OCR"
    )
    frame: PageFrame | None = Field(
        default=None, description="the frame the layout step worked in, when it was not the page "
        "itself (a levelled scan, sideways text); the boxes are on the page all the same")
    levelled: bool = Field(default=False, description="the boxes are on the levelled page "
                           "(Document.levelled), not on the page as scanned")

    def placed(self, frame: PageFrame | None) -> Page:
        """This page, laid out in ``frame``, on the page itself: every element's boxes through
        ``frame.to_page``, the frame kept. A tilt turns boxes within the page's own rectangle;
        only the frame's matrix (a quarter turn) gives the page another size."""
        if frame is None:
            return self
        width, height = (self.width, self.height) if frame.matrix == IDENTITY else \
            frame.page_size
        return self.model_copy(update={
            "width": width, "height": height, "frame": frame,
            "elements": [e.moved(frame.to_page) for e in self.elements]})


class Document(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source_name: str = ""
    mime_type: str
    pages: list[Page] = Field(default_factory=list)
    metadata: dict[str, str] = Field(default_factory=dict)

    def elements(self) -> list[Element]:
        return [e for p in self.pages for e in p.elements]

    def levelled(self) -> Document:
        """This document with the boxes of every levelled scan page on its levelled page
        (``PageFrame.level``: where its rows are level, for reasoning about rows and columns);
        the frames stay, so ``PageFrame.unlevel`` takes a box back onto the page."""
        def todo(p: Page) -> bool:
            return p.frame is not None and bool(p.frame.tilt) and not p.levelled

        if not any(todo(p) for p in self.pages):
            return self  # nothing tilted, or levelled already: levelling twice would move boxes
        return self.model_copy(update={"pages": [
            p.model_copy(update={"levelled": True, "elements": [
                e.moved(p.frame.level) for e in p.elements]})  # type: ignore[union-attr]
            if todo(p) else p for p in self.pages]})

    def element(self, element_id: str) -> Element:
        for e in self.elements():
            if e.id == element_id:
                return e
        raise KeyError(element_id)

    @property
    def text(self) -> str:
        return "\n".join(e.text for e in self.elements() if e.text)
