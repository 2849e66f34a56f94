"""Undo what OCR does to the spacing of values before they are parsed.

Scanned text carries spaces the page did not have: at date separators ("30/ 1 1 /2022"), on
one side of an id's hyphen ("IN- 2023-7"), inside a number's digit groups ("21 1,66",
"1 .491,69") and inside a postal code after a narrow "1" ("1 1346 Lisbon"). Each function here
removes one kind where the result is unambiguous and leaves every other text unchanged;
:mod:`pipeline.extract.values` calls them. Pure regular expressions, no I/O.
"""

from __future__ import annotations

import re

#: OCR spaces inside numeric dates: "01/ 10/2022", "30/ 1 1 /2022".
_SPACED_SEP = re.compile(r"(?<=\d)\s*([/.\-])\s*(?=\d)")
_SPLIT_PART = re.compile(r"(?<=[/.\-])(\d)\s(\d)(?=[/.\-])")


def ocr_compact_date(text: str) -> str:
    """``text`` without the spaces OCR puts around date separators and inside a 2-digit part."""
    return _SPLIT_PART.sub(r"\1\2", _SPACED_SEP.sub(r"\1", text))


#: A text that is one number (with an optional currency code or symbol) and spaces.
_NUMBER_ONLY = re.compile(r"^\s*(?:[A-Z]{3}\s?|[$€£¥₹])?[\d\s.,]*\d(?:\s?(?:[A-Z]{3}|[$€£]))?\s*$")
#: OCR spaces in one number: next to a mark ("1 .491,69", "1. 421,08") and before a short digit
#: group that ends at a mark ("21 1,66", "2.61 1,60": a thousands group has three digits).
_SPACE_AT_MARK = re.compile(r"(?<=\d)\s+(?=[.,]\d)|(?<=\d[.,])\s+(?=\d)")
_SPACE_IN_GROUP = re.compile(r"(?<=\d)\s+(?=\d{1,2}[.,]\d)")


#: one amount with two decimals and optional thousands groups: "135.85", "1,234.50"
_DECIMAL = re.compile(r"^\d{1,3}(?:[,.]\d{3})*[.,]\d{2}$|^\d+[.,]\d{2}$")


def ocr_compact_number(text: str) -> str:
    """A cell holding one OCR-spaced number with its spaces removed; other texts unchanged
    (in a line "3 1,50" may be a quantity and a price)."""
    if not _NUMBER_ONLY.match(text) or not re.search(r"\d\s+[\d.,]|[.,]\s+\d", text):
        return text
    marks_fixed = _SPACE_AT_MARK.sub("", text)
    toks = marks_fixed.split()
    if len(toks) >= 2 and all(_DECIMAL.match(t) for t in toks) and \
            len({t[-3] for t in toks}) == 1:
        # "135.85 8. 15": two amounts with the same decimal mark side by side (a tax summary
        # row); "2.61 1,60" is one number (2.611,60) split inside a thousands group
        return marks_fixed
    return _SPACE_IN_GROUP.sub("", marks_fixed)


#: A hyphen or slash with a space on one side only, between letters/digits.
_DANGLING_SEP = re.compile(r"(?<=[A-Za-z0-9])([-/])\s+(?=[A-Za-z0-9])"
                          r"|(?<=[A-Za-z0-9])\s+([-/])(?=[A-Za-z0-9])")


def join_dangling_separators(text: str) -> str:
    """``"IN- 2023-7"`` → ``"IN-2023-7"``; a dash spaced on both sides ("A - B") stays."""
    return _DANGLING_SEP.sub(lambda m: m.group(1) or m.group(2), text)


#: A postal code OCR split after its first one or two digits ("1 1346 Lisbon", "Paris 1 1950"):
#: a number is never followed by another number and a city name, nor a city by two numbers.
_SPLIT_POSTAL_HEAD = re.compile(r"^(\d{1,2}) (\d{3,5})(?=\s+[^\W\d_])")
_SPLIT_POSTAL_TAIL = re.compile(r"(?<=[^\W\d_])(\s+)(\d{1,2}) (\d{3,5})$")


def join_split_postal(line: str) -> str:
    """``"1 1346 Lisbon"`` → ``"11346 Lisbon"`` when the joined code has 4–6 digits."""
    m = _SPLIT_POSTAL_HEAD.match(line)
    if m and 4 <= len(m[1] + m[2]) <= 6:
        return m[1] + m[2] + line[m.end():]
    m = _SPLIT_POSTAL_TAIL.search(line)
    if m and 4 <= len(m[2] + m[3]) <= 6:
        return line[:m.start()] + m[1] + m[2] + m[3]
    return line


#: A date with the time glued on ("25/10/201919:28:17", "28 DEC 201722:34:34",
#: "2017-02-0322:05:03"): OCR drops the
#: space between them on till receipts. The year is four digits when what follows still starts a
#: valid time, else two ("28/12/1913:34:59" is 28/12/19 13:34).
_GLUED_TIME = re.compile(
    r"(?P<date>\b\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2})|\b\d{1,2}\s?[A-Za-z]{3}\s?\d{4}"
    r"|\b\d{4}[/.\-]\d{1,2}[/.\-]\d{2})"
    r"(?P<time>(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?)\b")


def split_glued_time(text: str) -> str:
    """``"25/10/201919:28:17"`` → ``"25/10/2019 19:28:17"``; other texts unchanged."""
    return _GLUED_TIME.sub(r"\g<date> \g<time>", text)


#: "L0R0NG", "IP0H": a zero between capital letters ("N0.", "C0.": after one, before a dot);
#: "811OO": letter O at the end of a run of digits that makes a postcode-long number.
_ZERO_IN_WORD = re.compile(r"(?<=[A-Z])0+(?=[A-Z])|(?<=[A-Z]{2})0+\b|(?<=\b[A-Z])0(?=\.)")
#: "D.1.Y.": a 1 between dotted capital initials
_ONE_IN_INITIALS = re.compile(r"(?<=\b[A-Z]\.)1(?=\.[A-Z]\.)|(?<=\b[A-Z]\.[A-Z]\.)1(?=\.)")
_O_IN_NUMBER = re.compile(r"\b(?=\d{2,}[O]+\b)(\d+)(O+)\b")


def fix_letter_digit_confusions(text: str) -> str:
    """Undo OCR's O/0 swaps inside capitalised words and numbers: ``"L0R0NG"`` → ``"LORONG"``,
    ``"811OO"`` → ``"81100"``. For letterhead text (names, addresses), not for ids, where
    ``"AB0C"`` may be what is printed."""
    text = _ONE_IN_INITIALS.sub("I", _ZERO_IN_WORD.sub(lambda m: "O" * len(m.group(0)), text))
    return _O_IN_NUMBER.sub(lambda m: m[1] + "0" * len(m[2]), text)


#: a space before a comma, semicolon, colon or full stop that ends a word group ("KPB 6 ,")
_SPACE_BEFORE_MARK = re.compile(r"(?<=\w)\s+([,;:.])(?=\s|$)")


def tidy_mark_spacing(text: str) -> str:
    """``text`` without the space OCR (or a monospaced till font's gap) leaves before a comma,
    semicolon, colon or full stop that closes a word group: "JALAN KPB 6 , KAWASAN" → "JALAN
    KPB 6, KAWASAN". A mark between two non-spaces ("NO.3", "1,50") is left alone."""
    return _SPACE_BEFORE_MARK.sub(r"\1", text)
