"""Real scanned receipts: field accuracy of ``prunestack.extract`` on the SROIE dev images.

Usage (from the repository root)::

    python -m benchmarks.sroie_dev [--n 120] [--data ../shared/data/sroie-dev] [--out reports]

Each image of ``DATA/img`` (the 120 with images; the others have gold lines only) is extracted
with the four-string schema the data's README gives ("as printed on the receipt"; all required)
by the offline extractive engine with rapidocr, and scored as the SROIE community scores task 3:
a field is right when it equals the gold string after upper-casing and collapsing whitespace.
Writes ``sroie_dev.json`` (per-receipt predictions and gold) and ``sroie_dev.md`` under ``--out``
and prints per-field and mean accuracy. Needs the dev data (not shipped); a baseline for the
issue that trains on it, not a test. ``benchmarks/bench_receipts_real.py`` measures the same
receipts from their gold OCR lines and end to end side by side, with the OCR ceiling.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from tqdm import tqdm

import prunestack
from prunestack.errors import PrunestackError
from prunestack.eval.sroie import FIELDS, SCHEMA, field_hits


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=120, help="how many images (sorted by id)")
    ap.add_argument("--data", type=Path, default=Path("../shared/data/sroie-dev"))
    ap.add_argument("--out", type=Path, default=Path("reports"))
    args = ap.parse_args(argv)
    images = sorted((args.data / "img").glob("*.jpg"))[: args.n]
    if not images:
        print(f"error: no receipt images under {args.data / 'img'}", file=sys.stderr)
        return 2
    rows, hits = [], dict.fromkeys(FIELDS, 0)
    t0 = time.perf_counter()
    for img in tqdm(images, desc="receipts", unit="img"):
        gold = json.loads((args.data / "key" / f"{img.stem}.json").read_text())
        try:
            data = prunestack.extract(img, schema=SCHEMA).data
        except PrunestackError as exc:  # counted as all wrong, kept in the file
            data = {"error": str(exc)}
        for k, ok in field_hits(gold, data).items():
            hits[k] += ok
        rows.append({"id": img.stem, "gold": gold, "pred": data})
    n = len(images)
    acc = {k: hits[k] / n for k in FIELDS}
    mean = sum(acc.values()) / len(FIELDS)
    args.out.mkdir(parents=True, exist_ok=True)
    summary = {"n": n, "accuracy": acc, "mean": mean, "seconds": time.perf_counter() - t0}
    (args.out / "sroie_dev.json").write_text(json.dumps({**summary, "rows": rows}, indent=1))
    table = "\n".join([
        "| receipts | " + " | ".join(FIELDS) + " | mean |",
        "|---" * (len(FIELDS) + 2) + "|",
        f"| {n} | " + " | ".join(f"{acc[k]:.3f}" for k in FIELDS) + f" | {mean:.3f} |", ""])
    (args.out / "sroie_dev.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
