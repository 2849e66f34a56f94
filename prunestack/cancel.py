"""Cooperative cancellation of long work (an API request whose deadline has passed).

Work runs in worker threads that Python cannot interrupt. The API's limiter runs each request's
work inside :func:`cancellable` with a ``threading.Event``; when the request times out it sets the
event, and the next :func:`checkpoint` the work reaches raises :class:`DeadlineError`: the PDF
parser checks before every page and before each page's OCR, extraction before its engine, the
constrained decoders before every token (or speculative round). The worker slot then frees after
at most one more page or token instead of after the whole document. Outside
:func:`cancellable`, ``checkpoint`` does nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from prunestack.errors import DeadlineError

_EVENT: ContextVar[threading.Event | None] = ContextVar("prunestack_cancel", default=None)


@contextmanager
def cancellable(event: threading.Event) -> Iterator[threading.Event]:
    """Make :func:`checkpoint` calls in this thread's context watch ``event``."""
    token = _EVENT.set(event)
    try:
        yield event
    finally:
        _EVENT.reset(token)


def checkpoint(where: str = "") -> None:
    """Raise :class:`DeadlineError` if the surrounding work was cancelled."""
    event = _EVENT.get()
    if event is not None and event.is_set():
        at = f" (stopped at {where})" if where else ""
        raise DeadlineError(f"the work was cancelled: its request ran out of time{at}")
