"""A timed-out request cancels its work: the limiter answers 504 and the worker slot frees at the
work's next checkpoint (the PDF parser checks before every page)."""

from __future__ import annotations

import asyncio
import threading
import time

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
