"""Real till receipts in the ICDAR 2019 SROIE task-3 layout: reading a folder, scoring fields.

A SROIE folder holds ``key/ID.json`` (the gold ``company``, ``date``, ``address``, ``total``,
each as printed), ``box/ID.csv`` (the gold OCR lines: ``x1,y1,...,x4,y4,text``, a quadrilateral
and its text) and, for some receipts, ``img/ID.jpg``. This module reads them
(:func:`receipt_ids`, :func:`gold`, :func:`gold_lines`), turns the gold lines into the
``PageLines`` an OCR backend would hand to the layout step (:func:`gold_page`, each line's
words spread over its box), and scores as the task's community does (:func:`field_hits`: equal
after upper-casing and collapsing whitespace) and how often a gold value occurs in a page's text
at all (:func:`occurs`, the ceiling OCR sets). The data is not shipped (it belongs to its
publishers); benchmarks point at it. It does not OCR or extract: ``benchmarks/
bench_receipts_real.py`` and ``benchmarks/sroie_dev.py`` do.
"""

from __future__ import annotations

import json
from pathlib import Path

from prunestack.errors import InputError
from prunestack.parsers.lines import line_from_box
from prunestack.parsers.primitives import Line, PageLines
from prunestack.pipeline.document import BBox, Document, Source

FIELDS = ("company", "date", "address", "total")
#: the task's schema: four required strings, as printed (not ISO dates, not numbers)
SCHEMA = {"type": "object", "required": list(FIELDS), "properties": {
    k: {"type": "string", "description": f"the {k} as printed on the receipt"} for k in FIELDS}}


def norm(text: object) -> str:
    """SROIE's comparison form: upper case, whitespace runs collapsed to one space."""
    return " ".join(str(text).split()).upper()


def field_hits(gold_fields: dict[str, str], pred: dict[str, object]) -> dict[str, bool]:
    """Per field: the prediction equals the gold value after :func:`norm` (absent = "")."""
    return {k: norm(gold_fields.get(k, "")) == norm(pred.get(k, "")) for k in FIELDS}


def occurs(gold_fields: dict[str, str], lines: list[str]) -> dict[str, bool]:
    """Per field: the gold value occurs, after :func:`norm`, in the lines' text read top to
    bottom (lines joined by a space, so a value over several lines counts)."""
    page = norm(" ".join(lines))
    return {k: norm(gold_fields.get(k, "")) in page for k in FIELDS}


def receipt_ids(data: Path, with_images: bool | None = None) -> list[str]:
    """The receipts in ``data`` (sorted ids with a key file); ``with_images`` True: only those
    with ``img/ID.jpg`` (the evaluation split), False: only those without (training)."""
    if not (data / "key").is_dir():
        raise InputError(f"no SROIE folder at {data} (it has no key/ folder)",
                         "point at the dev data, e.g. ../shared/data/sroie-dev")
    ids = sorted(p.stem for p in (data / "key").glob("*.json"))
    if with_images is None:
        return ids
    return [i for i in ids if (data / "img" / f"{i}.jpg").is_file() == with_images]


def gold(data: Path, rid: str) -> dict[str, str]:
    return json.loads((data / "key" / f"{rid}.json").read_text(encoding="utf-8"))


def gold_lines(data: Path, rid: str) -> list[tuple[str, BBox]]:
    """The gold OCR lines of a receipt in file order: (text, upright box around its quad)."""
    out = []
    raw = (data / "box" / f"{rid}.csv").read_bytes().decode("utf-8", errors="replace")
    for row in raw.splitlines():
        parts = row.split(",", 8)
        if len(parts) < 9 or not parts[8].strip():
            continue
        try:
            xy = [float(v) for v in parts[:8]]
        except ValueError:
            continue
        xs, ys = xy[0::2], xy[1::2]
        out.append((" ".join(parts[8].split()),
                    BBox(x0=min(xs), y0=min(ys), x1=max(xs), y1=max(ys))))
    return out


def gold_page(data: Path, rid: str, size: tuple[float, float] | None = None) -> PageLines:
    """The gold lines as one OCR'd page (``ocr_backend="gold"``), sorted top to bottom as a
    recogniser's are; ``size`` (width, height) defaults to the image's, else to the lines'
    extent plus a margin."""
    lines: list[Line] = [line_from_box(text, box) for text, box in gold_lines(data, rid)]
    lines.sort(key=lambda ln: (ln.bbox.y0, ln.bbox.x0))
    if size is None:
        img = data / "img" / f"{rid}.jpg"
        if img.is_file():
            from PIL import Image

            with Image.open(img) as im:  # reads the header only
                size = float(im.width), float(im.height)
        else:
            size = (max((ln.bbox.x1 for ln in lines), default=1.0) + 20,
                    max((ln.bbox.y1 for ln in lines), default=1.0) + 20)
    return PageLines(number=1, width=size[0], height=size[1], lines=lines, source=Source.OCR,
                     ocr_backend="gold")


def gold_document(data: Path, rid: str) -> Document:
    """Receipt ``rid``'s gold lines as the Document the layout step makes of an OCR'd scan."""
    from prunestack.parsers.layout import aggregate

    return aggregate([gold_page(data, rid)], source_name=f"{rid}.jpg", mime_type="image/jpeg")
