"""OCR behind one interface (``OcrBackend.recognize(image) -> list[Line]``), four backends.

``get_backend(name)`` returns a cached backend: ``rapidocr`` (PP-OCRv4 in the wheel, with
word-spacing recovery), ``paddleocr`` (only when the package and its models are local),
``tesseract`` (when the binary is on PATH), ``rapidocr+tesseract`` (rapidocr, with the lines it
is unsure of re-read by tesseract: ``parsers.ocr.combine``), or ``auto``: the first available of
``AUTO_ORDER``, which is ordered by measurement (``MEASURED``), not by preference.
"""

from __future__ import annotations

from functools import lru_cache

from prunestack.parsers.errors import OcrUnavailableError
from prunestack.parsers.ocr.base import OcrBackend
from prunestack.parsers.ocr.combine import CombinedBackend
from prunestack.parsers.ocr.paddle import PaddleOcrBackend
from prunestack.parsers.ocr.rapid import RapidOcrBackend
from prunestack.parsers.ocr.tesseract import TesseractBackend

BACKENDS: dict[str, type[OcrBackend]] = {
    "rapidocr": RapidOcrBackend,
    "paddleocr": PaddleOcrBackend,
    "tesseract": TesseractBackend,
    "rapidocr+tesseract": CombinedBackend,
}
#: Measured on the first 20 SROIE dev receipts with images (``python -m benchmarks.run_all
#: ocr_ceiling``, ``reports/bench_ocr_ceiling.md``): (OCR ceiling: the share of gold company,
#: date, address and total values that occur in the page's OCR text; CPU seconds per receipt).
#: rapidocr reaches 0.700 at 3.42 CPU-s, tesseract 0.550 at 0.73; re-reading rapidocr's unsure
#: lines with tesseract costs 0.11 CPU-s more and raises nothing (0.700: rapidocr's misses are
#: confident misreads and spacing, not unsure lines), so ``auto`` is rapidocr. The union of the
#: two engines' texts reaches 0.750 (address 0.20 → 0.35) but is no single text.
MEASURED: dict[str, tuple[float, float]] = {
    "rapidocr": (0.700, 3.42),
    "rapidocr+tesseract": (0.700, 3.53),
    "tesseract": (0.550, 0.73),
}
#: ``auto``'s order: the highest measured ceiling first, the cheaper backend on a tie; a backend
#: without a measurement here (PaddleOCR 3.x, not installed where the benchmark ran) comes last.
AUTO_ORDER = (*sorted(MEASURED, key=lambda n: (-MEASURED[n][0], MEASURED[n][1])),
              *(n for n in BACKENDS if n not in MEASURED))
CHOICES = ("auto", *BACKENDS)


def available_backends() -> list[str]:
    return [n for n in AUTO_ORDER if BACKENDS[n].available()]


@lru_cache(maxsize=8)
def get_backend(name: str = "auto") -> OcrBackend:
    """The backend called ``name`` (or the best available for ``auto``), created once."""
    if name == "auto":
        found = available_backends()
        if not found:
            raise OcrUnavailableError("no OCR backend is installed",
                                      "pip install rapidocr-onnxruntime")
        name = found[0]
    if name not in BACKENDS:
        raise OcrUnavailableError(f"unknown OCR backend {name!r}", f"choose one of {CHOICES}")
    cls = BACKENDS[name]
    if not cls.available():
        hints = {"paddleocr": "pip install paddleocr and put its models in ~/.paddlex",
                 "tesseract": "apt-get install tesseract-ocr",
                 "rapidocr": "pip install rapidocr-onnxruntime",
                 "rapidocr+tesseract": "pip install rapidocr-onnxruntime; "
                                       "apt-get install tesseract-ocr"}
        raise OcrUnavailableError(f"OCR backend {name!r} is not available here", hints[name])
    return cls()


__all__ = ["AUTO_ORDER", "BACKENDS", "CHOICES", "MEASURED", "OcrBackend", "available_backends",
           "get_backend"]
