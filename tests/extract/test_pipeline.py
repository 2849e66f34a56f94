"""End to end on real PDFs written by the synthetic generator: SOB scores, CLI and batch."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from prunestack.eval.sob import score_response
from prunestack.pipeline.extract import extract_file
from tests import CLI

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> tuple[Path, list[dict]]:
    from prunestack.eval.synth.generate import SynthConfig, generate

    out = tmp_path_factory.mktemp("synth-extract")
    path = generate(SynthConfig(kind="invoice", n=4, seed=11), out, progress=False)
    return out, [json.loads(line) for line in path.read_text().splitlines()]


def test_born_digital_invoices_sob_scores(synth):
    root, records = synth
    for rec in records:
        schema, truth = json.loads(rec["json_schema"]), json.loads(rec["ground_truth"])
        res = extract_file(root / rec["context"], schema)
        row = score_response(json.dumps(res.data), schema, truth)
        assert row["schema_compliance"] == 1.0
        assert row["leaf_value_em"] >= 0.95, (rec["record_id"], row)
        assert res.provenance["total"].page == 1


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


def test_cli_extract_and_errors(synth, tmp_path):
    root, records = synth
    rec = records[0]
    schema = tmp_path / "s.json"
    schema.write_text(rec["json_schema"])
    p = _cli("extract", str(root / rec["context"]), "--schema", str(schema), "--provenance")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["data"]["total"] == json.loads(rec["ground_truth"])["total"]
    assert out["provenance"]["total"]["bbox"]
    bad = _cli("extract", str(root / rec["context"]), "--schema", str(tmp_path / "nope.json"))
    assert bad.returncode == 2 and bad.stderr.startswith("error: schema file not found")
    bad = _cli("extract", str(root / rec["context"]), "--schema", str(schema),
               "--engine", "generative")
    assert bad.returncode == 2 and "--model" in bad.stderr
    (tmp_path / "bad.json").write_text('{"type": "array"}')
    bad = _cli("extract", str(root / rec["context"]), "--schema", str(tmp_path / "bad.json"))
    assert bad.returncode == 2 and "root must be an object" in bad.stderr


def test_extract_batch_pool_progress_and_resume(synth, tmp_path):
    root, records = synth
    schema = tmp_path / "s.json"
    schema.write_text(records[0]["json_schema"])
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    for rec in records[:1]:
        src = root / rec["context"]
        (docs / "sub" / src.name).write_bytes(src.read_bytes())
    (docs / "broken.pdf").write_bytes(b"%PDF-1.7 truncated")
    (docs / "notes.txt").write_text("not a document")
    out = tmp_path / "results.jsonl"
    p = _cli("extract-batch", str(docs), "--schema", str(schema), "--out", str(out),
             "--workers", "2")
    assert p.returncode == 0, p.stderr
    assert "2 to go" in p.stderr and "extract: 100%" in p.stderr  # plan + progress bar
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines) == 2 and sum(r["ok"] for r in lines) == 1
    assert next(r for r in lines if not r["ok"])["file"].endswith("broken.pdf")
    ok = next(r for r in lines if r["ok"])
    assert ok["valid"] and ok["provenance"]["total"]["page"] == 1
    # resume after an interruption that cut the last line: only that document is redone
    kept = [x for x in out.read_text().splitlines() if not json.loads(x)["ok"]]
    out.write_text("\n".join(kept) + '\n{"file": "trunc')
    p = _cli("extract-batch", str(docs), "--schema", str(schema), "--out", str(out),
             "--workers", "1")
    assert p.returncode == 0 and "1 already done, 1 to go" in p.stderr, p.stderr
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines) == 2 and {r["ok"] for r in lines} == {True, False}


def test_bundled_sample_invoice_matches_expected():
    """What `make run` extracts: the bundled sample equals its hand-checked expected JSON."""
    ex = ROOT / "examples"
    schema = json.loads((ex / "invoice_schema.json").read_text())
    res = extract_file(ex / "sample_invoice.pdf", schema)
    assert res.valid and res.data == json.loads((ex / "sample_invoice.expected.json").read_text())
    assert res.provenance["seller.name"].bbox.y0 < 100  # the company heading at the top
