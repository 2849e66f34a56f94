"""PDF pages to ``PageLines`` with pypdfium2: the text layer where there is one, OCR where not.

Text layer: every character's loose box, baseline origin, font size, weight and font name come
from pdfium (``FPDFText_*``); characters become words at whitespace (real or pdfium-generated)
and at horizontal gaps wider than ``WORD_GAP_EM`` font sizes; words become lines by baseline
(``parsers.lines``). A word is bold when pdfium reports a weight ≥ 600, the font's ForceBold flag,
or a font name containing Bold/Black/Heavy/Semibold. Coordinates are PDF points, top-left origin,
relative to the page's crop box, in the page as displayed (``/Rotate`` applied); text outside the
crop box is not shown by viewers and is left out; annotations (filled form fields, FreeText
notes) are flattened into the page first, so their shown text counts; soft hyphens (U+00AD) are
dropped. A page whose text is almost all drawn invisibly is a scan's OCR layer: its
``PageLines.drawn_order`` tells the layout step to keep the drawing order. Words and lines are built in the frame where most of the page's characters are upright:
on a page whose text is sideways as displayed that is not the displayed frame, and the page's
``PageLines.frame`` says how it sits on the page (``parsers.layout`` maps the boxes back).

Pages whose text layer has no printable character, and scans stamped with a few words of text (a
Bates number over a full-page image), are rendered at ``dpi`` (≥ 200) and OCR'd with the chosen
backend (one page image at a time; pages too big for ``OCR_MAX_PIXELS`` at that dpi, such as A0
drawings, at a lower one); the OCR boxes (pixels) are scaled back to points. Unreadable files raise
``CorruptPdfError``, password-protected ones ``EncryptedPdfError``, page-less ones
``EmptyPdfError``. This module does not build blocks, tables or reading order (``parsers.layout``).
"""

from __future__ import annotations

import ctypes
import math
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

from prunestack.cancel import checkpoint
from prunestack.parsers.errors import CorruptPdfError, EmptyPdfError, EncryptedPdfError
from prunestack.parsers.lines import group_lines, run_lines
from prunestack.parsers.ocr import OcrBackend, get_backend
from prunestack.parsers.pages import parse_pages
from prunestack.parsers.primitives import Line, PageLines, Word
from prunestack.pipeline.document import BBox, PageFrame, Source

#: A horizontal gap wider than this many font sizes between two glyphs starts a new word.
WORD_GAP_EM = 0.2
#: A space pdfium generated (none in the file) inside a letter-spaced run is ignored when the
#: gap it stands for is at most this many times the run's letter spacing (``_tracking``).
SOFT_SPACE_TRACKING = 1.5
#: A page with one image over this share of its area and at most ``STAMP_CHARS`` characters of
#: text is a stamped scan: it is OCR'd (see ``_stamped_scan``).
SCAN_COVER = 0.5
STAMP_CHARS = 60
#: A text layer with at least this share of its characters drawn invisibly (render mode 3) is
#: the OCR layer of a scan: the OCR engine that made it saw the image and drew the words in its
#: reading order, which the layout step keeps (``PageLines.drawn_order``); our geometry on its
#: drifting, overlapping word boxes scattered them.
OCR_LAYER_SHARE = 0.8
#: Default OCR resolution for pages without a text layer (the issue asks for ≥ 200 dpi).
OCR_DPI = 200
#: Largest render OCR gets (pixels): bigger pages (A1/A0 drawings, posters) use a lower dpi.
OCR_MAX_PIXELS = 20_000_000
#: pdfium is not thread-safe: two threads inside it at once can crash the process (seen under
#: the API's concurrent workers). Every use of pypdfium2 in the process holds this lock.
PDFIUM_LOCK = threading.RLock()
_BOLD_NAME = re.compile(r"bold|black|heavy|semibold|demi", re.IGNORECASE)
_FORCE_BOLD = 1 << 18  # PDF font descriptor flag 19 (ForceBold), as FPDFText_GetFontInfo reports
_PASSWORD_ERRORS = (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY)
_SOFT_HYPHEN = 0xAD
_ENCRYPT = re.compile(rb"/Encrypt\b")
_EMPTY_PAGE_TREE = re.compile(
    rb"/Type\s*/Pages\b[^>]*?/Count\s+0\b|/Count\s+0\b[^>]*?/Type\s*/Pages"
)


