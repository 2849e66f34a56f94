"""Plain text in, ``Document`` out: one page, one TEXT element per paragraph.

Paragraphs are separated by blank lines; each element's box spans its lines (one unit per line,
zero width: plain text has no geometry beyond line order); text with a lone surrogate is an
``InputError`` (``parsers.charset.require_text``). This module does not guess whether
text is HTML (callers route HTML to :mod:`prunestack.parsers.html`) and does not OCR.
"""

from __future__ import annotations

from prunestack.errors import InputError
from prunestack.parsers.charset import require_text
from prunestack.pipeline.document import BBox, Document, Element, ElementKind, Page, Source


def text_document(text: str, name: str = "text") -> Document:
    """Plain text as a one-page Document: one element per paragraph, one line box per line."""
    if not require_text(text).strip():
        raise InputError("the text is empty")
    elements = []
    y = 0.0
    for i, para in enumerate(p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()):
        n = len(para.strip().splitlines())
        elements.append(Element(id=f"p1-e{i}", kind=ElementKind.TEXT, text=para.strip(), page=1,
                                bbox=BBox(x0=0, y0=y, x1=0, y1=y + n), source=Source.TEXT))
        y += n + 1
    return Document(source_name=name, mime_type="text/plain",
                    pages=[Page(number=1, width=0, height=y, elements=elements)])
