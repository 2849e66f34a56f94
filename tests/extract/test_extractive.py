"""The extractive engine on hand-built Documents: exact values, provenance, retrieval."""

from __future__ import annotations

import jsonschema
import pytest

from prunestack.pipeline.document import BBox, Document, Element, ElementKind, Page, Source
from prunestack.pipeline.extract import extract_document, extract_text
from prunestack.retrieval.document import classify, locate, retrieve
from tests.extract.docs import EXPECTED, INVOICE_SCHEMA, invoice_document


def test_invoice_document_exact():
    doc = invoice_document()
    res = extract_document(doc, INVOICE_SCHEMA)
    assert res.data == EXPECTED
    jsonschema.validate(res.data, INVOICE_SCHEMA)
    assert res.valid and not res.missing
    # provenance: every leaf points at the element and box it came from
    assert res.provenance["total"].element_id == "p1-e10"
    assert res.provenance["total"].bbox == doc.element("p1-e10").value_bbox
    assert res.provenance["line_items[2].amount"].text == "€1.200,00"
    assert res.provenance["customer.address.city"].element_id == "p1-e2"
    assert set(res.provenance) == set(_leaves(res.data))
    assert all(0 < p.confidence <= 1 for p in res.provenance.values())


def _leaves(d, p=""):
    if isinstance(d, dict):
        for k, v in d.items():
            yield from _leaves(v, f"{p}.{k}" if p else k)
    elif isinstance(d, list):
        for i, v in enumerate(d):
            yield from _leaves(v, f"{p}[{i}]")
    else:
        yield p


def test_missing_values_are_null_or_reported():
    schema = {"type": "object", "properties": {
        "total": {"type": "number"}, "iban": {"type": ["string", "null"]},
        "po_number": {"type": "string", "description": "purchase order number"}},
        "required": ["total", "iban", "po_number"]}
    res = extract_text("Total: $12.00", schema)
    assert res.data == {"total": 12.0, "iban": None, "po_number": ""}
    assert [m.path for m in res.missing] == ["po_number"]
    assert res.valid


def test_plain_text_elements_are_tagged_as_text():
    from prunestack.parsers.text import text_document
    from prunestack.pipeline.document import Source

    doc = text_document("Invoice INV-1\n\nTotal: $12.00")
    assert [e.source for e in doc.pages[0].elements] == [Source.TEXT, Source.TEXT]


def _doc(elements: list[tuple[str, tuple[float, float, float, float]]]) -> Document:
    els = [Element(id=f"p1-e{i}", kind=ElementKind.TEXT, text=t, page=1,
                   bbox=BBox(x0=b[0], y0=b[1], x1=b[2], y1=b[3]), source=Source.PDF_TEXT)
           for i, (t, b) in enumerate(elements)]
    return Document(mime_type="application/pdf",
                    pages=[Page(number=1, width=600, height=900, elements=els)])


def test_location_question_uses_the_3x3_grid():
    doc = _doc([("Ref: AB-1001", (20, 20, 150, 35)), ("Ref: ZZ-2002", (450, 20, 580, 35)),
                ("Ref: QQ-3003", (20, 850, 150, 865))])
    q = classify("reference printed in the top right corner", 1)
    assert q.kind == "location" and q.rows == (0,) and q.cols == (2,)
    assert set(locate(doc, q)) == {"p1-e1"}
    assert classify("the invoice total", 1).kind == "semantic"
    assert classify("number in the footer of page 2", 3).pages == (2,)
    for where, want in [("top right corner", "ZZ-2002"), ("top left", "AB-1001"),
                        ("bottom of the page", "QQ-3003")]:
        schema = {"type": "object", "properties": {"ref": {
            "type": "string", "description": f"reference number in the {where}"}}}
        assert extract_document(doc, schema).data == {"ref": want}


def test_semantic_fields_are_retrieved_by_descending_the_cctree():
    from prunestack.models import registry
    from prunestack.parsers.cctree import build_cctree

    doc = invoice_document()
    tree = build_cctree(doc)  # what extract_document builds: title section + page-1 supplement

    def best(descriptor: str) -> set[str]:
        q, rel = retrieve(doc, tree, descriptor, registry().encoder())
        assert q.kind == "semantic" and set(rel) <= {e.id for e in doc.elements()}
        assert all(0.0 <= r <= 1.0 for r in rel.values())
        return {eid for eid, r in rel.items() if r == max(rel.values())}

    # the elements of one component share its score; the right component scores highest
    assert best("due date") == {"p1-e3", "p1-e4", "p1-e5", "p1-e6"}  # header key-values
    assert best("tax rate: tax rate in percent") == {"p1-e8", "p1-e9", "p1-e10"}  # totals block
    assert best("street: (address street) (vendor street)") == {"p1-e1", "p1-e2"}
    assert best("bank account IBAN") == {"p1-e11"}  # furniture: reached through the supplement


def test_errors():
    from prunestack.errors import InputError, SchemaError

    with pytest.raises(InputError):
        extract_text("   ", {"type": "object", "properties": {"a": {"type": "string"}}})
    with pytest.raises(SchemaError):
        extract_document(invoice_document(), {"type": "string"})


def test_a_levelled_scan_page_is_read_level_and_its_provenance_is_on_the_scan():
    from prunestack.pipeline.document import PageFrame, TiltBand

    frame = PageFrame(width=1240.0, height=1754.0, tilt=(TiltBand(y=100.0, degrees=-2.0),
                                                          TiltBand(y=1500.0, degrees=-2.0)))
    kv = Element(id="p1-e0", kind=ElementKind.KEY_VALUE, text="Invoice No: INV-2041", page=1,
                 source=Source.OCR, bbox=BBox(x0=80, y0=1500, x1=400, y1=1525),
                 key="Invoice No", value="INV-2041",
                 value_bbox=BBox(x0=240, y0=1500, x1=400, y1=1525))
    laid_out = Page(number=1, width=1240, height=1754, elements=[kv])
    doc = Document(source_name="scan.png", mime_type="image/png",
                   pages=[laid_out.placed(frame)])  # as parse returns it: boxes on the scan
    schema = {"type": "object", "properties": {"invoice_number": {"type": "string"}}}
    res = extract_document(doc, schema)
    assert res.data["invoice_number"] == "INV-2041"
    on_scan = doc.pages[0].elements[0].value_bbox
    got = res.provenance["invoice_number"].bbox
    assert [got.x0, got.y0, got.x1, got.y1] == pytest.approx(
        [on_scan.x0, on_scan.y0, on_scan.x1, on_scan.y1], abs=1e-9)
    assert on_scan != kv.value_bbox
