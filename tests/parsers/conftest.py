"""Fixtures for the parser tests: generated PDFs, rendered pages, OCR results computed once.

OCR is the slow part (seconds per page on two cores), so every OCR result a test needs is made
once per session here and shared. Tesseract tests skip when the binary is missing.
"""

from __future__ import annotations

import shutil

import pytest

from tests.parsers import docgen

needs_tesseract = pytest.mark.skipif(shutil.which("tesseract") is None,
                                     reason="tesseract binary not installed")

#: Small Latin text where the bundled PP-OCRv4 recogniser drops most spaces (measured).
SPACING_SIZE_PT = 9


@pytest.fixture(scope="session")
def invoice_pdf() -> bytes:
    return docgen.invoice_pdf()


@pytest.fixture(scope="session")
def english_lines() -> list[str]:
    return docgen.ENGLISH_LINES + [s.upper() for s in docgen.ENGLISH_LINES[:3]]


@pytest.fixture(scope="session")
def english_image(english_lines):
    """The English lines at 9 pt Helvetica, rendered at 200 dpi."""
    return docgen.render_page(docgen.text_pdf(english_lines, size=SPACING_SIZE_PT), 0, 200)


@pytest.fixture(scope="session")
def rapid_rows(english_image):
    """rapidocr's raw result rows for ``english_image`` (one OCR run shared by several tests)."""
    from prunestack.parsers.ocr.rapid import RapidOcrBackend

    return RapidOcrBackend().raw(english_image)


@pytest.fixture(scope="session")
def invoice_scan_png(invoice_pdf) -> bytes:
    """Page 1 of the invoice rendered at 200 dpi, slightly degraded, as PNG bytes."""
    img = docgen.degrade(docgen.render_page(invoice_pdf, 0, 200), seed=3)
    return docgen.png_bytes(img)


@pytest.fixture(scope="session")
def invoice_scan_doc(invoice_scan_png):
    """The degraded invoice scan parsed end to end with rapidocr (OCR → layout → Document)."""
    from prunestack.parsers.ingest import parse

    return parse(invoice_scan_png, ocr="rapidocr", name="scan.png")
