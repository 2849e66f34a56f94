"""OCR behind one interface (``OcrBackend.recognize(image) -> list[Line]``), three backends.

``get_backend(name)`` returns a cached backend: ``rapidocr`` (default, PP-OCRv4 in the wheel, with
word-spacing recovery), ``paddleocr`` (only when the package and its models are local),
``tesseract`` (when the binary is on PATH), or ``auto``: the first available of ``AUTO_ORDER``.
"""

from __future__ import annotations

from functools import lru_cache

from prunestack.parsers.errors import OcrUnavailableError
from prunestack.parsers.ocr.base import OcrBackend
from prunestack.parsers.ocr.paddle import PaddleOcrBackend
from prunestack.parsers.ocr.rapid import RapidOcrBackend
from prunestack.parsers.ocr.tesseract import TesseractBackend

BACKENDS: dict[str, type[OcrBackend]] = {
    "rapidocr": RapidOcrBackend,
    "paddleocr": PaddleOcrBackend,
    "tesseract": TesseractBackend,
}
#: ``auto`` preference: PaddleOCR 3.x (newer models, when local), then the bundled PP-OCRv4 with
#: spacing recovery, then Tesseract.
AUTO_ORDER = ("paddleocr", "rapidocr", "tesseract")
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
                 "rapidocr": "pip install rapidocr-onnxruntime"}
        raise OcrUnavailableError(f"OCR backend {name!r} is not available here", hints[name])
    return cls()


__all__ = ["AUTO_ORDER", "BACKENDS", "CHOICES", "OcrBackend", "available_backends",
           "get_backend"]
