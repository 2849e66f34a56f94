"""The learned field scorer (issue 15, steps 2, 3, 8): candidates, training, use by extract.

- the candidate generator finds every gold value of a small real-looking till receipt (OCR
  lines with boxes → the layout step → ``scorer.candidates``), multi-line address included;
- ``prunestack train extractor`` (the real CLI, the real MiniLM) trains on a few SROIE-format
  receipts written here, skips the one with an image (the evaluation split), writes a scorer
  folder that loads offline, and ``prunestack.extract(..., scorer="learned")`` uses it;
- the user layout (``schema.json`` + ``NAME.txt`` / ``NAME.json``) yields training groups;
- mistakes are one-line errors.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from prunestack.eval import train_scorer as T
from prunestack.eval.sroie import SCHEMA, gold_document, norm
from prunestack.pipeline.document import BBox
from prunestack.pipeline.extract import scorer as S
from prunestack.pipeline.schema import plan_fields

ROOT = Path(__file__).resolve().parents[2]

#: (text, x0, y0, x1, y1): a Malaysian till receipt as an annotator boxes its lines
RECEIPT = [
    ("KEDAI RUNCIT MAJU JAYA SDN BHD", 60, 20, 380, 44),
    ("(123456-X)", 170, 48, 270, 66),
    ("NO. 12, JALAN MERANTI 3,", 110, 70, 330, 88),
    ("TAMAN SRI MUDA,", 150, 92, 290, 110),
    ("40400 SHAH ALAM, SELANGOR.", 100, 114, 340, 132),
    ("TEL: 03-5544 3322", 140, 136, 300, 154),
    ("TAX INVOICE", 170, 170, 270, 188),
    ("DATE: 11/01/2018 10:21", 20, 200, 260, 218),
    ("MILO 1KG", 20, 240, 120, 258), ("2", 200, 240, 212, 258), ("13.50", 330, 240, 380, 258),
    ("ROTI GARDENIA", 20, 262, 160, 280), ("1", 200, 262, 212, 280),
    ("3.20", 340, 262, 380, 280),
    ("SUBTOTAL", 20, 300, 110, 318), ("16.70", 330, 300, 380, 318),
    ("ROUNDING", 20, 322, 110, 340), ("-0.70", 330, 322, 380, 340),
    ("TOTAL", 20, 344, 80, 362), ("16.00", 330, 344, 380, 362),
    ("CASH", 20, 366, 70, 384), ("20.00", 330, 366, 380, 384),
    ("CHANGE", 20, 388, 90, 406), ("4.00", 340, 388, 380, 406),
    ("THANK YOU", 160, 430, 260, 448),
]
GOLD = {"company": "KEDAI RUNCIT MAJU JAYA SDN BHD", "date": "11/01/2018",
        "address": "NO. 12, JALAN MERANTI 3, TAMAN SRI MUDA, 40400 SHAH ALAM, SELANGOR.",
        "total": "16.00"}


def _write_sroie(folder: Path, rid: str, lines: list[tuple], key: dict[str, str]) -> None:
    (folder / "box").mkdir(parents=True, exist_ok=True)
    (folder / "key").mkdir(parents=True, exist_ok=True)
    rows = [f"{x0},{y0},{x1},{y0},{x1},{y1},{x0},{y1},{t}" for t, x0, y0, x1, y1 in lines]
    (folder / "box" / f"{rid}.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (folder / "key" / f"{rid}.json").write_text(json.dumps(key), encoding="utf-8")


def _variant(i: int) -> tuple[list[tuple], dict[str, str]]:
    """Receipt ``i``: another shop, date and total on the same layout."""
    shop = ["KEDAI RUNCIT MAJU JAYA SDN BHD", "SYARIKAT PERNIAGAAN ONG", "RESTORAN SELERA KITA",
            "99 SPEEDMART SDN BHD"][i % 4]
    total = f"{10 + 3 * i}.{(7 * i) % 10}0"
    date = f"{10 + i:02d}/0{1 + i % 9}/2018"
    lines = [(shop if t == RECEIPT[0][0] else date + " 10:21" if t.startswith("DATE") else
              total if t == "16.00" else t, *box) for t, *box in RECEIPT]
    return lines, {**GOLD, "company": shop, "date": date, "total": total}


def _doc(tmp_path: Path):
    _write_sroie(tmp_path / "one", "000", RECEIPT, GOLD)
    return gold_document(tmp_path / "one", "000")


def test_candidates_find_every_gold_value_of_a_receipt(tmp_path):
    doc = _doc(tmp_path)
    lines = S.doc_lines(doc)
    assert [ln.text for ln in lines][:3] == [t for t, *_ in RECEIPT[:3]]  # lines, not blocks
    for f in plan_fields(SCHEMA):
        values = [norm(c.value) for c in S.candidates(lines, f, dayfirst=True)]
        assert norm(GOLD[f.name]) in values, (f.name, values[:20])
    total = next(f for f in plan_fields(SCHEMA) if f.name == "total")
    amounts = [c.value for c in S.line_candidates(lines, total, True)]
    assert {"16.00", "16.70", "20.00", "-0.70", "4.00"} <= set(amounts)  # as printed, all lines


def test_pair_text_carries_row_label_and_layout(tmp_path):
    doc = _doc(tmp_path)
    lines = S.doc_lines(doc)
    total = next(f for f in plan_fields(SCHEMA) if f.name == "total")
    cand = next(c for c in S.line_candidates(lines, total, True) if c.value == "16.00")
    text = S.pair_text(lines, cand, (doc.pages[0].width, doc.pages[0].height), None)
    assert text.startswith("16.00 [SEP] y ")
    assert "row: TOTAL 16.00" in text  # the label printed left of the amount, same row
    assert "above: TOTAL [SEP] below: CASH" in text  # the lines before and after, reading order


def test_user_layout_gives_training_groups(tmp_path):
    schema = {"type": "object", "properties": {
        "invoice_number": {"type": "string", "description": "the invoice number"},
        "total": {"type": "number", "description": "amount due"}}}
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    (tmp_path / "a.txt").write_text("ACME GmbH\nOrder no: PO-7781\nInvoice number: INV-2024-7\n"
                                    "Net 10.00\n"
                                    "Total due: 11.90\n")
    (tmp_path / "a.json").write_text(json.dumps({"invoice_number": "INV-2024-7", "total": 11.9}))
    docs = list(T.documents(tmp_path))
    assert [d[0] for d in docs] == ["a"]
    _, doc, expected, sch = docs[0]
    groups = T.groups_of(doc, expected, plan_fields(sch), random.Random(0), 3, 4)
    assert len(groups) == 2
    assert groups[1].field_text == "total: amount due"
    assert groups[1].pairs[0].startswith("11.9")  # the positive first (numbers compared as such)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "prunestack.api.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


def test_train_extractor_end_to_end_then_extract_uses_it(tmp_path):
    data = tmp_path / "sroie"
    for i in range(4):
        _write_sroie(data, f"{i:03d}", *_variant(i))
    # a receipt with an image is evaluation data: never trained on
    _write_sroie(data, "900", *_variant(9))
    (data / "img").mkdir()
    from PIL import Image

    Image.new("RGB", (460, 480), "white").save(data / "img" / "900.jpg")
    out = tmp_path / "scorer"
    res = _cli("train", "extractor", "--data", str(data), "--out", str(out), "--epochs", "1",
               "--seed", "0", "--max-minutes", "2")
    assert res.returncode == 0, res.stderr[-2000:]
    summary = json.loads(res.stdout)
    # company, address, total of each receipt; its one date has nothing to be ranked against
    assert summary["documents"] == 4 and summary["groups"] == 12 and summary["steps"] >= 1
    for name in ("config.json", "model.safetensors", "tokenizer.json", S.HEAD_FILE,
                 S.CONFIG_FILE, "README.md"):
        assert (out / name).is_file(), name
    assert "train extractor" in (out / "README.md").read_text()

    import prunestack
    from prunestack.pipeline.extract import ExtractOptions, extract_document

    doc = _doc(tmp_path)
    opts = ExtractOptions(scorer="learned", scorer_model=str(out))
    got = extract_document(doc, SCHEMA, options=opts)
    scorer = S.load_scorer(out)
    assert scorer is S.load_scorer(out)  # one per process
    lines = S.doc_lines(doc)
    for f in plan_fields(SCHEMA):  # each value is the scorer's pick among the field's candidates
        assert norm(got.data[f.name]) in {norm(c.value) for c in S.candidates(lines, f, True)}
        assert got.provenance[f.name].text
    # the façade takes the same options (an HTML receipt: no OCR in this test)
    html = "<html><body>" + "".join(f"<p>{t}</p>" for t, *_ in RECEIPT) + "</body></html>"
    (tmp_path / "r.html").write_text(html)
    res2 = prunestack.extract(tmp_path / "r.html", SCHEMA, scorer="learned", scorer_model=str(out))
    assert set(res2.data) == set(GOLD) and res2.data["date"].startswith("1")


def test_learned_scorer_errors_are_one_line(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps(SCHEMA))
    (tmp_path / "r.html").write_text("<p>SHOP</p>")
    res = _cli("extract", str(tmp_path / "r.html"), "--schema", str(tmp_path / "s.json"),
               "--scorer", "clever")
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and "auto, learned or rules" in res.stderr
    res = _cli("extract", str(tmp_path / "r.html"), "--schema", str(tmp_path / "s.json"),
               "--scorer-model", str(tmp_path / "nowhere"))
    assert res.returncode == 2 and "scorer folder not found" in res.stderr
    res = _cli("train", "extractor", "--data", str(tmp_path), "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and res.stderr.startswith("error: ")
    assert "schema.json" in res.stderr and "Traceback" not in res.stderr
    with pytest.raises(Exception, match="no scorer_head"):
        S.load_scorer(tmp_path)


def test_bbox_of_a_span_encloses_its_lines(tmp_path):
    lines = S.doc_lines(_doc(tmp_path))
    c = S.span(lines, 2, 4)
    assert c.value == GOLD["address"]
    assert c.bbox == BBox.enclosing([ln.bbox for ln in lines[2:5]])


@pytest.mark.parametrize(("line", "value"), [
    ("GOLDEN SCOOP SDN BHD (169609-A)", "GOLDEN SCOOP SDN BHD"),  # registration in brackets
    ("DIMILIKI: BANH MI CAFE SDN BHD 1110644-W", "BANH MI CAFE SDN BHD"),  # label + reg number
    ("URBAN IDEA SDN BHD (417940-M),", "URBAN IDEA SDN BHD"),
    ("THE STORE (MALAYSIA) SDN BHD (8199K)", "THE STORE (MALAYSIA) SDN BHD"),
])
def test_a_value_printed_inside_a_longer_line_is_a_candidate(line, value):
    assert value in S.text_variants(line)
    assert S.text_variants(line)[0] == line  # the whole line first
    assert S.text_variants("(1234-X)") == ["(1234-X)"]  # a variant keeps two letters


def test_every_line_offers_its_name_without_a_glued_registration_number(tmp_path):
    """The first pass scores each line's variants, not only the best lines' (a name printed with
    its registration number never ranked high enough as a whole line to be refined); spans come
    around the anchors."""
    lines = [(("ACME TRADING SDN BHD (998877-K)", 60, 20, 380, 44)), *RECEIPT[2:]]
    _write_sroie(tmp_path / "r", "001", lines, GOLD)
    ln = S.doc_lines(gold_document(tmp_path / "r", "001"))
    company = next(f for f in plan_fields(SCHEMA) if f.name == "company")
    first = [c.value for c in S.line_candidates(ln, company, True)]
    assert "ACME TRADING SDN BHD (998877-K)" in first and "ACME TRADING SDN BHD" in first
    refined = [c.value for c in S.span_candidates(ln, company, [0], 4)]
    assert "ACME TRADING SDN BHD" not in refined  # not scored twice
    assert "ACME TRADING SDN BHD (998877-K) NO. 12, JALAN MERANTI 3," in refined  # spans


def test_space_before_a_closing_mark_is_tidied():
    from prunestack.pipeline.extract.ocrfix import tidy_mark_spacing

    assert tidy_mark_spacing("JALAN KPB 6 , KAWASAN BALAKONG , 43300 SERI KEMBANGAN .") == \
        "JALAN KPB 6, KAWASAN BALAKONG, 43300 SERI KEMBANGAN."
    for same in ("NO.3, JALAN PJS 11/15", "1,50", "LOT 50, FLOOR T2,SKY AVENUE", ""):
        assert tidy_mark_spacing(same) == same


def test_a_spaced_currency_amount_is_a_candidate_in_both_printed_forms(tmp_path):
    lines = [(t if t != "16.00" else "RM 16.00", *box) for t, *box in RECEIPT]
    _write_sroie(tmp_path / "r", "002", lines, GOLD)
    ln = S.doc_lines(gold_document(tmp_path / "r", "002"))
    total = next(f for f in plan_fields(SCHEMA) if f.name == "total")
    values = [c.value for c in S.line_candidates(ln, total, True)]
    assert "16.00" in values and "RM 16.00" in values
    number = plan_fields({"type": "object", "properties": {"total": {"type": "number"}}})[0]
    assert [c.value for c in S.line_candidates(ln, number, True) if c.first == 19] == [16.0]


def _column(texts: list[str], height: float = 30.0) -> list[BBox]:
    """Boxes of ``texts`` printed one under another, a line height apart (a till strip)."""
    return [BBox(x0=10, y0=i * height * 1.1, x1=400, y1=i * height * 1.1 + height)
            for i in range(len(texts))]


def test_a_grand_total_is_the_rounded_one_when_the_till_rounds():
    from prunestack.pipeline.extract.receipt import cash_rounded

    page = ["TOTAL", "RM 30.91", "ROUNDING ADJUSTMENT", "RM 0.01", "TOTAL ROUNDED", "RM 30.90",
            "CASH", "RM 51.00"]
    amounts, scores = [30.91, 0.01, 30.90, 51.00], [2.0, -1.0, 1.5, 0.5]
    assert cash_rounded(amounts, scores, 0, page) == 2
    # printed amount strings ("RM 30.90") as a plain string field keeps them
    assert cash_rounded(["RM 30.91", "RM 30.90"], [2.0, 1.0], 0, page) == 1
    # thousands separators are read as such (not "234.51" from "1,234.51")
    assert cash_rounded(["RM 1,234.51", "RM 1,234.50", "234.50"], [2.0, 1.0, 1.5], 0, page) == 1
    # no rounding line: the scorer's pick stands (an invoice total of 30.91 is 30.91)
    assert cash_rounded(amounts, scores, 0, [t for t in page if "ROUND" not in t]) == 0
    # already a multiple of 5 cents, or nothing rounded within 4 cents: unchanged
    assert cash_rounded([30.90, 30.95], [2.0, 1.0], 0, page) == 0
    assert cash_rounded([30.91, 31.00], [2.0, 1.0], 0, page) == 0


def test_an_address_starts_at_its_building_line_not_at_a_branch_or_registration():
    from prunestack.pipeline.extract.receipt import address_line, address_start

    page = ["GOLDEN ARCHES RESTAURANTS SDN BHD", "LICENSEE OF MCDONALD'S",
            "LEVEL 6, BANGUNAN TH, DAMANSARA UPTOWN3", "NO.3, JALAN SS21/39,47400 PETALING JAYA",
            "SELANGOR"]
    assert address_start(page, _column(page), 3, set()) == 2
    assert address_start(page, _column(page), 3, {2}) == 3  # that line is another field's
    far = _column(page)
    far[2] = BBox(x0=10, y0=far[3].y0 - 100, x1=400, y1=far[3].y0 - 70)  # a gap of 2 lines
    assert address_start(page, far, 3, set()) == 3
    # a branch name of words above the unit line stays out; two lines at most
    mall = ["MYNEWS RETAIL SB", "PUSAT DAGANGAN PHILEO DAMANSARA",
            "UNIT 105, BLOCK A,PUSAT DAGANGAN PHILEO DAMANSARA,",
            "NO.9, JALAN 16/11,,46350,PETALING JAYA,SELANGOR"]
    assert address_start(mall, _column(mall), 3, set()) == 2
    assert not address_line("CO-REG:860671-D")
    assert not address_line("GST REG NO: 000435761152")
    assert not address_line("TEL: 03-7662 5789")
    assert address_line("G-26, GRD FLOOR,CITTA MALL,")
    assert address_line("MENARA DION #02-03, LEVEL 2,")


def test_a_business_name_read_from_its_second_line_gets_its_first():
    from prunestack.pipeline.extract.receipt import name_start

    page = ["AIK HUAT HARDWARE", "ENTERPRISE (SETIA ALAM) SDN BHD", "822737-X"]
    assert name_start(page, _column(page), 1, set()) == 0
    assert name_start(page, _column(page), 1, {0}) == 1
    # a name that starts with its own word, or digits above: unchanged
    other = ["3180404", "ENTERPRISE (SETIA ALAM) SDN BHD"]
    assert name_start(other, _column(other), 1, set()) == 1
    own = ["TAX INVOICE", "TOKYO KITCHEN SDN BHD"]
    assert name_start(own, _column(own), 1, set()) == 1


def test_the_issuer_fields_skip_the_bill_to_block_and_the_owner_line():
    from prunestack.pipeline.extract.receipt import other_party_line, owner_line

    page = ["KEDAI PAPAN YEW CHUAN", "LOT 276 JALAN BANTING", "43800 DENGKIL, SELANGOR",
            "TEL: 03-87686092", "TAX INVOICE", "BILL TO :", "SUCI ALAM JAYA TRANSPORT",
            "NO 1 JALAN AMAN 2", "TAMAN DESA 43800", "DENGKIL SELANGOR", "DOC NO.: CS00012013"]
    assert [other_party_line(page, i) for i in range(len(page))] == \
        [False] * 5 + [True] * 5 + [False]  # four lines of reach, the label's own included
    # a phone or tax line between the label and a line closes the other party's block
    assert not other_party_line(["BILL TO :", "ACME", "TEL: 0123", "LOT 5 JALAN X"], 3)
    owned = ["SANYU STATIONERY SHOP", "GST ID NO: 001531760640", "OWNED BY :",
             "SANYU SUPPLY SDN BHD (1135772-K)", "CASH SALES COUNTER"]
    assert [owner_line(owned, i) for i in range(len(owned))] == [False, False, True, True, False]
    # a document type printed beside the label is read between it and the owner's name
    beside = [*owned[:3], "TAX INVOICE", *owned[3:]]
    assert [owner_line(beside, i) for i in range(len(beside))] == \
        [False, False, True, True, True, False]
    # label and name on one line: left to the scorer (annotators take it as the company)
    one = ["SIZZLING STONEGRILL", "DIMILIKI OLEH : DOVE HOLDINGS SDN BHD", "REG NO : 91694-X"]
    assert not any(owner_line(one, i) for i in range(len(one)))


def _row(texts: list[tuple[str, float, float]],
         height: float = 30.0) -> tuple[list[str], list[BBox]]:
    """Lines given as (text, x0, y0): a till strip whose labels and amounts stand in columns."""
    return [t for t, _, _ in texts], [BBox(x0=x, y0=y, x1=x + 150, y1=y + height)
                                      for _, x, y in texts]


def test_a_grand_total_is_what_was_tendered_less_the_change():
    from prunestack.pipeline.extract.receipt import paid_total

    # labels in one column, amounts in another, a pre-tax subtotal and a GST summary "TOTAL"
    texts, boxes = _row([("SUB-TOTAL (EX)", 10, 100), ("4.60", 400, 102),
                         ("TOTAL TAX", 10, 140), ("0.28", 400, 141),
                         ("TOTAL", 10, 180), (":", 250, 182), ("4.90", 400, 181),
                         ("CASH", 10, 220), (":", 250, 221), ("5.00", 400, 222),
                         ("CHANGE", 10, 260), (":", 250, 262), ("0.10", 400, 261),
                         ("TOTAL :", 10, 400), ("4.60", 400, 400)])
    pages = [1] * len(texts)
    amounts, scores = [4.60, 0.28, 4.90, 5.00, 0.10, 4.60], [3.0, -2.0, 1.0, 0.5, -1.0, 2.5]
    assert paid_total(amounts, scores, 0, texts, boxes, pages) == 2
    # label and amount on one line; a currency word glued on; the amount kept as printed
    one = ["SUB TOTAL (EXCLUSIVE GST): 17.75", "ROUNDED TOTAL (RM): 18.80", "CASH: RM20.00",
           "CASH CHANGE: 1.20"]
    assert paid_total(["17.75", "18.80", "RM20.00"], [2.0, 1.0, 0.0], 0, one, _column(one),
                      [1] * 4) == 1
    # no change line (a card payment), or change larger than the amount tendered: unchanged
    card = ["TOTAL 17.75", "VISA 17.75"]
    assert paid_total([17.75], [1.0], 0, card, _column(card), [1, 1]) == 0
    odd = ["TOTAL 4.60", "CASH 1.00", "CHANGE 2.00"]
    assert paid_total([4.60], [1.0], 0, odd, _column(odd), [1] * 3) == 0
    # a label with more words after it is not a tender line ("PAID TIME" beside a date)
    timed = ["PAID TIME", "TOTAL RM4.00", "PAID RM14.00", "CHANGE RM0.00"]
    tb = _column(timed)
    assert paid_total(["4.00", "14.00"], [2.0, 1.0], 0, timed, tb, [1] * 4) == 1
    timed[2] = "PAID RM4.00"
    assert paid_total(["4.00", "14.00"], [2.0, 1.0], 1, timed, tb, [1] * 4) == 0
    # the difference printed nowhere among the candidates: unchanged
    assert paid_total([4.60, 0.28], [1.0, 0.0], 0, texts, boxes, pages) == 0


def test_an_address_keeps_its_numbering_label_and_sheds_the_shop_name_above_it():
    from prunestack.pipeline.extract.receipt import address_head, business_line

    assert all(v.startswith("NO:") for v in S.text_variants("NO: G3, BLK G, JLN PJU 1A/3,"))
    assert all(v.startswith("LOT NO") for v in S.text_variants("LOT NO : 20, LEVEL UG1"))
    assert "BANH MI CAFE" in S.text_variants("DIMILIKI: BANH MI CAFE")  # other labels still go
    assert address_head(["THREE STOOGES BISTRO & CAFE", "109, SS21/1A, DAMANSARA UTAMA"]) == 1
    assert address_head(["SEGI CASH & CARRY SDN. BHD.", "PT17920 SEK U9, SHAH ALAM"]) == 1
    assert address_head(["PARADIGM MALL", "LOT NO.: 4F-27 & 4FK-38, 4TH FLOOR"]) == 0
    assert address_head(["BHPETROL SUBANG AIRPORT"]) == 0  # one line is always left
    assert business_line("GH DISTRIBUTOR & MARKETING SDN BHD")
    assert not business_line("LOT S25, AEON TEBRAU CITY JUSCO NO 1, JLN DESA TEBRAU")


def test_an_address_ends_with_its_postcode_and_state_lines():
    from prunestack.pipeline.extract.receipt import address_end

    page = ["MOONLIGHT CAKE HOUSE SDN BHD", "NO.1, JALAN PERMAS 10/5, BANDAR BARU PERMAS JAYA",
            "81750 JOHOR BAHRU, JOHOR.", "TEL: 07-387 3322"]
    assert address_end(page, _column(page), 1, set()) == 2  # the postcode line, then a stop
    state = ["NO.32 & 33, JALAN SR 1/9,", "43300 SERI KEMBANGAN, SELANGOR", "DARUL EHSAN",
             "GST ID: 002139201536"]
    assert address_end(state, _column(state), 1, set()) == 2
    assert address_end(state, _column(state), 1, {2}) == 1  # another field's line
    # after the country, a branch in brackets, a document type or a far line: the end
    country = ["NO 8, JALAN 7/118B", "56000 KUALA LUMPUR, MALAYSIA", "AEON SHAH ALAM"]
    assert address_end(country, _column(country), 1, set()) == 1
    branch = ["LOT 1851-A, JALAN KPB 6", "43300 SERI KEMBANGAN, SELANGOR", "(KEPONG)"]
    assert address_end(branch, _column(branch), 1, set()) == 1
    check = ["LOT 50, FLOOR T2", "69000 PAHANG MALAYSLA", "GUEST CHECK"]
    assert address_end(check, _column(check), 1, set()) == 1
    far = _column(state)
    far[2] = BBox(x0=10, y0=far[1].y1 + 200, x1=400, y1=far[1].y1 + 230)
    assert address_end(state, far, 1, set()) == 1


def test_a_name_never_comes_from_a_contact_staff_or_till_software_line():
    from prunestack.pipeline.extract.receipt import label_line, other_party_line

    assert label_line("FACEBOOK: ZENANDCOFFEE")
    assert label_line("WIFI PASSWORD: ZENANDCOFFEE")
    assert label_line("SERVED BY: CASHIER")
    assert not label_line("ZEN AND COFFEE 28 S/B")
    assert not label_line("DIMILIKI: BANH MI CAFE SDN BHD")
    assert other_party_line(["THANK YOU", "POWERED BY ARMS F&B"], 1)


def test_a_name_printed_twice_is_read_from_the_letterhead():
    box = BBox(x0=0, y0=0, x1=1, y1=1)
    cands = [S.Cand("ENW HARDWARE CENTRE (M) SDN. BHD.", "", 0, 0, box),
             S.Cand("CASH", "", 20, 20, box),
             S.Cand("ENW HARDWARE CENTRE (M) SDN BHD.", "", 46, 46, box)]
    assert S._topmost_same(cands, 2) == 0
    assert S._topmost_same(cands, 1) == 1


def test_the_issuers_name_is_read_above_the_first_price():
    """An item ("PANDAN GINGER 12.90"'s line), a staff name under the totals or a footer is
    never the issuer's name while a letterhead line above the first price is a candidate; a
    page without prices, or a second page, falls back to every candidate."""
    box = BBox(x0=0, y0=0, x1=1, y1=1)

    def lines(texts: list[str], page: int = 1) -> list[S.DocLine]:
        return [S.DocLine(t, box, page, f"e{i}", "text", 1.0, None) for i, t in enumerate(texts)]

    page = lines(["THAI DELICIOUS RESTAURANT", "DATE: 12.03.2018 18:20", "PANDAN GINGER  12.90",
                  "TOTAL 12.90", "WONG TAI CHIN"])
    fit = S._letterhead_fit(page)
    cands = [S.Cand(ln.text, ln.text, i, i, box) for i, ln in enumerate(page)]
    assert [fit(c) for c in cands] == [True, True, False, False, False]  # a dotted date is no price
    assert S._best(cands, [0.1, -3.0, 2.5, -1.0, 3.0], fit) == 0
    no_prices = lines(["THANK YOU", "SANYU STATIONERY SHOP"])
    assert all(S._letterhead_fit(no_prices)(S.Cand("x", "x", i, i, box)) for i in (0, 1))
    two = lines(["SHOP", "ITEM 2.00"]) + lines(["NEXT PAGE NAME"], page=2)
    assert not S._letterhead_fit(two)(S.Cand("x", "x", 2, 2, box))


def test_batched_logits_equal_pair_by_pair_scoring():
    """``logits`` scores each distinct pair once, in length-sorted batches: the same logits as
    one unpadded pair at a time, repeats and the caller's order kept (the shipped scorer)."""
    import torch

    scorer = S.load_scorer()
    fields = ["company: the shop's name", "total"]
    texts = ["KEDAI RUNCIT [SEP] y 2 x 10 to 90, line 1 of 30, text [SEP] row: KEDAI RUNCIT",
             "16.00", "TOTAL 16.00 [SEP] y 80 x 5 to 95, line 20 of 30, text [SEP] row: TOTAL "
             "16.00 [SEP] above: ROUNDING -0.70 [SEP] below: CASH 20.00 CHANGE 4.00 THANK YOU"]
    firsts = [fields[i % 2] for i in range(7)]
    seconds = [texts[i % 3] for i in range(7)]  # 6 distinct pairs, one repeated
    got = scorer.logits(firsts, seconds, batch_size=4)
    want = []
    for a, b in zip(firsts, seconds, strict=True):
        enc = scorer.tokenizer([a], [b], truncation="only_second",
                               max_length=scorer.config["max_length"], return_tensors="pt")
        with torch.inference_mode():
            want.append(S.forward(scorer.model, scorer.head, enc).item())
    assert got == pytest.approx(want, abs=1e-4)
    assert got[0] == got[6]  # the repeated pair: scored once
    assert scorer.logits([], []) == []


def test_letterless_lines_are_no_name_or_address_candidates(tmp_path):
    """Prices, dates and dashes are not scored for the issuer's name or an address; other
    fields keep every candidate, and a page without a worded line keeps all of its lines."""
    doc = _doc(tmp_path)
    lines = S.doc_lines(doc)
    fields = {f.name: f for f in plan_fields(SCHEMA)}
    for name in ("company", "address"):
        cands = S.line_candidates(lines, fields[name], True)
        kept = S._worded(cands, fields[name])
        dropped = {c.printed for c in cands} - {c.printed for c in kept}
        assert {"13.50", "-0.70", "2"} <= dropped
        assert all(sum(ch.isalpha() for ch in t) < 2 for t in dropped)
        assert "KEDAI RUNCIT MAJU JAYA SDN BHD" in {c.printed for c in kept}
    total = S.line_candidates(lines, fields["total"], True)
    assert S._worded(total, fields["total"]) == total
    bare = [S.Cand("12.50", "12.50", 0, 0, lines[0].bbox)]
    assert S._worded(bare, fields["company"]) == bare


def test_the_learned_scorer_skips_retrieval(tmp_path, monkeypatch):
    """With the learned scorer picking the scalar fields, extraction does not build the tree nor
    run the per-field retrieval (its relevance would be thrown away); the rules still do."""
    from prunestack.pipeline.extract import ExtractOptions, core, extract_document

    doc = _doc(tmp_path)
    calls: list[str] = []
    real = core.retrieve
    monkeypatch.setattr(core, "retrieve", lambda *a, **k: calls.append("r") or real(*a, **k))
    learned = extract_document(doc, SCHEMA, options=ExtractOptions(scorer="learned")).data
    assert calls == []
    assert norm(learned["total"]) == norm(GOLD["total"])
    extract_document(doc, SCHEMA, options=ExtractOptions(scorer="rules"))
    assert len(calls) == len(plan_fields(SCHEMA))
