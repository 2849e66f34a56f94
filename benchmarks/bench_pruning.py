"""Pruning benchmark: a random-weight model with Llama-3.2-1B's block shapes.

hidden 2048, 16 blocks, 32 query heads over 8 key/value heads (head size 64), intermediate 8192.
The vocabulary is shrunk from 128,256 to 32,000 (set ``PRUNESTACK_BENCH_VOCAB``) so the benchmark
fits the 2 shared CPU cores and memory of the dev machine; the blocks are full size.

For FLAP at 20/30/50 % of the block parameters: pruning wall time, peak memory of the run
(model + the run's extra resident memory, sampled every 20 ms, as a multiple of the model size),
per-token FLOPs before/after, and measured CPU prefill (64 tokens) and decode (greedy, KV cache,
4 tokens) speed-ups against the ideal FLOP speed-up. Dense and pruned are timed interleaved in
one process.
Also runs the MiniLM real-weights study (``benchmarks.minilm_study``) unless
``PRUNESTACK_BENCH_SKIP_MINILM=1``. Writes reports/pruning_bench.{json,md,png}.
"""

from __future__ import annotations

import copy
import gc
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import torch

REPORTS = Path("reports")
RATIOS = [0.2, 0.3, 0.5]


class PeakRSS:
    """Samples this process's resident memory in a thread; ``peak`` in bytes."""

    def __init__(self, every: float = 0.02) -> None:
        import psutil

        self.proc, self.every, self.peak, self._stop = psutil.Process(), every, 0, False
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop:
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(self.every)

    def __enter__(self) -> PeakRSS:
        self.start = self.proc.memory_info().rss
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop = True
        self.thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)


def bench_config(vocab: int, layers: int = 16):
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=vocab, hidden_size=2048, intermediate_size=8192,
                       num_hidden_layers=layers, num_attention_heads=32, num_key_value_heads=8,
                       head_dim=64, max_position_embeddings=2048, tie_word_embeddings=True,
                       bos_token_id=1, eos_token_id=2)


