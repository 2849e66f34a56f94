"""Schema-consistent stand-ins and small value repairs used by :mod:`.conform`.

``minimal_string`` writes the shortest simple string a user's pattern accepts (walking the
ECMA-262 tree of :func:`.regex.parse`: first alternative, fewest repeats, a plain character from
each class), checked with :func:`.regex.search` (RE2, linear time; never Python's ``re``);
``FORMAT_PLACEHOLDERS`` are values ``jsonschema``'s format checkers accept; ``fit_multiple``
checks a number against ``multipleOf`` in decimal arithmetic and rounds it to a power-of-ten
step (``0.01``: cents); ``date_as_pattern`` rewrites an ISO date in the first common layout
(``07/03/2024``, ``03.07.2024``...) a ``pattern`` accepts. This module does not decide *when* a
stand-in is used: a filled value is always reported as missing by the caller.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from prunestack.cancel import checkpoint
from prunestack.errors import SchemaError
from prunestack.pipeline.schema import regex as R

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

_MAX_STANDIN = 100_000  # characters a pattern's own stand-in may reach before giving up
_CANDIDATES = "a0A_-x .$+é"  # tried in turn for a negated class or a Unicode property


def _class_char(node: R.CharClass) -> str | None:
    """A plain character the class accepts (letters and digits preferred)."""
    if not node.negate and not node.props:
        for ch in "aA0":
            if any(lo <= ord(ch) <= hi for lo, hi in node.ranges):
                return ch
        return chr(node.ranges[0][0]) if node.ranges else None
    return next((ch for ch in _CANDIDATES if R.class_accepts(node, ch)), None)


def _walk(node: R.Alt | R.Node) -> str | None:
    """The shortest simple string ``node`` accepts: first alternative, fewest repeats, a plain
    character per class; None when none was found or it grows past ``_MAX_STANDIN``."""
    if isinstance(node, R.Alt):
        for seq in node.branches:
            parts = [_walk(n) for n in seq]
            if all(p is not None for p in parts):
                out = "".join(parts)  # type: ignore[arg-type]
                return out if len(out) <= _MAX_STANDIN else None
        return None
    if isinstance(node, R.Char):
        return chr(node.cp)
    if isinstance(node, R.Dot):
        return "a"
    if isinstance(node, R.CharClass):
        return _class_char(node)
    if isinstance(node, (R.Anchor, R.Flags)):
        return ""
    if isinstance(node, R.Group):
        return _walk(node.body)
    piece = _walk(node.body)
    return None if piece is None or len(piece) * node.lo > _MAX_STANDIN else piece * node.lo


def minimal_string(pattern: str | None, min_len: int = 0, max_len: int | None = None
                   ) -> str | None:
    """A short string matching ``pattern`` (searched, as JSON Schema does) within the length
    bounds, or None when none was found (or the pattern is refused)."""
    base = ""
    if pattern:
        try:
            base = _walk(R.parse(pattern)) or ""
        except SchemaError:
            return None
    for pad in ("a", "0", "A", " "):
        checkpoint("placeholder building")  # each try builds and searches a min_len string
        s = base + pad * max(0, min_len - len(base))
        if max_len is not None and len(s) > max_len:
            continue
        if pattern is None or R.search_or(pattern, s):
            return s
    return None


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
        if R.search_or(pattern, s):
            return s
    return None
