"""The synchronous work behind the routes (run in worker threads by the limiter).

An upload is read once into a ``parsers.ingest.Upload`` (type sniffed from the bytes, pages
counted, HTML decoded), its page count checked against the limit before any parsing, and the
same ``Upload`` parsed with ``parsers.ingest.parse``; extraction goes through
:mod:`pipeline.extract` with the models the app loaded at start-up. Page images are rendered
here with pypdfium2 (PDF) or Pillow (images); answers are turned into JSON text here too
(:func:`json_bytes`, :func:`json_object`: models written by pydantic straight to JSON, 3-4x
faster than a dict through ``json.dumps``), so a 50 MB answer is encoded in the worker, not on
the event loop. Nothing in this module knows about HTTP.
"""

from __future__ import annotations

import io
import json
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


def open_upload(data: bytes, max_pages: int, name: str = "upload") -> Upload:
    """``data`` read once (``parsers.ingest.read_upload``: type from the bytes, pages counted,
    HTML decoded) and checked against the page limit before any parsing."""
    if not data:
        raise InputError("the uploaded file is empty")
    upload = read_upload(data, name)  # UnsupportedTypeError says what the bytes start with
    if upload.pages > max_pages:
        what = {FileType.PDF: "PDF", FileType.TIFF: "TIFF"}.get(upload.kind, "document")
        raise TooLargeError(f"the {what} has {upload.pages} pages; this server reads at most "
                            f"{max_pages}", "split the document or ask for fewer pages")
    return upload


def parse_upload(upload: Upload, ocr: str = "auto", pages: str | None = None) -> Document:
    return parse(upload, ocr=ocr, pages=pages)


def extract_upload(upload: Upload, schema: LoadedSchema, *, engine: str, embedder: Any,
                   model: tuple[Any, Any] | None, ocr: str, pages: str | None) -> Any:
    t = time.perf_counter()
    doc = parse_upload(upload, ocr=ocr, pages=pages)
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


def render_page(data: bytes, mime: str, page: int, scale: float) -> bytes:
    """PNG bytes of one page (1-based) at ``scale`` × 72 dpi (PDF) or of the image itself."""
    if mime == "application/pdf":
        with open_pdf(data) as pdf:
            if not 1 <= page <= len(pdf):
                raise InputError(f"page {page} out of range 1..{len(pdf)}")
            # filled form fields drawn in, as the parser read them
            img = flattened_page(pdf, page).render(scale=scale).to_pil()
    elif mime.startswith("image/"):
        # as the parser sees it: upright (EXIF), transparency on white, every TIFF page; full size
        # (load_pages refuses a page number out of range)
        img = load_pages(data, work_pixels=MAX_PIXELS, pages=[page])[0][0]
    else:
        raise UnsupportedTypeError(f"no page images for {mime}")
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="PNG", optimize=False)
    return buf.getvalue()