@contextmanager
def open_pdf(data: bytes, password: str | None = None) -> Iterator[pdfium.PdfDocument]:
    """Open ``data`` with pdfium, turning its failures into the parsers' input errors.

    The whole ``with`` block holds ``PDFIUM_LOCK``: keep slow non-pdfium work (OCR) outside it."""
    with PDFIUM_LOCK:
        yield from _open_pdf_locked(data, password)


def _open_pdf_locked(data: bytes, password: str | None) -> Iterator[pdfium.PdfDocument]:
    try:
        pdf = pdfium.PdfDocument(data, password=password)
    except pdfium.PdfiumError as exc:
        # pdfium's last-error code can be stale (it is not reset on every failure), so a password
        # error only counts when the file has an /Encrypt dictionary.
        code = getattr(exc, "err_code", None)
        if code in _PASSWORD_ERRORS and _ENCRYPT.search(data):
            what = "the password is wrong" if password else "it needs a password"
            raise EncryptedPdfError(f"the PDF is encrypted and {what}",
                                    "decrypt it first, e.g. with qpdf --decrypt") from None
        if _EMPTY_PAGE_TREE.search(data[-65536:]) or _EMPTY_PAGE_TREE.search(data[:65536]):
            raise EmptyPdfError("the PDF has no pages") from None
        raise CorruptPdfError(f"the PDF cannot be read (truncated or damaged): {exc}",
                              "re-export or repair the file") from None
    try:
        if len(pdf) == 0:
            raise EmptyPdfError("the PDF has no pages")
        yield pdf
    finally:
        pdf.close()


def page_count(data: bytes) -> int:
    with open_pdf(data) as pdf:
        return len(pdf)


@dataclass
class _Glyph:
    ch: str
    x0: float
    y0: float
    x1: float
    y1: float
    base: float
    size: float
    index: int
    glue: bool = False  # follows a soft hyphen: the gap before it is the hyphen, not a space
    soft: bool = False  # follows a space pdfium generated (not in the file): see ``_words``


@dataclass(frozen=True)
class _Frame:
    """Maps PDF user space (bottom-left origin) to the displayed page (top-left origin, points),
    honouring the crop box and the page's /Rotate (clockwise 0, 90, 180, 270)."""

    left: float
    bottom: float
    right: float
    top: float
    rotation: int = 0

    def point(self, x: float, y: float) -> tuple[float, float]:
        u, v = x - self.left, self.top - y  # unrotated, top-left origin
        w0, h0 = self.right - self.left, self.top - self.bottom
        if self.rotation == 90:
            return h0 - v, u
        if self.rotation == 180:
            return w0 - u, h0 - v
        if self.rotation == 270:
            return v, w0 - u
        return u, v

    @property
    def size(self) -> tuple[float, float]:
        """Width and height of the page as displayed."""
        w0, h0 = self.right - self.left, self.top - self.bottom
        return (h0, w0) if self.rotation in (90, 270) else (w0, h0)

    def user(self, x: float, y: float) -> tuple[float, float]:
        """The inverse of ``point``: a point of this frame back in PDF user space."""
        w0, h0 = self.right - self.left, self.top - self.bottom
        if self.rotation == 90:
            u, v = y, h0 - x
        elif self.rotation == 180:
            u, v = w0 - x, h0 - y
        elif self.rotation == 270:
            u, v = w0 - y, x
        else:
            u, v = x, y
        return u + self.left, self.top - v

    def box(self, x_lo: float, y_lo: float, x_hi: float, y_hi: float
            ) -> tuple[float, float, float, float]:
        (x0, y0), (x1, y1) = self.point(x_lo, y_hi), self.point(x_hi, y_lo)
        return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def _turn_frame(read: _Frame, shown: _Frame) -> PageFrame:
    """The frame of a page read in ``read`` (its text upright) on the page as ``shown``: a page
    whose text runs sideways as displayed (a landscape table drawn turned on a portrait page, a
    page given a ``/Rotate`` its content did not compensate) is read where the text is upright,
    so words and reading order come out right, and its boxes are mapped onto the page after."""
    def on_shown(x: float, y: float) -> tuple[float, float]:
        return shown.point(*read.user(x, y))

    e, f = on_shown(0.0, 0.0)
    (ax, bx), (cx, dx) = on_shown(1.0, 0.0), on_shown(0.0, 1.0)
    a, b, c, d = (float(round(v)) for v in (ax - e, bx - f, cx - e, dx - f))  # 0 or ±1
    width, height = read.size
    return PageFrame(width=width, height=height, matrix=(a, b, c, d, e, f))


