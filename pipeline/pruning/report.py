"""Counting and reporting: parameters, per-token FLOPs, per-layer widths, JSON + Markdown files.

FLOPs per token at context length ``ctx``: 2 x (weights of every linear layer in the blocks and the
output head) + attention scores and weighted values, 4 x ctx x head_dim per query head per block.
Embedding lookups and norms are not counted. This module does not run models.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from torch import nn

from prunestack.pipeline.pruning.families import ModelSpec, tensor_attr


def count_params(model: nn.Module) -> int:
    seen: set[int] = set()
    total = 0
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    return total


def count_flops(spec: ModelSpec, ctx: int) -> int:
    flops = 0
    for ls in spec.layers:
        for mod in ls.module.modules():
            if isinstance(mod, nn.Linear):
                flops += 2 * mod.weight.numel()
        if ls.attn is not None:
            flops += 4 * ctx * ls.attn.head_dim * ls.attn.n_heads
        if ls.moe is not None:  # only top_k experts run per token
            ex = ls.moe.experts
            per_expert = sum(p[0].numel() for p in ex.parameters() if p.dim() == 3)
            router_w = tensor_attr(ls.moe.router, "weight")  # [E, H]
            flops += 2 * per_expert * ls.moe.top_k + 2 * router_w.numel()
    head = getattr(spec.model, "lm_head", None)
    if isinstance(head, nn.Linear):
        flops += 2 * head.weight.numel()
    return flops


def layer_widths(spec: ModelSpec) -> list[dict[str, Any]]:
    rows = []
    for ls in spec.layers:
        row: dict[str, Any] = {"layer": ls.index}
        row["heads"] = ls.attn.n_heads if ls.attn else 0
        row["kv_heads"] = ls.attn.n_kv if ls.attn else 0
        if ls.mlp is not None:
            row["intermediate"] = ls.mlp.width
        if ls.moe is not None:
            row["experts"] = ls.moe.n_experts
        rows.append(row)
    return rows


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def to_markdown(report: dict[str, Any], title: str = "Pruning report") -> str:
    lines = [f"# {title}", ""]
    flat = {k: v for k, v in report.items() if not isinstance(v, dict | list)}
    lines += ["| field | value |", "|---|---|"]
    lines += [f"| {k} | {_fmt(v)} |" for k, v in flat.items()]
    for k, v in report.items():
        if isinstance(v, dict) and v and all(not isinstance(x, dict | list) for x in v.values()):
            lines += ["", f"## {k}", "", "| key | value |", "|---|---|"]
            lines += [f"| {a} | {_fmt(b)} |" for a, b in v.items()]
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            cols = list(v[0].keys())
            lines += ["", f"## {k}", "", "| " + " | ".join(cols) + " |",
                      "|" + "---|" * len(cols)]
            lines += ["| " + " | ".join(_fmt(r.get(c, "")) for c in cols) + " |" for r in v]
    return "\n".join(lines) + "\n"


class PruneReport(BaseModel):
    """A finished pruning run (``prunestack.prune_model``): where the reloadable folder is and the
    report written beside it as ``prune_report.json`` (``data``: parameters and FLOPs before and
    after, achieved ratio, perplexity or embedding cosine, latency when measured, wall time)."""

    out: Path
    data: dict[str, Any]


def write_report(report: dict[str, Any], out_dir: str | Path, stem: str = "prune_report") -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(report, indent=1, default=str))
    (out / f"{stem}.md").write_text(to_markdown(report))
    return out / f"{stem}.json"
