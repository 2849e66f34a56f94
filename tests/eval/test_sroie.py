"""The SROIE reader and scorer (``prunestack.eval.sroie``) on a receipt folder written here in the
task's layout, and the gold lines through the real layout step; on the real dev set too when
``../shared/data/sroie-dev`` (or ``$PRUNESTACK_SROIE_DATA``) is there."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image

from prunestack.errors import InputError
from prunestack.eval.sroie import (
    field_hits,
    gold,
    gold_lines,
    gold_page,
    norm,
    occurs,
    receipt_ids,
)
from prunestack.parsers.layout import aggregate
from prunestack.parsers.lines import line_from_box
from prunestack.pipeline.document import BBox

DEV = Path(os.environ.get("PRUNESTACK_SROIE_DATA", Path(__file__).resolve().parents[2] / ".."
                          / "shared" / "data" / "sroie-dev"))
KEY = {"company": "KEDAI RUNCIT ALI SDN BHD", "date": "11/01/2018",
       "address": "NO. 12, JALAN AMPANG, 50450 KUALA LUMPUR", "total": "7.00"}
ROWS = [  # quad (clockwise from top left) and text, as box/ID.csv has them
    ((60, 20, 300, 20, 300, 44, 60, 44), "KEDAI RUNCIT ALI SDN BHD"),
    ((40, 50, 320, 52, 320, 74, 40, 72), "NO. 12, JALAN AMPANG,"),
    ((70, 78, 290, 78, 290, 100, 70, 100), "50450 KUALA LUMPUR"),
    ((20, 120, 200, 120, 200, 140, 20, 140), "DATE: 11/01/2018"),
    ((20, 160, 90, 160, 90, 180, 20, 180), "TOTAL"),
    ((250, 160, 330, 160, 330, 180, 250, 180), "RM 7.00"),
]


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    for sub in ("key", "box", "img"):
        (tmp_path / sub).mkdir()
    for rid in ("001", "002"):
        (tmp_path / "key" / f"{rid}.json").write_text(json.dumps(KEY))
        (tmp_path / "box" / f"{rid}.csv").write_text(
            "\n".join(",".join(map(str, q)) + "," + t for q, t in ROWS) + "\n\n")
    Image.new("RGB", (360, 220), "white").save(tmp_path / "img" / "002.jpg")
    return tmp_path


def test_line_from_box_spreads_words_by_their_characters():
    ln = line_from_box("NO.  12, JALAN", BBox(x0=10, y0=5, x1=140, y1=25), confidence=0.9)
    assert [w.text for w in ln.words] == ["NO.", "12,", "JALAN"] and ln.text == "NO. 12, JALAN"
    xs = [(w.bbox.x0, w.bbox.x1) for w in ln.words]
    assert xs == [(10, 40), (50, 80), (90, 140)]  # 13 characters over 130 units
    assert all(w.bbox.y0 == 5 and w.bbox.y1 == 25 and w.confidence == 0.9 for w in ln.words)
    with pytest.raises(ValueError):
        line_from_box("  ", BBox(x0=0, y0=0, x1=1, y1=1))


def test_reading_a_folder(folder):
    assert receipt_ids(folder) == ["001", "002"]
    assert receipt_ids(folder, with_images=True) == ["002"]   # evaluation split
    assert receipt_ids(folder, with_images=False) == ["001"]  # training split
    assert gold(folder, "001") == KEY
    lines = gold_lines(folder, "001")
    assert [t for t, _ in lines] == [t for _, t in ROWS]      # text after the 8th comma kept
    assert lines[1][1] == BBox(x0=40, y0=50, x1=320, y1=74)   # the quad's upright box
    with pytest.raises(InputError, match="no SROIE folder"):
        receipt_ids(folder / "nothing")


def test_gold_lines_become_a_document_through_the_layout_step(folder):
    page = gold_page(folder, "002")
    assert (page.width, page.height) == (360, 220) and page.ocr_backend == "gold"
    assert gold_page(folder, "001").width == 330 + 20         # no image: the lines' extent
    doc = aggregate([page], mime_type="image/jpeg")
    text = "\n".join(e.text for e in doc.elements())
    assert "KEDAI RUNCIT ALI SDN BHD" in text and "RM 7.00" in text


def test_scoring_is_sroie_normalisation():
    pred = {"company": "kedai  runcit ali sdn bhd", "date": "2018-01-11",
            "address": KEY["address"], "total": "7"}
    assert field_hits(KEY, pred) == {"company": True, "date": False, "address": True,
                                     "total": False}
    assert field_hits(KEY, {})["total"] is False and norm(" a\n b ") == "A B"
    found = occurs(KEY, [t for _, t in ROWS])
    assert found == {"company": True, "date": True, "address": True, "total": True}
    assert occurs(KEY, ["KEDAI RUNCIT ALI", "SDN BHD"])["company"]  # across a line break
    assert not occurs(KEY, ["KEDAI RUNCIT AL1 SDN BHD"])["company"]


def test_benchmark_skips_without_the_data(tmp_path, capsys):
    from benchmarks.bench_receipts_real import main

    main(["--data", str(tmp_path / "absent"), "--out", str(tmp_path / "reports")])
    assert "skipped: no SROIE data" in capsys.readouterr().out
    assert not (tmp_path / "reports").exists()


@pytest.mark.skipif(not (DEV / "key").is_dir(), reason="SROIE dev data not present")
def test_real_dev_set_split_and_gold_lines():
    with_img, without = receipt_ids(DEV, with_images=True), receipt_ids(DEV, with_images=False)
    assert (len(with_img), len(without)) == (120, 280)
    rid = with_img[0]
    doc = aggregate([gold_page(DEV, rid)], mime_type="image/jpeg")
    assert norm(gold(DEV, rid)["company"]) in norm(" ".join(e.text for e in doc.elements()))
