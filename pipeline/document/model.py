"""The typed document model every area shares: BBox, Element, Page, Document.

Coordinates are in page units with the origin at the top-left corner and y growing downwards
(PDF points for PDFs, pixels for images, 0 for HTML, which has no geometry). Every element carries
its page number (1-based), its box, its text, a confidence in [0, 1] and the source it came from.
This module holds data only: no parsing, no I/O beyond JSON (de)serialisation.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator


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


class BBox(BaseModel):
    """An axis-aligned box (x0, y0) top-left to (x1, y1) bottom-right, in page units."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    x0: float
    y0: float
    x1: float
    y1: float

    @model_validator(mode="after")
    def _ordered(self) -> BBox:
        if self.x1 < self.x0 or self.y1 < self.y0:
            raise ValueError(f"box corners out of order: {self}")
        return self

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    def union(self, other: BBox) -> BBox:
        return BBox(
            x0=min(self.x0, other.x0),
            y0=min(self.y0, other.y0),
            x1=max(self.x1, other.x1),
            y1=max(self.y1, other.y1),
        )

    def intersects(self, other: BBox) -> bool:
        return not (
            other.x0 > self.x1 or other.x1 < self.x0 or other.y0 > self.y1 or other.y1 < self.y0
        )

    @staticmethod
    def enclosing(boxes: list[BBox]) -> BBox:
        if not boxes:
            raise ValueError("no boxes to enclose")
        out = boxes[0]
        for b in boxes[1:]:
            out = out.union(b)
        return out


class TableCell(BaseModel):
    model_config = ConfigDict(extra="forbid")

    row: int
    col: int
    text: str
    bbox: BBox | None = None
    row_span: int = 1
    col_span: int = 1


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

    @property
    def is_furniture(self) -> bool:
        return self.kind in FURNITURE_KINDS

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


class Document(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source_name: str = ""
    mime_type: str
    pages: list[Page] = Field(default_factory=list)
    metadata: dict[str, str] = Field(default_factory=dict)

    def elements(self) -> list[Element]:
        return [e for p in self.pages for e in p.elements]

    def element(self, element_id: str) -> Element:
        for e in self.elements():
            if e.id == element_id:
                return e
        raise KeyError(element_id)

    @property
    def text(self) -> str:
        return "\n".join(e.text for e in self.elements() if e.text)
