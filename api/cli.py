"""The ``prunestack`` command line: one typer app, one sub-app or command per area.

Every command raises :class:`prunestack.errors.PrunestackError` for user mistakes; ``main`` turns
those into one line on stderr (``error: <message> (<hint>)``) and exit code 2. A usage error (an
unknown command or option, a bad value) is one line too, with click's usage hint, and exit code
2; input nested too deeply for Python's recursion limit, or too big for memory, is a mistake in
the input: one line, exit code 2. Any other exception is one line and exit code 1 (set
``PRUNESTACK_DEBUG=1`` to see the traceback).
Heavy imports (torch, transformers, OCR) happen inside the commands, so ``--help`` stays fast.
"""

from __future__ import annotations

import os
import sys

import click
import typer

from prunestack.api.commands import (
    ask,
    bench,
    decode,
    draft,
    extract,
    html,
    parse,
    prune,
    rag,
    serve,
    train,
)
from prunestack.errors import PrunestackError

app = typer.Typer(
    name="prunestack",
    help="Documents and web HTML in, schema-valid JSON out, on pruned language models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Single commands (each module defines `register(app)`) and command groups (each defines `app`).
for module in (parse, prune, decode, extract, ask, serve):
    module.register(app)
app.add_typer(html.app, name="html", help="Clean and prune web HTML for RAG.")
app.add_typer(rag.app, name="rag", help="Build and query a persistent multi-page HTML index.")
app.add_typer(draft.app, name="draft", help="Draft models for speculative decoding.")
app.add_typer(bench.app, name="bench", help="Benchmarks: synthesise, run and score.")
app.add_typer(train.app, name="train", help="Train the models prunestack ships (field scorer).")


def _fail(line: str, code: int) -> None:
    print(f"error: {line}", file=sys.stderr)  # noqa: T201
    raise SystemExit(code)


def _usage(exc: Exception) -> str:
    """A click usage error as one line: what is wrong, the usage and where help is."""
    ctx = getattr(exc, "ctx", None)
    line = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    if ctx is None:
        return line
    usage = " ".join(ctx.get_usage().split()).removeprefix("Usage: ")
    return f"{line} (usage: {usage}; try '{ctx.command_path} --help')"


def main() -> None:
    try:
        code = app(prog_name="prunestack", standalone_mode=False)
        if isinstance(code, int) and code:  # a command's typer.Exit(code): click returns it
            raise SystemExit(code)
    except PrunestackError as exc:
        _fail(str(exc), 2)
    except (typer.Abort, KeyboardInterrupt):
        _fail("aborted", 130)
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except (typer.TyperException, click.ClickException) as exc:  # typer's own click, or click
        code = getattr(exc, "exit_code", 2) or 2
        if not exc.format_message():  # no arguments: the help was printed
            raise SystemExit(code) from None
        _fail(_usage(exc), code)
    except RecursionError:
        _fail("the input is nested too deeply to read (Python's recursion limit)", 2)
    except MemoryError:
        _fail("the input is too large to read in the memory available", 2)
    except Exception as exc:  # anything unexpected: one line, no traceback
        if os.environ.get("PRUNESTACK_DEBUG"):
            raise
        hint = "set PRUNESTACK_DEBUG=1 for the traceback"
        _fail(f"unexpected {type(exc).__name__}: {exc} ({hint})", 1)


if __name__ == "__main__":
    main()
