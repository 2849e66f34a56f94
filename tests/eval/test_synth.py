"""Synthetic documents: deterministic for a seed, ground truth consistent and visible in the
born-digital PDFs' text layers, scans really degraded and image-only.

Finding a ground-truth value in a text layer follows the rules of :mod:`eval.synth.verify`
(whitespace collapsed; strings verbatim; ISO dates in any of seven rendered formats; numbers with
two decimals in either decimal style or as integers, not touching other digits; an implicit
quantity of 1 on receipts; booleans as Yes/No after their label). They are documented in
docs/eval.md and are independent of the generator's formatting code.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import jsonschema
import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image

from prunestack.eval.records import load_records, resolve_context_path
from prunestack.eval.sob import score_response
from prunestack.eval.synth.generate import SynthConfig, generate
from prunestack.eval.synth.verify import date_forms, number_forms, recovered, value_found


def _text(pdf_path: Path) -> str:
    pdf = pdfium.PdfDocument(str(pdf_path))
    try:
        return " ".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()


def test_normalisation_rules():
    assert date_forms("2024-03-07")[1:] == ["07/03/2024", "03/07/2024", "07.03.2024",
                                            "7 March 2024", "March 7, 2024", "Mar 7, 2024"]
    assert number_forms(1234.5) == ["1,234.50", "1234.50", "1.234,50", "1234,50"]
    assert "19" in number_forms(19.0)
    assert value_found("VAT 19% due", "tax_rate", 19.0)
    assert not value_found("Total 119.00", "total", 19.0)  # touches other digits
    assert value_found("Total 1.234,50 EUR", "total", 1234.5)
    assert not value_found("Total 1234.51", "total", 1234.5)
    assert value_found("Subscribe to the newsletter: No", "newsletter", False)
    assert not value_found("Subscribe to the newsletter: Yes", "newsletter", False)
    assert recovered("Ann  Lee\n7 March 2024", {"n": "Ann Lee", "d": "2024-03-07", "x": "Z"}) == (
        2, 3, ["x"])


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth-a")
    return generate(SynthConfig(kind="mixed", n=9, seed=7), out, progress=False)


def test_every_ground_truth_value_is_in_the_text_layer(mixed):
    records = load_records(mixed)
    assert {r.kind for r in records} == {"invoice", "receipt", "form"}  # type: ignore[attr-defined]
    for rec in records:
        pdf = resolve_context_path(rec, mixed)
        assert pdf is not None and pdf.suffix == ".pdf"
        found, total, missing = recovered(_text(pdf), rec.ground_truth)
        assert missing == [] and found == total > 5, (rec.record_id, missing)


def test_ground_truth_is_valid_and_adds_up(mixed):
    for rec in load_records(mixed):
        jsonschema.Draft7Validator(rec.json_schema).validate(rec.ground_truth)
        gt = rec.ground_truth
        if rec.kind == "invoice":  # type: ignore[attr-defined]
            cents = [round(li["amount"] * 100) for li in gt["line_items"]]
            for li in gt["line_items"]:
                assert round(li["quantity"] * li["unit_price"] * 100) == round(li["amount"] * 100)
            assert sum(cents) == round(gt["subtotal"] * 100)
            assert round(gt["subtotal"] * 100) + round(gt["tax"] * 100) == round(gt["total"] * 100)
            assert gt["invoice_date"] <= gt["due_date"]
        if rec.kind == "receipt":  # type: ignore[attr-defined]
            assert sum(round(i["price"] * 100) for i in gt["items"]) == round(gt["total"] * 100)
            assert 0 < gt["tax"] < gt["total"]
        assert rec.question_difficulty in ("easy", "medium", "hard")
        # The ground truth scores perfectly against itself.
        row = score_response(json.dumps(gt), rec.json_schema, gt, "image")
        assert row["leaf_value_em"] == 1.0 and row["strict_json_em"] == 1.0


def test_receipts_are_narrow_till_slips(mixed):
    for rec in load_records(mixed):
        if rec.kind != "receipt":  # type: ignore[attr-defined]
            continue
        pdf = pdfium.PdfDocument(str(resolve_context_path(rec, mixed)))
        w, h = pdf[0].get_size()
        pdf.close()
        assert abs(w - 80 * 72 / 25.4) < 0.5 and h > 1.4 * w


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_deterministic_for_a_seed_with_scans(tmp_path):
    cfg = SynthConfig(kind="mixed", n=3, seed=11, scans=True)
    a = generate(cfg, tmp_path / "a", progress=False).parent
    b = generate(cfg, tmp_path / "b", progress=False).parent
    assert _digest(a) == _digest(b)
    c = generate(cfg.model_copy(update={"seed": 12}), tmp_path / "c", progress=False).parent
    assert (a / "records.jsonl").read_bytes() != (c / "records.jsonl").read_bytes()

    recs = load_records(a / "records.jsonl")
    scans = [r for r in recs if r.variant == "scan"]  # type: ignore[attr-defined]
    assert len(scans) == 3 and len(recs) == 6
    for rec in scans:
        png = resolve_context_path(rec, a / "records.jsonl")
        assert png is not None and png.suffix == ".png"
        img = np.asarray(Image.open(png))
        assert img.ndim == 2 and img.dtype == np.uint8
        # Noise and JPEG: the paper is no longer a flat white.
        assert img[:20, :].std() > 1.0
        deg = rec.degradation  # type: ignore[attr-defined]
        assert 0 <= deg["severity"] <= 1 and 35 <= deg["jpeg_quality"] <= 85
        assert _text(png.with_suffix(".pdf")).strip() == ""  # image-only PDF
