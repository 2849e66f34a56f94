"""Layout benchmark: how well and how fast lines become elements and a CCTree.

One run (``python -m benchmarks.run_all layout``) measures, on the generated two-page invoice
(``tests/parsers/docgen.py``: invoice page + two-column terms page):

1. **Accuracy**, text layer vs rendered-at-200-dpi + rapidocr vs the same render degraded like a
   scan (``docgen.degrade``: tilt, blur, noise, JPEG), side by side: two-column reading
   order (the four paragraphs in order, each whole: one element ≥ 90% similar to it), table cells
   exact (header + line items,
   spaces ignored), key–value pairs exact (key and value, spaces ignored), headings found, and
   furniture (footer + page number on each page).
   The same metrics on ``N_VARIANTS`` seeded variants (``benchmarks/layout_variants.py``: other
   fonts, field styles and positions, table shapes, gutters) that the rules were not tuned on,
   on the text layer, and one variant through rapidocr.
2. **Speed** of ``aggregate`` + ``build_cctree`` per page on the text layer (best of 3).
3. **HTML**: ``parse_html`` throughput on a generated 2,000-section page, and the time to refuse
   a page nested 100,000 levels deep.

Writes ``reports/layout.json``, ``reports/layout.md`` and ``reports/layout.png``.
"""

from __future__ import annotations

import json
import re
import time
from difflib import SequenceMatcher
from pathlib import Path

from tqdm import tqdm

from benchmarks.layout_variants import Truth, variant
from prunestack.errors import TooLargeError
from prunestack.parsers.cctree import build_cctree
from prunestack.parsers.html import parse_html
from prunestack.parsers.layout import aggregate
from prunestack.parsers.pdf import pdf_page_lines
from prunestack.parsers.primitives import PageLines
from prunestack.pipeline.document import Document, ElementKind, Source
from tests.parsers import docgen

REPORTS = Path("reports")
N_VARIANTS = 20


def _norm(s: str) -> str:
    return re.sub(r"\s+", "", s).lower()


def _similar(a: str, b: str) -> bool:
    """Same text up to OCR slips: normalised similarity ≥ 0.9."""
    return SequenceMatcher(None, _norm(a), _norm(b)).ratio() >= 0.9


def docgen_truth() -> Truth:
    """Ground truth of the development document (``tests/parsers/docgen.invoice_pdf``)."""
    return Truth(
        paras=[p for _, p in docgen.TERMS_LEFT + docgen.TERMS_RIGHT],
        rows=[docgen.TABLE_HEADER] + [i.cells() for i in docgen.LINE_ITEMS],
        pairs=[*docgen.KV_LEFT, *docgen.KV_ABOVE, ("Bill To", " ".join(docgen.BUYER))],
        headings=["INVOICE", docgen.TERMS_TITLE, "Items",
                  *(h for h, _ in docgen.TERMS_LEFT + docgen.TERMS_RIGHT)],
    )


def score(doc: Document, truth: Truth) -> dict[str, float]:
    """Shares in [0, 1] of what the generator put on the pages that came back right."""
    els = doc.elements()
    p2 = [e for e in doc.pages[1].elements if not e.is_furniture]
    whole = [next((i for i, e in enumerate(p2) if _similar(e.text, p)), None) for p in truth.paras]
    order_ok = None not in whole and whole == sorted(whole)  # type: ignore[type-var]
    tables = [e for e in els if e.kind == ElementKind.TABLE]
    rows = tables[0].table_rows() if tables else []
    cells = [(g, w) for gr, wr in zip(rows, truth.rows, strict=False)
             for g, w in zip(gr, wr, strict=False)]
    n_cells = sum(len(r) for r in truth.rows)
    kv = {(_norm(e.key or ""), _norm(e.value or "")) for e in els
          if e.kind == ElementKind.KEY_VALUE}
    heads = [_norm(e.text) for e in els if e.kind in (ElementKind.TITLE, ElementKind.HEADING)]
    furn = sum({e.kind for e in p.elements if e.is_furniture}
               == {ElementKind.FOOTER, ElementKind.PAGE_NUMBER} for p in doc.pages)
    return {
        "reading_order": float(order_ok),
        "paragraphs_whole": sum(w is not None for w in whole) / len(truth.paras),
        "table_cells": sum(_norm(g) == _norm(w) for g, w in cells) / n_cells,
        "kv_pairs": sum((_norm(k), _norm(v)) in kv for k, v in truth.pairs) / len(truth.pairs),
        "headings": sum(_norm(h) in heads for h in truth.headings) / len(truth.headings),
        "furniture_pages": furn / len(doc.pages),
        "one_table_only": float(len(tables) == 1),  # no false tables
    }


def _mean(scores: list[dict[str, float]]) -> dict[str, float]:
    return {k: sum(s[k] for s in scores) / len(scores) for k in scores[0]}


