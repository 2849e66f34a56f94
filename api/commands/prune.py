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
    keys = ("family", "params_before", "params_after", "model_params_removed",
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
    calib: Annotated[Path | None, typer.Option(help="calibration text/JSONL")] = None,
    nsamples: Annotated[int, typer.Option(help="calibration windows")] = 32,
    seqlen: Annotated[int, typer.Option(help="calibration window length")] = 128,
    allocation: Annotated[str | None, typer.Option(
        help="uniform|global|layer-importance (default: the method's)")] = None,
    count: Annotated[str, typer.Option(help="params|flops")] = "params",
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
                              "seqlen": seqlen, "count": count,
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
    data: Annotated[Path, typer.Option("--data", help="text or JSONL training data")],
    out: Annotated[Path, typer.Option("--out", help="output folder")],
    teacher: Annotated[Path | None, typer.Option(
        help="dense model folder: train on its own continuations (self-data distillation)")] = None,
    steps: Annotated[int, typer.Option(help="optimizer steps")] = 100,
    rank: Annotated[int, typer.Option(help="LoRA rank")] = 8,
    lr: Annotated[float, typer.Option(help="learning rate")] = 1e-4,
    seqlen: Annotated[int, typer.Option(help="training window length")] = 128,
    batch: Annotated[int, typer.Option(help="batch size")] = 4,
) -> None:
    """LoRA-recover a pruned model on local data; merge and save."""
    from prunestack.pipeline.pruning.recovery import RecoveryOptions, recover

    opts = RecoveryOptions(steps=steps, rank=rank, lr=lr, seqlen=seqlen, batch=batch,
                           teacher=str(teacher) if teacher else None)
    rep = recover(pruned_dir, data, out, opts, echo=typer.echo)
    typer.echo(f"saved recovered model to {out}")
    _echo_table(rep)
    for k in ("loss_first", "loss_last", "ppl_before", "ppl_after"):
        if k in rep:
            typer.echo(f"  {k:22s} {rep[k]:.4g}")


def register(app: typer.Typer) -> None:
    """Add this module's command(s) to the root app."""
    app.command("prune")(prune_cmd)
    app.command("recover")(recover_cmd)
