"""Per-field accuracy of the extractive engine on SROIE-style receipt images, OCR cached.

Usage (from the repository root)::

    python -m benchmarks.receipt_errors --seeds 0-19 [--cache /tmp/receipts] [--iso] [--quiet]

Draws ``tests.extract.receipts_realworld.receipt(seed)`` for each seed, parses the image with
rapidocr (raw recogniser rows cached as in ``benchmarks.scan_errors``), extracts the SROIE schema
(company, date, address, total) and scores each field as SROIE does: exact match after
whitespace and case normalisation; ``total`` as a number. The date is compared as printed (a
string field without a format keeps the printed text); ``--iso`` asks ``format: date`` for it
and compares ISO days. A debugging aid, not a test.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

from benchmarks.scan_errors import CachedRapidOcr


def norm(text: object) -> str:
    return " ".join(str(text).split()).upper()


def field_ok(name: str, want: str, got: object) -> bool:
    if name == "total":
        try:
            return abs(float(str(got).replace(",", "")) - float(want)) < 0.005
        except ValueError:
            return False
    return norm(want) == norm(got)


def _seeds(spec: str) -> list[int]:
    out: list[int] = []
    for part in spec.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b) + 1)) if b else [int(a)]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0-19")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/receipts"))
    ap.add_argument("--iso", action="store_true", help="date as format: date (ISO)")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--dump", action="store_true", help="print each document's element texts")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    from prunestack.parsers.ingest import parse
    from prunestack.pipeline.extract import extract_document
    from tests.extract.receipts_realworld import SROIE_SCHEMA, receipt

    schema = copy.deepcopy(SROIE_SCHEMA)
    if args.iso:
        schema["properties"]["date"]["format"] = "date"
    backend = CachedRapidOcr(args.cache / "ocr")
    hits = dict.fromkeys(schema["properties"], 0)
    seeds = _seeds(args.seeds)
    for seed in seeds:
        r = receipt(seed)
        path = args.cache / f"r{seed}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        r.image.save(path)
        doc = parse(path, ocr=backend)
        data = extract_document(doc, schema).data
        # a string date comes as printed; with ``format: date`` (--iso) as ISO 8601
        truth = dict(r.truth, date=r.iso_date) if args.iso else r.truth
        bad = []
        for k in hits:
            ok = field_ok(k, truth[k], data.get(k))
            hits[k] += ok
            if not ok:
                bad.append(f"    {k}: expected {truth[k]!r} got {data.get(k, '<absent>')!r}")
        print(f"seed {seed}: {len(hits) - len(bad)}/{len(hits)}")
        if not args.quiet:
            print("\n".join(bad))
        if args.dump:
            for page in doc.pages:
                for el in page.elements:
                    print(f"      [{el.kind.value}] {el.text!r}")
    print("  ".join(f"{k} {v / len(seeds):.2f}" for k, v in hits.items()),
          f"mean {sum(hits.values()) / len(hits) / len(seeds):.3f} over {len(seeds)} receipts")


if __name__ == "__main__":
    main()
