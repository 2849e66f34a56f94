"""What keeps the server standing: an upload-size guard, a work limiter and a page-image cache.

* :class:`UploadLimitMiddleware` (pure ASGI) answers 413 before reading a body whose declared
  ``Content-Length`` is too big, and counts the bytes of bodies without one (chunked uploads),
  answering 413 as soon as the count passes the limit; the application then sees a disconnect
  and never holds more than the limit plus one chunk.
* :class:`Limiter` admits ``concurrency`` requests at once; up to ``queue`` more may wait up to
  ``queue_timeout`` seconds (then 503); beyond that a request is refused at once (429). A slot is
  released only when its work really finishes, even after the client got a 504, so timed-out work
  cannot pile up behind the limiter's back. A request whose client left while it waited for a
  slot never starts. A request that times out (504), or whose client disconnects while its work
  runs (``disconnected``: the route passes ``request.is_disconnected``, polled four times a
  second), cancels its work
  (:mod:`prunestack.cancel`), which stops at its next checkpoint, so the slot frees within about
  a second. Every work future's outcome is retrieved, so work that outlives its request logs
  nothing ("Future exception was never retrieved").
* Memory falls back after a large job: a worker whose job grew the process by more than
  ``TRIM_AFTER_BYTES`` collects garbage and hands freed heap back to the OS
  (:func:`release_memory`) as soon as the job ends (also when it ends after its 504), and
  :class:`ReleaseMemoryMiddleware` does the same once a response that grew the process has
  been sent (what the answer's buffers took).
* :class:`PageCache` keeps recent uploads (bounded by count and bytes) so the web page can ask for
  page images by document id.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import hashlib
import json
import threading
import traceback
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

import psutil

from prunestack.cancel import CancelEvent, cancellable
from prunestack.errors import BusyError, DeadlineError, PrunestackError, TooLargeError

#: A job that grows the process's RSS by more than this is followed by :func:`release_memory`.
TRIM_AFTER_BYTES = 64 * 1024 * 1024
#: How often a running request checks whether its client is still there (seconds).
DISCONNECT_POLL_S = 0.25


class RateLimitedError(BusyError):
    """Too many requests are already waiting; retry later."""

    http_status = 429


class ClientGoneError(PrunestackError):
    """The client closed the connection before its answer was ready; its work was cancelled."""

    http_status = 499  # nginx's "client closed request": nobody reads it, the logs do


def error_body(exc: Exception, status: int) -> dict[str, Any]:
    return {"error": {"type": type(exc).__name__, "message": getattr(exc, "message", str(exc)),
                      "hint": getattr(exc, "hint", None)}, "status": status}


class ReleaseMemoryMiddleware:
    """Pure ASGI: after a request whose handling grew the process by more than
    ``TRIM_AFTER_BYTES`` has been answered, trim the heap (in a thread; no collection: the
    worker collected the job's garbage, and an answer's buffers hold no cycles)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        before = _rss()
        await self.app(scope, receive, send)
        if _rss() - before > TRIM_AFTER_BYTES:
            await asyncio.to_thread(release_memory, False)


class UploadLimitMiddleware:
    def __init__(self, app: Any, max_bytes: Callable[[], int]) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes()
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                size = -1
            if size < 0 or size > limit:
                await self._reject(send, size, limit)
                return
        seen = 0
        rejected = False
        started = False

        async def counting_receive() -> dict:
            nonlocal seen, rejected
            if rejected:
                return {"type": "http.disconnect"}
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    rejected = True
                    if not started:
                        await self._reject(send, seen, limit)
                    return {"type": "http.disconnect"}
            return msg

        async def guarded_send(msg: dict) -> None:
            nonlocal started
            if rejected:
                return  # we already answered 413
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not rejected:  # the app failing on the disconnect we caused is expected
                raise

    @staticmethod
    async def _reject(send: Callable, size: int, limit: int) -> None:
        exc = TooLargeError(f"upload too large: more than {limit} bytes"
                            if size > limit else "invalid Content-Length",
                            f"the limit is {limit} bytes")
        body = json.dumps(error_body(exc, 413)).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


