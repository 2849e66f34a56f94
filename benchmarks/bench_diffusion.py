"""Benchmark: schema-skeleton diffusion infill vs autoregressive constrained decoding, same model.

Trains a small ``BertForMaskedLM`` on the synthetic key–value task
(``pipeline.decoding.diffusion_train``: "name: alice age: 31 city: paris" -> JSON), then decodes
held-out prompts three ways with the same per-slot constraints:

- ``diffusion``: parallel slot infill (threshold 0.9, span-done posterior, DAEDAL lengths);
- ``diffusion-t0.7``: the same with a lower commit threshold;
- ``autoregressive``: one token per model call, left to right (same masked LM, same masks).

Reports exact-match accuracy, per-field accuracy, model calls per output token, schema validity
and wall time, side by side in one run. Writes ``reports/diffusion.{json,md,png}`` and prints a
table. ``BENCH_DIFFUSION_STEPS`` / ``BENCH_DIFFUSION_N`` override training steps / test size.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import time
from pathlib import Path

import jsonschema
import torch

from prunestack.pipeline.decoding.diffusion import generate_json_diffusion
from prunestack.pipeline.decoding.diffusion_train import (
    KV_SCHEMA,
    kv_example,
    kv_slot_lengths,
    kv_tokenizer,
    tiny_kv_model,
    train_skeleton_mlm,
)
from prunestack.pipeline.schema import no_io_registry

MODES = {"diffusion": {}, "diffusion-t0.7": {"threshold": 0.7},
         "autoregressive": {"parallel": False}}


def run(steps: int, n_test: int, seed: int = 0) -> dict:
    torch.manual_seed(seed)
    with tempfile.TemporaryDirectory() as d:
        tok = kv_tokenizer(d)
    rng = random.Random(seed)
    train = [kv_example(rng) for _ in range(3000)]
    test_rng = random.Random(seed + 1000)
    test = [kv_example(test_rng) for _ in range(n_test)]
    model = tiny_kv_model(len(tok), seed=seed)
    t0 = time.perf_counter()
    losses = train_skeleton_mlm(model, tok, train, KV_SCHEMA, steps=steps, seed=seed,
                                slot_lengths=kv_slot_lengths(tok), target_loss=0.01,
                                progress=True)
    train_s = time.perf_counter() - t0
    rows = {}
    for mode, opts in MODES.items():
        calls = tokens = exact = valid = 0
        field_ok = dict.fromkeys(KV_SCHEMA["properties"], 0)
        t0 = time.perf_counter()
        for prompt, value in test:
            res = generate_json_diffusion(model, tok, prompt, KV_SCHEMA, **opts)
            jsonschema.validate(res.value, KV_SCHEMA, registry=no_io_registry(KV_SCHEMA))
            valid += 1
            calls += res.model_calls
            tokens += res.tokens
            exact += res.value == value
            for k in field_ok:
                field_ok[k] += res.value.get(k) == value[k]
        rows[mode] = {"exact": exact / n_test, "valid": valid / n_test,
                      **{f"acc_{k}": v / n_test for k, v in field_ok.items()},
                      "calls_per_token": calls / max(tokens, 1), "calls": calls / n_test,
                      "tokens": tokens / n_test, "seconds": time.perf_counter() - t0}
    return {"train_steps": len(losses), "train_seconds": train_s, "final_loss": losses[-1],
            "n_test": n_test, "modes": rows}


def _write(result: dict, out: Path) -> None:
    out.mkdir(exist_ok=True)
    (out / "diffusion.json").write_text(json.dumps(result, indent=1))
    cols = ["exact", "acc_name", "acc_age", "acc_city", "valid", "calls", "tokens",
            "calls_per_token", "seconds"]
    lines = [f"Diffusion slot infill vs autoregressive, same masked LM "
             f"({result['train_steps']} training steps, {result['train_seconds']:.1f} s, "
             f"{result['n_test']} prompts). Command: `python -m benchmarks.run_all diffusion`.",
             "", "| mode | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for mode, row in result["modes"].items():
        lines.append(f"| {mode} | " + " | ".join(f"{row[c]:.3g}" for c in cols) + " |")
    (out / "diffusion.md").write_text("\n".join(lines) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = list(result["modes"])
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
    ax[0].bar(modes, [result["modes"][m]["calls_per_token"] for m in modes], color="tab:blue")
    ax[0].set_title("model calls per output token")
    ax[1].bar(modes, [result["modes"][m]["exact"] for m in modes], color="tab:green")
    ax[1].set_title("exact-match accuracy")
    ax[1].set_ylim(0, 1)
    for a in ax:
        a.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    fig.savefig(out / "diffusion.png", dpi=120)
    plt.close(fig)


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    torch.set_num_threads(int(os.environ.get("BENCH_DIFFUSION_THREADS", "1")))  # tiny model
    steps = int(os.environ.get("BENCH_DIFFUSION_STEPS", "600"))
    n_test = int(os.environ.get("BENCH_DIFFUSION_N", "100"))
    result = run(steps, n_test)
    _write(result, Path("reports"))
    table = Table(title=f"diffusion vs autoregressive ({n_test} prompts, {result['train_steps']} "
                        f"training steps in {result['train_seconds']:.0f} s)")
    for c in ["mode", "exact", "name", "age", "city", "valid", "calls/prompt", "tokens/prompt",
              "calls/token", "s"]:
        table.add_column(c)
    for mode, r in result["modes"].items():
        table.add_row(mode, f"{r['exact']:.2f}", f"{r['acc_name']:.2f}", f"{r['acc_age']:.2f}",
                      f"{r['acc_city']:.2f}", f"{r['valid']:.2f}", f"{r['calls']:.2f}",
                      f"{r['tokens']:.2f}", f"{r['calls_per_token']:.3f}", f"{r['seconds']:.1f}")
    Console(width=140).print(table)


if __name__ == "__main__":
    main()
