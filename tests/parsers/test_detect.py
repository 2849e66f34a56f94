"""File-type detection from bytes: magic numbers and the HTML sniff, never the file name."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from prunestack.errors import InputError, UnsupportedTypeError
from prunestack.parsers.detect import FileType, detect_type
from tests.parsers import docgen


def _img(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(buf, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("PNG", FileType.PNG), ("JPEG", FileType.JPEG), ("TIFF", FileType.TIFF),
     ("WEBP", FileType.WEBP), ("BMP", FileType.BMP), ("GIF", FileType.GIF)],
)
def test_images_by_magic(fmt, expected):
    assert detect_type(_img(fmt)) is expected
    assert expected.is_image


def test_pdf_even_with_leading_junk():
    pdf = docgen.multipage_pdf(1)
    assert detect_type(pdf) is FileType.PDF
    assert detect_type(b"\r\n\x00junk" + pdf) is FileType.PDF


@pytest.mark.parametrize(
    "html",
    [b"<!DOCTYPE html><html><body>x</body></html>",
     b"\xef\xbb\xbf  <html lang='en'><p>x</p></html>",
     b"<!-- saved page --><HTML><BODY>x</BODY></HTML>",
     b"<div class='a'>fragment</div>",
     "\ufeff<html><body>ü</body></html>".encode("utf-16-le")],
)
def test_html_sniff(html):
    assert detect_type(html) is FileType.HTML


def test_html_mentioning_pdf_header_is_html():
    assert detect_type(b"<html><body><p>Files start with %PDF-1.7</p></body></html>") \
        is FileType.HTML


def test_name_is_ignored(tmp_path):
    # A PNG named .pdf is a PNG; the detector only sees bytes.
    p = tmp_path / "lies.pdf"
    p.write_bytes(_img("PNG"))
    assert detect_type(p.read_bytes()) is FileType.PNG


@pytest.mark.parametrize("data", [b"\x00\x01\x02garbage", b"just some plain text\n",
                                  b"PK\x03\x04zipfile", b"{\"json\": true}"])
def test_unsupported(data):
    with pytest.raises(UnsupportedTypeError, match="unsupported file type"):
        detect_type(data)


def test_empty():
    with pytest.raises(InputError, match="empty"):
        detect_type(b"")
