"""Input errors of the parsers, one class per way a file can be unreadable.

All are ``prunestack.errors.InputError`` subclasses (HTTP 400, CLI exit 2) except where noted, so
callers that only care about "bad input" catch ``InputError``.
"""

from __future__ import annotations

from prunestack.errors import ConfigError, InputError


class CorruptPdfError(InputError):
    """The bytes start like a PDF but pdfium cannot read them (truncated, damaged)."""


class EncryptedPdfError(InputError):
    """The PDF is encrypted and needs a password we were not given (or the password is wrong)."""


class EmptyPdfError(InputError):
    """The PDF has no pages."""


class PageSelectionError(InputError):
    """A ``--pages`` selection is malformed or names pages the document does not have."""


class OcrUnavailableError(ConfigError):
    """The OCR backend asked for is not installed (or none is, for ``auto``)."""
