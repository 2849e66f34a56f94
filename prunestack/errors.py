"""One root error for everything a user can get wrong, with one subclass per area.

The CLI prints ``error: <message> (<hint>)`` and exits non-zero; the API maps each subclass to one
HTTP status in a single exception handler (``api.app``). Code raises the most specific subclass and
never a bare ``Exception`` for user mistakes.
"""

from __future__ import annotations


class PrunestackError(Exception):
    """Base class: a message saying what is wrong and an optional hint saying what to do."""

    http_status: int = 400

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class InputError(PrunestackError):
    """The input file or text is missing, corrupt, empty or malformed."""

    http_status = 400


class UnsupportedTypeError(InputError):
    """The input's bytes are not of a type we read."""

    http_status = 415


class TooLargeError(InputError):
    """The input exceeds a configured limit (bytes, pages, pixels, nesting depth)."""

    http_status = 413


class SchemaError(PrunestackError):
    """A JSON Schema is invalid or uses something no backend supports."""

    http_status = 422


class ConfigError(PrunestackError):
    """A recipe, option or setting is invalid (bad ratio, unknown method, unknown backend...)."""

    http_status = 422


class ModelError(PrunestackError):
    """A model folder cannot be loaded, or its family is not supported."""

    http_status = 422


class BusyError(PrunestackError):
    """The server is saturated; the client should retry later."""

    http_status = 503


class DeadlineError(PrunestackError):
    """The work did not finish within the configured time."""

    http_status = 504
