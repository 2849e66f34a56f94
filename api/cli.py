"""The ``prunestack`` command line: one typer app, one sub-app or command per area.

Every command raises :class:`prunestack.errors.PrunestackError` for user mistakes; ``main`` turns
those into one line on stderr (``error: <message> (<hint>)``) and exit code 2, and any other
exception into one line and exit code 1 (set ``PRUNESTACK_DEBUG=1`` to see the traceback).
Heavy imports (torch, transformers, OCR) happen inside the commands, so ``--help`` stays fast.
"""

from __future__ import annotations

import os
import sys

import click
import typer

from prunestack.api.commands import bench, decode, draft, extract, html, parse, prune, rag, serve
from prunestack.errors import PrunestackError

app = typer.Typer(
    name="prunestack",
    help="Documents and web HTML in, schema-valid JSON out, on pruned language models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Single commands (each module defines `register(app)`) and command groups (each defines `app`).
for module in (parse, prune, decode, extract, serve):
    module.register(app)
app.add_typer(html.app, name="html", help="Clean and prune web HTML for RAG.")
app.add_typer(rag.app, name="rag", help="Build and query a persistent multi-page HTML index.")
app.add_typer(draft.app, name="draft", help="Draft models for speculative decoding.")
app.add_typer(bench.app, name="bench", help="Benchmarks: synthesise, run and score.")


def _fail(line: str, code: int) -> None:
    print(f"error: {line}", file=sys.stderr)  # noqa: T201
    raise SystemExit(code)


def main() -> None:
    try:
        app(standalone_mode=False)
    except PrunestackError as exc:
        _fail(str(exc), 2)
    except (typer.Abort, KeyboardInterrupt):
        _fail("aborted", 130)
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except Exception as exc:  # click usage errors and anything unexpected: one line, no traceback
        if isinstance(exc, click.ClickException):
            _fail(exc.format_message(), exc.exit_code or 2)
        if os.environ.get("PRUNESTACK_DEBUG"):
            raise
        hint = "set PRUNESTACK_DEBUG=1 for the traceback"
        _fail(f"unexpected {type(exc).__name__}: {exc} ({hint})", 1)


if __name__ == "__main__":
    main()
