"""`prunestack decode`: JSON-schema-constrained generation from a local model folder.

Autoregressive mode loads a causal LM (``prunestack.models.load_causal_lm``) and runs
``pipeline.decoding.generate_json`` (optionally speculative with ``--draft DIR``); diffusion mode
loads a masked LM and runs ``pipeline.decoding.diffusion.generate_json_diffusion``. Prints the
JSON on stdout and a one-line summary on stderr. The schema and options are checked before any
model loads, so mistakes fail fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from prunestack.errors import ConfigError, ModelError

MODES = ("autoregressive", "diffusion")


def decode_cmd(
    model: Annotated[Path, typer.Option("--model", help="local model folder (with tokenizer)")],
    schema: Annotated[Path, typer.Option("--schema", help="JSON Schema file")],
    prompt: Annotated[str, typer.Option("--prompt", help="prompt text")],
    backend: Annotated[str, typer.Option(help="auto | llguidance | xgrammar | outlines")] = "auto",
    mode: Annotated[str, typer.Option(help="autoregressive | diffusion")] = "autoregressive",
    max_new_tokens: Annotated[int, typer.Option(min=1)] = 256,
    temperature: Annotated[float, typer.Option(min=0.0)] = 0.0,
    seed: int = 0,
    draft: Annotated[Path | None, typer.Option(help="draft model folder (speculative)")] = None,
    k: Annotated[int, typer.Option(min=1, help="drafted tokens per round")] = 4,
    dtype: str = "float32",
    device: str = "auto",
) -> None:
    """Generate JSON that validates against SCHEMA."""
    from prunestack.pipeline.decoding.backends import BACKENDS
    from prunestack.pipeline.schema import load_schema, prepare_schema

    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}", f"one of {list(BACKENDS)}")
    if mode not in MODES:
        raise ConfigError(f"unknown mode {mode!r}", f"one of {list(MODES)}")
    sch = load_schema(schema)
    prepare_schema(sch, closed=True)  # SchemaError before loading anything heavy
    from prunestack.models import load_tokenizer

    tokenizer = load_tokenizer(model)
    if mode == "diffusion":
        value, line = _diffusion(model, tokenizer, prompt, sch, max_new_tokens, device)
    else:
        from prunestack.models import load_causal_lm
        from prunestack.pipeline.decoding.generate import generate_json

        target = load_causal_lm(model, dtype=dtype, device=device)
        drafter = None
        if draft is not None:  # a trimmed or pruned draft reloads like any saved model
            drafter = load_causal_lm(draft, dtype=dtype, device=device)
        r = generate_json(target, tokenizer, prompt, sch, backend=backend,
                          max_new_tokens=max_new_tokens, temperature=temperature, seed=seed,
                          draft=drafter, k=k)
        value = r.value
        line = (f"{r.tokens} tokens, {r.model_calls} target calls, {r.forced_tokens} forced, "
                f"{r.ms_per_token:.1f} ms/token, backend {r.backend}, valid={r.valid}")
        if r.acceptance_rate is not None:
            line += f", acceptance {r.acceptance_rate:.2f}, {r.draft_calls} draft calls"
    typer.echo(json.dumps(value, ensure_ascii=False))
    typer.echo(line, err=True)


def _diffusion(model: Path, tokenizer: object, prompt: str, schema: dict[str, Any],
               max_new_tokens: int, device: str) -> tuple[object, str]:
    from transformers import AutoModelForMaskedLM

    from prunestack.models import resolve_device
    from prunestack.pipeline.decoding.diffusion import generate_json_diffusion

    try:
        mlm = AutoModelForMaskedLM.from_pretrained(str(model), local_files_only=True)
    except Exception as exc:
        raise ModelError(f"cannot load a masked LM from {model}: {exc}") from exc
    mlm = mlm.to(resolve_device(device)).eval()
    r = generate_json_diffusion(mlm, tokenizer, prompt, schema, max_new_tokens=max_new_tokens)
    return r.value, f"diffusion: {r.model_calls} model calls"


def register(app: typer.Typer) -> None:
    """Add ``decode`` to the root app."""
    app.command("decode")(decode_cmd)