def _text_quarter(textpage: pdfium.PdfTextPage) -> tuple[int | None, list[int]]:
    """The counter-clockwise quarter turn (0-3) most of the page's characters are drawn at, in
    PDF user space (None without text), and every character's own quarter (-1: none)."""
    tp = textpage.raw
    counts = [0, 0, 0, 0]
    each = [-1] * pdfium_c.FPDFText_CountChars(tp)
    for i in range(len(each)):
        u = pdfium_c.FPDFText_GetUnicode(tp, i)
        if u <= 32 or u in (0xA0, 0xFFFE, 0xFEFF, _SOFT_HYPHEN):
            continue
        angle = pdfium_c.FPDFText_GetCharAngle(tp, i)
        if angle < 0:
            continue
        each[i] = q = -round(angle / (math.pi / 2)) % 4  # pdfium measures clockwise
        counts[q] += 1
    return (max(range(4), key=counts.__getitem__) if any(counts) else None), each


def _glyphs(textpage: pdfium.PdfTextPage, frame: _Frame) -> list[_Glyph | None]:
    """Every character of the text page; ``None`` marks a word break (space or newline)."""
    tp = textpage.raw
    n = pdfium_c.FPDFText_CountChars(tp)
    rect = pdfium_c.FS_RECTF()
    ox, oy = ctypes.c_double(), ctypes.c_double()
    get_unicode, get_box = pdfium_c.FPDFText_GetUnicode, pdfium_c.FPDFText_GetLooseCharBox
    get_origin, get_size = pdfium_c.FPDFText_GetCharOrigin, pdfium_c.FPDFText_GetFontSize
    get_matrix, matrix = pdfium_c.FPDFText_GetMatrix, pdfium_c.FS_MATRIX()
    is_generated = pdfium_c.FPDFText_IsGenerated
    upright = frame.rotation == 0
    left, top = frame.left, frame.top
    width, height = frame.size
    out: list[_Glyph | None] = []
    glue = soft = False
    for i in range(n):
        u = get_unicode(tp, i)
        if u == _SOFT_HYPHEN:  # invisible inside a word: "hy\xadphen" is "hyphen"
            glue = True
            continue
        ch = chr(u) if 0 < u < 0x110000 else ""
        if u == 0x20 and is_generated(tp, i):
            # a space pdfium inferred from a gap, not one in the file: a soft break, which
            # ``_words`` overrules inside letter-spaced runs (pdfium split tracked words drawn
            # glyph by glyph into letters: "V a ll ec it os")
            soft = True
            continue
        if not ch or ch.isspace() or u in (0xFFFE, 0xFEFF, 0x02) or not get_box(tp, i, rect):
            out.append(None)
            continue
        get_origin(tp, i, ox, oy)
        size = get_size(tp, i)
        if get_matrix(tp, i, matrix):  # the size as drawn: Tf times the text/CTM scale
            size *= math.hypot(matrix.c, matrix.d)
        if upright:  # the common case, without the general transform
            x0, y0, x1, y1 = rect.left - left, top - rect.top, rect.right - left, top - rect.bottom
            base = top - oy.value
        else:
            x0, y0, x1, y1 = frame.box(rect.left, rect.bottom, rect.right, rect.top)
            base = frame.point(ox.value, oy.value)[1]
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        if not (0 <= cx <= width and 0 <= cy <= height):  # outside the crop box: not shown
            out.append(None)
            continue
        x0, x1 = max(x0, 0.0), min(x1, width)  # a glyph straddling the edge: its visible part
        y0, y1 = max(y0, 0.0), min(y1, height)
        out.append(_Glyph(ch, x0, y0, x1, y1, base, size if size > 0 else 0.0, i, glue, soft))
        glue = soft = False
    return out


