"""Synthetic documents: deterministic for a seed, ground truth consistent and visible in the
born-digital PDFs' text layers, scans really degraded and image-only.

Normalisation used to find a ground-truth value in a text layer (also in docs/eval.md):
whitespace is collapsed to single spaces; a string must appear verbatim, except ISO dates
(YYYY-MM-DD), which may appear in any of the seven rendered formats (ISO, DD/MM/YYYY,
MM/DD/YYYY, DD.MM.YYYY, "7 March 2024", "March 7, 2024", "Mar 7, 2024"); a number must appear
with two decimals in either style (1,234.50 / 1234.50 / 1.234,50 / 1234,50) or, when integral,
as an integer, not touching other digits (a line-item quantity of 1 may be implicit: receipts
print "N x price" only for N > 1); a boolean is the word Yes / No after its label.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from decimal import Decimal
from pathlib import Path

import jsonschema
import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image

from eval.records import load_records, resolve_context_path
from eval.sob import flatten_leaf_paths, score_response
from eval.synth.generate import SynthConfig, generate

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _text(pdf_path: Path) -> str:
    pdf = pdfium.PdfDocument(str(pdf_path))
    try:
        return " ".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()


def _collapse(s: str) -> str:
    return " ".join(s.split())


def _date_forms(iso: str) -> list[str]:
    d = dt.date.fromisoformat(iso)
    return [iso, d.strftime("%d/%m/%Y"), d.strftime("%m/%d/%Y"), d.strftime("%d.%m.%Y"),
            f"{d.day} {d.strftime('%B')} {d.year}", f"{d.strftime('%B')} {d.day}, {d.year}",
            f"{d.strftime('%b')} {d.day}, {d.year}"]


def _number_forms(x: float) -> list[str]:
    q = Decimal(str(x)).quantize(Decimal("0.01"))
    dot_grouped, dot_plain = f"{q:,.2f}", f"{q:.2f}"
    comma = dot_grouped.replace(",", " ").replace(".", ",").replace(" ", ".")
    forms = [dot_grouped, dot_plain, comma, dot_plain.replace(".", ",")]
    if q == q.to_integral_value():
        forms.append(str(int(q)))
    return forms


def _found(text: str, path: str, value, schema_labels: dict[str, str]) -> bool:
    if isinstance(value, bool):
        label = schema_labels[path]
        word = "Yes" if value else "No"
        return re.search(rf"{re.escape(label)}[^|]*?\b{word}\b", text) is not None
    if value == 1 and path.endswith(".quantity") and not isinstance(value, bool):
        return True  # receipts print no "1 x" line: a quantity of one is implicit
    if isinstance(value, int | float):
        forms = _number_forms(float(value)) if isinstance(value, float) else [str(value)]
        return any(re.search(rf"(?<![\d]){re.escape(f)}(?![\d])", text) for f in forms)
    if isinstance(value, str) and ISO.match(value):
        return any(f in text for f in _date_forms(value))
    return _collapse(str(value)) in text


BOOL_LABELS = {"newsletter": "Subscribe to the newsletter",
               "terms_accepted": "I accept the terms and conditions"}


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
        text = _collapse(_text(pdf))
        for path, value in flatten_leaf_paths(rec.ground_truth).items():
            assert _found(text, path, value, BOOL_LABELS), (rec.record_id, path, value)


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
