"""Writing one benchmark's results: ``NAME.json`` (the raw results), ``NAME.md`` (its table
under a title) and ``NAME.png`` (its plot) in a reports folder, then the table on stdout.

It does not make the table or the plot: each benchmark knows its own columns."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any


def save(out: Path, name: str, title: str, res: dict[str, Any], text: str,
         plot: Callable[[dict[str, Any], Path], None]) -> None:
    """Write ``res``, ``text`` and the plot of ``res`` as ``out/NAME.{json,md,png}``; print
    ``text``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(res, indent=1, ensure_ascii=False))
    (out / f"{name}.md").write_text(f"# {title}\n\n{text}\n")
    plot(res, out / f"{name}.png")
    print(text)
