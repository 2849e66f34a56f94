"""A timed-out request, or one whose client went away, cancels its work: the limiter answers
504 (or gives up on the gone client) and the worker slot frees at the work's next checkpoint;
the checkpoints of each long loop (PDF pages, image decoding, OCR lines, Tesseract, HTML,
placeholders and conformance) stop cancelled work; nothing logs an unretrieved exception."""

from __future__ import annotations

import asyncio
import gc
import threading
import time

import httpx
import pytest

from prunestack.api.limits import Limiter
from prunestack.cancel import cancellable, checkpoint
from prunestack.errors import DeadlineError
from prunestack.parsers.pdf import pdf_page_lines


def test_checkpoint_is_a_no_op_outside_cancellable_work():
    checkpoint("anywhere")


def test_pdf_parser_stops_at_the_next_page(tmp_path):
    from reportlab.pdfgen import canvas

    path = tmp_path / "two.pdf"
    c = canvas.Canvas(str(path))
    for i in range(2):
        c.drawString(72, 720, f"page {i + 1}")
        c.showPage()
    c.save()
    data = path.read_bytes()
    assert len(pdf_page_lines(data)) == 2
    event = threading.Event()
    event.set()
    with cancellable(event), pytest.raises(DeadlineError, match="page 1"):
        pdf_page_lines(data)


def test_timed_out_request_frees_its_slot_at_the_next_checkpoint():
    limiter = Limiter(concurrency=1, queue=0, queue_timeout=0.0)
    steps: list[int] = []

    def long_work() -> None:  # e.g. a 1,000-page document, one checkpoint per page
        for i in range(1000):
            checkpoint(f"page {i + 1}")
            steps.append(i)
            time.sleep(0.01)

    async def scenario() -> float:
        with pytest.raises(DeadlineError):
            await limiter.run(long_work, timeout=0.2)
        t0 = time.perf_counter()
        while limiter.running and time.perf_counter() - t0 < 5:
            await asyncio.sleep(0.01)
        assert limiter.running == 0
        return await limiter.run(lambda: 42.0, timeout=5)  # the slot is usable again

    try:
        assert asyncio.run(scenario()) == 42.0
    finally:
        limiter.close()
    assert 0 < len(steps) < 1000


def test_constrained_decoder_stops_at_the_next_token(tiny_llama_dir, mistral_tokenizer):
    from prunestack.models import load_causal_lm
    from prunestack.pipeline.decoding import generate_json

    model = load_causal_lm(tiny_llama_dir)
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    event = threading.Event()
    event.set()
    with cancellable(event), pytest.raises(DeadlineError, match="decoding"):
        generate_json(model, mistral_tokenizer, "JSON:", schema, max_new_tokens=32)


# A job that runs ~11 s on a real server when left alone (2 CPU cores): 20,000 short paragraphs
# (0.93 MB of text) and 20 number fields, i.e. 400,000 candidate parses and their scoring; it
# passes a checkpoint every 1,024 candidates, every embedding batch and every field.
SLOW_TEXT = "\n\n".join(f"Reference {i}: order {i * 7} amount {i % 97}.{i % 89:02d} EUR"
                        for i in range(20_000))
SLOW_SCHEMA = {"type": "object", "properties": {
    f"field_{k}": {"type": "number", "description": f"amount number {k}"} for k in range(20)}}
NEVER_RETRIEVED = "exception was never retrieved"


def _idle_after(srv, t0: float, limit: float) -> float:
    """Seconds from ``t0`` until ``/healthz`` reports no running work (fails after ``limit``)."""
    with httpx.Client(base_url=srv.url, timeout=5) as c:
        while True:
            h = c.get("/healthz")
            assert h.status_code == 200
            if h.json()["running"] == 0:
                return time.monotonic() - t0
            assert time.monotonic() - t0 < limit, f"worker still busy after {limit} s"
            time.sleep(0.05)


def _quiet(caplog) -> None:
    """The server logged no unretrieved future exception (collected now, so it would show)."""
    gc.collect()
    time.sleep(0.1)
    assert not [r for r in caplog.records if NEVER_RETRIEVED in r.getMessage()]


