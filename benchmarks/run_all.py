"""Run every benchmark (`benchmarks/bench_*.py`, each with a `main()`), or those named on the
command line (`python -m benchmarks.run_all pruning decoding`); options after the names go to
the one benchmark named (`python -m benchmarks.run_all maskbench --limit 60`). Each writes
JSON + Markdown + PNG under `reports/` and prints a table; a failing benchmark is reported and the
others still run."""

from __future__ import annotations

import importlib
import sys
import time
import traceback
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    cut = next((i for i, a in enumerate(args) if a.startswith("-")), len(args))
    names, options = args[:cut], args[cut:]
    if options and len(names) != 1:
        print("error: options need exactly one benchmark name before them", file=sys.stderr)
        return 2
    here = Path(__file__).parent
    found = sorted(p.stem.removeprefix("bench_") for p in here.glob("bench_*.py"))
    chosen = [n for n in found if not names or n in names]
    unknown = [n for n in names if n not in found]
    if unknown:
        print(f"error: unknown benchmark(s) {unknown}; available: {found}", file=sys.stderr)
        return 2
    Path("reports").mkdir(exist_ok=True)
    failed = []
    for name in chosen:
        print(f"\n=== benchmark: {name} ===", flush=True)
        t0 = time.perf_counter()
        try:
            main_fn = importlib.import_module(f"benchmarks.bench_{name}").main
            main_fn(options) if options else main_fn()
        except Exception:
            traceback.print_exc()
            failed.append(name)
        print(f"=== {name}: {time.perf_counter() - t0:.1f} s ===", flush=True)
    if failed:
        print(f"failed benchmarks: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