def _is_bold(textpage: pdfium.PdfTextPage, index: int, cache: dict[int, bool]) -> bool:
    """Bold from pdfium's font weight, the ForceBold flag or the font name (cached per text
    object: every character of one object shares its font)."""
    tp = textpage.raw
    obj = pdfium_c.FPDFText_GetTextObject(tp, index)
    key = ctypes.cast(obj, ctypes.c_void_p).value or -1
    if key in cache:
        return cache[key]
    flags = ctypes.c_int(0)
    buf = ctypes.create_string_buffer(256)
    n = pdfium_c.FPDFText_GetFontInfo(tp, index, buf, 256, ctypes.byref(flags))
    name = buf.raw[: max(0, n - 1)].decode("latin-1", errors="replace") if n else ""
    weight = pdfium_c.FPDFText_GetFontWeight(tp, index)
    bold = weight >= 600 or bool(flags.value & _FORCE_BOLD) or bool(_BOLD_NAME.search(name))
    if key != -1:
        cache[key] = bold
    return bold


def _is_invisible(textpage: pdfium.PdfTextPage, index: int, cache: dict[int, bool]) -> bool:
    """Whether the character's text object is drawn invisibly (render mode 3: the OCR text
    layer laid over a scanned image), cached per text object."""
    obj = pdfium_c.FPDFText_GetTextObject(textpage.raw, index)
    key = ctypes.cast(obj, ctypes.c_void_p).value or -1
    if key not in cache:
        cache[key] = bool(obj) and (pdfium_c.FPDFTextObj_GetTextRenderMode(obj)
                                    == pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE)
    return cache[key]


