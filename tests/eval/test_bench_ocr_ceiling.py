"""The OCR-ceiling benchmark's parts that need no data: the miss classes and the skip."""

from __future__ import annotations

import pytest

from benchmarks.bench_ocr_ceiling import cause, main
from prunestack.parsers.lines import line_from_box
from prunestack.pipeline.document import BBox


def _line(text: str, x0: float, y0: float, conf: float = 0.95):
    line = line_from_box(text, BBox(x0=x0, y0=y0, x1=x0 + 9 * len(text), y1=y0 + 20))
    return line.model_copy(update={"confidence": conf})


@pytest.mark.parametrize(("value", "lines", "want"), [
    ("64.15", [_line("TOTAL RM 64.15", 0, 0)], None),
    ("64.15", [_line("TOTAL RM 64. 15", 0, 0)], "spacing"),
    # two boxes on one baseline, a line of the next row read between them
    ("SELANGOR DARUL EHSAN", [_line("SELANGOR", 0, 100), _line("TEL 03-1234", 0, 130),
                              _line("DARUL EHSAN", 120, 102)], "line merging"),
    ("PETALING JAYA", [_line("PETA1ING JAYA", 0, 0, conf=0.7)], "low-confidence misread"),
    ("PETALING JAYA", [_line("PETA1ING JAYA", 0, 0, conf=0.97)], "confident misread"),
    ("RESTAURANT SIN DU", [_line("THANK YOU", 0, 0)], "missing"),
])
def test_miss_causes(value, lines, want):
    assert cause(value, lines) == want


def test_skips_without_the_data(tmp_path, capsys):
    main(["--data", str(tmp_path / "absent"), "--out", str(tmp_path / "reports")])
    assert "skipped: no SROIE data" in capsys.readouterr().out
    assert not (tmp_path / "reports").exists()
