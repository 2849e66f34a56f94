"""Reading JSON Lines text: one JSON value per non-blank line, with errors that name the line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prunestack.errors import InputError


def jsonl_rows(path: str | Path, raw: str) -> Iterator[tuple[int, Any]]:
    """(line number, value) for each non-blank line of ``raw`` (the text of ``path``, named in
    errors); a line that is not JSON is an :class:`InputError` naming ``path:line``."""
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield n, json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{n} is not valid JSON: {exc.msg}") from None
