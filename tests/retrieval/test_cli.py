"""`prunestack html ...` and `prunestack rag ...` end to end through the real CLI entry point."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests import CLI

from .conftest import FIXTURES

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_clean_and_prune_print_html():
    page = str(FIXTURES / "recipe_blog.html")
    r = cli("html", "clean", page)
    assert r.returncode == 0
    assert r.stdout.strip() == (FIXTURES / "recipe_blog.clean.html").read_text().strip()
    r = cli("html", "prune", page, "--query", "how long to store the crackers", "--budget", "30",
            "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert "airtight tin" in out["html"] and out["tokens"] <= 30 and out["kept_paths"]


def test_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_bytes(b"<p>caf\xe9 \xff</p>")
    for args, msg in [(("html", "clean", str(bad)), "not valid utf-8"),
                      (("html", "prune", str(FIXTURES / "docs_page.html"), "-q", "", "-b", "5"),
                       "query is empty"),
                      (("html", "prune", str(FIXTURES / "docs_page.html"), "-q", "x", "-b", "5",
                        "--pruner", "gen"), "needs a causal LM"),
                      (("html", "prune", str(FIXTURES / "docs_page.html"), "-q", "x", "-b", "5",
                        "--boilerplate-weight", "2"), "boilerplate.weight"),
                      (("html", "clean", str(tmp_path / "missing.html")), "file not found")]:
        r = cli(*args)
        assert r.returncode == 2, r.stderr
        lines = r.stderr.strip().splitlines()
        assert lines[-1].startswith("error:") and msg in lines[-1]
        assert "Traceback" not in r.stderr


def test_rag_index_and_query(tmp_path, embed_pruner):
    # in-process (the MiniLM loaded by the session fixture is reused); same typer app as the CLI
    from typer.testing import CliRunner

    from prunestack.api.cli import app

    src = tmp_path / "pages"
    src.mkdir()
    for name in ("docs_page", "news_article"):
        (src / f"{name}.html").write_bytes((FIXTURES / f"{name}.html").read_bytes())
    runner = CliRunner()
    r = runner.invoke(app, ["rag", "index", str(src), "--out", str(tmp_path / "ix"),
                            "--max-words", "48"])
    assert r.exit_code == 0, r.output
    assert "indexed 2 pages" in r.stdout
    r = runner.invoke(app, ["rag", "query", str(tmp_path / "ix"),
                            "how do I change the number of retry attempts", "--budget", "40",
                            "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["blocks"][0]["page"] == "docs_page.html" and out["tokens"] <= 40
    assert 'data-source="docs_page.html"' in out["html"]
