"""The parse front door end to end: born-digital PDF, scanned image (real OCR), HTML routing."""

from __future__ import annotations

from prunestack.parsers.detect import FileType
from prunestack.parsers.ingest import parse, parse_lines
from prunestack.pipeline.document import ElementKind, Source
from tests.parsers import docgen


def _kv(doc) -> dict[str, str]:
    return {e.key: e.value for e in doc.elements() if e.kind is ElementKind.KEY_VALUE}


def _item_rows(doc) -> list[list[str]]:
    tables = [e for e in doc.elements() if e.kind is ElementKind.TABLE]
    assert tables, [(e.kind.value, e.text) for e in doc.elements()]
    rows = max(tables, key=lambda t: len(t.table_rows())).table_rows()
    return [r for r in rows if r and r[0] in {i.description for i in docgen.LINE_ITEMS}]


def test_born_digital_invoice(invoice_pdf, tmp_path):
    path = tmp_path / "no-extension"
    path.write_bytes(invoice_pdf)
    doc = parse(path)
    assert doc.mime_type == "application/pdf" and doc.source_name == "no-extension"
    assert [p.number for p in doc.pages] == [1, 2]
    assert all(e.source is Source.PDF_TEXT for e in doc.elements())
    kv = _kv(doc)
    for k, v in docgen.KV_LEFT:
        assert kv.get(k) == v
    assert _item_rows(doc) == [i.cells() for i in docgen.LINE_ITEMS]


def test_scanned_invoice_reads_back(invoice_scan_doc):
    """Degraded 200-dpi scan of page 1 → rapidocr → layout: words, key-values, table cells."""
    doc = invoice_scan_doc
    assert doc.mime_type == "image/png" and doc.pages[0].ocr_backend == "rapidocr"
    assert all(e.source is Source.OCR for e in doc.elements())
    text = doc.text
    # Word spacing: multi-word phrases come back as words, not glued.
    for phrase in ("Northwind Traders Ltd", "Steel bolts M8 box", "Work gloves pair",
                   "Thank you for your business."):
        assert phrase in text, text
    kv = _kv(doc)
    assert kv.get("Invoice No") == "INV-2024-0042"
    assert kv.get("PO Number") == "PO-7781"  # label above value
    rows = _item_rows(doc)
    assert len(rows) == len(docgen.LINE_ITEMS) >= 5
    good = sum(r[: len(i.cells())] == i.cells() for r, i in zip(rows, docgen.LINE_ITEMS,
                                                                  strict=True))
    assert good >= len(docgen.LINE_ITEMS) - 1  # at most one OCR slip in the 24 cells


def test_scan_reading_order(invoice_scan_doc):
    body = [e.text for e in invoice_scan_doc.elements() if not e.is_furniture]
    joined = "\n".join(body)
    order = ["Northwind Traders Ltd", "INV-2024-0042", "Acme Corporation", "Steel bolts",
             "Measuring tape", "Thank you"]
    pos = [joined.find(s) for s in order]
    assert -1 not in pos and pos == sorted(pos), list(zip(order, pos, strict=True))
    furniture = [e for e in invoice_scan_doc.elements() if e.is_furniture]
    assert any("Page 1 of 2" in e.text for e in furniture)


def test_parse_lines_for_images_uses_pixels():
    img = docgen.render_page(docgen.text_pdf(["Total due 416.04"], size=14), 0, 150)
    kind, pages = parse_lines(docgen.png_bytes(img, "JPEG", quality=90), ocr="rapidocr")
    assert kind is FileType.JPEG and (pages[0].width, pages[0].height) == img.size
    assert pages[0].source is Source.OCR
    (line,) = pages[0].lines
    assert line.text == "Total due 416.04"
    assert 0 <= line.bbox.x0 < line.bbox.x1 <= img.width


def test_html_is_routed_by_bytes(tmp_path):
    p = tmp_path / "page.pdf"  # wrong extension on purpose
    p.write_bytes(b"<!doctype html><html><body><h1>Shop</h1><p>Opening hours nine to five.</p>"
                  b"</body></html>")
    doc = parse(p)
    assert doc.mime_type == "text/html"
    assert "Opening hours nine to five." in doc.text


def test_force_ocr_reads_a_born_digital_page_with_ocr():
    pdf = docgen.text_pdf(["Payment due within thirty days"], size=14)
    doc = parse(pdf, ocr="rapidocr", force_ocr=True)
    assert doc.pages[0].ocr_backend == "rapidocr"
    assert all(e.source is Source.OCR for e in doc.elements())
    assert "Payment due within thirty days" in doc.text


def test_read_upload_sniffs_counts_and_decodes_once(tmp_path):
    import io

    from PIL import Image

    from prunestack.parsers.ingest import Upload, read_upload

    pdf = docgen.multipage_pdf(3)
    up = read_upload(pdf)
    assert (up.kind, up.pages, up.name, up.text) == (FileType.PDF, 3, "", None)
    buf = io.BytesIO()
    frames = [Image.new("L", (40, 30), 255) for _ in range(4)]
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:])
    assert read_upload(buf.getvalue(), "fax").pages == 4
    path = tmp_path / "page.bin"
    path.write_bytes('<meta charset="windows-1252"><p>Caf\u00e9</p>'.encode("cp1252"))
    html = read_upload(path)
    assert (html.kind, html.pages, html.name) == (FileType.HTML, 1, "page.bin")
    assert html.text == '<meta charset="windows-1252"><p>Café</p>'
    assert parse(html).text == "Café"
    assert parse(html, name="shop").source_name == "shop"
    assert isinstance(up, Upload) and parse(up, pages="2-3").pages[0].number == 2
