"""`prunestack prune` and `prunestack recover`.

prune: load a local model folder, run a recipe (from --recipe YAML or the flags), save a reloadable
folder and a report (JSON + Markdown: params and FLOPs before/after, per-layer widths, held-out
perplexity at a stated sequence length, CPU prefill/decode latency dense vs pruned, wall time,
peak memory). recover: LoRA fine-tuning (with optional self-distillation from the dense model) of a
pruned folder, merged back and saved.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from prunestack.pipeline.pruning.methods import METHODS


def _echo_table(rep: dict[str, Any]) -> None:
    keys = ("family", "calibration", "params_before", "params_after", "model_params_removed",
            "model_flops_removed", "achieved_ratio", "ppl_dense", "ppl_pruned",
            "embedding_cosine_to_dense", "prefill_speedup", "decode_speedup",
            "encoder_speedup", "wall_s", "peak_rss_mb")
    for k in keys:
        if k in rep:
            v = rep[k]
            typer.echo(f"  {k:22s} {v:.4g}" if isinstance(v, float) else f"  {k:22s} {v}")


def prune_cmd(
    model_dir: Annotated[Path, typer.Argument(help="local model folder (config + weights)")],
    out: Annotated[Path, typer.Option("--out", help="output folder")],
    recipe: Annotated[Path | None, typer.Option(help="recipe YAML (overrides the flags)")] = None,
    method: Annotated[str, typer.Option(help=" | ".join(METHODS))] = "flap",
    ratio: Annotated[float, typer.Option(help="share of params (or FLOPs) to remove")] = 0.2,
    calib: Annotated[Path | None, typer.Option(
        help="calibration text/JSONL (default: the built-in calibration-en corpus)")] = None,
    nsamples: Annotated[int, typer.Option(
        help="calibration windows (0: the method's default, 128; taylor 32)")] = 0,
    seqlen: Annotated[int, typer.Option(help="calibration window length")] = 128,
    allocation: Annotated[str | None, typer.Option(
        help="uniform|global|layer-importance (default: the method's)")] = None,
    count: Annotated[str, typer.Option(help="params|flops")] = "params",
    round_to: Annotated[int, typer.Option(
        help="MLP widths become multiples of this (1 = off; 64 for GPU kernels)")] = 8,
    taylor_order: Annotated[int, typer.Option(help="taylor: 1 (first order) or 2")] = 1,
    taylor_batch: Annotated[int | None, typer.Option(
        help="taylor: samples per backward (default: as many as memory allows)")] = None,
    taylor_precision: Annotated[str, typer.Option(
        help="taylor: auto|fp32|bf16 products (auto: bf16 on CUDA or an AMX CPU)")] = "auto",
    keep_first: Annotated[int, typer.Option(help="leave the first N blocks untouched")] = 0,
    keep_last: Annotated[int, typer.Option(help="leave the last N blocks untouched")] = 0,
    eval_text: Annotated[Path | None, typer.Option(
        help="held-out text for perplexity (default: built-in English held-out split)")] = None,
    eval_seqlen: Annotated[int, typer.Option(help="perplexity sequence length")] = 128,
    latency: Annotated[bool, typer.Option(help="measure CPU latency dense vs pruned")] = True,
) -> None:
    """Prune MODEL_DIR and save a reloadable folder plus a report."""
    from prunestack.pipeline.pruning import PruneRecipe
    from prunestack.pipeline.pruning.workflow import run_prune

    if recipe is not None:
        rec = PruneRecipe.load(recipe)
    else:
        kw: dict[str, Any] = {"method": method, "ratio": ratio, "nsamples": nsamples,
                              "seqlen": seqlen, "count": count, "round_to": round_to,
                              "taylor_order": taylor_order, "taylor_batch": taylor_batch,
                              "taylor_precision": taylor_precision,
                              "keep_first": keep_first, "keep_last": keep_last,
                              "calib": str(calib) if calib else None}
        if allocation:
            kw["allocation"] = allocation
        rec = PruneRecipe.build(**kw)
    rep = run_prune(model_dir, out, rec, eval_text=eval_text, eval_seqlen=eval_seqlen,
                    latency=latency, echo=typer.echo)
    typer.echo(f"saved pruned model to {out} (report: {out / 'prune_report.md'})")
    _echo_table(rep)


def recover_cmd(
    pruned_dir: Annotated[Path, typer.Argument(help="folder written by `prunestack prune`")],
    out: Annotated[Path, typer.Option("--out", help="output folder")],
    data: Annotated[Path | None, typer.Option(
        "--data", help="text or JSONL training data (default: the built-in corpus)")] = None,
    teacher: Annotated[Path | None, typer.Option(
        help="dense model folder: a causal LM trains on its continuations (self-data "
             "distillation); an encoder is distilled from it (required for encoders)")] = None,
    steps: Annotated[int | None, typer.Option(
        help="optimizer steps (default: 100 for a causal LM, 300 for an encoder)")] = None,
    rank: Annotated[int, typer.Option(help="LoRA rank")] = 8,
    lr: Annotated[float | None, typer.Option(
        help="learning rate (default: 1e-4)")] = None,
    seqlen: Annotated[int | None, typer.Option(
        help="training window / text length (default: 128 for a causal LM, 64 for an "
             "encoder)")] = None,
    batch: Annotated[int | None, typer.Option(
        help="batch size (default: 4 for a causal LM, 32 for an encoder)")] = None,
) -> None:
    """Recover a pruned model: LoRA (causal LM, merged back) or distillation from the dense
    encoder (--teacher); save it."""
    from prunestack.pipeline.pruning.recovery import RecoveryOptions, recover

    opts = RecoveryOptions(steps=steps, rank=rank, lr=lr, seqlen=seqlen, batch=batch,
                           teacher=str(teacher) if teacher else None)
    rep = recover(pruned_dir, data, out, opts, echo=typer.echo)
    typer.echo(f"saved recovered model to {out}")
    _echo_table(rep)
    for k in ("loss_first", "loss_last", "ppl_before", "ppl_after"):
        if k in rep:
            typer.echo(f"  {k:22s} {rep[k]:.4g}")
    for k in ("before", "refit", "after"):  # encoders: agreement with the dense encoder
        if k in rep:
            typer.echo(f"  {k:22s} cosine {rep[k]['cosine']:.4f}, top-10 overlap "
                       f"{rep[k]['top10_overlap']:.4f}")


def register(app: typer.Typer) -> None:
    """Add this module's command(s) to the root app."""
    app.command("prune")(prune_cmd)
    app.command("recover")(recover_cmd)
