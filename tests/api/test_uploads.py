"""Uploads on a real uvicorn server: every box of a tilted scan on the original image
(``/v1/parse``), short words and whole-sentence paragraphs alike; an upload sniffed, counted and
decoded once; HTML sent as text not decoded again."""

from __future__ import annotations

import io
import math

import httpx
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from prunestack.pipeline.document import BBox, Document

W, H, ANGLE = 1240, 1754, 3.0  # an A4 page at 150 dpi, tilted 3° counter-clockwise
COLS = (110, 420, 730, 1000)  # a price list: 18 rows of 4 words (enough ink for the estimate)


def _row(r: int) -> list[str]:
    return [f"Item{r + 1:02d}", f"{120 + 7 * r}", f"{r * 13 + 5}.50", f"Lot{r + 1}"]


def _turned(x: float, y: float) -> tuple[float, float]:
    """Where PIL's ``rotate(ANGLE)`` (counter-clockwise on screen, about the centre) puts a
    point of the level page."""
    a, cx, cy = math.radians(ANGLE), W / 2, H / 2
    return (cx + (x - cx) * math.cos(a) + (y - cy) * math.sin(a),
            cy - (x - cx) * math.sin(a) + (y - cy) * math.cos(a))


@pytest.fixture(scope="module")
def tilted_scan() -> tuple[bytes, dict[str, tuple[float, float, float, float]]]:
    """A PNG of the price list tilted by ``ANGLE``, and each word's true box on it: the box
    enclosing its ink's box turned with the page."""
    img = Image.new("L", (W, H), 255)
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=30)
    truth = {}
    for r in range(18):
        for x, text in zip(COLS, _row(r), strict=True):
            draw.text((x, 150 + 80 * r), text, fill=0, font=font)
            x0, y0, x1, y1 = draw.textbbox((x, 150 + 80 * r), text, font=font)
            pts = np.array([_turned(px, py) for px, py in ((x0, y0), (x1, y0), (x0, y1),
                                                           (x1, y1))])  # [4, 2]
            truth[text] = (*pts.min(axis=0), *pts.max(axis=0))
    buf = io.BytesIO()
    img.rotate(ANGLE, resample=Image.Resampling.BICUBIC, fillcolor=255).save(buf, format="PNG")
    return buf.getvalue(), truth


def _error(box: dict[str, float] | BBox, want: tuple[float, ...]) -> float:
    """Largest corner error as a share of the page's side (x of its width, y of its height)."""
    got = [box[k] for k in ("x0", "y0", "x1", "y1")] if isinstance(box, dict) else \
        [box.x0, box.y0, box.x1, box.y1]
    return max(abs(g - w) / (W if i % 2 == 0 else H)
               for i, (g, w) in enumerate(zip(got, want, strict=True)))


def test_parse_returns_a_tilted_scans_boxes_on_the_original_image(live, tilted_scan):
    png, truth = tilted_scan
    with httpx.Client(base_url=live.url, timeout=300) as c:
        r = c.post("/v1/parse", files={"file": ("scan.png", png, "image/png")},
                   data={"ocr": "rapidocr", "tree": "true"})
    assert r.status_code == 200, r.text
    body = r.json()
    page = body["document"]["pages"][0]
    assert (page["width"], page["height"]) == (W, H)
    tilt = page["frame"]["tilt"]  # the layout worked on level rows ...
    assert tilt and all(t["degrees"] == pytest.approx(-ANGLE, abs=0.3) for t in tilt)
    (table,) = [e for e in page["elements"] if e["kind"] == "table"]
    words = {c["text"]: c["bbox"] for c in table["cells"] if c["text"] in truth}
    assert len(words) >= 0.9 * len(truth)  # OCR may misread a word or two
    # ... and every word's box comes back where the word is on the scan
    assert max(_error(box, truth[w]) for w, box in words.items()) < 0.01
    everything = [truth[w] for w in truth]
    assert _error(table["bbox"], (min(b[0] for b in everything), min(b[1] for b in everything),
                                  max(b[2] for b in everything),
                                  max(b[3] for b in everything))) < 0.01
    # the tree copies the same boxes
    boxes = [b["bbox"] for n in _nodes(body["tree"]) for b in n["bboxes"]]
    assert table["bbox"] in boxes
    # the levelled boxes the layout worked with are off by more than that
    levelled = Document.model_validate(body["document"]).levelled().elements()
    cells = [c for e in levelled for c in e.cells or [] if c.text in words and c.bbox]
    assert max(_error(c.bbox, truth[c.text]) for c in cells) > 0.02


#: Whole sentences (800-920 px of the 1240 px page) in a heading, single lines and paragraphs.
PROSE = (
    ("Quarterly report on the northern warehouse and depot network",),
    ("Deliveries to the coastal depots rose steadily through the spring",
     "while the inland routes kept their usual pace and cost, and the",
     "drivers logged fewer idle hours than in any quarter since records",
     "began at the old yard beside the river crossing near the harbour."),
    ("Fuel prices stayed high, so the fleet moved more loads at night when",
     "the roads are clear and each truck can finish two full circuits."),
    ("The board approved a second loading dock for the eastern terminal.",),
    ("Staff training continued with safety courses for every new forklift",
     "operator, and the audit found no serious incident across the sites",
     "during the period covered by this summary of the network results."),
)


