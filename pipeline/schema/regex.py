"""THE way a user's regular expression runs: ECMA-262 patterns, translated to RE2, linear time.

What it does: JSON Schema patterns (``pattern``, ``patternProperties`` keys, ``format: regex``
values) are ECMA-262 regular expressions written by users, so none is ever handed to Python's
``re``, whose backtracking takes hours on ``^(a+)+$`` against ``aaa…1`` while holding the GIL.
:func:`user_pattern` reads a pattern (:mod:`.ecma`), writes the tree in RE2 syntax with the same
meaning (``.`` stops at ``\\r``, U+2028 and U+2029 too; ``[^]`` is any character and ``[]`` none;
``^``/``$`` are the ends of the text; every literal is written as ``\\x{…}``) and compiles it
once (the last ``CACHED`` kept); :func:`search` (what JSON Schema means by a match: an unanchored
search) and :func:`fullmatch` run it, in time linear in the text and memory bounded by ``MAX_MEM``
per pattern;
:func:`parse` gives the tree of a pattern RE2 accepts, for stand-ins (:mod:`.placeholders`);
:func:`is_regex` is the ``format: regex`` check.

What it refuses, as a :class:`~prunestack.errors.SchemaError` naming the feature, the pattern and
its place in the schema (``properties/a/pattern``): what only a backtracking engine can run —
backreferences (``\\1``, ``\\k<name>``, ``(?P=name)``), lookahead ``(?=`` ``(?!``, lookbehind
``(?<=`` ``(?<!``, atomic groups ``(?>``, possessive quantifiers (``a*+``), conditionals and
recursion; what RE2 cannot hold — over ``MAX_PATTERN_CHARS`` characters, ``MAX_GROUP_DEPTH``
nested groups, a repeat count over 1000 (``a{5000}``; nested repeats multiply), a Unicode
property it does not know, a program over ``MAX_MEM``; and what is not ECMA-262 (``\\A``,
``\\Z``, lone surrogates, syntax errors).

What it does not do: run the product's own fixed expressions (they are ours, written for ``re``),
or compile patterns for a decoder (llguidance and outlines-core compile them with their own
linear-time engines).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

from prunestack.errors import SchemaError
from prunestack.pipeline.schema.ecma import (
    MAX_GROUP_DEPTH,
    MAX_PATTERN_CHARS,
    MAX_REPEAT,
    Alt,
    Anchor,
    Char,
    CharClass,
    Dot,
    Flags,
    Group,
    Node,
    PatternError,
    Repeat,
    Unsupported,
    read,
)

__all__ = [
    "CACHED", "MAX_GROUP_DEPTH", "MAX_MEM", "MAX_PATTERN_CHARS", "MAX_REPEAT", "Alt", "Anchor",
    "Char", "CharClass", "Dot", "Flags", "Group", "Node", "Repeat", "class_accepts", "fullmatch",
    "is_regex", "parse", "search", "to_re2", "user_pattern",
]

MAX_MEM = 8 << 20  # bytes RE2 may use per compiled pattern, program + DFA cache (its default)
CACHED = 16  # compiled patterns kept: at most CACHED * MAX_MEM (128 MiB), usually a few MiB

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print every refused pattern to stderr through absl
_OPTIONS.max_mem = MAX_MEM
_OPTIONS.never_capture = True  # nothing reads groups: RE2 then needs no submatch engine


def _compile(text: str) -> Any:
    """RE2 text compiled. ``re2.compile`` would also keep it in the module's own cache of 128
    (up to 1 GiB); this module's caches are the only ones, so their bound holds."""
    return re2._Regexp(text, _OPTIONS)


def _lit(cp: int) -> str:
    ch = chr(cp)
    return ch if ch.isascii() and ch.isalnum() else f"\\x{{{cp:X}}}"


def _emit(node: Alt | Node) -> str:
    if isinstance(node, Alt):
        return "|".join("".join(_emit(n) for n in seq) for seq in node.branches)
    if isinstance(node, Char):
        return _lit(node.cp)
    if isinstance(node, Dot):
        return "(?s:.)" if node.dotall else "[^\\n\\r\\x{2028}\\x{2029}]"
    if isinstance(node, CharClass):
        parts = [_lit(lo) if lo == hi else f"{_lit(lo)}-{_lit(hi)}" for lo, hi in node.ranges]
        parts += [f"\\{'P' if neg else 'p'}{{{name}}}" for neg, name in node.props]
        if not parts:  # [] matches nothing, [^] anything
            return "[\\x{0}-\\x{10FFFF}]" if node.negate else "[^\\x{0}-\\x{10FFFF}]"
        return "[" + ("^" if node.negate else "") + "".join(parts) + "]"
    if isinstance(node, Anchor):
        return node.kind
    if isinstance(node, Flags):
        return f"(?{node.flags})"
    if isinstance(node, Group):
        head = "(" if node.capture else f"(?{node.flags}:"
        return head + _emit(node.body) + ")"
    quant = {(0, None): "*", (1, None): "+", (0, 1): "?"}.get((node.lo, node.hi))
    if quant is None:
        quant = (f"{{{node.lo}}}" if node.hi == node.lo else
                 f"{{{node.lo},}}" if node.hi is None else f"{{{node.lo},{node.hi}}}")
    return _emit(node.body) + quant + ("" if node.greedy else "?")


