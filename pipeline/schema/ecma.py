"""Reading an ECMA-262 pattern (what JSON Schema's ``pattern`` is) into a small tree.

What it does: :func:`read` parses a pattern in one left-to-right pass with an explicit stack (no
recursion, so no ``RecursionError`` on ``((((…``), with ECMA-262's syntax and meaning and the
Annex-B leniency of browsers (a ``{``, ``}`` or ``]`` that starts nothing is a literal; ``[a-\\d]``
is ``a``, ``-`` and the digits). Character classes become code-point ranges, so ECMA's ``\\d``,
``\\w`` (ASCII) and ``\\s`` (Unicode white space and line terminators) keep their meaning on any
engine; ``\\p{…}`` becomes the general-category or script name RE2 uses. Escapes are decoded
(``\\uXXXX`` with surrogate pairs joined, ``\\u{…}``, ``\\xHH``, ``\\cX``, ``\\0``), ``(?<name>…)``
and Python's ``(?P<name>…)`` are capture groups, and inline flags ``i``, ``m``, ``s``
(``(?i)``, ES2025's ``(?i:…)``) are kept. It raises :class:`Unsupported` for what only a
backtracking engine runs (lookaround, backreferences, atomic groups, possessive quantifiers,
conditionals, recursion) and for what passes the limits below, and :class:`PatternError` for
what is not ECMA-262 at all (``\\A``, lone surrogates, syntax errors).

What it does not do: compile or run a pattern, or name the place in a schema
(:mod:`.regex` does both).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TypeAlias

MAX_PATTERN_CHARS = 10_000  # longer patterns are refused before they are read
MAX_GROUP_DEPTH = 64  # nested groups; RE2's own limit is 1000, real patterns use < 10
MAX_REPEAT = 1000  # RE2's largest repeat count
MAX_CP = 0x10FFFF
BACKTRACKING_HINT = ("patterns run on RE2 (linear time, no backtracking): rewrite it without "
                     "lookaround, backreferences or possessive quantifiers")

# ---------------------------------------------------------------- the tree


@dataclass(frozen=True, slots=True)
class Char:
    """One code point."""
    cp: int


@dataclass(frozen=True, slots=True)
class Dot:
    """``.``: any character but a line terminator (any at all under the ``s`` flag)."""
    dotall: bool


@dataclass(frozen=True, slots=True)
class CharClass:
    """A character class: code-point ranges and Unicode properties (``(negated, RE2 name)``)."""
    negate: bool
    ranges: tuple[tuple[int, int], ...]
    props: tuple[tuple[bool, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Anchor:
    """``^``, ``$``, ``\\b`` or ``\\B``."""
    kind: str


@dataclass(frozen=True, slots=True)
class Flags:
    """``(?i)``: flags for the rest of the enclosing group."""
    flags: str


@dataclass(frozen=True, slots=True)
class Alt:
    """Alternatives, each a sequence of nodes; a whole pattern is one."""
    branches: tuple[tuple[Node, ...], ...]


@dataclass(frozen=True, slots=True)
class Group:
    """``(…)``, ``(?:…)``, ``(?<name>…)`` or a modifier group ``(?i:…)`` (``flags``)."""
    capture: bool
    flags: str
    body: Alt


@dataclass(frozen=True, slots=True)
class Repeat:
    """A quantified atom: ``lo`` to ``hi`` (None: unbounded) times, greedy or lazy."""
    lo: int
    hi: int | None
    greedy: bool
    body: Node


Node: TypeAlias = Char | Dot | CharClass | Anchor | Flags | Group | Repeat

DIGIT = ((0x30, 0x39),)
WORD = ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A))
SPACE = ((0x09, 0x0D), (0x20, 0x20), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A),
         (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000),
         (0xFEFF, 0xFEFF))  # ECMA-262 WhiteSpace + LineTerminator
_SETS = {"d": DIGIT, "w": WORD, "s": SPACE}
_CONTROL = {"t": 0x09, "n": 0x0A, "v": 0x0B, "f": 0x0C, "r": 0x0D}
# General_Category long names (ECMA accepts both) → the short names RE2 knows
_CATEGORIES = {
    "Letter": "L", "Uppercase_Letter": "Lu", "Lowercase_Letter": "Ll", "Titlecase_Letter": "Lt",
    "Modifier_Letter": "Lm", "Other_Letter": "Lo", "Mark": "M", "Combining_Mark": "M",
    "Nonspacing_Mark": "Mn", "Spacing_Mark": "Mc", "Enclosing_Mark": "Me", "Number": "N",
    "Decimal_Number": "Nd", "digit": "Nd", "Letter_Number": "Nl", "Other_Number": "No",
    "Punctuation": "P", "punct": "P", "Connector_Punctuation": "Pc", "Dash_Punctuation": "Pd",
    "Open_Punctuation": "Ps", "Close_Punctuation": "Pe", "Initial_Punctuation": "Pi",
    "Final_Punctuation": "Pf", "Other_Punctuation": "Po", "Symbol": "S", "Math_Symbol": "Sm",
    "Currency_Symbol": "Sc", "Modifier_Symbol": "Sk", "Other_Symbol": "So", "Separator": "Z",
    "Space_Separator": "Zs", "Line_Separator": "Zl", "Paragraph_Separator": "Zp", "Other": "C",
    "Control": "Cc", "cntrl": "Cc", "Format": "Cf", "Surrogate": "Cs", "Private_Use": "Co",
}


class PatternError(Exception):
    """A pattern that is not ECMA-262 (``format: regex`` says no)."""

    def __init__(self, what: str, hint: str | None = None) -> None:
        super().__init__(what)
        self.what, self.hint = what, hint


class Unsupported(PatternError):
    """An ECMA-262 pattern RE2 cannot run (a backtracking-only feature, a limit)."""


# ---------------------------------------------------------------- reading ECMA-262


class _Frame:
    """An open group while parsing."""

    __slots__ = ("branches", "capture", "dotall", "flags")

    def __init__(self, capture: bool, flags: str, dotall: bool) -> None:
        self.branches: list[list[Node]] = [[]]
        self.capture, self.flags, self.dotall = capture, flags, dotall


def _refuse(feature: str) -> Unsupported:
    return Unsupported(f"uses {feature}, which only a backtracking regex engine can run",
                       BACKTRACKING_HINT)


class _Parser:
    """One left-to-right pass with an explicit stack of open groups (no recursion)."""

    def __init__(self, text: str) -> None:
        self.p, self.i = text, 0

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.p[j] if j < len(self.p) else ""

    def run(self) -> Alt:
        stack = [_Frame(False, "", False)]
        while self.i < len(self.p):
            c, top = self.p[self.i], stack[-1]
            seq = top.branches[-1]
            if c == "(":
                frame = self.group(top)
                if isinstance(frame, Flags):
                    seq.append(frame)
                    continue
                if len(stack) > MAX_GROUP_DEPTH:
                    raise Unsupported(f"nests groups more than {MAX_GROUP_DEPTH} deep")
                stack.append(frame)
            elif c == ")":
                if len(stack) == 1:
                    raise PatternError(f"has an unmatched ')' at offset {self.i}")
                stack.pop()
                stack[-1].branches[-1].append(Group(top.capture, top.flags, _alt(top)))
                self.i += 1
            elif c == "|":
                top.branches.append([])
                self.i += 1
            elif c in "*+?" or (c == "{" and self.counts() is not None):
                self.quantify(seq)
            elif c in "^$":
                seq.append(Anchor(c))
                self.i += 1
            elif c == ".":
                seq.append(Dot(top.dotall))
                self.i += 1
            elif c == "[":
                seq.append(self.char_class())
            elif c == "\\":
                seq.append(self.escape(in_class=False))
            else:
                seq.append(Char(_code_point(c)))
                self.i += 1
        if len(stack) > 1:
            raise PatternError("has an unclosed '('")
        return _alt(stack[0])

    # -- groups

    def group(self, top: _Frame) -> _Frame | Flags:
        p, i = self.p, self.i
        if self.peek(1) != "?":
            self.i += 1
            return _Frame(True, "", top.dotall)
        rest = p[i + 2:i + 4]
        if rest[:1] == ":":
            self.i += 3
            return _Frame(False, "", top.dotall)
        for opener, feature in (("=", "a lookahead (?="), ("!", "a negative lookahead (?!"),
                                ("<=", "a lookbehind (?<="), ("<!", "a negative lookbehind (?<!"),
                                (">", "an atomic group (?>"), ("P=", "a backreference (?P=name)"),
                                ("(", "a conditional group (?("), ("R", "recursion (?R)"),
                                ("&", "a subroutine call (?&"), ("P>", "a subroutine call (?P>"),
                                ("|", "a branch reset group (?|")):
            if rest.startswith(opener):
                raise _refuse(feature)
        if rest[:1].isdigit() or (rest[:1] in ("+", "-") and rest[1:2].isdigit()):
            raise _refuse("a subroutine call (?1)")
        if rest[:1] == "<" or rest[:2] == "P<":
            start = i + (3 if rest[0] == "<" else 4)
            end = p.find(">", start)
            name = p[start:end] if end > 0 else ""
            if not name or not name.replace("$", "_").isidentifier():
                raise PatternError(f"has a bad group name at offset {i}")
            self.i = end + 1
            return _Frame(True, "", top.dotall)
        j = i + 2
        while j < len(p) and p[j] in "ims-":
            j += 1
        flags, term = p[i + 2:j], p[j:j + 1]
        if term in (":", ")") and flags and flags.count("-") <= 1 and not flags.endswith("-"):
            self.i = j + 1
            on, _, off = flags.partition("-")
            dotall = True if "s" in on else False if "s" in off else top.dotall
            if term == ")":
                top.dotall = dotall
                return Flags(flags)
            return _Frame(False, flags, dotall)
        what = p[i:j + 1]
        if term.isalpha():
            raise Unsupported(f"uses the inline flag {term!r} in {what!r}; only i, m and s "
                               "are supported")
        raise PatternError(f"has an unknown group syntax {what!r} at offset {i}")

    # -- quantifiers

    def counts(self) -> tuple[int, int | None, int] | None:
        """``{n}``, ``{n,}`` or ``{n,m}`` at the cursor: (n, m, length); None: a literal ``{``."""
        p, j = self.p, self.i + 1
        k = j
        while k < len(p) and p[k].isdigit():
            k += 1
        if k == j:
            return None
        lo = _count(p[j:k])
        if k < len(p) and p[k] == "}":
            return lo, lo, k + 1 - self.i
        if k >= len(p) or p[k] != ",":
            return None
        m = k + 1
        while m < len(p) and p[m].isdigit():
            m += 1
        if m >= len(p) or p[m] != "}":
            return None
        return lo, (_count(p[k + 1:m]) if m > k + 1 else None), m + 1 - self.i

    def quantify(self, seq: list[Node]) -> None:
        c = self.p[self.i]
        if c == "{":
            lo, hi, n = self.counts()  # type: ignore[misc]
        else:
            lo, hi, n = {"*": (0, None, 1), "+": (1, None, 1), "?": (0, 1, 1)}[c]
        quant = self.p[self.i:self.i + n]
        if not seq or isinstance(seq[-1], (Anchor, Flags, Repeat)):
            raise PatternError(f"has nothing to repeat before {quant!r} at offset {self.i}")
        if hi is not None and hi < lo:
            raise PatternError(f"has the counts out of order in {quant!r}")
        if max(lo, hi or 0) > MAX_REPEAT:
            raise Unsupported(f"repeats {quant!r}, over RE2's limit of {MAX_REPEAT}",
                               "for a length limit use minLength/maxLength instead")
        self.i += n
        greedy = self.peek() != "?"
        self.i += 0 if greedy else 1
        if self.peek() == "+":
            raise _refuse(f"a possessive quantifier {quant}+")
        seq[-1] = Repeat(lo, hi, greedy, seq[-1])

    # -- classes and escapes

    def char_class(self) -> CharClass:
        self.i += 1
        negate = self.peek() == "^"
        self.i += 1 if negate else 0
        ranges: list[tuple[int, int]] = []
        props: list[tuple[bool, str]] = []
        while True:
            if self.i >= len(self.p):
                raise PatternError("has an unclosed '['")
            if self.p[self.i] == "]":
                self.i += 1
                return CharClass(negate, _merge(ranges), tuple(props))
            first = self.class_atom()
            if isinstance(first, int) and self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.i += 1
                last = self.class_atom()
                if isinstance(last, int):
                    if last < first:
                        raise PatternError("has a class range out of order ending at offset "
                                           f"{self.i}")
                    ranges.append((first, last))
                    continue
                ranges.append((first, first))
                ranges.append((0x2D, 0x2D))  # Annex B: [a-\d] is a, -, and the digits
                first = last
            if isinstance(first, int):
                ranges.append((first, first))
            else:
                ranges.extend(first.ranges)
                props.extend(first.props)

    def class_atom(self) -> int | CharClass:
        if self.p[self.i] != "\\":
            self.i += 1
            return _code_point(self.p[self.i - 1])
        node = self.escape(in_class=True)
        if isinstance(node, Char):
            return node.cp
        assert isinstance(node, CharClass)
        return CharClass(False, _complement(node.ranges) if node.negate else node.ranges,
                         node.props)

    def escape(self, in_class: bool) -> Node:
        """The escape at the cursor (``\\`` then at least one character)."""
        start = self.i
        c = self.peek(1)
        self.i += 2
        if c == "":
            raise PatternError("ends with a lone backslash")
        if c.lower() in _SETS:
            return CharClass(c.isupper(), _SETS[c.lower()])
        if c in "bB":
            if in_class:
                if c == "B":
                    raise PatternError("has \\B inside a class")
                return Char(0x08)
            return Anchor("\\" + c)
        if c in _CONTROL:
            return Char(_CONTROL[c])
        if c == "0" and not self.peek().isdigit():
            return Char(0)
        if c.isdigit():
            end = self.i
            while end < len(self.p) and self.p[end].isdigit():
                end += 1
            raise _refuse(f"a backreference {self.p[start:end]}") if not in_class and c != "0" \
                else PatternError(f"has an octal escape {self.p[start:end]!r}")
        if c == "k" and self.peek() == "<":
            end = self.p.find(">", self.i)
            raise _refuse("a backreference " + (self.p[start:end + 1] if end > 0 else "\\k<"))
        if c == "c":
            letter = self.peek()
            if not (letter.isascii() and letter.isalpha()):
                raise PatternError(f"has an invalid control escape at offset {start}")
            self.i += 1
            return Char(ord(letter) % 32)
        if c == "x":
            return Char(self.hex_digits(2, start))
        if c == "u":
            return Char(self.unicode_escape(start))
        if c in "pP":
            return self.property(negate=c == "P", start=start)
        if c.isascii() and c.isalnum():
            raise PatternError(f"uses the escape \\{c}, which ECMA-262 does not define",
                       "escape only punctuation; ^ and $ are the ends of the text")
        return Char(_code_point(c))

    def hex_digits(self, n: int, start: int) -> int:
        digits = self.p[self.i:self.i + n]
        if len(digits) != n or any(d not in "0123456789abcdefABCDEF" for d in digits):
            raise PatternError(f"has an invalid escape at offset {start}")
        self.i += n
        return int(digits, 16)

    def unicode_escape(self, start: int) -> int:
        if self.peek() == "{":
            end = self.p.find("}", self.i)
            digits = self.p[self.i + 1:end] if end > 0 else ""
            if not digits or len(digits) > 6 or any(d not in "0123456789abcdefABCDEF"
                                                    for d in digits) or int(digits, 16) > MAX_CP:
                raise PatternError(f"has an invalid \\u{{…}} escape at offset {start}")
            self.i = end + 1
            return _code_point(chr(int(digits, 16)))
        cp = self.hex_digits(4, start)
        if 0xD800 <= cp <= 0xDBFF and self.p[self.i:self.i + 2] == "\\u":
            save = self.i
            self.i += 2
            try:
                low = self.hex_digits(4, start)
            except PatternError:
                low = -1
            if 0xDC00 <= low <= 0xDFFF:
                return 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00)
            self.i = save
        return _code_point(chr(cp))

    def property(self, negate: bool, start: int) -> CharClass:
        if self.peek() == "{":
            end = self.p.find("}", self.i)
            if end < 0:
                raise PatternError(f"has an unclosed \\p{{ at offset {start}")
            body = self.p[self.i + 1:end]
            self.i = end + 1
        else:
            body = self.peek()
            self.i += 1
        key, _, value = body.rpartition("=")
        if not value or not all(ch.isascii() and (ch.isalnum() or ch == "_") for ch in value):
            raise PatternError(f"has an invalid Unicode property escape at offset {start}")
        if key in ("", "General_Category", "gc"):
            value = _CATEGORIES.get(value, value)
        elif key not in ("Script", "sc"):
            raise Unsupported(f"uses the Unicode property {key}=, which RE2 does not have")
        if value == "ASCII" and not key:
            return CharClass(negate, ((0, 0x7F),))
        return CharClass(False, (), ((negate, value),))


def _alt(frame: _Frame) -> Alt:
    return Alt(tuple(tuple(seq) for seq in frame.branches))


def _code_point(ch: str) -> int:
    cp = ord(ch)
    if 0xD800 <= cp <= 0xDFFF:
        raise PatternError(f"has a lone surrogate U+{cp:04X}", "write the character itself")
    return cp


def _count(digits: str) -> int:
    return int(digits) if len(digits) <= 7 else MAX_REPEAT + 1  # int() of 5000 digits raises


def _merge(ranges: list[tuple[int, int]] | tuple[tuple[int, int], ...]
           ) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)


def _complement(ranges: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    out, nxt = [], 0
    for lo, hi in _merge(ranges):
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= MAX_CP:
        out.append((nxt, MAX_CP))
    return tuple(out)


@lru_cache(maxsize=16)
def read(pattern: str) -> Alt:
    """The tree of ``pattern`` (cached; trees are immutable); :class:`PatternError` or
    :class:`Unsupported` when it is refused."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise Unsupported(f"is {len(pattern)} characters long, over the limit of "
                          f"{MAX_PATTERN_CHARS}")
    return _Parser(pattern).run()