class Limiter:
    def __init__(self, concurrency: int, queue: int, queue_timeout: float) -> None:
        self.concurrency = concurrency
        self.queue = queue
        self.queue_timeout = queue_timeout
        self._sem = asyncio.Semaphore(concurrency)
        self.waiting = 0
        self.running = 0
        self.cancelled = 0  # jobs stopped at a checkpoint after a deadline or a disconnect
        self.executor = ThreadPoolExecutor(max_workers=concurrency,
                                           thread_name_prefix="prunestack-work")

    async def run(self, fn: Callable[..., Any], *args: Any, timeout: float,
                  disconnected: Callable[[], Awaitable[bool]] | None = None) -> Any:
        """Run ``fn(*args)`` in a worker thread under the limits; raise 429/503/504 errors, or
        :class:`ClientGoneError` when ``disconnected()`` turns true first. Either way the work
        is cancelled and its slot frees at its next checkpoint."""
        if self._sem.locked() and self.waiting >= self.queue:
            raise RateLimitedError("server busy: too many requests waiting",
                                   "retry after a short pause")
        self.waiting += 1
        try:
            if self._sem.locked():
                await asyncio.wait_for(self._sem.acquire(), self.queue_timeout)
            else:  # a free slot; wait_for with a 0 s timeout would refuse even this one
                await self._sem.acquire()
        except TimeoutError:
            raise BusyError("server busy: no worker free in time", "retry later") from None
        finally:
            self.waiting -= 1
        if disconnected is not None and await _gone(disconnected):
            self._sem.release()  # its client left while it waited: never start the work
            raise ClientGoneError("the client closed the connection before its work started")
        self.running += 1
        loop = asyncio.get_running_loop()
        cancel = CancelEvent()

        def work() -> Any:
            before = _rss()
            try:
                with cancellable(cancel):
                    return fn(*args)
            except BaseException as exc:
                _drop_frames(exc)
                raise
            finally:
                if _rss() - before > TRIM_AFTER_BYTES:
                    release_memory()

        fut = loop.run_in_executor(self.executor, work)

        def _finished(f: asyncio.Future) -> None:
            self.running -= 1
            self._sem.release()
            # always retrieve the outcome: work that outlived its request must not log
            # "Future exception was never retrieved"
            exc = None if f.cancelled() else f.exception()
            if isinstance(exc, DeadlineError) and cancel.is_set():
                self.cancelled += 1

        fut.add_done_callback(_finished)
        waits: set[asyncio.Future] = {fut}
        watcher = None
        if disconnected is not None:
            watcher = asyncio.ensure_future(_until_disconnected(disconnected))
            waits.add(watcher)
        try:
            done, _ = await asyncio.wait(waits, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # the request's task itself was cancelled (shutdown)
            cancel.set()
            raise
        finally:
            if watcher is not None:
                watcher.cancel()
        if fut in done:
            return fut.result()
        cancel.set()  # the work stops at its next checkpoint and frees the slot
        if watcher is not None and watcher in done:
            raise ClientGoneError("the client closed the connection; its work was cancelled")
        raise DeadlineError(f"the request took longer than {timeout:g} s",
                            "try fewer pages, or raise PRUNESTACK_REQUEST_TIMEOUT_S")

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


def _drop_frames(exc: BaseException | None) -> None:
    """Clear the locals of the frames an error's traceback holds (and its causes'): they are
    the job's data (a parsed 20 MB body), which would otherwise be freed on the event loop,
    stalling it, whenever the error is dropped there."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        traceback.clear_frames(exc.__traceback__)
        exc = exc.__cause__ or exc.__context__


async def _gone(disconnected: Callable[[], Awaitable[bool]]) -> bool:
    try:
        return await disconnected()
    except Exception:
        return False


async def _until_disconnected(disconnected: Callable[[], Awaitable[bool]]) -> None:
    """Return once ``disconnected()`` is true; if it fails, stop watching (never cancel work on
    a guess) and wait until cancelled."""
    try:
        while not await disconnected():
            await asyncio.sleep(DISCONNECT_POLL_S)
    except Exception:
        await asyncio.get_running_loop().create_future()


_PROCESS = psutil.Process()


def _rss() -> int:
    try:
        return int(_PROCESS.memory_info().rss)
    except psutil.Error:
        return 0


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim`` (None elsewhere: musl, macOS, Windows)."""
    name = ctypes.util.find_library("c")
    try:
        fn = getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None
    return fn


def release_memory(collect: bool = True) -> None:
    """Collect garbage (unless ``collect`` is false) and return freed heap pages to the OS
    (glibc only; elsewhere only the collection).

    glibc keeps the memory a large job freed (its arenas, and big blocks once its mmap threshold
    has grown) mapped for reuse, so RSS would stay at the job's peak. The collection holds the
    GIL (a second or so on a big heap); the trim does not (ctypes releases it)."""
    if collect:
        gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


class PageCache:
    """Recent uploads by content hash: ``put(bytes) -> id``, ``get(id) -> (bytes, mime)``."""

    def __init__(self, max_docs: int, max_bytes: int) -> None:
        self.max_docs = max_docs
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, tuple[bytes, str]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def put(self, data: bytes, mime: str) -> str:
        doc_id = hashlib.sha256(data).hexdigest()[:24]
        with self._lock:
            if doc_id in self._items:
                self._items.move_to_end(doc_id)
                return doc_id
            self._items[doc_id] = (data, mime)
            self._size += len(data)
            while self._items and (len(self._items) > self.max_docs or
                                   self._size > self.max_bytes):
                _, (old, _) = self._items.popitem(last=False)
                self._size -= len(old)
        return doc_id

    def get(self, doc_id: str) -> tuple[bytes, str] | None:
        with self._lock:
            item = self._items.get(doc_id)
            if item is not None:
                self._items.move_to_end(doc_id)
            return item