def to_re2(tree: Alt) -> str:
    """The RE2 text of a parsed pattern (same meaning, RE2 syntax)."""
    return _emit(tree)


@lru_cache(maxsize=CACHED)
def _re2_class(text: str) -> Any:
    """A class this module wrote (:func:`_emit`; property names are checked to be plain words)."""
    return _compile(text)


def class_accepts(node: CharClass, ch: str) -> bool:
    """Whether the class accepts the one character ``ch``."""
    if node.props:
        return _re2_class(_emit(node)).fullmatch(ch) is not None
    return node.negate != any(lo <= ord(ch) <= hi for lo, hi in node.ranges)


# ---------------------------------------------------------------- the public way in


@lru_cache(maxsize=CACHED)
def _program(pattern: str) -> Any:
    text = to_re2(read(pattern))
    try:
        return _compile(text)
    except re2.error as exc:
        msg = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(
            exc.args[0], bytes) else str(exc)
        if "repetition" in msg:
            raise Unsupported(f"nests repeats beyond RE2's limit of {MAX_REPEAT} in total "
                              f"({msg})", "for a length limit use minLength/maxLength") from exc
        if "too large" in msg:
            raise Unsupported(f"compiles to more than RE2's {MAX_MEM >> 20} MiB ({msg})",
                              "split it or simplify it") from exc
        if "\\p{" in msg or "\\P{" in msg:
            raise Unsupported(f"uses a Unicode property RE2 does not have ({msg})",
                              "RE2 has the general categories (L, Lu, Nd, …) and the scripts "
                              "(Greek, Latin, Han, …)") from exc
        raise Unsupported(f"cannot be compiled by RE2: {msg}") from exc


def _schema_error(pattern: Any, where: str, exc: PatternError) -> SchemaError:
    shown = pattern if len(pattern) <= 200 else pattern[:200] + "…"
    return SchemaError(f"regular expression {shown!r} at {where or '(root)'} {exc.what}",
                       exc.hint or "write it in ECMA-262 syntax, as JSON Schema asks")


def parse(pattern: str, where: str = "pattern") -> Alt:
    """The tree of a pattern RE2 runs (:func:`user_pattern` accepts it); ``SchemaError``
    naming ``where`` otherwise."""
    user_pattern(pattern, where)
    return read(pattern)


def user_pattern(pattern: str, where: str = "pattern") -> Any:
    """The compiled RE2 program of a user's pattern (cached); ``SchemaError`` naming the
    feature, the pattern and ``where`` (its place: ``properties/a/pattern``) when refused."""
    if not isinstance(pattern, str):
        raise SchemaError(f"{where} must be a string, got {type(pattern).__name__}")
    try:
        return _program(pattern)
    except PatternError as exc:
        raise _schema_error(pattern, where, exc) from None


def _run(method: str, pattern: str, text: str, where: str) -> bool:
    prog = user_pattern(pattern, where)
    try:
        return getattr(prog, method)(text) is not None
    except UnicodeEncodeError:  # a lone surrogate in the text: RE2 reads UTF-8
        clean = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return getattr(prog, method)(clean) is not None


def search(pattern: str, text: str, where: str = "pattern") -> bool:
    """Whether ``pattern`` matches somewhere in ``text`` (what JSON Schema means by a match)."""
    return _run("search", pattern, text, where)


def search_or(pattern: str, text: str, where: str = "pattern", default: bool = False) -> bool:
    """:func:`search`, or ``default`` when the pattern is refused (a loaded schema never has
    one: repairs and stand-ins of a schema that was not loaded go on without it)."""
    try:
        return search(pattern, text, where)
    except SchemaError:
        return default


def fullmatch(pattern: str, text: str, where: str = "pattern") -> bool:
    """Whether ``pattern`` matches the whole of ``text``."""
    return _run("fullmatch", pattern, text, where)


def is_regex(value: Any) -> bool:
    """``format: regex``: whether a string is an ECMA-262 pattern. One this module would
    refuse to run (a lookahead, a long pattern) still is one; non-strings pass."""
    if not isinstance(value, str) or len(value) > MAX_PATTERN_CHARS:
        return True
    try:
        _program(value)
    except Unsupported:
        return True
    except PatternError:
        return False
    return True