class _Tok:
    """Random-weight model: calibration tokens only need ids in range (no text meaning)."""

    bos_token_id, eos_token_id, cls_token_id = 1, 2, None

    def __init__(self, vocab: int) -> None:
        self.vocab = vocab

    def __call__(self, text: str, add_special_tokens: bool = False) -> dict[str, list[int]]:
        g = torch.Generator().manual_seed(len(text))
        return {"input_ids": torch.randint(3, self.vocab, (len(text) // 4,), generator=g).tolist()}


def main() -> dict[str, Any]:
    from rich.console import Console
    from rich.table import Table
    from transformers import LlamaForCausalLM

    from prunestack.pipeline.pruning import prune
    from prunestack.pipeline.pruning.measure import prefill_decode

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    REPORTS.mkdir(exist_ok=True)
    vocab = int(os.environ.get("PRUNESTACK_BENCH_VOCAB", "32000"))
    nsamples = int(os.environ.get("PRUNESTACK_BENCH_NSAMPLES", "4"))
    layers = int(os.environ.get("PRUNESTACK_BENCH_LAYERS", "16"))  # < 16 only for smoke tests
    prompt = int(os.environ.get("PRUNESTACK_BENCH_PROMPT", "64"))
    repeats = int(os.environ.get("PRUNESTACK_BENCH_REPEATS", "2"))
    torch.manual_seed(0)
    with torch.device("meta"):
        dense = LlamaForCausalLM(bench_config(vocab, layers))
    dense = dense.to_empty(device="cpu")
    with torch.no_grad():
        for p in dense.parameters():
            p.normal_(0, 0.02) if p.dim() > 1 else p.fill_(1.0)
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

    dense.model.rotary_emb = LlamaRotaryEmbedding(dense.config)  # buffers are not parameters
    dense.eval()
    size = sum(p.numel() * p.element_size() for p in dense.parameters())
    rows: list[dict[str, Any]] = []
    for ratio in RATIOS:
        model = copy.deepcopy(dense)
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            res = prune(model, {"method": "flap", "ratio": ratio, "nsamples": nsamples,
                                "seqlen": 128, "flops_seqlen": 128}, tokenizer=_Tok(vocab),
                        progress=True)
            wall = time.perf_counter() - t0
        lat = prefill_decode({"dense": dense, "pruned": model}, prompt_len=prompt,
                             decode_tokens=4, repeats=repeats, vocab=vocab)
        st = res.stats
        ideal = st["flops_per_token_before"] / st["flops_per_token_after"]
        pre = lat["dense"]["prefill_s"] / lat["pruned"]["prefill_s"]
        dec = lat["dense"]["decode_s_per_token"] / lat["pruned"]["decode_s_per_token"]
        rows.append({"ratio": ratio, "achieved": round(st["achieved_ratio"], 4),
                     "params_removed": round(st["model_params_removed"], 4),
                     "flops_removed": round(st["model_flops_removed"], 4),
                     "ideal_speedup": round(ideal, 3), "prefill_speedup": round(pre, 3),
                     "decode_speedup": round(dec, 3),
                     "prefill_vs_ideal": round((pre - 1) / (ideal - 1), 3) if ideal > 1 else None,
                     "prefill_ratio_of_ideal": round(pre / ideal, 3),
                     "decode_ratio_of_ideal": round(dec / ideal, 3),
                     "dense_prefill_s": round(lat["dense"]["prefill_s"], 3),
                     "pruned_prefill_s": round(lat["pruned"]["prefill_s"], 3),
                     "dense_decode_ms": round(1e3 * lat["dense"]["decode_s_per_token"], 1),
                     "pruned_decode_ms": round(1e3 * lat["pruned"]["decode_s_per_token"], 1),
                     "prune_wall_s": round(wall, 1),
                     "peak_x_model": round((size + mem.peak - mem.start) / size, 3)})
        del model, res  # the result holds the pruned model too
        gc.collect()
    out = {"shape": f"Llama-3.2-1B blocks (2048/{layers}/32q/8kv/8192), random weights",
           "vocab": vocab, "model_bytes": size, "calibration": f"{nsamples} x 128 tokens",
           "method": "flap (global allocation, bias compensation)", "prompt_tokens": prompt,
           "decode_tokens": 4, "repeats": repeats, "rows": rows}
    (REPORTS / "pruning_bench.json").write_text(json.dumps(out, indent=1))
    cols = list(rows[0].keys())
    md = ["# Pruning benchmark", "", f"{out['shape']}, vocab {vocab}, fp32 CPU, "
          f"{torch.get_num_threads()} threads, model {size / 2**30:.2f} GiB, FLAP; prefill "
          f"{prompt} tokens, decode 4 tokens, median of {repeats} interleaved runs.", "",
          "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    md += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    (REPORTS / "pruning_bench.md").write_text("\n".join(md) + "\n")
    _plot(rows)
    table = Table(title="FLAP on a Llama-3.2-1B-shaped model (CPU)")
    for c in ("ratio", "flops_removed", "ideal_speedup", "prefill_speedup", "decode_speedup",
              "prune_wall_s", "peak_x_model"):
        table.add_column(c)
    for r in rows:
        table.add_row(*(str(r[c]) for c in ("ratio", "flops_removed", "ideal_speedup",
                                            "prefill_speedup", "decode_speedup",
                                            "prune_wall_s", "peak_x_model")))
    Console().print(table)
    del dense
    if os.environ.get("PRUNESTACK_BENCH_SKIP_MINILM") != "1":
        from benchmarks import minilm_study

        out["minilm"] = minilm_study.main()
    return out


def _plot(rows: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    x = [r["ratio"] for r in rows]
    ax.plot(x, [r["ideal_speedup"] for r in rows], "k--", label="ideal (FLOPs)")
    ax.plot(x, [r["prefill_speedup"] for r in rows], "o-", label="prefill")
    ax.plot(x, [r["decode_speedup"] for r in rows], "s-", label="decode")
    ax.set_xlabel("pruning ratio (block params)")
    ax.set_ylabel("speed-up vs dense")
    ax.legend()
    fig.tight_layout()
    fig.savefig(REPORTS / "pruning_bench.png", dpi=100)


if __name__ == "__main__":
    main()