def test_a_client_that_drops_frees_its_worker_within_3_s(make_server, caplog):
    srv = make_server(max_concurrency=1, max_upload_bytes=4_000_000, request_timeout_s=300)
    lim = srv.app.state.limiter
    t_send = time.monotonic()
    with httpx.Client(base_url=srv.url, timeout=1.0) as c, pytest.raises(httpx.ReadTimeout):
        c.post("/v1/extract", json={"schema": SLOW_SCHEMA, "text": SLOW_TEXT})
    dropped = time.monotonic()  # leaving the block closed the connection
    assert dropped - t_send < 3
    assert _idle_after(srv, dropped, limit=3.0) < 3.0
    assert lim.cancelled == 1  # stopped at a checkpoint, not finished
    # the slot is free again: a small request is served at once
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        r = c.post("/v1/extract", json={"schema": SLOW_SCHEMA, "text": "amount number 3: 4.50"})
        assert r.status_code == 200
    _quiet(caplog)


def test_deadline_stops_the_work_within_2_s_and_logs_nothing(make_server, caplog):
    # 4 s: deep in the extractive engine, past parsing, the tree and retrieval
    srv = make_server(max_concurrency=1, max_upload_bytes=4_000_000, request_timeout_s=4.0)
    lim = srv.app.state.limiter
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        r = c.post("/v1/extract", json={"schema": SLOW_SCHEMA, "text": SLOW_TEXT})
    answered = time.monotonic()
    assert r.status_code == 504 and r.json()["error"]["type"] == "DeadlineError"
    assert _idle_after(srv, answered, limit=2.0) < 2.0
    assert lim.cancelled == 1
    _quiet(caplog)


def test_limiter_watches_the_client_and_retrieves_every_outcome(caplog):
    """Unit level: ``disconnected`` turning true cancels the work (ClientGoneError) and frees
    the slot at the next checkpoint; an exception the work raises after its request ended is
    retrieved (nothing logged)."""
    from prunestack.api.limits import ClientGoneError

    limiter = Limiter(concurrency=1, queue=0, queue_timeout=0.0)
    gone = threading.Event()

    def long_work() -> None:
        for i in range(1000):
            checkpoint(f"step {i}")
            time.sleep(0.01)

    async def disconnected() -> bool:
        return gone.is_set()

    async def scenario() -> float:
        asyncio.get_running_loop().call_later(0.3, gone.set)
        with pytest.raises(ClientGoneError):
            await limiter.run(long_work, timeout=60, disconnected=disconnected)
        t0 = time.perf_counter()
        while limiter.running and time.perf_counter() - t0 < 5:
            await asyncio.sleep(0.01)
        return time.perf_counter() - t0

    try:
        assert asyncio.run(scenario()) < 1.0
    finally:
        limiter.close()
    assert limiter.running == 0 and limiter.cancelled == 1
    _quiet(caplog)


def _set_event() -> threading.Event:
    event = threading.Event()
    event.set()
    return event


def _text_png(lines: int = 6) -> bytes:
    import io

    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (900, 80 + 60 * lines), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=32)
    for i in range(lines):
        draw.text((40, 40 + 60 * i), f"Invoice line {i + 1} amount {i * 11}.50", fill="black",
                  font=font)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_image_decoding_stops_between_its_steps():
    from prunestack.parsers.image import load_pages

    data = _text_png()
    assert load_pages(data)[0][0].size == (900, 440)
    with cancellable(_set_event()), pytest.raises(DeadlineError, match="image decoding"):
        load_pages(data)


def test_rapidocr_stops_before_a_batch_of_lines_and_reads_the_same_when_not_cancelled():
    from prunestack.parsers.image import load_image
    from prunestack.parsers.ocr.rapid import RapidOcrBackend

    img = load_image(_text_png())
    backend = RapidOcrBackend()
    lines = backend.recognize(img)
    assert len(lines) == 6 and "amount" in " ".join(w.text for w in lines[2].words)
    with cancellable(threading.Event()):  # not cancelled: the wrapped session changes nothing
        assert [ln.text for ln in backend.recognize(img)] == [ln.text for ln in lines]
    with cancellable(_set_event()), pytest.raises(DeadlineError, match="OCR text detection"):
        backend.recognize(img)


def test_a_text_detection_run_in_flight_stops_when_its_work_is_cancelled():
    """Detection on a big page is one ONNX Runtime run (seconds); cancelling the work stops it
    in the middle (``RunOptions.terminate``) instead of at the next checkpoint after it."""
    import numpy as np

    from prunestack.cancel import CancelEvent
    from prunestack.parsers.ocr.rapid import _engine

    det = _engine().text_det
    page = (np.random.default_rng(0).random((1600, 1600, 3)) * 255).astype("uint8")
    event, out = CancelEvent(), {}

    def run() -> None:
        with cancellable(event):
            try:
                det(page)
                out["r"] = "finished"
            except DeadlineError as exc:
                out["r"] = str(exc)

    th = threading.Thread(target=run)
    th.start()
    time.sleep(0.1)  # the run is under way (it takes seconds on this page)
    event.set()
    th.join(60)
    assert "OCR text detection" in out["r"], out  # stopped inside the run, not after it


