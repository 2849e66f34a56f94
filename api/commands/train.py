"""`prunestack train extractor --data DIR [--synthetic N] [--augment K] --out DIR`: fit the learned
field scorer.

With ``--teacher DENSE_DIR --prune RATIO`` it makes a pruned scorer instead: the teacher is
pruned and recovered by distillation on the same data (:mod:`prunestack.eval.distill_scorer`).
The data layouts, the labelling and the training loop are :mod:`prunestack.eval.train_scorer`'s;
this module only reads the options, checks them, and prints the summary (JSON on stdout).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from prunestack.errors import ConfigError, InputError

app = typer.Typer(no_args_is_help=True)


@app.command("extractor")
def extractor_cmd(
    out: Annotated[Path, typer.Option("--out", help="Scorer folder to write.")],
    data: Annotated[Path | None, typer.Option("--data", help="A SROIE folder (key/, box/: "
                                              "receipts without an image) or a folder with "
                                              "schema.json and NAME.pdf|png|jpg|html|txt + "
                                              "NAME.json pairs.")] = None,
    synthetic: Annotated[int, typer.Option(
        "--synthetic", help="Add N varied synthetic receipts, invoices and forms (each with "
        "its own schema; half of them scan-augmented).")] = 0,
    augment: Annotated[int, typer.Option(
        "--augment", help="Add K scan-like augmented copies of each --data document.")] = 0,
    epochs: Annotated[int, typer.Option(help="Passes over the training groups.")] = 2,
    seed: Annotated[int, typer.Option(help="Seed for sampling, shuffling and the head.")] = 0,
    max_minutes: Annotated[float, typer.Option(help="Stop training after this long.")] = 50.0,
    init: Annotated[Path | None, typer.Option(
        help="Start from this scorer folder (fine-tune) instead of MiniLM.")] = None,
    limit: Annotated[int | None, typer.Option(help="Use only the first N documents.")] = None,
    teacher: Annotated[Path | None, typer.Option(
        help="A dense scorer folder to prune and distil from (needs --prune).")] = None,
    prune: Annotated[float | None, typer.Option(
        "--prune", help="With --teacher: share of the layer parameters to remove, 0 < r < 1.")
    ] = None,
    method: Annotated[str, typer.Option(
        help="With --teacher: pruning method, flap | taylor | magnitude.")] = "flap",
) -> None:
    """Train the learned field scorer on labelled documents (or, with --teacher and --prune,
    prune a trained one and recover it by distillation); writes a scorer folder."""
    if data is None and synthetic <= 0:
        raise ConfigError("no training data", "pass --data DIR, --synthetic N, or both")
    if data is not None and not data.is_dir():
        raise InputError(f"not a folder: {data}", "--data takes a folder of labelled documents")
    if synthetic < 0 or augment < 0:
        raise ConfigError("--synthetic and --augment must be at least 0")
    if init is not None and not init.is_dir():
        raise InputError(f"--init folder not found: {init}")
    if limit is not None and limit < 1:
        raise ConfigError("--limit must be at least 1")
    if (teacher is None) != (prune is None):
        raise ConfigError("--teacher and --prune go together",
                          "e.g. --teacher ./scorer --prune 0.5 writes a pruned, distilled scorer")
    if teacher is not None and init is not None:
        raise ConfigError("--init and --teacher exclude each other",
                          "--teacher starts from the teacher itself")
    import torch

    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    if teacher is not None and prune is not None:
        from prunestack.eval.distill_scorer import distill

        result = distill(teacher, out, data, ratio=prune, method=method, minutes=max_minutes,
                         seed=seed, epochs=epochs, limit=limit, synthetic=synthetic,
                         augment_copies=augment)
        typer.echo(json.dumps(result, indent=1))
        typer.echo(f"wrote {out}", err=True)
        return
    from prunestack.eval.train_scorer import train

    summary = train(data, out, epochs=epochs, seed=seed, max_minutes=max_minutes, init=init,
                    limit=limit, synthetic=synthetic, augment_copies=augment)
    typer.echo(json.dumps(summary, indent=1))
    typer.echo(f"wrote {out}", err=True)
