"""The CLI's error contract through a real subprocess: a usage error is one line with the usage
hint and exit code 2 (not an "unexpected" error), a schema past its limits is one line naming the
limit and exit code 2, and a RecursionError never escapes as a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests import CLI

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)


def one_line(r: subprocess.CompletedProcess) -> str:
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in r.stderr
    assert "unexpected" not in lines[0]
    return lines[0]


@pytest.mark.parametrize("args,says", [
    (("answer", "x", "y"), ("No such command 'answer'", "usage: prunestack [OPTIONS] COMMAND",
                         "try 'prunestack --help'")),
    (("extract", "--nope"), ("No such option: --nope", "usage: prunestack extract",
                             "try 'prunestack extract --help'")),
    (("extract",), ("Missing argument", "usage: prunestack extract")),
])
def test_usage_errors_exit_2_with_the_usage(args, says):
    r = run(*args)
    assert r.returncode == 2, (r.returncode, r.stderr)
    line = one_line(r)
    for s in says:
        assert s in line, line


@pytest.fixture()
def page(tmp_path) -> Path:
    p = tmp_path / "page.html"
    p.write_text("<html><body><p>Invoice No: 12</p></body></html>")
    return p


@pytest.mark.parametrize("schema,says", [
    ('{"type":"object","properties":{"a":' * 5000 + "{}" + "}}" * 5000,
     ("max_schema_depth", "PRUNESTACK_MAX_SCHEMA_DEPTH")),
    (json.dumps({"type": "object", "properties": {"invoice_number": {
        "type": "string", "minLength": 300_000_000}}, "required": ["invoice_number"]}),
     ("properties/invoice_number/minLength", "max_schema_placeholder")),
])
def test_a_schema_past_its_limits_is_one_line_and_exit_2(tmp_path, page, schema, says):
    path = tmp_path / "schema.json"
    path.write_text(schema)
    r = run("extract", str(page), "--schema", str(path))
    assert r.returncode == 2, r.stderr
    line = one_line(r)
    for s in says:
        assert s in line, line


def test_recursion_error_is_one_line_exit_2():
    code = ("import sys\n"
            "from prunestack.api import cli\n"
            "def deep(*a, **k):\n"
            "    return deep()\n"
            "cli.app = deep\n"
            "cli.main()\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=60, check=False)
    assert r.returncode == 2, r.stderr
    assert "recursion limit" in one_line(r)


def test_backtracking_pattern_does_not_hang_the_cli(tmp_path):
    doc = tmp_path / "doc.html"
    doc.write_text("<html><body><p>Invoice No: " + "a" * 36 + "1</p></body></html>")
    schema = tmp_path / "evil.json"
    schema.write_text(json.dumps({"type": "object", "properties": {
        "invoice_number": {"type": "string", "pattern": "^(a+)+$"}},
        "required": ["invoice_number"]}))
    try:
        r = subprocess.run([*CLI, "extract", str(doc), "--schema", str(schema)], cwd=ROOT,
                           capture_output=True, text=True, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("`prunestack extract` with a backtracking pattern still ran after 60 s")
    assert "Traceback" not in r.stderr and "unexpected" not in r.stderr, r.stderr[-1500:]
    assert r.returncode in (0, 2), f"exit code {r.returncode}; stderr {r.stderr!r}"


def test_deep_allof_is_one_line_or_served(tmp_path):
    inner = json.dumps({"type": "object", "properties": {"a": {"type": "string"}}})
    path = tmp_path / "deep.json"
    path.write_text('{"allOf":[' * 400 + inner + "]}" * 400)
    page = tmp_path / "page.html"
    page.write_text("<html><body><p>a: hello</p></body></html>")
    r = run("extract", str(page), "--schema", str(path))
    if r.returncode != 0:
        assert r.returncode == 2, r.stderr
        one_line(r)


def test_strict_mode_exits_3_when_a_required_value_is_missing(tmp_path):
    """Missing required values must not pass for real ones: without --strict they are listed on
    stderr and the exit code is 0; with --strict the same JSON is printed and the exit code is 3."""
    page = tmp_path / "page.html"
    page.write_text("<html><body><p>Invoice total: 12.00</p></body></html>")
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"type": "object", "required": ["vat_id", "total"], "properties": {
        "vat_id": {"type": "string", "description": "the VAT registration id"},
        "total": {"type": "number"}}}))
    loose = run("extract", str(page), "--schema", str(schema))
    strict = run("extract", str(page), "--schema", str(schema), "--strict")
    assert loose.returncode == 0, loose.stderr
    assert "missing: vat_id" in loose.stderr
    assert strict.returncode == 3, strict.stderr
    assert json.loads(strict.stdout) == json.loads(loose.stdout)
    assert json.loads(strict.stdout)["total"] == 12.0
    assert "--strict: 1 value(s) missing" in strict.stderr
    found = tmp_path / "schema2.json"
    found.write_text(json.dumps({"type": "object", "required": ["total"],
                                 "properties": {"total": {"type": "number"}}}))
    ok = run("extract", str(page), "--schema", str(found), "--strict")
    assert ok.returncode == 0, ok.stderr
