"""The synchronous work behind the routes (run in worker threads by the limiter).

An upload is read once into a ``parsers.ingest.Upload`` (type sniffed from the bytes, pages
counted, HTML decoded), its page count and, for HTML, its decoded text checked against the limits
before any parsing, and the same ``Upload`` parsed with ``parsers.ingest.parse`` (images decoded
within ``max_pixels``); the parsed document's text is held to the same character limit as a JSON
body's, whatever form it came in. Extraction goes through :mod:`pipeline.extract` with the models
the app loaded at start-up. Page images are rendered here with pypdfium2 (PDF, the scale lowered
so that a page stays within ``max_pixels``) or Pillow (images, shrunk to ``max_pixels``). Answers
are turned into JSON text here too (:func:`json_bytes`, :func:`json_object`: models written by
pydantic straight to JSON, 3-4x faster than a dict through ``json.dumps``), so a 50 MB answer is
encoded in the worker, not on the event loop. Nothing in this module knows about HTTP.
"""

from __future__ import annotations

import io
import json
import math
import time
from typing import Any

from pydantic import BaseModel, TypeAdapter

from prunestack.errors import InputError, TooLargeError, UnsupportedTypeError
from prunestack.parsers.detect import FileType
from prunestack.parsers.image import MAX_PIXELS, load_pages
from prunestack.parsers.ingest import Upload, parse, read_upload
from prunestack.parsers.pdf import flattened_page, open_pdf
from prunestack.pipeline.document import Document
from prunestack.pipeline.extract import extract_document
from prunestack.pipeline.schema import LoadedSchema


def open_upload(data: bytes, max_pages: int, name: str = "upload",
                max_text_chars: int | None = None) -> Upload:
    """``data`` read once (``parsers.ingest.read_upload``: type from the bytes, pages counted,
    HTML decoded) and checked against the page limit and, for HTML, the character limit of its
    decoded text, before any parsing."""
    if not data:
        raise InputError("the uploaded file is empty")
    upload = read_upload(data, name)  # UnsupportedTypeError says what the bytes start with
    if upload.pages > max_pages:
        what = {FileType.PDF: "PDF", FileType.TIFF: "TIFF"}.get(upload.kind, "document")
        raise TooLargeError(f"the {what} has {upload.pages} pages; this server reads at most "
                            f"{max_pages}", "split the document or ask for fewer pages")
    if upload.text is not None and max_text_chars is not None:
        check_text_chars(len(upload.text), max_text_chars, "the HTML, once decoded,")
    return upload


def check_text_chars(n: int, limit: int, what: str) -> None:
    """``TooLargeError`` (413) when ``n`` characters of text pass ``limit`` (the server's
    ``max_text_chars``)."""
    if n > limit:
        raise TooLargeError(f"{what} has {n:,} characters of text, over the limit of {limit:,}",
                            "send a shorter document, or raise max_text_chars "
                            "(PRUNESTACK_MAX_TEXT_CHARS)")


def parse_upload(upload: Upload, ocr: str = "auto", pages: str | None = None,
                 max_pixels: int = MAX_PIXELS, max_text_chars: int | None = None) -> Document:
    """The upload parsed (images decoded at most ``max_pixels`` per page), its text held to
    ``max_text_chars``: a PDF's text layer can hold far more than its bytes suggest."""
    doc = parse(upload, ocr=ocr, pages=pages, max_pixels=max_pixels)
    if max_text_chars is not None:
        n = sum(len(e.text) for p in doc.pages for e in p.elements)
        check_text_chars(n, max_text_chars, "the parsed document")
    return doc


def extract_upload(upload: Upload, schema: LoadedSchema, *, engine: str, embedder: Any,
                   model: tuple[Any, Any] | None, ocr: str, pages: str | None,
                   max_pixels: int = MAX_PIXELS, max_text_chars: int | None = None) -> Any:
    t = time.perf_counter()
    doc = parse_upload(upload, ocr=ocr, pages=pages, max_pixels=max_pixels,
                       max_text_chars=max_text_chars)
    parse_s = time.perf_counter() - t
    m, tok = model if model else (None, None)
    res = extract_document(doc, schema, engine, embedder=embedder,  # type: ignore[arg-type]
                           model=m, tokenizer=tok)
    res.timings["parse"] = round(parse_s, 4)
    res.timings["total"] = round(res.timings.get("total", 0.0) + parse_s, 4)
    return res


def json_bytes(data: Any) -> bytes:
    """``data`` as JSON text, written the way starlette's ``JSONResponse`` writes it."""
    return json.dumps(data, ensure_ascii=False, allow_nan=False, indent=None,
                      separators=(",", ":")).encode("utf-8")


def json_object(**values: Any) -> bytes:
    """A JSON object of ``values`` (None values left out); a pydantic model is written as its
    ``model_dump(mode="json")`` would be, but straight to JSON text."""
    parts = [json_bytes(k) + b":" + (TypeAdapter(type(v)).dump_json(v)
                                     if isinstance(v, BaseModel) else json_bytes(v))
             for k, v in values.items() if v is not None]
    return b"{" + b",".join(parts) + b"}"


def has_page_images(upload: Upload) -> bool:
    """Whether ``render_page`` can draw the upload's pages (a PDF or an image)."""
    return upload.kind is FileType.PDF or upload.kind.is_image


def render_page(data: bytes, mime: str, page: int, scale: float,
                max_pixels: int = MAX_PIXELS) -> bytes:
    """PNG bytes of one page (1-based) at ``scale`` × 72 dpi (PDF) or of the image itself; at
    most ``max_pixels`` either way (a PDF page is rendered at a lower scale, an image shrunk:
    the web page places boxes by fractions of the page, so the size is free)."""
    if mime == "application/pdf":
        with open_pdf(data) as pdf:
            if not 1 <= page <= len(pdf):
                raise InputError(f"page {page} out of range 1..{len(pdf)}")
            # filled form fields drawn in, as the parser read them
            flat = flattened_page(pdf, page)
            w, h = flat.get_size()  # points
            scale = min(scale, math.sqrt(max_pixels / max(w * h, 1.0)))
            while math.ceil(w * scale) * math.ceil(h * scale) > max_pixels and scale > 1e-3:
                scale *= 0.99
            img = flat.render(scale=scale).to_pil()
    elif mime.startswith("image/"):
        # as the parser sees it: upright (EXIF), transparency on white, every TIFF page; within
        # max_pixels (load_pages refuses a page number out of range)
        img = load_pages(data, max_pixels=max_pixels, work_pixels=max_pixels, pages=[page])[0][0]
    else:
        raise UnsupportedTypeError(f"no page images for {mime}")
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="PNG", optimize=False)
    return buf.getvalue()