def _ocr_doc(pdf: bytes, *, degraded: bool = False) -> tuple[Document, float]:
    """Both pages rendered at 200 dpi (optionally degraded like a scan), rapidocr, aggregate."""
    from prunestack.parsers.ocr import get_backend

    backend = get_backend("rapidocr")
    pages, t0 = [], time.perf_counter()
    for i in tqdm(range(2), desc="rapidocr pages" + (" (degraded)" if degraded else "")):
        img = docgen.render_page(pdf, i, dpi=200)
        if degraded:
            img = docgen.degrade(img, seed=3 + i)
        pages.append(PageLines(number=i + 1, width=img.width, height=img.height,
                               lines=backend.recognize(img), source=Source.OCR,
                               ocr_backend=backend.name))
    ocr_s = (time.perf_counter() - t0) / 2
    return aggregate(pages, mime_type="image/png"), ocr_s


def _speed(pages: list[PageLines], loops: int = 20) -> float:
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(loops):
            build_cctree(aggregate(pages, mime_type="application/pdf"))
        best = min(best, (time.perf_counter() - t0) / (loops * len(pages)))
    return best


def _html() -> dict[str, float]:
    page = "".join(f"<h2>Section {i}</h2><p>Paragraph {i} has a few words.</p>"
                   f"<ul><li>first</li><li>second</li></ul>" for i in range(2000))
    data = f"<html><body>{page}</body></html>".encode()
    t0 = time.perf_counter()
    doc = parse_html(data)
    dt = time.perf_counter() - t0
    deep = b"<html><body>" + b"<div>" * 100_000 + b"x" + b"</div>" * 100_000 + b"</body></html>"
    t0 = time.perf_counter()
    try:
        parse_html(deep)
        refused = False
    except TooLargeError:
        refused = True
    return {"html_mb": len(data) / 1e6, "html_elements": len(doc.elements()),
            "html_mb_per_s": len(data) / 1e6 / dt, "deep_100k_refused": float(refused),
            "deep_100k_ms": (time.perf_counter() - t0) * 1000}


def main() -> None:
    REPORTS.mkdir(exist_ok=True)
    pdf = docgen.invoice_pdf()
    text_pages = pdf_page_lines(pdf)
    truth = docgen_truth()
    text = score(aggregate(text_pages, mime_type="application/pdf"), truth)
    ocr_doc, ocr_s = _ocr_doc(pdf)
    ocr = score(ocr_doc, truth)
    scan = score(_ocr_doc(pdf, degraded=True)[0], truth)
    held: list[dict[str, float]] = []
    for seed in tqdm(range(N_VARIANTS), desc="held-out variants (text layer)"):
        vpdf, vtruth = variant(seed)
        held.append(score(aggregate(pdf_page_lines(vpdf), mime_type="application/pdf"), vtruth))
    held_mean = _mean(held)
    held_ocr = score(_ocr_doc(variant(0)[0])[0], variant(0)[1])
    result = {"text_layer": text, "ocr_rapidocr_200dpi": ocr, "ocr_degraded_scan": scan,
              "held_out_text_layer_mean": held_mean, "held_out_per_seed": held,
              "held_out_seed0_rapidocr": held_ocr,
              "ocr_s_per_page": ocr_s,
              "layout_ms_per_page": _speed(text_pages) * 1000, **_html()}
    (REPORTS / "layout.json").write_text(json.dumps(result, indent=2))

    lines = ["| metric | dev doc: text layer | dev doc: rapidocr | dev doc: degraded scan | "
             f"held-out ×{N_VARIANTS}: text layer (mean) | held-out seed 0: rapidocr |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {k} | {text[k]:.2f} | {ocr[k]:.2f} | {scan[k]:.2f} | {held_mean[k]:.2f} | "
              f"{held_ocr[k]:.2f} |" for k in text]
    lines += ["", f"layout + CCTree: {result['layout_ms_per_page']:.1f} ms/page (text layer); "
              f"OCR {ocr_s:.1f} s/page", f"HTML: {result['html_mb']:.2f} MB, "
              f"{result['html_elements']} elements at {result['html_mb_per_s']:.2f} MB/s; "
              f"100k-deep page refused={bool(result['deep_100k_refused'])} in "
              f"{result['deep_100k_ms']:.1f} ms"]
    table = "\n".join(lines)
    (REPORTS / "layout.md").write_text("# Layout benchmark\n\n" + table + "\n")
    print(table)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(text)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    xs = range(len(keys))
    ax.bar([x - 0.27 for x in xs], [text[k] for k in keys], 0.27, label="text layer")
    ax.bar(list(xs), [ocr[k] for k in keys], 0.27, label="rapidocr 200 dpi")
    ax.bar([x + 0.27 for x in xs], [scan[k] for k in keys], 0.27, label="rapidocr, degraded")
    ax.set_xticks(list(xs), keys, rotation=20, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_title("Layout accuracy on the generated invoice (share correct)")
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(REPORTS / "layout.png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
