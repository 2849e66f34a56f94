"""60-second load test at concurrency 8 against a real server: nothing lost, no unplanned 5xx."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import httpx
import pytest

SCHEMA = {"type": "object", "properties": {"invoice_number": {"type": "string"},
                                           "total": {"type": "number"}}}
TEXT = "Invoice No: INV-{i}\n\nTotal: EUR {i}.50"


@pytest.mark.slow
def test_load_60s_concurrency_8(make_server, invoice):
    pdf, schema, _ = invoice
    srv = make_server(max_concurrency=2, max_queue=4, queue_timeout_s=2.0,
                      request_timeout_s=60, max_upload_bytes=2_000_000)
    duration, workers = 60.0, 8
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    sent = 0
    lock = threading.Lock()
    stop = time.monotonic() + duration
    pdf_bytes = pdf.read_bytes()

    def worker(w: int) -> None:
        nonlocal sent
        i = 0
        with httpx.Client(base_url=srv.url, timeout=90) as c:
            while time.monotonic() < stop:
                i += 1
                with lock:
                    sent += 1
                try:
                    if i % 4 == 0:  # every fourth request parses a real PDF
                        r = c.post("/v1/extract", files={"file": ("i.pdf", pdf_bytes)},
                                   data={"schema": json.dumps(schema)})
                    else:
                        r = c.post("/v1/extract", json={"schema": SCHEMA,
                                                        "text": TEXT.format(i=w * 1000 + i)})
                    with lock:
                        statuses[r.status_code] += 1
                    if r.status_code == 200:
                        assert r.json()["valid"]
                    elif r.status_code in (429, 503):
                        assert r.json()["error"]["type"] in ("RateLimitedError", "BusyError")
                        time.sleep(0.05)
                except Exception as exc:  # a lost request
                    with lock:
                        failures.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    answered = sum(statuses.values())
    print(f"load: sent {sent}, answered {answered}, statuses {dict(statuses)}")
    assert not failures, failures[:5]
    assert answered == sent
    assert set(statuses) <= {200, 429, 503}, statuses
    assert statuses[200] > 0
    # the server drained: nothing left running or waiting
    h = httpx.get(f"{srv.url}/healthz").json()
    assert h["running"] == 0 and h["waiting"] == 0
