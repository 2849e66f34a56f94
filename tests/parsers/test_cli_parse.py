"""`prunestack parse` through a real subprocess: formats, page selection and the bad-input list
(one stderr line, non-zero exit, no traceback, no hang)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from tests import CLI
from tests.parsers import docgen

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "parse", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def invoice_file(tmp_path_factory, invoice_pdf) -> Path:
    p = tmp_path_factory.mktemp("cli") / "invoice.pdf"
    p.write_bytes(invoice_pdf)
    return p


def test_tree_is_default(invoice_file):
    r = run_cli(str(invoice_file))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("document")
    assert "Terms and Conditions" in r.stdout and "table" in r.stdout


def test_json_and_pages(invoice_file):
    r = run_cli(str(invoice_file), "--format", "json", "--pages", "2")
    assert r.returncode == 0, r.stderr
    tree = json.loads(r.stdout)
    dump = json.dumps(tree)
    assert "Terms and Conditions" in dump and "INV-2024-0042" not in dump


def test_markdown(invoice_file):
    r = run_cli(str(invoice_file), "--format", "markdown", "--pages", "1")
    assert r.returncode == 0, r.stderr
    assert "| Steel bolts M8 box | 4 | 12.50 | 50.00 |" in r.stdout


def _bad_inputs(tmp: Path) -> dict[str, tuple[Path, str]]:
    files = {
        "truncated": (docgen.truncated_pdf(), "cannot be read"),
        "corrupt": (b"%PDF-1.7\n" + bytes(range(256)) * 8, "cannot be read"),
        "encrypted": (docgen.encrypted_pdf(), "encrypted"),
        "zero-page": (docgen.zero_page_pdf(), "no pages"),
        "unsupported": (b"PK\x03\x04 this is a zip archive", "unsupported file type"),
        "empty-html": (b"", "empty"),
        "blank-html": (b"<html><body>   </body></html>", "no visible text"),
        "latin1-html": ("<html><body><p>caf\xe9</p></body></html>".encode("latin-1"), "UTF-8"),
        "deep-html": (b"<html><body>" + b"<div>" * 100_000 + b"x" + b"</div>" * 100_000
                      + b"</body></html>", "nested"),
    }
    out = {}
    for name, (data, msg) in files.items():
        p = tmp / f"{name}.bin"
        p.write_bytes(data)
        out[name] = (p, msg)
    bomb = tmp / "bomb.png"
    Image.new("1", (13000, 13000), 1).save(bomb)  # 169 MP, over the 150 MP default limit
    out["pixel-bomb"] = (bomb, "over the limit")
    out["missing"] = (tmp / "does-not-exist.pdf", "not found")
    return out


BAD = ["truncated", "corrupt", "encrypted", "zero-page", "unsupported", "empty-html",
       "blank-html", "latin1-html", "deep-html", "pixel-bomb", "missing"]


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory) -> dict[str, tuple[subprocess.CompletedProcess, str]]:
    """Every bad input through its own CLI process, all started at once (they mostly wait on
    imports, so running them side by side keeps the suite quick)."""
    files = _bad_inputs(tmp_path_factory.mktemp("bad"))
    procs = {
        name: subprocess.Popen([*CLI, "parse", str(path)], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, (path, _) in files.items()
    }
    out = {}
    for name, proc in procs.items():
        try:
            stdout, stderr = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
            stderr += "\nHUNG: killed after 120 s"
        out[name] = (subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr),
                     files[name][1])
    return out


@pytest.mark.parametrize("name", BAD)
def test_bad_input_one_line_nonzero(bad_runs, name):
    r, msg = bad_runs[name]
    assert r.returncode != 0
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: ") and msg in lines[0], lines[0]
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(("args", "msg"), [(["--pages", "3-4"], "has 2 page"),
                                           (["--pages", "x"], "bad page selection"),
                                           (["--ocr", "nope"], "nope"),
                                           (["--format", "yaml"], "yaml")])
def test_bad_options(invoice_file, args, msg):
    r = run_cli(str(invoice_file), *args)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and msg in r.stderr
