"""Compose a synthetic benchmark: documents, degraded scans and SOB-format records.

``generate(SynthConfig(kind="invoice", n=200, seed=42, scans=True), out)`` writes::

    out/records.jsonl          one SOB record per document variant
    out/docs/<id>.pdf          born-digital PDFs (text layer)
    out/scans/<id>.png         degraded scans (grayscale), with --scans
    out/scans/<id>.pdf         the same scans as image-only PDFs, with --scans
    out/manifest.json          the config and counts

Each record has SOB's fields (``record_id``, ``context`` = the document path relative to the
records file, ``question``, ``json_schema`` and ``ground_truth`` as JSON strings,
``question_difficulty``, ``schema_complexity``) plus ``kind``, ``variant`` (digital | scan),
``layout`` and, for scans, ``degradation``. Everything is deterministic for a seed: document ``i``
draws from ``random.Random(f"{seed}:{kind}:{i}")`` and its scan from
``numpy.random.default_rng([seed, kind_index, i])``; PDFs are written in reportlab's invariant
mode, so two runs give byte-identical files.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from prunestack.errors import ConfigError
from prunestack.eval.records import SobRecord, write_records
from prunestack.eval.synth import content as C
from prunestack.eval.synth.degrade import ScanConfig, degrade, severity
from prunestack.eval.synth.schemas import QUESTIONS, SCHEMA_COMPLEXITY, SCHEMAS
from prunestack.eval.synth.templates import DRAW
from prunestack.parsers.pdf import open_pdf

KINDS = ("invoice", "receipt", "form")
LEVELS = ("easy", "medium", "hard")


class SynthConfig(BaseModel):
    """What to generate. ``kind="mixed"`` cycles invoice, receipt, form."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["invoice", "receipt", "form", "mixed"] = "invoice"
    n: int = Field(200, ge=1, le=100_000)
    seed: int = 42
    digital: bool = True
    scans: bool = False
    scan_context: Literal["png", "pdf"] = "png"
    scan: ScanConfig = ScanConfig()


def _difficulty(kind: str, n_items: int, layout: str) -> str:
    if kind == "form":
        return "easy" if layout == "single" else "medium"
    easy, hard = (2, 6) if kind == "invoice" else (3, 8)
    if n_items <= easy and layout != "two_column":
        return "easy"
    return "hard" if n_items >= hard else "medium"


def _content(kind: str, rng: random.Random) -> tuple[dict[str, Any], int]:
    if kind == "invoice":
        n_items = rng.randint(1, 8)
        return C.invoice(rng, n_items), n_items
    if kind == "receipt":
        n_items = rng.randint(1, 10)
        return C.receipt(rng, n_items), n_items
    return C.form(rng), 0


def rasterize(pdf_path: Path, dpi: int) -> tuple[np.ndarray, tuple[float, float]]:
    """First page as a grayscale array [H, W] uint8, and the page size in points."""
    with open_pdf(pdf_path.read_bytes()) as pdf:
        page = pdf[0]
        size = page.get_size()
        img = page.render(scale=dpi / 72).to_pil().convert("L")
    return np.asarray(img), size


def write_image_pdf(img: np.ndarray, page_size: tuple[float, float], path: Path) -> None:
    """An image-only PDF (no text layer), byte-identical for the same image."""
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas

    c = Canvas(str(path), pagesize=page_size, invariant=1)
    c.drawImage(ImageReader(Image.fromarray(img)), 0, 0, page_size[0], page_size[1])
    c.showPage()
    c.save()


def generate_one(cfg: SynthConfig, i: int, out: Path) -> list[SobRecord]:
    """Document ``i``: its PDF, optional scan, and its records (digital and/or scan)."""
    kind = KINDS[i % 3] if cfg.kind == "mixed" else cfg.kind
    doc_id = f"{kind}-{i:05d}"
    rng = random.Random(f"{cfg.seed}:{kind}:{i}")
    content, n_items = _content(kind, rng)
    pdf_path = out / "docs" / f"{doc_id}.pdf"
    layout = DRAW[kind](pdf_path, content, rng)
    base_level = _difficulty(kind, n_items, layout["layout"])
    common = {"question": QUESTIONS[kind], "json_schema": SCHEMAS[kind],
              "ground_truth": content["gt"], "schema_complexity": SCHEMA_COMPLEXITY[kind],
              "kind": kind, "layout": layout}
    records: list[SobRecord] = []
    if cfg.digital:
        records.append(SobRecord.model_validate({
            "record_id": f"{doc_id}-digital", "context": f"docs/{doc_id}.pdf",
            "question_difficulty": base_level, "variant": "digital", **common}))
    if cfg.scans:
        img, size = rasterize(pdf_path, cfg.scan.dpi)
        np_rng = np.random.default_rng([cfg.seed, KINDS.index(kind), i])
        scanned, params = degrade(img, np_rng, cfg.scan)
        from PIL import Image

        Image.fromarray(scanned).save(out / "scans" / f"{doc_id}.png", optimize=False)
        write_image_pdf(scanned, size, out / "scans" / f"{doc_id}.pdf")
        sev = severity(params, cfg.scan)
        level = LEVELS[min(2, LEVELS.index(base_level) + (2 if sev > 0.6 else 1))]
        records.append(SobRecord.model_validate({
            "record_id": f"{doc_id}-scan", "context": f"scans/{doc_id}.{cfg.scan_context}",
            "question_difficulty": level, "variant": "scan",
            "degradation": {**params, "severity": sev, "dpi": cfg.scan.dpi}, **common}))
    if not cfg.digital:
        pdf_path.unlink()
    return records


def generate(cfg: SynthConfig, out: str | Path, progress: bool = True) -> Path:
    """Write the whole set under ``out``; returns the records file."""
    from tqdm import tqdm

    if not cfg.digital and not cfg.scans:
        raise ConfigError("nothing to generate", "keep born-digital PDFs or add --scans")
    root = Path(out)
    (root / "docs").mkdir(parents=True, exist_ok=True)
    if cfg.scans:
        (root / "scans").mkdir(parents=True, exist_ok=True)
    records: list[SobRecord] = []
    for i in tqdm(range(cfg.n), desc=f"synth {cfg.kind}", disable=not progress, unit="doc"):
        records.extend(generate_one(cfg, i, root))
    path = root / "records.jsonl"
    write_records(path, records)
    manifest = {"config": cfg.model_dump(mode="json"), "documents": cfg.n,
                "records": len(records),
                "difficulty": {lv: sum(r.question_difficulty == lv for r in records)
                               for lv in LEVELS}}
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return path
