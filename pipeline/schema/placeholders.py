"""Schema-consistent stand-ins and small value repairs used by :mod:`.conform`.

``minimal_string`` writes the shortest simple string a regular expression accepts (walking
Python's own regex parse tree: first alternative, fewest repeats, a plain character from each
class), checked with ``re.search``; ``FORMAT_PLACEHOLDERS`` are values ``jsonschema``'s format
checkers accept; ``fit_multiple`` checks a number against ``multipleOf`` in decimal arithmetic
and rounds it to a power-of-ten step (``0.01``: cents); ``date_as_pattern`` rewrites an ISO date
in the first common layout (``07/03/2024``, ``03.07.2024``...) a ``pattern`` accepts. This module
does not decide *when* a stand-in is used: a filled value is always reported as missing by the
caller.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

# Python's own regex parser (re._parser since 3.11, the only versions supported)
from re import _constants as _c  # type: ignore[attr-defined]
from re import _parser as _p  # type: ignore[attr-defined]
from typing import Any

from prunestack.cancel import checkpoint

FORMAT_PLACEHOLDERS: dict[str, str] = {
    "date": "1970-01-01",
    "date-time": "1970-01-01T00:00:00Z",
    "time": "00:00:00Z",
    "uuid": "00000000-0000-0000-0000-000000000000",
    "email": "unknown@example.com",
    "idn-email": "unknown@example.com",
    "uri": "about:blank",
    "iri": "about:blank",
    "uri-reference": "about:blank",
    "iri-reference": "about:blank",
    "hostname": "localhost",
    "idn-hostname": "localhost",
    "ipv4": "0.0.0.0",
    "ipv6": "::",
    "duration": "P0D",
}

_CATEGORY_CHAR = {
    _c.CATEGORY_DIGIT: "0", _c.CATEGORY_NOT_DIGIT: "a", _c.CATEGORY_SPACE: " ",
    _c.CATEGORY_NOT_SPACE: "a", _c.CATEGORY_WORD: "a", _c.CATEGORY_NOT_WORD: "-",
}


def _class_char(items: list) -> str | None:
    """A plain character an ``[...]`` class accepts (letters and digits preferred)."""
    negate = any(op is _c.NEGATE for op, _ in items)
    if negate:
        for ch in "a0A_-x":
            if re.fullmatch("[" + _rebuild_class(items) + "]", ch):
                return ch
        return None
    for op, av in items:
        if op is _c.LITERAL:
            return chr(av)
        if op is _c.RANGE:
            lo, hi = av
            for ch in "aA0":
                if lo <= ord(ch) <= hi:
                    return ch
            return chr(lo)
        if op is _c.CATEGORY:
            return _CATEGORY_CHAR.get(av)
    return None


def _rebuild_class(items: list) -> str:
    out = "^" if any(op is _c.NEGATE for op, _ in items) else ""
    for op, av in items:
        if op is _c.LITERAL:
            out += re.escape(chr(av))
        elif op is _c.RANGE:
            out += re.escape(chr(av[0])) + "-" + re.escape(chr(av[1]))
        elif op is _c.CATEGORY:
            out += {v: k for k, v in {r"\d": _c.CATEGORY_DIGIT, r"\D": _c.CATEGORY_NOT_DIGIT,
                                      r"\s": _c.CATEGORY_SPACE, r"\S": _c.CATEGORY_NOT_SPACE,
                                      r"\w": _c.CATEGORY_WORD, r"\W": _c.CATEGORY_NOT_WORD
                                      }.items()}.get(av, "")
    return out


def _walk(tree: Any, groups: dict[int, str], depth: int = 0) -> str | None:
    if depth > 50:
        return None
    out = ""
    for op, av in tree:
        if op is _c.LITERAL:
            out += chr(av)
        elif op is _c.NOT_LITERAL:
            out += "a" if chr(av) != "a" else "b"
        elif op is _c.ANY:
            out += "a"
        elif op is _c.IN:
            ch = _class_char(av)
            if ch is None:
                return None
            out += ch
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", None)):
            lo, _hi, sub = av
            piece = _walk(sub, groups, depth + 1)
            if piece is None:
                return None
            out += piece * lo
        elif op is _c.SUBPATTERN:
            gid, sub = av[0], av[-1]
            piece = _walk(sub, groups, depth + 1)
            if piece is None:
                return None
            if gid is not None:
                groups[gid] = piece
            out += piece
        elif op is _c.BRANCH:
            piece = None
            for alt in av[1]:
                piece = _walk(alt, groups, depth + 1)
                if piece is not None:
                    break
            if piece is None:
                return None
            out += piece
        elif op is _c.GROUPREF:
            out += groups.get(av, "")
        elif op is _c.AT or op is _c.CATEGORY:
            continue
        else:  # lookarounds, conditionals: give up (the caller checks the result anyway)
            return None
    return out


def minimal_string(pattern: str | None, min_len: int = 0, max_len: int | None = None
                   ) -> str | None:
    """A short string matching ``pattern`` (searched, as JSON Schema does) within the length
    bounds, or None when none was found."""
    base = ""
    if pattern:
        try:
            tree = _p.parse(pattern)
        except (re.error, RecursionError, OverflowError):
            return None
        base = _walk(tree, {}) or ""
    for pad in ("a", "0", "A", " "):
        checkpoint("placeholder building")  # each try builds and searches a min_len string
        s = base + pad * max(0, min_len - len(base))
        if max_len is not None and len(s) > max_len:
            continue
        if pattern is None or _search(pattern, s):
            return s
    return None


def _search(pattern: str, s: str) -> bool:
    try:
        return re.search(pattern, s) is not None
    except re.error:
        return False


def fit_multiple(value: float | int, step: float | int) -> float | int | None:
    """``value`` if it is a multiple of ``step`` in decimal arithmetic (``64.99`` of ``0.01``,
    as the JSON texts read); else, when ``step`` is a power of ten (a precision: ``0.01``),
    ``value`` rounded to it; else None (a value is never moved to another price).

    Decimal, not float, division: ``jsonschema`` divides Python floats, so it rejects
    ``64.99 % 0.01``; its maintainers' answer is to validate JSON parsed with
    ``parse_float=Decimal``, which is what :func:`.validate.validation_errors` does."""
    try:
        v, m = Decimal(repr(value)), Decimal(repr(step))
    except InvalidOperation:
        return None
    if m <= 0 or not v.is_finite():
        return None
    if v % m == 0:
        return value
    digits = m.normalize().as_tuple().digits
    if digits != (1,) or m >= 1:
        return None
    out = (v / m).to_integral_value(rounding=ROUND_HALF_EVEN) * m
    return int(out) if isinstance(value, int) and out == out.to_integral_value() else float(out)


_DATE_LAYOUTS = ("%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d", "%Y%m%d",
                 "%d/%m/%y", "%m/%d/%y", "%Y.%m.%d", "%d %b %Y", "%d %B %Y", "%b %d, %Y",
                 "%B %d, %Y", "%Y-%m-%dT00:00:00Z", "%Y-%m")


def date_as_pattern(iso: str, pattern: str) -> str | None:
    """An ISO date (``2024-03-07``) rewritten in the first common layout ``pattern`` accepts."""
    try:
        d = date.fromisoformat(iso[:10])
    except ValueError:
        return None
    for layout in _DATE_LAYOUTS:
        s = d.strftime(layout)
        if _search(pattern, s):
            return s
    return None
