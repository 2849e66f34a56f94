"""Runner and `prunestack bench` CLI: injected engines, resumability, scoring joins, reports."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from prunestack.api.commands.bench import app as bench_app
from prunestack.errors import ConfigError, InputError
from prunestack.eval.records import SobRecord, load_records, write_records
from prunestack.eval.runner import _load_existing, run_benchmark, score_files
from tests import CLI

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = {"type": "object", "properties": {"name": {"type": "string"},
                                           "total": {"type": "number"}},
          "required": ["name", "total"]}


def _records(tmp_path: Path) -> Path:
    doc = tmp_path / "docs" / "a.txt"
    doc.parent.mkdir()
    doc.write_text("Name: Ada. Total: 3.5")
    recs = [
        SobRecord(record_id=f"r{i}", context=ctx, question="q", json_schema=SCHEMA,
                  ground_truth={"name": name, "total": total}, question_difficulty=lvl,
                  variant=variant)
        for i, (ctx, name, total, lvl, variant) in enumerate([
            ("docs/a.txt", "Ada", 3.5, "easy", "digital"),
            ("Name: Bob. Total: 2", "Bob", 2.0, "medium", "digital"),
            ("Name: Cy. Total: 1", "Cy", 1.0, "hard", "scan"),
            ("Name: Di. Total: 4", "Di", 4.0, "hard", "scan"),
        ])
    ]
    path = tmp_path / "records.jsonl"
    write_records(path, recs)
    return path


def _engine(seen: list[str]):
    def run(rec: SobRecord) -> str:
        seen.append(rec.record_id)
        if rec.record_id == "r0":
            assert Path(rec.context).is_absolute() and Path(rec.context).is_file()
            return json.dumps({"name": "Ada", "total": 3.5})  # perfect
        if rec.record_id == "r1":
            return "I could not find it."  # not JSON
        if rec.record_id == "r2":
            raise RuntimeError("engine crashed")
        return json.dumps({"name": "Di", "total": 5})  # half right
    return run


def test_run_scores_writes_reports_and_survives_engine_errors(tmp_path):
    seen: list[str] = []
    out = tmp_path / "out"
    summary = run_benchmark(_records(tmp_path), _engine(seen), out, samples=200, progress=False)
    assert seen == ["r0", "r1", "r2", "r3"]
    assert summary["modality"] == "text"  # three contexts are plain text
    m = summary["summary"]["overall"]["metrics"]
    assert m["json_parse_success"]["mean"] == pytest.approx(2 / 4)
    assert m["schema_compliance"]["mean"] == pytest.approx(2 / 4)
    assert m["leaf_value_em"]["mean"] == pytest.approx((1 + 0.5) / 4)
    assert m["strict_json_em"]["mean"] == pytest.approx(1 / 4)
    # Weighted: r0 easy (1) = 1, r3 hard (3) = 0.5, others 0 → (1 + 1.5) / (1+2+3+3)
    w = summary["summary"]["overall_weighted"]["metrics"]["leaf_value_em"]["mean"]
    assert w == pytest.approx(2.5 / 9)
    assert summary["data_quality"]["engine_error_count"] == 1
    lines = [json.loads(x) for x in (out / "responses.jsonl").read_text().splitlines()]
    assert [x["record_id"] for x in lines] == ["r0", "r1", "r2", "r3"]
    assert lines[2]["response"] == "" and "engine crashed" in lines[2]["error"]
    for name in ("summary.json", "eval_records.jsonl", "report.md", "metrics.png",
                 "categories.png"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "metrics.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (out / "report.md").read_text()
    assert "Truth Score" in report and "## By variant" in report


def test_resume_after_interruption(tmp_path):
    records = _records(tmp_path)
    out = tmp_path / "out"
    calls: list[str] = []

    def interrupted(rec: SobRecord) -> str:
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(rec.record_id)
        return json.dumps({"name": "x", "total": 0})

    with pytest.raises(KeyboardInterrupt):
        run_benchmark(records, interrupted, out, samples=10, progress=False)
    assert len((out / "responses.jsonl").read_text().splitlines()) == 2
    # A torn half-written line is dropped, not fatal.
    with (out / "responses.jsonl").open("a") as fh:
        fh.write('{"record_id": "r2", "resp')
    seen: list[str] = []
    summary = run_benchmark(records, _engine(seen), out, samples=10, progress=False)
    assert seen == ["r2", "r3"]
    assert summary["run"]["skipped_existing"] == 2 and summary["run"]["new"] == 2
    assert _load_existing(out / "responses.jsonl") == {"r0", "r1", "r2", "r3"}


def test_setup_errors_stop_the_run(tmp_path):
    def misconfigured(rec: SobRecord) -> str:
        raise ConfigError("the generative engine needs a model")

    with pytest.raises(ConfigError):
        run_benchmark(_records(tmp_path), misconfigured, tmp_path / "out", progress=False)
    bad = CliRunner().invoke(bench_app, ["run", str(tmp_path / "records.jsonl"), "--out",
                                         str(tmp_path / "o"), "--engine", "generative"])
    assert bad.exit_code != 0 and "needs a model" in str(bad.exception)


def test_score_joins_by_record_id_and_counts_missing(tmp_path):
    records = _records(tmp_path)
    resp = tmp_path / "responses.jsonl"
    resp.write_text("\n".join(json.dumps(x) for x in [
        {"record_id": "r3", "response": json.dumps({"name": "Di", "total": 4.0})},
        {"record_id": "r0", "response": '"just a string"'},
        {"record_id": "zzz", "response": "{}"},
    ]) + "\n")
    s = score_files(resp, records, tmp_path / "scored", samples=10)
    assert s["data_quality"]["missing_response_count"] == 2
    assert s["data_quality"]["unknown_response_count"] == 1
    m = s["summary"]["overall"]["metrics"]
    assert m["strict_json_em"]["mean"] == pytest.approx(1 / 4)
    assert m["json_parse_success"]["mean"] == pytest.approx(1 / 4)
    assert json.loads((tmp_path / "scored" / "summary.json").read_text())["num_records"] == 4


def test_cli_score_and_errors(tmp_path):
    records = _records(tmp_path)
    resp = tmp_path / "responses.jsonl"
    resp.write_text(json.dumps({"record_id": "r1", "response": '{"name": "Bob", "total": 2}'})
                    + "\n")
    result = CliRunner().invoke(bench_app, ["score", str(resp), "--records", str(records),
                                            "--out", str(tmp_path / "o"), "--samples", "20"])
    assert result.exit_code == 0, result.output
    assert "Truth Score" in result.output
    assert (tmp_path / "o" / "summary.json").is_file()

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"record_id": "x", "context": "c", "json_schema": "{not json", '
                   '"ground_truth": "{}"}\n')
    with pytest.raises(InputError, match="json_schema"):
        load_records(bad)
    proc = subprocess.run(
        [*CLI, "bench", "score", str(resp), "--records", str(bad),
         "--out", str(tmp_path / "o2")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error:") and len(proc.stderr.strip().splitlines()) == 1


def test_cli_run_with_the_real_extractive_pipeline(tmp_path):
    """`prunestack bench run` through pipeline.extract (real MiniLM), plain-text context."""
    pytest.importorskip("prunestack.pipeline.extract")
    rec = SobRecord(record_id="t0", context="Customer name: Ada Lovelace\nTotal amount: 12.50",
                    question="q", json_schema=SCHEMA,
                    ground_truth={"name": "Ada Lovelace", "total": 12.5},
                    question_difficulty="easy")
    records = tmp_path / "records.jsonl"
    write_records(records, [rec])
    out = tmp_path / "run"
    result = CliRunner().invoke(bench_app, ["run", str(records), "--out", str(out),
                                            "--engine", "extractive", "--samples", "20"])
    assert result.exit_code == 0, result.output
    line = json.loads((out / "responses.jsonl").read_text())
    assert line["record_id"] == "t0" and "error" not in line, line
    summary = json.loads((out / "summary.json").read_text())
    assert summary["modality"] == "text"
    assert summary["summary"]["overall"]["metrics"]["json_parse_success"]["mean"] == 1.0
    assert summary["run"]["new"] == 1
    bad = CliRunner().invoke(bench_app, ["run", str(records), "--out", str(out),
                                         "--engine", "magic"])
    assert bad.exit_code != 0


def test_score_sob_native_response_file(tmp_path):
    """A response file in SOB's own layout scores without --records, as its evaluate.py:
    a stored string candidate means extraction failed, malformed lines are counted."""
    def line(rid, cand, **meta):
        return json.dumps({"metadata": {"record_id": rid, "model_id": "m1", **meta},
                           "input": {"context": "c", "question": "q", "json_schema": SCHEMA},
                           "output": {"candidate_response": cand,
                                      "ground_truth": {"name": "A", "total": 1.0}}})
    path = tmp_path / "response_m1_image.jsonl"
    path.write_text("\n".join([
        line("a", {"name": "A", "total": 1.0}, difficulty="easy", schema_complexity="hard"),
        line("b", '{"name": "A", "total": 1.0}', difficulty="medium"),
        "{not json",
    ]) + "\n")
    result = CliRunner().invoke(bench_app, ["score", str(path), "--out", str(tmp_path / "o"),
                                            "--samples", "20"])
    assert result.exit_code == 0, result.output
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert s["modality"] == "image" and s["model_ids"] == ["m1"]
    assert s["num_records"] == 2 and s["data_quality"]["malformed_jsonl_line_count"] == 1
    assert s["summary"]["overall"]["metrics"]["json_parse_success"]["mean"] == 0.5
    # weights: a → schema_complexity hard (3), b → difficulty medium (2): 3 / 5
    w = s["summary"]["overall_weighted"]["metrics"]["strict_json_em"]["mean"]
    assert w == pytest.approx(3 / 5)
    plain = tmp_path / "plain.jsonl"
    plain.write_text(json.dumps({"record_id": "a", "response": "{}"}) + "\n")
    with pytest.raises(InputError, match="no records"):
        score_files(plain, None, tmp_path / "o2")
