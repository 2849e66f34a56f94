"""`prunestack draft ...`: build draft models for speculative decoding.

``trim`` keeps the draft's most useful LM-head rows (coverage over the assistant responses of a
JSONL corpus vs. draft FLOPs, Optuna TPE search) and writes a draft folder in the one
saved-model format, which ``prunestack.models.load_causal_lm`` (and ``prunestack decode
--draft``) loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from prunestack.errors import ConfigError

app = typer.Typer(no_args_is_help=True)


@app.command("trim")
def trim_cmd(
    model_dir: Annotated[Path, typer.Argument(help="draft model folder (with tokenizer)")],
    corpus: Annotated[Path, typer.Option(help="JSONL with chat 'messages' or 'response'")],
    out: Annotated[Path, typer.Option(help="output draft folder")],
    alpha: Annotated[float, typer.Option(help="weight of coverage vs FLOPs reduction")] = 0.5,
    min_coverage: Annotated[float, typer.Option(help="minimum coverage c_min")] = 0.95,
    trials: Annotated[int, typer.Option(help="Optuna TPE trials")] = 60,
) -> None:
    """Trim MODEL_DIR's LM head to the tokens its outputs use; writes OUT (+ pareto.png)."""
    from prunestack.pipeline.decoding.vocab_trim import TrimConfig, trim_draft

    try:
        cfg = TrimConfig(alpha=alpha, min_coverage=min_coverage, n_trials=trials)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(f"invalid option {err['loc'][0]}: {err['msg']}") from exc
    from rich.progress import Progress, SpinnerColumn, TextColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), transient=True) as bar:
        bar.add_task("counting tokens and searching k ...", total=None)
        result, dst = trim_draft(model_dir, corpus, out, cfg)
    typer.echo(f"k={result.k} coverage={result.coverage:.4f} reduction={result.reduction:.4f} "
               f"utility={result.utility:.4f} (exhaustive best k={result.best_k_exhaustive})")
    typer.echo(f"wrote {dst} (pareto.png, draft_vocab.json)")
