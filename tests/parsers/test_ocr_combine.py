"""Per-line choice between rapidocr and tesseract (``parsers.ocr.combine``), the session settings
of the rapidocr engine, ``auto``'s measured order and tesseract's subprocess loop: real rapidocr,
real tesseract (skipped without the binary), pages rendered from text."""

from __future__ import annotations

import os

import pytest

from prunestack.parsers.ocr import AUTO_ORDER, MEASURED, get_backend
from prunestack.parsers.ocr.combine import CombinedBackend, read_crops
from prunestack.parsers.ocr.rapid import REC_BATCH, RapidOcrBackend, make_engine
from prunestack.parsers.ocr.tesseract import TesseractBackend, _run
from tests.parsers import docgen
from tests.parsers.conftest import needs_tesseract

LINES = ["RESTORAN WAN SHENG", "TOTAL RM 64.15", "THANK YOU"]


@pytest.fixture(scope="module")
def page():
    image = docgen.render_page(docgen.text_pdf(LINES, size=12), 0, 200)
    lines, frame = RapidOcrBackend().recognize_page(image)
    return image, lines, frame


@needs_tesseract
def test_read_crops_one_tesseract_run_per_page(page):
    image, lines, _ = page
    readings = read_crops(TesseractBackend(psm=6), image, [ln.bbox for ln in lines])
    assert [" ".join(w.text for w in r) for r in readings] == [ln.text for ln in lines]
    for r in readings:  # x positions relative to the box, left to right
        assert all(-0.2 <= w.bbox.x0 <= w.bbox.x1 <= 1.2 for w in r)
        assert [w.bbox.x0 for w in r] == sorted(w.bbox.x0 for w in r)


@needs_tesseract
def test_unsure_lines_take_the_more_confident_reading(page):
    image, lines, frame = page
    assert [ln.text for ln in lines] == LINES
    sure = CombinedBackend(retry_below=0.0).reread(image, lines, frame)
    assert sure == lines  # nothing under the bar: rapidocr's lines untouched
    mixed = CombinedBackend(retry_below=1.01).reread(image, lines, frame)  # every line re-read
    assert [ln.text for ln in mixed] == LINES
    for old, new in zip(lines, mixed, strict=True):
        assert new.bbox == old.bbox
        assert new.confidence >= old.confidence
        assert all(old.bbox.x0 <= w.bbox.x0 < w.bbox.x1 <= old.bbox.x1 for w in new.words)


@needs_tesseract
def test_combined_backend_end_to_end(page):
    image, _, _ = page
    backend = get_backend("rapidocr+tesseract")
    assert backend.name == "rapidocr+tesseract"
    assert [ln.text for ln in backend.recognize(image)] == LINES


def test_engine_settings_same_lines(page):
    """Two threads without spin-waiting (the default now) read what rapidocr's own session
    settings (every core, spinning) read, lines per recogniser run alike: the session settings
    change CPU time, not results (the batch size does: see the next test)."""
    image, lines, _ = page
    stock = RapidOcrBackend(engine=make_engine(threads=None, spinning=True))
    assert stock.recognize(image) == lines
    opts = make_engine().text_rec.session._session.session.get_session_options()
    assert opts.intra_op_num_threads == 2
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_one_line_per_recogniser_run_by_default(page):
    """The recogniser reads one line per run (no padding to a batch's widest line, measured
    faster on the dev receipts); rapidocr's batches of 6 stay available and read this page
    the same."""
    image, lines, _ = page
    assert make_engine().text_rec.rec_batch_num == REC_BATCH == 1
    assert [ln.text for ln in lines] == LINES
    stock = make_engine(rec_batch=None)
    assert stock.text_rec.rec_batch_num == 6
    assert [ln.text for ln in RapidOcrBackend(engine=stock).recognize(image)] == LINES


def test_auto_follows_the_measurements():
    measured = [n for n in AUTO_ORDER if n in MEASURED]
    assert measured == sorted(MEASURED, key=lambda n: (-MEASURED[n][0], MEASURED[n][1]))
    assert set(AUTO_ORDER) - set(MEASURED) == {"paddleocr"}  # unmeasured: last
    assert AUTO_ORDER.index("paddleocr") == len(AUTO_ORDER) - 1
    assert get_backend("auto").name == "rapidocr"  # best ceiling per CPU second on the dev set


def test_subprocess_outlives_the_poll_interval():
    """A child that runs past several 0.25 s polls is waited for, its output kept (the PNG
    used to go through stdin, and a retry after the first poll stopped feeding it)."""
    out = _run(["sh", "-c", "sleep 0.7; echo done"], dict(os.environ), 10.0)
    assert out == "done\n"
