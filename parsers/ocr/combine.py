"""Two OCR engines, one reading per line: rapidocr reads the page, tesseract re-reads only the lines
rapidocr is unsure of, and the more confident reading of each such line is kept.

``CombinedBackend`` (``--ocr rapidocr+tesseract``) runs rapidocr on the whole page (detection,
recognition, spacing recovery, levelling: ``parsers.ocr.rapid``), takes the lines whose
recognition confidence is below ``retry_below``, cuts each one out of the image (its box on the
page, a few pixels of margin), stacks the crops on one white sheet and reads the sheet with **one**
tesseract run (``--psm 6``, a block of lines: one process per page, not one per line). Each
tesseract line is assigned to the crop it lies in; a crop's reading replaces rapidocr's when
tesseract's mean word confidence is higher than rapidocr's line confidence. The words of a
replaced line keep tesseract's horizontal positions, mapped into the line's box.

What it does not do: run tesseract on the whole page (``get_backend("tesseract")`` does), merge
or split lines (the layout step groups lines into rows), or change lines rapidocr is sure of.
Whether this pays is measured, not assumed: ``benchmarks/bench_ocr_ceiling.py`` reports the OCR
ceiling (how often a gold value occurs in the page's text) of rapidocr, tesseract and this
combination on the SROIE dev receipts, with CPU seconds per receipt. On the first 20 it did not
pay: 0.700 with or without the re-reading (+0.11 CPU-s), because rapidocr's misses there are
confident misreads and spacing, not unsure lines; so ``auto`` does not choose it
(``parsers.ocr.MEASURED``). It stays an explicit choice (``--ocr rapidocr+tesseract``) and the
benchmark re-measures it on every run.
"""

from __future__ import annotations

from PIL import Image

from prunestack.cancel import checkpoint
from prunestack.parsers.ocr.base import OcrBackend
from prunestack.parsers.ocr.rapid import RapidOcrBackend
from prunestack.parsers.ocr.tesseract import TesseractBackend
from prunestack.parsers.primitives import Line, Word
from prunestack.pipeline.document import BBox, PageFrame

#: re-read a rapidocr line with tesseract below this line confidence: 63 of the 971 lines of the
#: 20 dev receipts measured (0.97 re-reads 381 and still raises nothing)
RETRY_BELOW = 0.9
#: margin (pixels) around a line's box when it is cut out, and white gap between stacked crops
PAD = 4
GAP = 24


class CombinedBackend(OcrBackend):
    name = "rapidocr+tesseract"

    def __init__(self, *, retry_below: float = RETRY_BELOW,
                 rapid: RapidOcrBackend | None = None,
                 tesseract: TesseractBackend | None = None) -> None:
        self.retry_below = retry_below
        self.rapid = rapid or RapidOcrBackend()
        self.tesseract = tesseract or TesseractBackend(psm=6)

    @classmethod
    def available(cls) -> bool:
        return RapidOcrBackend.available() and TesseractBackend.available()

    def recognize(self, image: Image.Image) -> list[Line]:
        return self.recognize_page(image)[0]

    def recognize_page(self, image: Image.Image) -> tuple[list[Line], PageFrame | None]:
        lines, frame = self.rapid.recognize_page(image)
        return self.reread(image, lines, frame), frame

    def reread(self, image: Image.Image, lines: list[Line], frame: PageFrame | None
               ) -> list[Line]:
        """``lines`` (rapidocr's, of ``image``, in ``frame``) with each unsure line replaced by
        tesseract's reading when that is the more confident one."""
        unsure = [i for i, ln in enumerate(lines) if ln.confidence < self.retry_below]
        if not unsure:
            return lines
        checkpoint("OCR re-reading of unsure lines")
        boxes = [frame.to_page(lines[i].bbox) if frame is not None else lines[i].bbox
                 for i in unsure]
        readings = read_crops(self.tesseract, image, boxes)
        out = list(lines)
        for i, reading in zip(unsure, readings, strict=True):
            if reading and _confidence(reading) > lines[i].confidence:
                out[i] = _replace(lines[i], reading)
        return out


def read_crops(tesseract: TesseractBackend, image: Image.Image, boxes: list[BBox]
               ) -> list[list[Word]]:
    """Tesseract's words for each box of ``image`` (pixels), left to right, their x positions
    relative to the box (0 = the box's left edge, 1 = its right edge) and y relative to its top;
    one tesseract run over all boxes stacked on a white sheet."""
    if not boxes:
        return []
    rgb = image.convert("RGB")
    crops = []
    for b in boxes:
        x0, y0 = max(int(b.x0) - PAD, 0), max(int(b.y0) - PAD, 0)
        x1, y1 = min(int(b.x1) + PAD + 1, rgb.width), min(int(b.y1) + PAD + 1, rgb.height)
        crops.append((rgb.crop((x0, y0, max(x1, x0 + 1), max(y1, y0 + 1))), x0, b))
    width = max(c.width for c, _, _ in crops) + 2 * GAP
    height = sum(c.height + GAP for c, _, _ in crops) + GAP
    sheet = Image.new("RGB", (width, height), "white")
    slots: list[tuple[float, float]] = []  # [top, bottom) of each crop on the sheet
    y = GAP
    for crop, _, _ in crops:
        sheet.paste(crop, (GAP, y))
        slots.append((y - GAP / 2, y + crop.height + GAP / 2))
        y += crop.height + GAP
    found: list[list[Word]] = [[] for _ in boxes]
    for line in tesseract.recognize(sheet):
        cy = line.bbox.cy
        for k, (top, bottom) in enumerate(slots):
            if top <= cy < bottom:
                found[k].extend(line.words)
                break
    out = []
    for k, words in enumerate(found):
        _, x0, box = crops[k]
        left = GAP + (box.x0 - x0)  # the box's left edge on the sheet
        span = max(box.width, 1.0)
        out.append([Word(text=w.text, confidence=w.confidence,
                         bbox=BBox(x0=(w.bbox.x0 - left) / span, y0=0.0,
                                   x1=max((w.bbox.x1 - left) / span, (w.bbox.x0 - left) / span),
                                   y1=1.0))
                    for w in sorted(words, key=lambda w: w.bbox.x0)])
    return out


def _confidence(words: list[Word]) -> float:
    """A reading's confidence: its words' mean, weighted by their length."""
    n = sum(len(w.text) for w in words)
    return sum(w.confidence * len(w.text) for w in words) / n if n else 0.0


def _replace(line: Line, reading: list[Word]) -> Line:
    """``line`` with the words of ``reading`` (relative x positions) placed in its box."""
    b = line.bbox
    words = []
    for w in reading:
        x0 = min(max(b.x0 + w.bbox.x0 * b.width, b.x0), b.x1 - 1)
        x1 = min(max(b.x0 + w.bbox.x1 * b.width, x0 + 1), b.x1)
        words.append(Word(text=w.text, confidence=w.confidence,
                          bbox=BBox(x0=x0, y0=b.y0, x1=max(x1, x0 + 1), y1=b.y1)))
    return Line(words=words, bbox=b, confidence=_confidence(reading))
