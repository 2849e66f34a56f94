"""The parse front door: a path, bytes or an :class:`Upload` in, ``Document`` out.

``read_upload(path_or_bytes, name=None)`` reads an input once into an ``Upload``: its bytes (a
missing or unreadable path is an ``InputError``, inputs over ``MAX_FILE_BYTES`` a
``TooLargeError``), a display name, its type detected from the bytes (``parsers.detect``), its
page count (PDF pages, TIFF frames, 1 for another image or an HTML page) and, for HTML, its
text (``parsers.charset.decode_html``). The API's limit checks and the parsers share it, so an
upload is sniffed, counted and decoded once. ``parse(source, ocr="auto", pages=None, ...)``
routes it:

* PDF → ``parsers.pdf.pdf_page_lines`` (text layer, OCR for pages without one) →
  ``parsers.layout.aggregate``;
* image (PNG/JPEG/TIFF/WebP/BMP/GIF) → ``parsers.image.iter_pages`` (pixel limit, EXIF
  orientation, transparency on white, shrunk to 20 MP for OCR) → OCR → ``aggregate`` (pixel
  units of the original image; every page of a multi-page TIFF is a page);
* HTML → ``parsers.html.parse_html``.

Every box of the result is on the original page (PDF points, pixels of the original image): a
tilted scan is laid out in its levelled frame and a PDF page whose text runs sideways where its
text is upright, and ``aggregate`` maps their boxes back (``Page.frame`` says how).
``parse_lines`` stops before the layout step and returns the ``PageLines`` (in their frames).
``pages`` applies to PDFs and multi-page TIFFs (another image or an HTML file is one page;
asking for another page is an error).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from prunestack.cancel import checkpoint
from prunestack.errors import InputError, TooLargeError
from prunestack.parsers import image
from prunestack.parsers.charset import decode_html
from prunestack.parsers.detect import FileType, detect_type
from prunestack.parsers.errors import PageSelectionError
from prunestack.parsers.html import parse_html
from prunestack.parsers.image import MAX_PIXELS, count_pages, iter_pages
from prunestack.parsers.layout import aggregate
from prunestack.parsers.ocr import OcrBackend, get_backend
from prunestack.parsers.pages import parse_pages
from prunestack.parsers.pdf import OCR_DPI, page_count, pdf_page_lines, scale_line
from prunestack.parsers.primitives import PageLines
from prunestack.parsers.text import text_document
from prunestack.pipeline.document import Document, Source

#: Largest file we read: 200 MiB.
MAX_FILE_BYTES = 200 * 1024 * 1024
#: A one-line string with one of these suffixes is a path (a missing one is an error, never text).
DOC_SUFFIXES = frozenset({".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp",
                          ".gif", ".html", ".htm", ".xhtml", ".txt", ".md"})
TEXT_SUFFIXES = frozenset({".txt", ".md"})


class Upload(BaseModel):
    """One input, read, type-detected, page-counted (and for HTML decoded) once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: FileType
    data: bytes = Field(repr=False)
    name: str = Field(description="display name: the file's name, or the one given")
    pages: int = Field(ge=1, description="PDF pages, TIFF frames; 1 for other images and HTML")
    text: str | None = Field(default=None, repr=False, description="HTML: the decoded page")


def read_upload(path_or_bytes: str | Path | bytes, name: str | None = None) -> Upload:
    """The input as an :class:`Upload` (see the module docstring)."""
    data, display = read_input(path_or_bytes, name)
    kind = detect_type(data)  # UnsupportedTypeError says what the bytes start with
    if kind is FileType.PDF:
        return Upload(kind=kind, data=data, name=display, pages=page_count(data))
    if kind is FileType.HTML:
        return Upload(kind=kind, data=data, name=display, pages=1, text=decode_html(data))
    return Upload(kind=kind, data=data, name=display, pages=count_pages(data))


