"""Persistent multi-page index: build on disk, reload, query across pages within a budget."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest
from lxml import etree

from prunestack.errors import InputError
from prunestack.retrieval.budget import html_text
from prunestack.retrieval.index import HtmlIndex

from .conftest import PAGES, fixture_html


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory, embed_pruner):
    src = tmp_path_factory.mktemp("pages")
    for name in PAGES:
        (src / f"{name}.html").write_bytes(fixture_html(name))
    (src / "sub").mkdir()
    (src / "sub" / "empty.htm").write_text("<html><body><script>x</script></body></html>")
    (src / "broken.html").write_bytes(b"<p>caf\xe9 \xff</p>")
    (src / "notes.txt").write_text("not html")
    out = tmp_path_factory.mktemp("index")
    stats = HtmlIndex.build(src, out, max_words=32)
    return out, stats


def test_build_writes_faiss_and_store(index_dir):
    out, stats = index_dir
    assert stats.pages == 3 and stats.blocks > 10
    assert {p for p, _ in stats.skipped} == {"broken.html", "sub/empty.htm"}
    assert (out / "index.faiss").is_file()
    con = sqlite3.connect(out / "store.sqlite")
    assert con.execute("SELECT count(*) FROM blocks").fetchone()[0] == stats.blocks
    sources = {r[0] for r in con.execute("SELECT source FROM pages")}
    assert sources == {f"{n}.html" for n in PAGES}
    assert con.execute("SELECT count(*) FROM blocks WHERE source_path IS NULL").fetchone()[0] == 0


def test_query_returns_blocks_with_source_page(index_dir, embed_pruner):
    out, _ = index_dir
    ix = HtmlIndex.load(out, encoder=embed_pruner.encoder)
    r = ix.query("How long can I keep the crackers?", 60)
    assert r.blocks[0]["page"] == "recipe_blog.html"
    assert "airtight tin" in r.html
    assert r.tokens == len(html_text(r.html).split()) <= 60  # words a reader sees
    doc = etree.fromstring(f"<html><body>{r.html}</body></html>", etree.HTMLParser())
    pages = [a.get("data-source") for a in doc.iter("article")]
    assert pages[0] == "recipe_blog.html" and len(pages) == len(set(pages))
    assert json.loads(json.dumps(r.to_dict()))["blocks"][0]["path"].startswith("/html/")
    for budget in (0, 1, 7, 25, 200):
        assert ix.query("retries and turbines", budget).tokens <= budget
    ix.close()


def test_query_errors(index_dir, tmp_path, embed_pruner):
    out, _ = index_dir
    ix = HtmlIndex.load(out, encoder=embed_pruner.encoder)
    with pytest.raises(InputError, match="empty"):
        ix.query("  ", 10)
    ix.close()
    with pytest.raises(InputError, match="not an index"):
        HtmlIndex.load(tmp_path)
    with pytest.raises(InputError, match=r"no \.html"):
        HtmlIndex.build(tmp_path, tmp_path / "out")
    bad = tmp_path / "copy"
    shutil.copytree(out, bad)
    con = sqlite3.connect(bad / "store.sqlite")
    con.execute("UPDATE pages SET html = '<p>changed</p>'")
    con.commit()
    con.close()
    ix = HtmlIndex.load(bad, encoder=embed_pruner.encoder)
    with pytest.raises(InputError, match="do not match"):
        ix.query("crackers", 50)
