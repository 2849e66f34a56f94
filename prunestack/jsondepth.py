"""Nesting depth of JSON text and of parsed JSON values, without recursion.

What it does: :func:`text_depth` reads JSON text (``str`` or ``bytes``) and returns how deeply
its arrays and objects nest, brackets inside strings not counted, stopping as soon as the depth
passes ``stop_at``; :func:`value_depth` does the same for a parsed value (dicts and lists) with
an explicit stack. Both are iterative, so a 100,000-deep input costs one linear scan and never a
``RecursionError``: check the depth with them *before* handing the text to ``json.loads`` (the C
scanner recurses once per level and raises ``RecursionError`` somewhere past a thousand) or the
value to recursive code (``jsonschema``, ``json.dumps``, tree walks).

What it does not do: check that the text is valid JSON (an unbalanced or truncated text is
measured as far as it goes; ``json.loads`` reports what is wrong with it), or decide a limit:
callers pass theirs and raise their own error (a schema's :class:`~prunestack.errors.SchemaError`,
a request body's :class:`~prunestack.errors.TooLargeError`).
"""

from __future__ import annotations

import json  # stdlib only
import re  # stdlib only
from typing import Any

# A JSON string (escapes included; the closing quote optional so that an unterminated string
# swallows the rest of the text instead of being scanned for brackets), or one bracket. The
# string branch is the unrolled ``[^"\\]*(\\.[^"\\]*)*`` loop: one way to match each character,
# so it runs in linear time on any input.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.S)
_TOKEN_B = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.S)
_OPEN = frozenset(("[", "{", b"[", b"{"))
_CLOSE = frozenset(("]", "}", b"]", b"}"))


def text_depth(text: str | bytes, stop_at: int | None = None) -> int:
    """The deepest nesting of ``[`` / ``{`` in JSON text (``0`` for a scalar), strings skipped;
    returns as soon as the depth exceeds ``stop_at`` (the value returned is then
    ``stop_at + 1``). Bytes in UTF-16 or UTF-32 (told apart as ``json.loads`` does) are decoded
    first; UTF-8, with or without a byte-order mark, is scanned as it is."""
    if isinstance(text, bytes | bytearray) and json.detect_encoding(text) not in ("utf-8",
                                                                              "utf-8-sig"):
        try:  # UTF-16/32: a code unit's bytes may look like brackets
            text = bytes(text).decode(json.detect_encoding(text))
        except UnicodeDecodeError:
            pass  # measured as bytes; json.loads reports the encoding error
    tokens = (_TOKEN_B.finditer(text) if isinstance(text, bytes | bytearray)
              else _TOKEN.finditer(text))
    depth = deepest = 0
    for m in tokens:
        tok = m.group()
        if tok in _OPEN:
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_at is not None and deepest > stop_at:
                    return deepest
        elif tok in _CLOSE:
            depth = max(0, depth - 1)
    return deepest


def value_depth(value: Any, stop_at: int | None = None) -> int:
    """The deepest nesting of dicts and lists in a parsed JSON value (``0`` for a scalar);
    returns ``stop_at + 1`` as soon as the depth exceeds ``stop_at``. A value that contains
    itself (not JSON) is measured as if it were infinitely deep: ``stop_at + 1``, or
    ``ValueError`` without ``stop_at``."""
    if not isinstance(value, dict | list):
        return 0
    deepest = 0
    on_path: set[int] = set()
    stack: list[tuple[Any, int, bool]] = [(value, 1, False)]
    while stack:
        node, depth, leaving = stack.pop()
        if leaving:
            on_path.discard(id(node))
            continue
        if id(node) in on_path:
            if stop_at is None:
                raise ValueError("the value contains itself")
            return stop_at + 1
        deepest = max(deepest, depth)
        if stop_at is not None and deepest > stop_at:
            return deepest
        on_path.add(id(node))
        stack.append((node, depth, True))
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1, False))
    return deepest
