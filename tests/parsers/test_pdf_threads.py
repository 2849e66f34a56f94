"""pdfium is not thread-safe: concurrent parses (as the API's workers run them) must neither
crash the process nor mix pages up. A crash here kills the test run (segfault), which is the
point: it reproduced under the API load test before every pdfium call took PDFIUM_LOCK."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prunestack.parsers.pdf import pdf_page_lines

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample_invoice.pdf"


def test_concurrent_text_layer_reads_agree():
    data = SAMPLE.read_bytes()
    expected = [ln.text for p in pdf_page_lines(data) for ln in p.lines]

    def read(_: int) -> list[str]:
        return [ln.text for p in pdf_page_lines(data) for ln in p.lines]

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(read, range(60)))
    assert expected and all(r == expected for r in results)
