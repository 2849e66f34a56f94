"""The synchronous work behind the routes (run in worker threads by the limiter).

Bytes are sniffed, page counts checked against the limit before any parsing, and documents
parsed with ``parsers.ingest``; extraction goes through :mod:`pipeline.extract` with the models
the app loaded at start-up. Page images are rendered here with pypdfium2 (PDF) or Pillow (images).
Nothing in this module knows about HTTP.
"""

from __future__ import annotations

import io
import time
from typing import Any

from prunestack.errors import InputError, PrunestackError, TooLargeError, UnsupportedTypeError
from prunestack.pipeline.document import Document
from prunestack.pipeline.schema import LoadedSchema


def sniff(data: bytes) -> str:
    """The MIME type of ``data`` from its first bytes (never from a file name).

    The same detection as ``prunestack parse`` (``parsers.detect``): a PDF behind leading
    whitespace, an HTML page that starts with ``<div>`` or a comment, an XHTML page with an XML
    declaration are all recognised here too; anything else is ``application/octet-stream``."""
    from prunestack.parsers.detect import detect_type

    try:
        return detect_type(data).value
    except PrunestackError:
        return "application/octet-stream"


def pdf_page_count(data: bytes) -> int:
    from prunestack.parsers.pdf import page_count

    return page_count(data)


def check_pages(data: bytes, mime: str, max_pages: int) -> None:
    if mime == "application/pdf":
        n = pdf_page_count(data)
        if n > max_pages:
            raise TooLargeError(f"the PDF has {n} pages; this server reads at most {max_pages}",
                                "split the document or ask for fewer pages")
    elif mime == "image/tiff":  # every page of a multi-page TIFF is OCR'd: count them first
        from prunestack.parsers.image import count_pages

        try:
            n = count_pages(data)
        except InputError:
            return  # the parser reports the damage
        if n > max_pages:
            raise TooLargeError(f"the TIFF has {n} pages; this server reads at most {max_pages}",
                                "split the document or ask for fewer pages")


def parse_bytes(data: bytes, ocr: str = "auto", pages: str | None = None,
                max_pages: int = 50, name: str = "upload") -> Document:
    if not data:
        raise InputError("the uploaded file is empty")
    from prunestack.parsers.detect import detect_type

    mime = detect_type(data).value  # UnsupportedTypeError says what the bytes start with
    check_pages(data, mime, max_pages)
    if mime == "text/html":
        from prunestack.parsers.html import parse_html  # type: ignore[import-not-found]

        doc = parse_html(data)
    else:
        from prunestack.parsers.ingest import parse  # type: ignore[import-not-found]

        doc = parse(data, ocr=ocr, pages=pages)
    if len(doc.pages) > max_pages:
        raise TooLargeError(f"the document has {len(doc.pages)} pages; the limit is {max_pages}")
    if name and not doc.source_name:
        doc.source_name = name
    return doc


def extract_bytes(data: bytes, schema: LoadedSchema, *, engine: str, embedder: Any,
                  model: tuple[Any, Any] | None, ocr: str, pages: str | None,
                  max_pages: int, name: str) -> Any:
    from prunestack.pipeline.extract import extract_document

    t = time.perf_counter()
    doc = parse_bytes(data, ocr=ocr, pages=pages, max_pages=max_pages, name=name)
    parse_s = time.perf_counter() - t
    m, tok = model if model else (None, None)
    res = extract_document(doc, schema, engine, embedder=embedder,  # type: ignore[arg-type]
                           model=m, tokenizer=tok)
    res.timings["parse"] = round(parse_s, 4)
    res.timings["total"] = round(res.timings.get("total", 0.0) + parse_s, 4)
    return res


def render_page(data: bytes, mime: str, page: int, scale: float) -> bytes:
    """PNG bytes of one page (1-based) at ``scale`` × 72 dpi (PDF) or of the image itself."""

    if mime == "application/pdf":
        from prunestack.parsers.pdf import flattened_page, open_pdf

        with open_pdf(data) as pdf:
            if not 1 <= page <= len(pdf):
                raise InputError(f"page {page} out of range 1..{len(pdf)}")
            # filled form fields drawn in, as the parser read them
            img = flattened_page(pdf, page).render(scale=scale).to_pil()
    elif mime.startswith("image/"):
        from prunestack.parsers.image import MAX_PIXELS, load_pages

        # as the parser sees it: upright (EXIF), transparency on white, every TIFF page; full size
        # (load_pages refuses a page number out of range)
        img = load_pages(data, work_pixels=MAX_PIXELS, pages=[page])[0][0]
    else:
        raise UnsupportedTypeError(f"no page images for {mime}")
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="PNG", optimize=False)
    return buf.getvalue()