def read_input(path_or_bytes: str | Path | bytes, name: str | None = None) -> tuple[bytes, str]:
    """The bytes and a display name of the input."""
    if isinstance(path_or_bytes, bytes | bytearray):
        data = bytes(path_or_bytes)
        if len(data) > MAX_FILE_BYTES:
            raise TooLargeError(f"input is {len(data):,} bytes, over {MAX_FILE_BYTES:,}")
        return data, name or ""
    path = Path(path_or_bytes)
    if not path.exists():
        raise InputError(f"file not found: {path}")
    if not path.is_file():
        raise InputError(f"not a regular file: {path}")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise TooLargeError(f"{path} is {size:,} bytes, over the limit of {MAX_FILE_BYTES:,}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    return data, name or path.name


def _image_pages(upload: Upload, numbers: list[int], backend: OcrBackend, max_pixels: int
                 ) -> list[PageLines]:
    """OCR'd pages ``numbers`` of an image (every page of a multi-page TIFF), boxes in original
    pixels (of the levelled frame on a tilted scan)."""
    out: list[PageLines] = []
    # one decoded page at a time (a 300-page fax TIFF would not fit in memory at once)
    decoded = iter_pages(upload.data, max_pixels=max_pixels, work_pixels=image.WORK_PIXELS,
                         pages=numbers, frames=upload.pages)  # counted once, by read_upload
    for number in numbers:
        checkpoint(f"OCR of page {number}")
        page, f = next(decoded)
        lines, frame = backend.recognize_page(page)
        if f != 1.0:  # shrunk for OCR: boxes back to the original image's pixels
            lines = [scale_line(ln, f) for ln in lines]
            frame = frame.scaled(f) if frame is not None else None
        out.append(PageLines(number=number, width=float(round(page.width * f)),
                             height=float(round(page.height * f)), lines=lines,
                             source=Source.OCR, ocr_backend=backend.name, frame=frame))
    return out


def _as_upload(source: str | Path | bytes | Upload, name: str | None = None) -> Upload:
    if isinstance(source, Upload):
        return source if name is None else source.model_copy(update={"name": name})
    return read_upload(source, name)


def parse_lines(
    source: str | Path | bytes | Upload,
    *,
    ocr: str | OcrBackend = "auto",
    pages: str | None = None,
    dpi: int = OCR_DPI,
    max_pixels: int = MAX_PIXELS,
) -> tuple[FileType, list[PageLines]]:
    """Detected type and per-page lines of a PDF or image (HTML has no lines: use ``parse``)."""
    upload = _as_upload(source)
    if upload.kind is FileType.HTML:
        raise InputError("text/html has no text lines to OCR", "use parse() for HTML")
    numbers = parse_pages(pages, upload.pages)
    if upload.kind is FileType.PDF:
        return upload.kind, pdf_page_lines(upload.data, pages=numbers, ocr=ocr, dpi=dpi)
    backend = ocr if isinstance(ocr, OcrBackend) else get_backend(ocr)
    return upload.kind, _image_pages(upload, numbers, backend, max_pixels)


def parse(
    source: str | Path | bytes | Upload,
    *,
    ocr: str | OcrBackend = "auto",
    pages: str | None = None,
    name: str | None = None,
    dpi: int = OCR_DPI,
    max_pixels: int = MAX_PIXELS,
    force_ocr: bool = False,
) -> Document:
    """A ``Document`` from a PDF, an image or an HTML file (type detected from the bytes), every
    box on the original page.

    ``force_ocr`` OCRs PDF pages even when they have a text layer (e.g. a broken ToUnicode map).
    """
    upload = _as_upload(source, name)
    numbers = parse_pages(pages, upload.pages)  # validates the selection
    if upload.kind is FileType.HTML:
        return parse_html(upload.text or "", name=upload.name)
    if upload.kind is FileType.PDF:
        page_lines = pdf_page_lines(upload.data, pages=numbers, ocr=ocr, dpi=dpi,
                                    force_ocr=force_ocr)
    else:
        backend = ocr if isinstance(ocr, OcrBackend) else get_backend(ocr)
        page_lines = _image_pages(upload, numbers, backend, max_pixels)
    if not page_lines:
        raise PageSelectionError("no pages selected")
    return aggregate(page_lines, source_name=upload.name, mime_type=upload.kind.value)


def _is_path(source: str) -> bool:
    if "\n" in source or len(source) > 1024:
        return False
    p = Path(source.strip())
    try:
        return p.suffix.lower() in DOC_SUFFIXES or p.is_file()
    except OSError:  # not a name the file system takes (too long, NUL): text
        return False


def parse_source(source: str | Path | bytes | Upload, *, ocr: str | OcrBackend = "auto",
                 pages: str | None = None, name: str | None = None,
                 force_ocr: bool = False) -> Document:
    """:func:`parse` for every form a library caller has: a ``Path``, bytes or an ``Upload`` as
    ``parse`` takes them; a one-line ``str`` whose suffix is a document type or that names an
    existing file is a path (``.txt`` / ``.md`` read as UTF-8 plain text); any other ``str`` is
    HTML when it starts with ``<`` (taken as decoded), else plain text."""
    if isinstance(source, str) and not _is_path(source):
        if pages not in (None, "", "1", "all"):
            raise PageSelectionError(f"text has one page; pages={pages!r} asks for others")
        if source.lstrip().startswith("<"):
            return parse_html(source, name=name or "html")  # text: no re-decoding
        return text_document(source, name=name or "text")
    path = Path(source.strip()) if isinstance(source, str) else source
    if isinstance(path, Path) and path.suffix.lower() in TEXT_SUFFIXES:
        data, display = read_input(path)  # the same missing-file and size checks as any file
        try:
            return text_document(data.decode("utf-8-sig"), name=name or display)
        except UnicodeDecodeError:
            raise InputError(f"{path} is not UTF-8 text", "save it as UTF-8") from None
    return parse(path, ocr=ocr, pages=pages, name=name, force_ocr=force_ocr)
