"""The typed document every area shares (layer 2): BBox, Element, Page, Document.

Parsers build it, retrieval and extraction read it; it holds data only (see :mod:`.model`).
"""

from prunestack.pipeline.document.model import (
    FURNITURE_KINDS,
    BBox,
    Document,
    Element,
    ElementKind,
    Page,
    Source,
    TableCell,
)

__all__ = ["FURNITURE_KINDS", "BBox", "Document", "Element", "ElementKind", "Page", "Source",
           "TableCell"]
