"""Build the shipped calibration corpus, ``prunestack/corpora/calibration-en/``.

Two parts, written as one gzipped JSONL file (``{"source", "text"}`` per paragraph):

- **prose**: English paragraphs of the Django documentation (BSD-3-Clause, Django Software
  Foundation), taken from the Django source distribution on PyPI: the reStructuredText under
  ``docs/`` except the release notes; code blocks, directives' code, tables and headings are
  dropped and inline markup is reduced to its text.
- **documents**: the text of synthetic receipts, invoices and forms made by the project's own
  generator (``eval.scorer_data.synthetic_documents``, fixed seed), one document per entry, so
  calibration also sees document-like text (short lines, amounts, dates, addresses).

Run (offline once pip has the sdist; the output is deterministic for the same inputs)::

    pip download --no-deps --no-binary :all: django==5.2.8 -d /tmp/dj
    python scripts/build_calibration_corpus.py /tmp/dj/django-5.2.8.tar.gz

The corpus' README (sources, licences, sizes) is written beside it.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import sys
import tarfile
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "prunestack" / "corpora" / "calibration-en"
SECTIONS = ("intro", "topics", "howto", "faq", "ref", "misc", "internals")
_UNDERLINE = re.compile(r"^([=\-~^*\"+#`'.:_])\1{2,}\s*$")
_ROLE = re.compile(r":[\w:.-]+:`~?([^`<]*?)\s*(?:<[^>]*>)?`")
_LINK = re.compile(r"`([^`<]+?)\s*(?:<[^>]*>)?`__?")
_LITERAL = re.compile(r"``([^`]+)``")
_EMPH = re.compile(r"\*\*?([^*\s][^*]*?)\*\*?")
_BULLET = re.compile(r"^(?:[*\-+]|#\.|\d+\.)\s+")
_KEEP_BODY = {"note", "warning", "admonition", "seealso", "tip", "versionadded",
              "versionchanged", "deprecated", "attention", "important"}


def _inline(text: str) -> str:
    text = _ROLE.sub(lambda m: m.group(1).split(".")[-1] if m.group(0).startswith(":")
                     and "~" in m.group(0) else m.group(1), text)
    text = _LINK.sub(r"\1", text)
    text = _LITERAL.sub(r"\1", text)
    text = _EMPH.sub(r"\1", text)
    text = text.replace("\\", "")
    return " ".join(text.split())


def rst_paragraphs(source: str) -> list[str]:
    """Prose paragraphs of one reStructuredText file, inline markup reduced to text."""
    out: list[str] = []
    para: list[str] = []
    skip_indent: int | None = None  # skipping a literal block / directive body deeper than this

    def flush() -> None:
        if para:
            out.append(_inline(" ".join(para)))
            para.clear()

    lines = source.splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if skip_indent is not None:
            if not stripped or indent > skip_indent:
                continue
            skip_indent = None
        if not stripped:
            flush()
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if _UNDERLINE.match(stripped) or (_UNDERLINE.match(nxt.strip()) and len(nxt.strip())
                                          >= len(stripped) > 0):
            flush()  # a heading or its underline
            continue
        if stripped.startswith(".. "):
            flush()
            name = stripped[3:].split("::")[0].strip()
            if "::" in stripped and name in _KEEP_BODY:
                rest = stripped.split("::", 1)[1].strip()
                if rest and name in ("note", "warning", "tip", "important", "attention"):
                    para.append(rest)
                continue  # the indented body is prose: read it as paragraphs
            skip_indent = indent
            continue
        if stripped.startswith(("|", "+-", "+=", ">>>")):
            flush()
            continue
        if _BULLET.match(stripped):
            flush()
            stripped = _BULLET.sub("", stripped)
        para.append(stripped)
        if stripped.endswith("::"):
            para[-1] = stripped[:-2].rstrip() + (":" if not stripped.endswith(" ::") else "")
            flush()
            skip_indent = indent
    flush()
    return out


def prose(sdist: Path) -> list[str]:
    paras: list[str] = []
    with tarfile.open(sdist) as tar:
        members = sorted((m for m in tar.getmembers() if m.isfile()
                          and m.name.endswith(".txt") and "/docs/" in m.name
                          and m.name.split("/docs/")[1].split("/")[0] in SECTIONS),
                         key=lambda m: m.name)
        for m in members:
            f = tar.extractfile(m)
            if f is not None:
                paras += rst_paragraphs(f.read().decode("utf-8", errors="replace"))
    seen: set[str] = set()
    keep = []
    for p in paras:
        letters = sum(c.isalpha() or c.isspace() for c in p)
        if len(p) >= 80 and letters > 0.85 * len(p) and p not in seen:
            seen.add(p)
            keep.append(p)
    return keep


def documents(n: int, seed: int) -> list[str]:
    from prunestack.eval.scorer_data import synthetic_documents

    return [doc.text.strip() for _, doc, _, _ in synthetic_documents(n, seed)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sdist", type=Path, help="Django source distribution (.tar.gz)")
    ap.add_argument("--documents", type=int, default=1500, help="synthetic documents")
    ap.add_argument("--seed", type=int, default=20261207)
    ap.add_argument("--max-prose-mb", type=float, default=3.0)
    a = ap.parse_args()
    paras = prose(a.sdist)
    budget, total, kept = a.max_prose_mb * 1e6, 0, []
    for p in paras:
        if total + len(p) > budget:
            break
        kept.append(p)
        total += len(p)
    docs = documents(a.documents, a.seed)
    OUT.mkdir(parents=True, exist_ok=True)
    rows = ([{"source": "django-docs", "text": p} for p in kept]
            + [{"source": "synthetic-documents", "text": d} for d in docs])
    raw = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
    path = OUT / "corpus.jsonl.gz"
    with open(path, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) as gz:
        gz.write(raw)
    stats = {"sdist": a.sdist.name, "prose_paragraphs": len(kept), "prose_chars": total,
             "documents": len(docs), "document_chars": sum(map(len, docs)),
             "uncompressed_bytes": len(raw), "gz_bytes": path.stat().st_size,
             "sha256": hashlib.sha256(raw).hexdigest(), "seed": a.seed}
    (OUT / "stats.json").write_text(json.dumps(stats, indent=1) + "\n")
    sys.stdout.write(json.dumps(stats, indent=1) + "\n")


if __name__ == "__main__":
    main()