def test_a_cancelled_subprocess_is_killed_within_half_a_second():
    """Tesseract runs as a subprocess; the same runner kills any command on cancellation."""
    import os
    import shutil

    import psutil

    from prunestack.parsers.ocr.tesseract import _run

    sleep = shutil.which("sleep")
    assert sleep is not None
    event = threading.Event()
    threading.Timer(0.3, event.set).start()
    t0 = time.perf_counter()
    with cancellable(event), pytest.raises(DeadlineError, match="OCR"):
        _run([sleep, "30"], dict(os.environ), timeout_s=60)
    assert time.perf_counter() - t0 < 0.8
    assert not [p for p in psutil.Process().children() if p.name() == "sleep"]


def test_html_parsing_stops_within_a_few_thousand_nodes():
    from prunestack.parsers.html import parse_html

    html = "<html><body>" + "<p>a paragraph of text</p>" * 20_000 + "</body></html>"
    assert len(parse_html(html).pages[0].elements) == 20_000
    with cancellable(_set_event()), pytest.raises(DeadlineError, match="HTML"):
        parse_html(html)


def test_placeholders_and_conformance_stop_per_value():
    from prunestack.pipeline.schema import conform, empty_value, load_schema

    schema = load_schema({"type": "object", "required": ["rows"], "properties": {"rows": {
        "type": "array", "minItems": 500, "items": {
            "type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}}}}})
    data, missing = conform({}, schema)
    assert len(data["rows"]) == 500 and missing
    with cancellable(_set_event()), pytest.raises(DeadlineError, match="conformance"):
        conform({}, schema)
    with cancellable(_set_event()), pytest.raises(DeadlineError, match="placeholder building"):
        empty_value(schema["properties"]["rows"], schema)


def test_a_failing_disconnect_check_cancels_nothing_and_logs_nothing(caplog):
    limiter = Limiter(concurrency=1, queue=0, queue_timeout=0.0)

    async def broken() -> bool:
        raise RuntimeError("receive channel gone")

    def work() -> int:
        for i in range(30):
            checkpoint(f"step {i}")
            time.sleep(0.02)
        return 7

    try:
        assert asyncio.run(limiter.run(work, timeout=30, disconnected=broken)) == 7
    finally:
        limiter.close()
    assert limiter.cancelled == 0
    gc.collect()
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]


def test_an_error_reaches_the_route_without_the_jobs_data():
    """The frames of an error's traceback are cleared in the worker: the job's data (a parsed
    body) is freed there, not on the event loop when the error is dropped."""
    import weakref

    from prunestack.errors import InputError

    class Big(list):
        pass

    ref: list[weakref.ref] = []

    def job() -> None:
        data = Big(range(1000))
        ref.append(weakref.ref(data))
        raise InputError("bad body")

    limiter = Limiter(concurrency=1, queue=0, queue_timeout=0.0)

    async def scenario() -> BaseException:
        try:
            await limiter.run(job, timeout=10)
        except InputError as exc:
            return exc
        raise AssertionError("no error")

    try:
        exc = asyncio.run(scenario())
    finally:
        limiter.close()
    assert exc.message == "bad body" and exc.__traceback__ is not None
    assert ref[0]() is None  # freed in the worker although the error is still held here


def test_a_request_whose_client_left_while_queued_never_starts():
    from prunestack.api.limits import ClientGoneError

    limiter = Limiter(concurrency=1, queue=1, queue_timeout=10.0)
    ran: list[str] = []

    def job(name: str) -> str:
        ran.append(name)
        time.sleep(0.3)
        return name

    async def gone() -> bool:
        return True

    async def scenario() -> None:
        first = asyncio.ensure_future(limiter.run(job, "first", timeout=10))
        await asyncio.sleep(0.05)
        with pytest.raises(ClientGoneError, match="before its work started"):
            await limiter.run(job, "second", timeout=10, disconnected=gone)
        assert await first == "first"
        assert await limiter.run(job, "third", timeout=10) == "third"  # the slot was released

    try:
        asyncio.run(scenario())
    finally:
        limiter.close()
    assert ran == ["first", "third"] and limiter.running == 0
