"""Memory falls back after a large job: glibc keeps what a job freed mapped for reuse, so the
limiter collects garbage and trims the heap (``malloc_trim``) after any job that grew the
process by more than ``TRIM_AFTER_BYTES``."""

from __future__ import annotations

import asyncio
import ctypes.util
import threading

import psutil
import pytest

from prunestack.api.limits import TRIM_AFTER_BYTES, Limiter, release_memory

MB = 2**20
pytestmark = pytest.mark.skipif(ctypes.util.find_library("c") is None or not hasattr(
    ctypes.CDLL(ctypes.util.find_library("c")), "malloc_trim"), reason="glibc only")


def _rss() -> int:
    return psutil.Process().memory_info().rss


def _fragmenting_job(keep: list[bytes]) -> int:
    """~300 MB of 1 KB objects, one in 200 kept (the pattern a parse leaves behind: its result
    keeps a few objects scattered over the heap); returns the RSS at its peak."""
    big = [bytes(1000) + i.to_bytes(4, "little") for i in range(300_000)]
    keep.extend(big[::200])
    peak = _rss()
    del big
    return peak


def test_release_memory_gives_freed_heap_back():
    keep: list[bytes] = []
    start = _rss()
    th = threading.Thread(target=_fragmenting_job, args=(keep,))  # a worker thread's arena
    th.start()
    th.join()
    assert _rss() - start > 200 * MB  # freed, yet still mapped
    release_memory()
    assert _rss() - start < 60 * MB
    assert len(keep) == 1500


def test_limiter_trims_after_a_job_that_grew_the_process():
    keep: list[bytes] = []
    limiter = Limiter(concurrency=1, queue=0, queue_timeout=0.0)
    start = _rss()
    try:
        peak = asyncio.run(limiter.run(_fragmenting_job, keep, timeout=60))
    finally:
        limiter.close()
    assert peak - start > TRIM_AFTER_BYTES
    assert _rss() - start < 60 * MB