def _words(textpage: pdfium.PdfTextPage, frame: _Frame, quarters: list[int] | None = None,
           main: int | None = None) -> tuple[list[Word], list[float], float]:
    """The page's words, their baselines and the share of its characters drawn invisibly.

    ``quarters``: each character's quarter turn, ``main``: the page's (``_text_quarter``).
    Characters of a minority direction (a vertical label up a margin, a sideways tab on a
    brochure) stack across baselines: consecutive ones at the same turn, with no space between
    them, make one word in drawing order instead of a word per letter ("C A T C H E S")."""
    glyphs = _glyphs(textpage, frame)
    words: list[Word] = []
    baselines: list[float] = []
    cur: list[_Glyph] = []
    hidden = [0, 0]  # characters drawn invisibly, all characters

    bold_cache: dict[int, bool] = {}
    hidden_cache: dict[int, bool] = {}

    def flush() -> None:
        if not cur:
            return
        sizes = sorted(g.size for g in cur)
        words.append(Word(
            text="".join(g.ch for g in cur),
            bbox=BBox(x0=min(g.x0 for g in cur), y0=min(g.y0 for g in cur),
                      x1=max(g.x1 for g in cur), y1=max(g.y1 for g in cur)),
            font_size=round(sizes[len(sizes) // 2], 2) or None,
            bold=_is_bold(textpage, cur[0].index, bold_cache),
            order=cur[0].index,
        ))
        baselines.append(sum(g.base for g in cur) / len(cur))
        hidden[0] += len(cur) * _is_invisible(textpage, cur[0].index, hidden_cache)
        hidden[1] += len(cur)
        cur.clear()

    tracking = _tracking(glyphs)
    turn = quarters if quarters is not None and main is not None else None
    for k, g in enumerate(glyphs):
        if g is None:
            flush()
            continue
        if cur:
            prev = cur[-1]
            em = max(prev.size, g.size, 1.0)
            if turn is not None and turn[g.index] != main and turn[g.index] == turn[prev.index]:
                near = max(g.x0 - prev.x1, prev.x0 - g.x1, g.y0 - prev.y1, prev.y0 - g.y1)
                if near > em:  # not the next letter of the same sideways word
                    flush()
                cur.append(g)
                continue
            jumped = abs(g.base - prev.base) > 0.3 * em
            gap = g.x0 - prev.x1
            track = tracking.get(k, 0.0)
            # pdfium's generated space is kept unless its gap is just the run's letter spacing
            letter_gap = track > 0 and gap <= SOFT_SPACE_TRACKING * track
            split = gap > WORD_GAP_EM * em + track or (g.soft and not letter_gap)
            if jumped or (split and not g.glue) or gap < -em:
                flush()
        cur.append(g)
    flush()
    return words, baselines, hidden[0] / max(hidden[1], 1)


def _tracking(glyphs: list[_Glyph | None]) -> dict[int, float]:
    """Letter spacing (``Tc``: tracked headings and body text) per glyph index: over a run of
    glyphs on one baseline, the lower-quartile gap between adjacent letters (spaces end words,
    not runs), when the run has at least 4 such gaps. A word gap must exceed it by
    ``WORD_GAP_EM``; without this, text tracked by a quarter em came out as "T r a c k e d".
    Positioned words without space characters keep their letter gap (about 0) as the lower
    quartile, so their word gaps still split."""
    out: dict[int, float] = {}
    run: list[int] = []
    gaps: list[float] = []

    def close() -> None:
        if len(gaps) >= 4:
            q = sorted(gaps)[len(gaps) // 4]
            if q > 0:
                em = max(glyphs[run[0]].size, 1.0)  # type: ignore[union-attr]
                out.update(dict.fromkeys(run, min(q, 0.5 * em)))
        run.clear()
        gaps.clear()

    last: _Glyph | None = None
    for k, g in enumerate(glyphs):
        if g is None:
            last = None
            continue
        if run:
            first = glyphs[run[-1]]
            assert first is not None
            if abs(g.base - first.base) > 0.3 * max(first.size, g.size, 1.0):
                close()
        if last is not None and run:
            gaps.append(g.x0 - last.x1)
        run.append(k)
        last = g
    close()
    return out


def flattened_page(pdf: pdfium.PdfDocument, number: int) -> pdfium.PdfPage:
    """Page ``number`` with its annotations' appearances (filled form fields, typewriter/FreeText
    notes, stamps) merged into the page content, as they are shown; the values of a filled form
    live only there, so reading the content alone lost them. Only the in-memory copy changes."""
    page = pdf[number - 1]
    if pdfium_c.FPDFPage_GetAnnotCount(page.raw) > 0:
        done = pdfium_c.FPDFPage_Flatten(page.raw, pdfium_c.FLAT_NORMALDISPLAY)
        if done == pdfium_c.FLATTEN_SUCCESS:  # pdfium: reload the page to see the new content
            page.close()
            page = pdf[number - 1]
    return page


def _stamped_scan(page: pdfium.PdfPage, lines: list[Line]) -> bool:
    """A scanned page with a few words of real text stamped on it (a Bates number, "Page 3 of
    9", a fax header): one image covers at least ``SCAN_COVER`` of the page and the text layer
    has at most ``STAMP_CHARS`` characters. Reading only the stamp lost the whole scan."""
    if sum(len(w.text) for ln in lines for w in ln.words) > STAMP_CHARS:
        return False
    left, bottom, right, top = page.get_bbox()
    area = max((right - left) * (top - bottom), 1e-6)
    for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,)):
        x0, y0, x1, y1 = obj.get_bounds()
        w = min(x1, right) - max(x0, left)
        h = min(y1, top) - max(y0, bottom)
        if w > 0 and h > 0 and w * h >= SCAN_COVER * area:
            return True
    return False


def text_layer_lines(page: pdfium.PdfPage) -> list[Line]:
    """The page's text layer as lines (empty when the page has no text layer), built in the
    frame where most of its text is upright (see ``_turn_frame``)."""
    return _text_layer(page)[0]


def _text_layer(page: pdfium.PdfPage) -> tuple[list[Line], PageFrame | None, bool]:
    """Lines, the frame they are in (None: the page as displayed) and whether the text layer is
    an OCR layer (at least ``OCR_LAYER_SHARE`` of its characters drawn invisibly)."""
    # the crop box as pdfium applies it (clipped to the media box, inherited from the page tree:
    # get_cropbox() ignores a box inherited from /Pages and falls back to US Letter)
    left, bottom, right, top = page.get_bbox()
    shown = _Frame(left, bottom, right, top, rotation=page.get_rotation() % 360)
    textpage = page.get_textpage()
    try:
        quarter, quarters = _text_quarter(textpage)
        read, turned = shown, None
        if quarter is not None and quarter * 90 != shown.rotation:
            # the text is sideways on screen: read it where it is upright
            read = _Frame(left, bottom, right, top, rotation=quarter * 90)
            turned = _turn_frame(read, shown)
        words, baselines, hidden = _words(textpage, read, quarters, quarter)
    finally:
        textpage.close()
    if hidden >= OCR_LAYER_SHARE:  # a scan's OCR layer: its runs, in its (reading) order
        return run_lines(words, baselines), turned, True
    return group_lines(words, baselines, in_order=True), turned, False


def scale_line(line: Line, f: float) -> Line:
    def sb(b: BBox) -> BBox:
        return BBox(x0=b.x0 * f, y0=b.y0 * f, x1=b.x1 * f, y1=b.y1 * f)

    return Line(
        words=[w.model_copy(update={"bbox": sb(w.bbox)}) for w in line.words],
        bbox=sb(line.bbox), confidence=line.confidence,
    )


def _render(page: pdfium.PdfPage, scale: float) -> Image.Image:
    """The page as an RGB image at ``scale`` × 72 dpi (call with ``PDFIUM_LOCK`` held)."""
    bitmap = page.render(scale=scale)
    image = bitmap.to_pil().convert("RGB")
    bitmap.close()
    return image


def pdf_page_lines(
    data: bytes,
    *,
    pages: str | list[int] | None = None,
    ocr: str | OcrBackend = "auto",
    dpi: int = OCR_DPI,
    password: str | None = None,
    force_ocr: bool = False,
) -> list[PageLines]:
    """``PageLines`` for the selected pages (1-based; ``"1-3"`` strings accepted) of a PDF.

    The OCR backend is only loaded when a page without a text layer (or ``force_ocr``) needs it.
    A page read in a frame other than the page as displayed — OCR'd boxes levelled on a tilted
    scan, text that runs sideways read where it is upright — has that ``frame`` (in points) on
    its ``PageLines``, and that frame's size; the layout step maps its boxes onto the page.
    """
    if dpi < 72:
        raise ValueError("dpi must be at least 72")
    out: list[PageLines | None] = []
    to_ocr: list[tuple[int, int, float, float]] = []  # (slot, page number, width, height)
    with open_pdf(data, password) as pdf:  # pdfium work only; OCR runs after the lock is released
        numbers = pages if isinstance(pages, list) else parse_pages(pages, len(pdf))
        for number in numbers:
            checkpoint(f"page {number}")
            page = flattened_page(pdf, number)
            try:
                width, height = page.get_size()
                lines, turn, ocr_layer = ([], None, False) if force_ocr else _text_layer(page)
                if lines and _stamped_scan(page, lines):
                    lines, turn = [], None  # OCR reads the stamp too
                if lines:
                    if turn is not None:
                        width, height = turn.width, turn.height
                    out.append(PageLines(number=number, width=width, height=height, lines=lines,
                                         source=Source.PDF_TEXT, frame=turn,
                                         drawn_order=ocr_layer))
                    continue
                to_ocr.append((len(out), number, width, height))
                out.append(None)
            finally:
                page.close()
    backend: OcrBackend | None = ocr if isinstance(ocr, OcrBackend) else None
    for slot, number, width, height in to_ocr:
        checkpoint(f"OCR of page {number}")
        if backend is None:
            backend = get_backend(ocr if isinstance(ocr, str) else "auto")
        # one page image at a time (a 50-page scan held ~600 MB of renders before any OCR), at
        # most OCR_MAX_PIXELS (a blank A0 drawing at 200 dpi is 62 MP)
        scale = min(dpi / 72.0, math.sqrt(OCR_MAX_PIXELS / max(width * height, 1.0)))
        while math.ceil(width * scale) * math.ceil(height * scale) > OCR_MAX_PIXELS:
            scale *= 0.999  # pdfium rounds the bitmap size up
        with open_pdf(data, password) as pdf:
            page = flattened_page(pdf, number)
            try:
                image = _render(page, scale)
            finally:
                page.close()
        raw, levelled = backend.recognize_page(image)
        lines = [scale_line(ln, 1.0 / scale) for ln in raw]
        out[slot] = PageLines(number=number, width=width, height=height, lines=lines,
                              source=Source.OCR, ocr_backend=backend.name,
                              frame=levelled.scaled(1.0 / scale) if levelled else None)
    return [p for p in out if p is not None]