@pytest.fixture(scope="module")
def tilted_prose() -> tuple[bytes, list[tuple[str, tuple[float, float, float, float]]]]:
    """A PNG of ``PROSE`` tilted by ``ANGLE``, and each line's text with its box on the level
    page (as drawn)."""
    img = Image.new("L", (W, H), 255)
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=30)
    drawn, y = [], 150
    for block in PROSE:
        for text in block:
            draw.text((110, y), text, fill=0, font=font)
            drawn.append((text, draw.textbbox((110, y), text, font=font)))
            y += 44
        y += 70
    buf = io.BytesIO()
    img.rotate(ANGLE, resample=Image.Resampling.BICUBIC, fillcolor=255).save(buf, format="PNG")
    return buf.getvalue(), drawn


def _words(text: str) -> set[str]:
    return {w.strip(".,").lower() for w in text.split()}


def test_long_lines_and_paragraphs_of_a_tilted_scan_come_back_on_the_original_image(
        live, tilted_prose):
    """An element of whole sentences on a scan tilted 3° (a line's upright box there is ~45 px
    taller than the line): its box is the box enclosing the drawn block turned with the page,
    the same as a short word's."""
    png, drawn = tilted_prose
    assert min(x1 - x0 for _, (x0, _, x1, _) in drawn) > 0.6 * W
    with httpx.Client(base_url=live.url, timeout=300) as c:
        r = c.post("/v1/parse", files={"file": ("scan.png", png, "image/png")},
                   data={"ocr": "rapidocr"})
    assert r.status_code == 200, r.text
    page = r.json()["document"]["pages"][0]
    assert page["frame"]["tilt"]
    found: dict[int, list[int]] = {}  # element -> the drawn lines it holds
    for i, (text, _) in enumerate(drawn):
        share, e = max((len(_words(text) & _words(el["text"])) / len(_words(text)), k)
                       for k, el in enumerate(page["elements"]))
        assert share >= 0.6, text  # every line was read, into one element
        found.setdefault(e, []).append(i)
    assert max(len(held) for held in found.values()) >= 3  # a paragraph is one element
    for e, held in found.items():
        x0, y0 = min(drawn[i][1][0] for i in held), min(drawn[i][1][1] for i in held)
        x1, y1 = max(drawn[i][1][2] for i in held), max(drawn[i][1][3] for i in held)
        pts = np.array([_turned(x, y) for x, y in ((x0, y0), (x1, y0), (x0, y1), (x1, y1))])
        truth = (*pts.min(axis=0), *pts.max(axis=0))  # [4, 2] -> the turned block's box
        assert _error(page["elements"][e]["bbox"], truth) < 0.01, page["elements"][e]["text"]


def _nodes(node: dict) -> list[dict]:
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(n.get("children", []))
    return out


def test_an_upload_is_sniffed_counted_and_decoded_once(live, invoice, monkeypatch):
    """Following one upload through ``/v1/parse``: one type detection, one page count, one
    decode and one HTML parse (the route, the limit check and the parser used to redo them)."""
    import sys

    from prunestack.parsers import charset, detect, html, image, pdf

    calls: dict[str, int] = {}
    for mod, name in ((detect, "detect_type"), (pdf, "page_count"), (image, "count_pages"),
                      (charset, "decode_html"), (html, "parse_html")):
        real = getattr(mod, name)

        def wrapper(*a, _real=real, _name=name, **kw):
            if _name != "decode_html" or isinstance(a[0], bytes):  # text passes through as is
                calls[_name] = calls.get(_name, 0) + 1
            return _real(*a, **kw)

        for m in list(sys.modules.values()):  # wherever the function was imported to
            if m is not None and m.__name__.startswith("prunestack") and \
                    getattr(m, name, None) is real:
                monkeypatch.setattr(m, name, wrapper)
    page = b"<html><body><h1>Shop</h1><p>Open nine to five.</p></body></html>"
    with httpx.Client(base_url=live.url, timeout=120) as c:
        r = c.post("/v1/parse", files={"file": ("a.html", page)}, data={"tree": "true"})
        assert r.status_code == 200 and "document_id" not in r.json()
        assert calls == {"detect_type": 1, "decode_html": 1, "parse_html": 1}
        calls.clear()
        pdf = invoice[0].read_bytes()
        r = c.post("/v1/parse", files={"file": ("inv.pdf", pdf)}, data={"pages": "1"})
        assert r.status_code == 200 and r.json()["document_id"]
        assert calls == {"detect_type": 1, "page_count": 1}
        # an HTML page is one page, for the API as for the CLI
        r = c.post("/v1/parse", files={"file": ("a.html", page)}, data={"pages": "2"})
        assert r.status_code == 400 and "has 1 page" in r.text


def test_html_sent_as_text_is_not_decoded_again(live):
    """JSON carries text: its ``<meta charset>`` describes bytes that no longer exist (encoding
    the text to UTF-8 and decoding it as the declared windows-1252 gave "CafÃ© MÃ¼ller")."""
    page = ("<html><head><meta charset='iso-8859-1'></head><body><dl><dt>Name</dt>"
            "<dd>Café Müller</dd></dl></body></html>")
    schema = {"type": "object", "properties": {"name": {"type": "string"}}}
    with httpx.Client(base_url=live.url, timeout=120) as c:
        r = c.post("/v1/extract", json={"schema": schema, "html": page})
    assert r.status_code == 200, r.text
    assert r.json()["data"] == {"name": "Café Müller"}
