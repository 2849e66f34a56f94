"""Per-field misses of the extractive engine on seeded synthetic scans, with OCR cached.

Usage (from the repository root)::

    python -m benchmarks.scan_errors --seed 7 --n 8 [--cache /tmp/scans] [--digital] [--quiet]

The first run of a seed writes the benchmark set (``eval.synth.generate``, the same files as
``prunestack bench synth --kind invoice --n N --seed S --scans --no-digital``) under
``CACHE/seedS`` and stores rapidocr's raw result rows per page image under ``CACHE/ocr`` (keyed
by the image's bytes). Later runs replay those rows through the rest of the OCR backend
(spacing recovery, deskew), the layout step and extraction, so a change to anything after the
recogniser is measured in seconds instead of minutes. Each document is scored with ``eval.sob``
``leaf_value_em`` exactly as ``benchmarks/bench_extract.py`` does; wrong leaves are listed as
expected vs got. ``--digital`` runs the born-digital PDFs of the seed instead (no OCR).

Not a test and not a benchmark: a debugging aid. Changing the recogniser's own settings
(``text_score``, ``use_cls``) needs a fresh cache folder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
from pathlib import Path
from typing import Any

from PIL import Image

from prunestack.parsers.ocr.rapid import RapidOcrBackend


def _plain(x: Any) -> Any:
    """rapidocr rows (tuples, numpy arrays and scalars) as JSON-able lists and floats."""
    if hasattr(x, "tolist"):
        return x.tolist()
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    return x


class CachedRapidOcr(RapidOcrBackend):
    """RapidOCR whose raw recogniser rows are read from / written to ``folder``."""

    def __init__(self, folder: Path, **kw: Any) -> None:
        super().__init__(**kw)
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def raw(self, image: Image.Image) -> list[list[Any]]:
        rgb = image.convert("RGB")
        key = hashlib.sha1(rgb.tobytes() + repr(rgb.size).encode()).hexdigest()
        path = self.folder / f"{key}.json"
        if path.exists():
            return json.loads(path.read_text())
        rows = _plain(super().raw(image))
        path.write_text(json.dumps(rows))
        return rows


def _records(root: Path, seed: int, n: int, digital: bool) -> tuple[Path, list[dict]]:
    from prunestack.eval.synth.generate import SynthConfig, generate

    folder = root / (f"digital{seed}-{n}" if digital else f"seed{seed}-{n}")
    rec_file = folder / "records.jsonl"
    if not rec_file.exists():
        cfg = SynthConfig(kind="invoice", n=n, seed=seed, scans=not digital, digital=digital)
        rec_file = generate(cfg, folder)
    return folder, [json.loads(x) for x in rec_file.read_text().splitlines()]


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    from prunestack.eval.sob import flatten_leaf_paths

    return flatten_leaf_paths(value, prefix)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/scans"))
    ap.add_argument("--digital", action="store_true", help="born-digital PDFs instead of scans")
    ap.add_argument("--only", default="", help="comma-separated record ids (substring match)")
    ap.add_argument("--quiet", action="store_true", help="scores only, no per-field misses")
    ap.add_argument("--dump", action="store_true", help="print each document's element texts")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    from prunestack.eval.sob import score_response
    from prunestack.parsers.ingest import parse
    from prunestack.pipeline.extract import extract_document

    folder, records = _records(args.cache, args.seed, args.n, args.digital)
    backend = CachedRapidOcr(args.cache / "ocr")
    only = [s for s in args.only.split(",") if s]
    scores = []
    for rec in records:
        if only and not any(s in rec["record_id"] for s in only):
            continue
        schema, truth = json.loads(rec["json_schema"]), json.loads(rec["ground_truth"])
        doc = parse(folder / rec["context"], ocr=backend)
        data = extract_document(doc, schema).data
        row = score_response(json.dumps(data), schema, truth)
        scores.append(row["leaf_value_em"])
        print(f"{rec['record_id']}: value accuracy {row['leaf_value_em']:.3f} "
              f"json ok {row['schema_compliance']:.0f}")
        if args.dump:
            for page in doc.pages:
                for el in page.elements:
                    print(f"    [{el.kind.value}] {el.text!r}")
        if args.quiet:
            continue
        got = _flat(data)
        for path, want in _flat(truth).items():
            if got.get(path) != want:
                print(f"    {path}: expected {want!r} got {got.get(path, '<absent>')!r}")
    if scores:
        print(f"seed {args.seed} ({'digital' if args.digital else 'scans'}, {len(scores)} docs): "
              f"mean value accuracy {statistics.mean(scores):.3f}")


if __name__ == "__main__":
    main()
