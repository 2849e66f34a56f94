"""Fixtures for the HTML-for-RAG tests: small real-world-like pages and real pages found on disk."""

from __future__ import annotations

import glob
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
PAGES = ("news_article", "recipe_blog", "docs_page")
# Real HTML shipped by packages on this machine (rustup docs, Debian docs); tests skip when absent.
REAL_GLOBS = (
    "/root/.rustup/toolchains/*/share/doc/rust/html/book/ch0*.html",
    "/usr/share/doc/*/html/*.html",
    "/usr/share/doc/*/*.html",
)


def fixture_html(name: str) -> bytes:
    return (FIXTURES / f"{name}.html").read_bytes()


def real_pages(limit: int = 6) -> list[Path]:
    found: list[str] = []
    for g in REAL_GLOBS:
        found.extend(sorted(glob.glob(g)))
    return [Path(p) for p in found if Path(p).stat().st_size > 2000][:limit]


@pytest.fixture(params=PAGES)
def page_name(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def embed_pruner():
    from prunestack.retrieval.prune import EmbedPruner

    return EmbedPruner()


def deep_page(depth: int, text: str = "deep needle text") -> str:
    return "<html><body>" + "<div>" * depth + text + "</div>" * depth + "</body></html>"
