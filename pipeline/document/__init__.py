"""The typed document every area shares (layer 2): BBox, PageFrame, Element, Page, Document.

Parsers build it, retrieval and extraction read it; it holds data and box maths only (see
:mod:`.model` and :mod:`.geometry`).
"""

from prunestack.pipeline.document.geometry import BBox, PageFrame, TiltBand
from prunestack.pipeline.document.model import (
    FURNITURE_KINDS,
    Document,
    Element,
    ElementKind,
    Page,
    Source,
    TableCell,
    TextLine,
)

__all__ = ["FURNITURE_KINDS", "BBox", "Document", "Element", "ElementKind", "Page", "PageFrame",
           "Source", "TableCell", "TextLine", "TiltBand"]
