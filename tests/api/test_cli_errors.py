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
    (("ask", "x", "y"), ("No such command 'ask'", "usage: prunestack [OPTIONS] COMMAND",
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
