"""Local process pool vs Ray on the same machine: ``extract-batch`` over seeded synthetic invoices
(50 by default, PRUNESTACK_BENCH_RAY_DOCS), one run each, side by side.

Both runners run the same per-document function (``prunestack.api.batch.extract_row``) with the
same number of workers (PRUNESTACK_BENCH_RAY_WORKERS, default 2): the local ``spawn`` pool, and
Ray Data on an actor pool of a local Ray runtime (``ray.init(num_cpus=workers)``). Measured per
runner: wall seconds from the call to the last row written (worker start and model loading
included; Ray's own start-up timed apart), documents/s, the time to the first row (workers
starting and loading their models) and the documents/s after it, the seconds spent extracting
inside the workers (the rows' ``seconds``: on a shared machine they show how loaded it was during
each run), and the overhead per document: wall × workers − extraction
seconds, over the documents (scheduling, transfer, start-up, idle workers). The rows are checked
to be the same (``data`` of every document). Writes reports/ray.{json,md,png} and prints a table.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any


def _measure(run: Any, out: Path, n: int, workers: int) -> dict[str, float]:
    from prunestack.api.batch import Sink

    sink = Sink(out)
    stamps: list[float] = []
    write = sink.write

    def timed(row: dict) -> bool:  # when each row reaches the output
        stamps.append(time.perf_counter())
        return write(row)

    sink.write = timed  # type: ignore[method-assign]
    t = time.perf_counter()
    run(sink)
    wall = time.perf_counter() - t
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    busy = sum(r.get("seconds") or 0.0 for r in rows)
    first = stamps[0] - t
    return {"docs": len(rows), "ok": sum(r["ok"] for r in rows), "wall_s": wall,
            "docs_per_s": len(rows) / wall, "first_row_s": first,
            "steady_docs_per_s": (len(rows) - 1) / max(1e-9, stamps[-1] - stamps[0]),
            "extract_s": busy, "overhead_s_per_doc": (wall * workers - busy) / max(1, n)}


def main() -> None:
    from prunestack.api.batch import Job, list_documents, run_local, run_ray
    from prunestack.eval.synth.generate import SynthConfig, generate
    from prunestack.scaleout import ray_session

    n = int(os.environ.get("PRUNESTACK_BENCH_RAY_DOCS", 50))
    workers = int(os.environ.get("PRUNESTACK_BENCH_RAY_WORKERS", 2))
    reports = Path("reports")
    reports.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        recs = [json.loads(x) for x in generate(SynthConfig(kind="invoice", n=n, seed=42),
                                                root / "d", progress=False)
                .read_text().splitlines()]
        job = Job(json.loads(recs[0]["json_schema"]))
        files = list_documents(root / "d" / "docs")
        rows: dict[str, dict[str, float]] = {}
        rows["local pool"] = _measure(
            lambda sink: run_local(job, files, sink, workers), root / "local.jsonl", n, workers)
        t = time.perf_counter()
        with ray_session(num_cpus=workers):
            start = time.perf_counter() - t
            rows["ray (actor pool)"] = _measure(
                lambda sink: run_ray(job, files, sink, num_workers=workers, batch_size=4),
                root / "ray.jsonl", n, workers)
        rows["ray (actor pool)"]["ray_start_s"] = start
        local = {r["file"]: r.get("data") for r in map(json.loads, (root / "local.jsonl")
                                                         .read_text().splitlines())}
        on_ray = {r["file"]: r.get("data") for r in map(json.loads, (root / "ray.jsonl")
                                                       .read_text().splitlines())}
        same = sum(local[f] == on_ray.get(f) for f in local)
    report = {"docs": n, "workers": workers, "cpus": os.cpu_count(),
              "same_data": same, "runners": rows,
              "ray_vs_local_overhead_s_per_doc":
                  (rows["ray (actor pool)"]["wall_s"] - rows["local pool"]["wall_s"]) / n}
    (reports / "ray.json").write_text(json.dumps(report, indent=2))
    lines = ["| runner | docs | ok | wall s | docs/s | first row s | docs/s after the first "
             "row | extraction s (in workers) | overhead s/doc |",
             "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {k} | {v['docs']} | {v['ok']} | {v['wall_s']:.1f} | {v['docs_per_s']:.2f} | "
              f"{v['first_row_s']:.1f} | {v['steady_docs_per_s']:.2f} | {v['extract_s']:.1f} | "
              f"{v['overhead_s_per_doc']:.2f} |" for k, v in rows.items()]
    table = "\n".join(lines)
    notes = (f"\n\n{n} synthetic invoices (seed 42), {workers} workers each, {os.cpu_count()} "
             f"CPUs; Ray runtime start-up {start:.1f} s (not in the wall time); Ray minus "
             f"local wall time per document: {report['ray_vs_local_overhead_s_per_doc']:+.3f} s; "
             f"same `data` on {same}/{n} documents.\n")
    (reports / "ray.md").write_text("# extract-batch: local pool vs Ray\n\n" + table + notes)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(8, 3))
    names = list(rows)
    a.bar(names, [rows[k]["docs_per_s"] for k in names], color=["#4c72b0", "#dd8452"])
    a.set_ylabel("documents / s")
    b.bar(names, [rows[k]["overhead_s_per_doc"] for k in names], color=["#4c72b0", "#dd8452"])
    b.set_ylabel("overhead s / document")
    fig.suptitle(f"extract-batch, {n} invoices, {workers} workers")
    fig.tight_layout()
    fig.savefig(reports / "ray.png", dpi=120)
    print(table + notes)


if __name__ == "__main__":
    main()
