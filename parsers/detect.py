"""Detect what a file is from its bytes (magic numbers and an HTML sniff), never from its name.

``detect_type(data)`` returns one of the ``FileType`` values or raises ``UnsupportedTypeError``;
``InputError`` for empty input. Only the first few KiB are looked at. This module does not parse
anything: it only decides which parser gets the bytes.
"""

from __future__ import annotations

import re
from enum import StrEnum

from prunestack.errors import InputError, UnsupportedTypeError
from prunestack.parsers.charset import bom_codec


class FileType(StrEnum):
    PDF = "application/pdf"
    PNG = "image/png"
    JPEG = "image/jpeg"
    TIFF = "image/tiff"
    WEBP = "image/webp"
    BMP = "image/bmp"
    GIF = "image/gif"
    HTML = "text/html"

    @property
    def is_image(self) -> bool:
        return self.value.startswith("image/")


#: Bytes looked at for the HTML sniff (after a BOM and leading whitespace).
SNIFF_BYTES = 4096
# PDF readers accept "%PDF-" anywhere in the first 1024 bytes (some writers prepend junk).
_PDF_WINDOW = 1024
_HTML_START = re.compile(
    rb"^(?:<\?xml[^>]{0,200}\?>\s*)?"  # XHTML pages start with an XML declaration
    rb"(?:<!--.*?-->\s*)*(?:<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]|<meta[\s>]"
    rb"|<title[\s>]|<div[\s>]|<p[\s>]|<h[1-6][\s>]|<table[\s>]|<ul[\s>]|<section[\s>]"
    rb"|<article[\s>]|<main[\s>]|<nav[\s>]|<span[\s>]|<a[\s>]|<!doctype\s+html)",
    re.IGNORECASE | re.DOTALL,
)


def detect_type(data: bytes) -> FileType:
    """The type of ``data`` from its leading bytes."""
    if not data:
        raise InputError("the file is empty", "give a PDF, an image or an HTML page")
    head = data[:SNIFF_BYTES]
    if head.lstrip(b"\x00\t\r\n\x0c ").startswith(b"%PDF-"):
        return FileType.PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return FileType.PNG
    if head.startswith(b"\xff\xd8\xff"):
        return FileType.JPEG
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return FileType.TIFF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return FileType.WEBP
    if head[:2] == b"BM" and len(head) >= 26:
        return FileType.BMP
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return FileType.GIF
    if _looks_like_html(head):
        return FileType.HTML
    if b"%PDF-" in head[:_PDF_WINDOW]:  # a PDF behind a few bytes of junk, as readers accept
        return FileType.PDF
    raise UnsupportedTypeError(
        f"unsupported file type (starts with {_describe(head)})",
        "give a PDF, a PNG/JPEG/TIFF/WebP/BMP/GIF image or an HTML page",
    )


def _looks_like_html(head: bytes) -> bool:
    codec = bom_codec(head)  # the HTML decoder's marks (UTF-8, UTF-32, UTF-16)
    if codec is not None:  # the window as UTF-8 for the sniff (it may end mid-character)
        head = head.decode(codec, errors="ignore").encode("utf-8")
    return bool(_HTML_START.match(head.lstrip()))


def _describe(head: bytes) -> str:
    shown = head[:8]
    if all(32 <= b < 127 for b in shown):
        return repr(shown.decode("ascii"))
    return "bytes " + shown.hex(" ")
