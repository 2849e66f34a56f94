"""Cooperative cancellation of long work (an API request whose deadline passed or whose client
went away).

Work runs in worker threads that Python cannot interrupt. The API's limiter runs each request's
work inside :func:`cancellable` with a ``threading.Event``; when the request times out, or its
client disconnects, it sets the event, and the next :func:`checkpoint` the work reaches raises
:class:`DeadlineError`. Checkpoints sit in every loop whose length a user controls: the PDF
parser before every page and each page's OCR; image decoding between its steps; OCR between
batches of lines (RapidOCR's recogniser) or while Tesseract runs; HTML parsing and cleaning
every few thousand nodes; the sentence encoder before every batch; retrieval, candidate
building and the extractive engine per field and every few hundred candidates; schema
conformance and placeholder building per value; the constrained decoders before every token
(or speculative round). A single long native call (an ONNX Runtime run: OCR text detection on a
page) registers :func:`on_cancel` to stop itself at once (``RunOptions.terminate``). The worker
slot then frees within about a second instead of after the whole document. Outside
:func:`cancellable`, ``checkpoint`` does nothing; it costs a context variable read and an
``Event.is_set``, so calling it per item is fine.

It does not kill threads, time anything, or know about HTTP.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from prunestack.errors import DeadlineError

_EVENT: ContextVar[threading.Event | None] = ContextVar("prunestack_cancel", default=None)
T = TypeVar("T")


class CancelEvent(threading.Event):
    """A ``threading.Event`` that also runs the callbacks registered with :func:`on_cancel`
    when it is set (each once, in the setting thread; a failing callback is ignored)."""

    def __init__(self) -> None:
        super().__init__()
        self._callbacks: dict[int, Callable[[], None]] = {}
        self._lock = threading.Lock()
        self._next = 0

    def set(self) -> None:
        super().set()
        with self._lock:
            callbacks, self._callbacks = list(self._callbacks.values()), {}
        for cb in callbacks:
            try:
                cb()
            except Exception:  # a stop request must not fail the canceller
                pass

    def _add(self, cb: Callable[[], None]) -> int | None:
        with self._lock:
            if self.is_set():
                return None
            self._next += 1
            self._callbacks[self._next] = cb
            return self._next

    def _remove(self, key: int) -> None:
        with self._lock:
            self._callbacks.pop(key, None)


@contextmanager
def on_cancel(stop: Callable[[], None]) -> Iterator[None]:
    """While the block runs, call ``stop()`` if the surrounding work is cancelled (at once when
    it already was). For native calls that cannot reach a :func:`checkpoint` themselves. Does
    nothing outside :func:`cancellable` or when the event is a plain ``threading.Event``."""
    event = _EVENT.get()
    key = None
    if isinstance(event, CancelEvent):
        key = event._add(stop)
        if key is None:
            stop()  # already cancelled
    try:
        yield
    finally:
        if key is not None:
            event._remove(key)  # type: ignore[union-attr]  # a key comes from a CancelEvent


@contextmanager
def cancellable(event: threading.Event) -> Iterator[threading.Event]:
    """Make :func:`checkpoint` calls in this thread's context watch ``event``."""
    token = _EVENT.set(event)
    try:
        yield event
    finally:
        _EVENT.reset(token)


def cancelled() -> bool:
    """Whether the surrounding work was cancelled (False outside :func:`cancellable`)."""
    event = _EVENT.get()
    return event is not None and event.is_set()


def checkpoint(where: str = "") -> None:
    """Raise :class:`DeadlineError` if the surrounding work was cancelled."""
    if cancelled():
        at = f" (stopped at {where})" if where else ""
        raise DeadlineError("the work was cancelled: its request ran out of time or its client "
                            f"went away{at}")


def checked(items: Iterable[T], where: str = "", every: int = 1) -> Iterator[T]:
    """``items`` with a :func:`checkpoint` before the first and then every ``every``-th item."""
    for i, item in enumerate(items):
        if i % every == 0:
            checkpoint(where)
        yield item
