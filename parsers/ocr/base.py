"""The one OCR interface: ``OcrBackend.recognize(image) -> list[Line]`` in image pixels.

A backend turns an upright RGB ``PIL.Image`` into lines of words with boxes (pixels, top-left
origin) and confidences in [0, 1]. Backends are loaded lazily and cached by ``parsers.ocr``;
``available()`` must be cheap (no model loading). Nothing here renders PDFs or scales boxes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from PIL import Image

from prunestack.parsers.primitives import Line
from prunestack.pipeline.document import PageFrame


class OcrBackend(ABC):
    #: the name used by ``--ocr`` and recorded on OCR'd pages
    name: str = ""

    @classmethod
    @abstractmethod
    def available(cls) -> bool:
        """Whether the backend's package/binary and models are present (cheap check)."""

    @abstractmethod
    def recognize(self, image: Image.Image) -> list[Line]:
        """Lines of words, top to bottom, each line left to right, boxes in ``image`` pixels."""

    def recognize_page(self, image: Image.Image) -> tuple[list[Line], PageFrame | None]:
        """``recognize`` plus the frame its boxes are in when that is not the image's pixels
        (a levelled scan); None: they are in image pixels."""
        return self.recognize(image), None


def is_speck(line: Line) -> bool:
    """A line made only of one or two punctuation marks: scan noise, not content."""
    text = "".join(w.text for w in line.words)
    return len(text) <= 2 and not any(ch.isalnum() for ch in text)
