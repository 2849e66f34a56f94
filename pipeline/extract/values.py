"""Type-aware value parsers: raw text spans → typed values, with a score for how well they fit.

Each parser takes a text span (a key–value value, a table cell, a line) and returns a
:class:`Parsed` (the normalised value, the exact substring it came from, and a fit in [0, 1]) or
``None``. Dates in many written forms become ISO 8601 (``YYYY-MM-DD``); amounts become floats
(``1.234,56`` and ``1,234.56`` both read as 1234.56) with their currency; ids, e-mails, phone
numbers and multi-line addresses are recognised by shape. Every result also keeps the value *as
printed* (:attr:`Parsed.as_printed`: ``11/01/2018``, ``7.00``, ``$8.20``), after the OCR repairs
of :mod:`.ocrfix`; which of the two a field gets is the schema's call
(:func:`pipeline.extract.extractive.field_value`). This module knows nothing about documents,
schemas or embeddings; :mod:`pipeline.extract.extractive` combines these scores with label
similarity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from prunestack.pipeline.extract.ocrfix import (
    join_dangling_separators,
    join_split_postal,
    ocr_compact_date,
    ocr_compact_number,
    split_glued_time,
)
from prunestack.pipeline.schema import ISO_CURRENCIES

MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
    "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9,
    "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12,
    "december": 12,
}
CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "₩": "KRW",
                    "CHF": "CHF", "Fr.": "CHF", "R$": "BRL", "A$": "AUD", "C$": "CAD",
                    "US$": "USD", "S$": "SGD", "RM": "MYR", "kr": "SEK", "zł": "PLN"}


@dataclass(frozen=True)
class Parsed:
    """A typed value read from ``span`` (the substring of the input it came from)."""

    value: Any
    span: str
    fit: float  # 1.0 = the whole input is exactly this kind of value; lower = found inside text
    #: the value as printed where that is less than ``span`` (an amount without a currency code
    #: set off by a space); None: ``span`` is the printed value
    printed: str | None = None

    @property
    def as_printed(self) -> str:
        """The value as it stands in the text: ``printed`` or ``span``, whitespace collapsed
        (the lines of a multi-line value joined by one space; nothing is added or reordered)."""
        return " ".join((self.span if self.printed is None else self.printed).split())


def _fit(span: str, text: str) -> float:
    """How much of ``text`` the matched ``span`` covers (a value alone in its cell fits best)."""
    t = text.strip()
    if not t:
        return 0.0
    return 0.5 + 0.5 * min(1.0, len(span.strip()) / len(t))


# ---------------------------------------------------------------------------- dates
_MON = r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|jun(?:e)?|jul(?:y)?|" \
       r"aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_DATE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("ymd", re.compile(r"\b(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?:\b|(?=T\d))")),
    ("dmy_or_mdy", re.compile(r"\b(?P<a>\d{1,2})[-/.](?P<b>\d{1,2})[-/.](?P<y>\d{4}|\d{2})\b")),
    ("d_mon_y", re.compile(r"\b(?P<d>\d{1,2})(?:st|nd|rd|th)?[\s\-./]+" + _MON
                           + r"[\s\-./,]+(?P<y>\d{4})\b", re.I)),
    ("mon_d_y", re.compile(r"\b" + _MON + r"[\s\-.]+(?P<d>\d{1,2})(?:st|nd|rd|th)?(?:,\s*|\s+)"
                           r"(?P<y>\d{4})\b", re.I)),
    ("y_mon_d", re.compile(r"\b(?P<y>\d{4})[\s\-./]+" + _MON + r"[\s\-./]+(?P<d>\d{1,2})\b", re.I)),
]


def _mk_date(y: int, m: int, d: int) -> date | None:
    if y < 100:
        y += 2000 if y < 70 else 1900
    try:
        return date(y, m, d)
    except ValueError:
        return None


# Locale signs for documents whose numeric dates are all ambiguous (no part above 12).
_DOT_DATE = re.compile(r"\b\d{1,2}\.\d{1,2}\.(?:\d{4}|\d{2})\b")  # 05.09.2022: day-first
#: US state codes: a state + ZIP code is a US sign; other two capitals + five digits are not
#: ("HUSSEIN ON 47300" on a Malaysian receipt that OCR read as "ON").
_US_STATES = ("AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT "
              "NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY").split()
_US_SIGNS = re.compile(r"(?<![A-Za-z])(?:US\$|USD\b|\$(?=\s?\d))"
                       rf"|\b(?:{'|'.join(_US_STATES)}) \d{{5}}(?:-\d{{4}})?\b")
_DAYFIRST_SIGNS = re.compile(r"[€£]|\b(?:EUR|GBP|CHF|VAT|MwSt|USt|TVA|IVA|BTW)\b")


def date_order_hint(texts: list[str]) -> bool | None:
    """Whether numeric dates in these texts are day-first (True), month-first (False) or unknown.

    Unambiguous dates decide (a part above 12: ``31/01/2024`` or ``01/31/2024``). Without one,
    locale signs vote: dot-separated dates (``05.09.2022``) are day-first; US dollar amounts and
    US state + ZIP addresses (``CA 94105``) point to month-first; euro/pound amounts and VAT
    labels to day-first. Unknown when nothing decides."""
    votes = 0
    for t in texts:
        for m in _DATE_PATTERNS[1][1].finditer(t):
            a, b = int(m["a"]), int(m["b"])
            if a > 12 >= b:
                votes += 1
            elif b > 12 >= a:
                votes -= 1
    if votes:
        return votes > 0
    text = "\n".join(texts)
    if _DOT_DATE.search(text):
        return True
    signs = len(_DAYFIRST_SIGNS.findall(text)) - len(_US_SIGNS.findall(text))
    return None if signs == 0 else signs > 0


def parse_date(text: str, dayfirst: bool | None = None) -> Parsed | None:
    """The first date in ``text`` as an ISO 8601 string (``2024-03-15``); a text without one is
    read again with OCR spaces around separators removed (``ocr_compact_date``) and a glued-on
    time split off (``split_glued_time``: "25/10/201919:28:17")."""
    found = _parse_date(split_glued_time(text), dayfirst)  # "28/12/1913:34:59" is not 1913
    if found is None:
        compact = split_glued_time(ocr_compact_date(text))
        if compact != text:
            found = _parse_date(compact, dayfirst)
    return found


def _parse_date(text: str, dayfirst: bool | None) -> Parsed | None:
    for kind, pat in _DATE_PATTERNS:
        for m in pat.finditer(text):
            if kind == "ymd":
                d = _mk_date(int(m["y"]), int(m["m"]), int(m["d"]))
            elif kind == "dmy_or_mdy":
                a, b, y = int(m["a"]), int(m["b"]), int(m["y"])
                if a > 12:
                    d = _mk_date(y, b, a)
                elif b > 12:
                    d = _mk_date(y, a, b)
                else:
                    d = _mk_date(y, b, a) if dayfirst in (None, True) else _mk_date(y, a, b)
            else:
                d = _mk_date(int(m["y"]), MONTHS[m["mon"].lower().rstrip(".")], int(m["d"]))
            if d is not None:
                return Parsed(d.isoformat(), m.group(0), _fit(m.group(0), text))
    return None


# ---------------------------------------------------------------------------- amounts
_AMOUNT = re.compile(
    r"(?P<pre>(?:[A-Z]{3}|US\$|[AC]\$|R\$|S\$|RM|Fr\.|[$€£¥₹₩])\s?)?"
    r"(?P<sign>[-−–(])?\s?"
    r"(?P<num>\d{1,3}(?:[,.\s’']\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?)"
    r"(?P<post>\s?(?:[A-Z]{3}\b|[€£$]|kr|zł))?"
)


def _num(raw: str) -> float | None:
    s = raw.replace(" ", "").replace("’", "").replace("'", "")
    if "," in s and "." in s:
        dec = "," if s.rfind(",") > s.rfind(".") else "."
        s = s.replace("." if dec == "," else ",", "").replace(",", ".")
    elif "," in s or s.count(".") > 1:
        # One mark: "12,50" is a decimal comma, "1,250" groups thousands. Repeated marks group
        # thousands ("1.250.000"), unless the last group has 1-2 digits: thousands groups have
        # three, so "2.378.53" / "8,192,91" (OCR misreading one mark) end in decimals.
        mark = "," if "," in s else "."
        head, tail = s.rsplit(mark, 1)
        if len(tail) in (1, 2):
            s = head.replace(mark, "") + "." + tail
        else:
            s = s.replace(mark, "")
    try:
        return float(s)
    except ValueError:
        return None


def _currency_code(tok: str | None) -> str | None:
    if not tok:
        return None
    tok = tok.strip()
    if tok in ISO_CURRENCIES:
        return tok
    return CURRENCY_SYMBOLS.get(tok)


def parse_amount(text: str) -> Parsed | None:
    """The most amount-like number in ``text`` (a currency mark or decimals preferred); a text
    that is one OCR-spaced number is read without its spaces (``ocr_compact_number``)."""
    text = ocr_compact_number(text)
    best: tuple[float, Parsed] | None = None
    for m in _AMOUNT.finditer(text):
        pre, post = _currency_code(m["pre"]), _currency_code(m["post"])
        if m["pre"] and not pre:  # "INV-1234": letters before the number are not a currency
            continue
        value = _num(m["num"])
        if value is None:
            continue
        if m["sign"] in ("-", "−", "–", "("):
            value = -value
        # Numbers glued to letters or other numbers (ids such as INV-2024-00123) are not amounts.
        s, e, b = m.start("num"), m.end("num"), m.start()
        if (b > 0 and (text[b - 1].isalnum() or text[b - 1] in "-/#_")) or \
                (e < len(text) and (text[e].isalnum() or text[e:e + 2] in ("-0", "/0"))):
            continue
        if text[e:e + 2].lstrip()[:1] == "%":
            continue  # "SR @ 6%", "GST 6 %": a rate, not an amount
        if parse_date(text[max(0, s - 6):e + 6]) and not (pre or post):
            continue
        has_dec = bool(re.search(r"[.,]\d{2}$", m["num"]))
        if not (pre or post or has_dec) and len(re.sub(r"\D", "", m["num"])) >= 7:
            continue  # a long bare integer is an account number or an id, not an amount
        rank = (2.0 if (pre or post) else 0.0) + (1.0 if has_dec else 0.0) + e / (10 * len(text))
        span = m.group(0).strip()
        cand = Parsed(round(value, 2), span, _fit(span, text), _amount_token(text, m))
        if best is None or rank > best[0]:
            best = (rank, cand)
    return best[1] if best else None


def _amount_token(text: str, m: re.Match[str]) -> str:
    """An amount as printed: its number with what is glued to it — a sign, a currency symbol or
    code written without a space (``$8.20``, ``RM8.20``, ``-1.73``, ``(12.00)``, ``8.20€``); a
    currency set off by a space is a word of its own and stays out (``RM 8.20`` → ``8.20``)."""
    start, end = m.start("num"), m.end("num")
    if m["sign"] and m.end("sign") == start:
        start = m.start("sign")
        if m["sign"] == "(" and text[end:end + 1] == ")":
            end += 1
    if m["pre"] and m.end("pre") == start and not m["pre"][-1].isspace():
        start = m.start("pre")
    if m["post"] and m.start("post") == end and not m["post"][0].isspace():
        end = m.end("post")
    return text[start:end]


def printed_amounts(text: str) -> list[str]:
    """Every amount of ``text`` as printed, in order, each once: the token ``parse_amount``
    would print (:func:`_amount_token`), and, where a currency word is set off by a space
    (``RM 13.30``), that form too — which of the two a document's reader calls "the amount"
    is a convention a scorer learns, not a rule."""
    found: list[str] = []
    for m in _AMOUNT.finditer(text):
        forms = [_amount_token(text, m).strip()]
        if m["pre"] and m["pre"][-1].isspace() and _currency_code(m["pre"]):
            forms.append(text[m.start("pre"):m.end("num")].strip())
        for tok in forms:
            if tok and tok not in found and parse_amount(tok) is not None:
                found.append(tok)
    return found


def parse_currency(text: str) -> Parsed | None:
    """An ISO 4217 code from a code or a symbol in ``text``."""
    m = re.search(r"\b(" + "|".join(sorted(ISO_CURRENCIES)) + r")\b", text)
    if m:
        return Parsed(m.group(1), m.group(1), _fit(m.group(1), text))
    for sym in sorted(CURRENCY_SYMBOLS, key=len, reverse=True):
        if sym in text and (len(sym) == 1 or re.search(re.escape(sym) + r"(?![A-Za-z])", text)):
            return Parsed(CURRENCY_SYMBOLS[sym], sym, 0.6)
    return None


# ---------------------------------------------------------------------------- numbers
def parse_number(text: str, integer: bool = False) -> Parsed | None:
    m = re.search(r"[-−]?\d[\d,.\s’']*\d|[-−]?\d", text)
    if not m:
        return None
    value = _num(m.group(0).replace("−", "-").lstrip("-"))
    if value is None:
        return None
    if m.group(0).startswith(("-", "−")):
        value = -value
    if integer:
        if value != int(value):
            return None
        return Parsed(int(value), m.group(0), _fit(m.group(0), text))
    return Parsed(value, m.group(0), _fit(m.group(0), text))


# ---------------------------------------------------------------------------- shapes
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d[\d\s.-]{5,}\d")
_URL = re.compile(r"https?://\S+|www\.\S+")
_ID = re.compile(r"\b(?=[A-Za-z0-9/#_-]*\d)[A-Za-z0-9][A-Za-z0-9/#_.-]{2,}[A-Za-z0-9]\b")


def parse_email(text: str) -> Parsed | None:
    m = _EMAIL.search(text)
    return Parsed(m.group(0), m.group(0), _fit(m.group(0), text)) if m else None


def parse_phone(text: str) -> Parsed | None:
    for m in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if 7 <= len(digits) <= 15 and not parse_date(m.group(0)):
            span = m.group(0).strip()
            return Parsed(span, span, _fit(span, text))
    return None


def parse_url(text: str) -> Parsed | None:
    m = _URL.search(text)
    if not m:
        return None
    url = m.group(0).rstrip(".,;")  # the sentence's full stop is not part of the address
    return Parsed(url, m.group(0), _fit(m.group(0), text), url)


_SPACED_ID = re.compile(r"^(?=.*\d)[A-Z0-9][A-Z0-9 /.-]{3,28}[A-Z0-9]$")


def parse_identifier(text: str) -> Parsed | None:
    """An id-like token (letters, digits and separators with at least one digit); a short value
    made only of capitals, digits and spaces ("GB 284 1173 56") is taken whole."""
    # OCR "IN- 2023-7": a space on one side of a hyphen or slash
    text = join_dangling_separators(text)
    t = text.strip()
    if _SPACED_ID.match(t) and " " in t and not parse_date(t) and not t.startswith(("+", "(")) and \
            not re.fullmatch(r"[\d\s.,]+", t):
        return Parsed(t, t, 1.0)
    cands = [m.group(0) for m in _ID.finditer(text)
             if not parse_date(m.group(0)) and not _EMAIL.fullmatch(m.group(0))
             and not re.fullmatch(r"\d+[.,]\d{1,2}", m.group(0))]
    if not cands:
        return None
    span = max(cands, key=lambda c: (sum(ch.isdigit() for ch in c) > 0, len(c)))
    return Parsed(span, span, _fit(span, text))


_POSTAL = re.compile(r"\b\d{4,6}(?:-\d{4})?\b|\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b")
_STREET = re.compile(r"\b\d+[A-Za-z]?\s+\w+.*\b(street|st|road|rd|avenue|ave|lane|ln|drive|dr|"
                     r"boulevard|blvd|\w*way|\w*strasse|\w*straße|\w*gasse|\w*weg|rue|via|"
                     r"\w*platz|place|pl|court|ct|crescent|square|sq|terrace|close|row|quay|"
                     r"parkway|highway|circle|gardens)\b\.?", re.I)


_HOUSE_STREET = re.compile(r"\b\d{1,4}[A-Za-z]?\s+(?P<w>[A-Z][a-zäöüéèß]+)")


def address_score(text: str) -> float:
    """How address-like a (possibly multi-line) text is, in [0, 1]."""
    s = 0.0
    house = [m for m in _HOUSE_STREET.finditer(text) if m["w"].lower() not in MONTHS]
    if _STREET.search(text) or house:
        s += 0.5
    if _POSTAL.search(text):
        s += 0.3
    if "," in text or "\n" in text:
        s += 0.2
    return min(1.0, s)


def parse_address(text: str) -> Parsed | None:
    sc = address_score(text)
    if sc < 0.5:
        return None
    value = ", ".join(p.strip(" ,") for p in text.splitlines() if p.strip(" ,"))
    return Parsed(value, text, sc)


def parse_boolean(text: str) -> Parsed | None:
    t = text.strip().lower()
    if t in {"yes", "y", "true", "x", "☑", "✓", "paid", "1"}:
        return Parsed(True, text, 1.0)
    if t in {"no", "n", "false", "☐", "unpaid", "0"}:
        return Parsed(False, text, 1.0)
    return None


def parse_string(text: str) -> Parsed | None:
    t = " ".join(text.split())
    return Parsed(t, text, 1.0) if t else None


def parse_enum(text: str, options: list[Any]) -> Parsed | None:
    low = text.lower()
    for opt in sorted(options, key=lambda o: -len(str(o))):
        if str(opt).lower() == low.strip():
            return Parsed(opt, text, 1.0)
    for opt in sorted(options, key=lambda o: -len(str(o))):
        if re.search(r"\b" + re.escape(str(opt).lower()) + r"\b", low):
            return Parsed(opt, str(opt), 0.7)
    return None


# ---------------------------------------------------------------------------- address parts
COUNTRIES = frozenset(c.lower() for c in [
    "United Kingdom", "UK", "Germany", "France", "Netherlands", "Spain", "United States", "USA",
    "US", "Canada", "Ireland", "Austria", "Portugal", "Switzerland", "Italy", "Belgium",
    "Denmark", "Sweden", "Norway", "Finland", "Poland", "Czech Republic", "Czechia", "Hungary",
    "Greece", "Japan", "China", "India", "Australia", "New Zealand", "Brazil", "Mexico",
    "Singapore", "Malaysia", "South Africa", "Luxembourg", "Deutschland", "España", "Italia",
    "Schweiz", "Suisse", "Österreich", "Nederland", "Belgique", "Sverige", "Norge", "Danmark",
    "Polska", "Türkiye", "Turkey", "United Arab Emirates", "Hong Kong", "South Korea", "Korea",
])


def _ocr_key(text: str) -> str:
    """Lower-case ``text`` with the letters OCR confuses at a word start made one ("lreland",
    "1taly" and "Ireland" all read "ireland")."""
    return re.sub(r"\b[l1|](?=[a-z])", "i", text.lower())


_COUNTRY_KEYS = {_ocr_key(c): c for c in COUNTRIES}


def country_name(text: str) -> str | None:
    """The country ``text`` names (``COUNTRIES``, lower-case), tolerating l/I/1 confusions."""
    return _COUNTRY_KEYS.get(_ocr_key(text.strip(" ,.")))


def _trailing_country(text: str) -> tuple[str, str] | None:
    """``(rest, country as written)`` when ``text`` ends with a country name after other words."""
    toks = text.split()
    for n in (3, 2, 1):
        if len(toks) > n and country_name(" ".join(toks[-n:])):
            return " ".join(toks[:-n]), " ".join(toks[-n:])
    return None


def _fix_country(written: str) -> str:
    """A country as written, with an OCR-confused first letter put right ("lreland")."""
    key = country_name(written)
    if key is None or written.lower() == key:
        return written
    return re.sub(r"^[l1|]", "I", written)


_POST_CITY = re.compile(r"^(?P<post>\d{4,6}(?:-\d{4})?|[A-Z]{1,2}-\d{4,5})\s+(?P<city>\D.+)$")
_CITY_POST = re.compile(r"^(?P<city>\D+?),?\s+(?:(?P<state>[A-Z]{2})\s+)?"
                        r"(?P<post>\d{4,6}(?:-\d{4})?|[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2})$")


def split_address(text: str) -> dict[str, tuple[str, int]]:
    """Parts of a postal address written over lines (or comma-separated on one line).

    Returns ``{part: (value, line index)}`` for the parts found among ``name``, ``street``,
    ``postal_code``, ``city``, ``state`` and ``country``."""
    lines = [ln.strip(" ,") for ln in text.splitlines() if ln.strip(" ,")]
    if len(lines) == 1 and "," in lines[0]:
        lines = [p.strip() for p in lines[0].split(",") if p.strip()]
    elif len(lines) == 1:
        lines = _relines(lines[0])
    else:  # a line holding city, postal code and country ("Madrid 56988 Spain")
        lines = [part for ln in lines for part in
                 (_relines(ln) if _trailing_country(ln) and re.search(r"\d", ln) else [ln])]
    split: list[str] = []
    for ln in lines:  # "Greenfield Dental Clinic 22 Orchard Lane" → name + street
        m = re.match(r"^(\D{3,}?)\s+(\d{1,4}[A-Za-z]?\s+[A-Z].*)$", ln)
        if m and len(m.group(1).split()) >= 2 and m.group(1).lower() not in COUNTRIES:
            split += [m.group(1), m.group(2)]
        else:
            split.append(ln)
    lines = [join_split_postal(ln) for ln in split]
    out: dict[str, tuple[str, int]] = {}
    for i, ln in enumerate(lines):
        if country_name(ln) and "country" not in out:
            out["country"] = (_fix_country(ln), i)
            continue
        m = _POST_CITY.match(ln) or _CITY_POST.match(ln)
        if m and "postal_code" not in out:
            out["postal_code"] = (m["post"], i)
            out["city"] = (m["city"].strip(" ,"), i)
            if m.groupdict().get("state"):
                out["state"] = (m["state"], i)
            continue
        if "street" not in out and (_STREET.search(ln) or re.match(r"^\d+[A-Za-z]?\s+\D{3,}", ln)
                                    or re.search(r"\D{3,}\s+\d+[A-Za-z]?$", ln)):
            out["street"] = (ln, i)
    if "street" in out:
        head = [ln for j, ln in enumerate(lines) if j < out["street"][1]]
        if head:
            out["name"] = (head[-1], out["street"][1] - 1)
    elif "postal_code" in out and out["postal_code"][1] > 0:
        j = out["postal_code"][1] - 1
        out["street"] = (lines[j], j)
    if "city" not in out and "street" in out and "country" in out:
        j = out["street"][1] + 1
        if j < out["country"][1]:
            out["city"] = (lines[j], j)
    return out


def address_lines(text: str) -> list[str]:
    return [ln.strip(" ,") for ln in text.splitlines() if ln.strip(" ,")]


_PERCENT = re.compile(r"(?P<num>\d{1,3}(?:[.,]\d{1,3})?)\s?%")


def parse_percent(text: str) -> Parsed | None:
    """A percentage as its number (``19%`` → 19.0); a bare number is accepted with a lower fit."""
    m = _PERCENT.search(text)
    if m:
        return Parsed(float(m["num"].replace(",", ".")), m.group(0), _fit(m.group(0), text))
    p = parse_number(text)
    if p is not None and 0 <= p.value <= 100:
        return Parsed(p.value, p.span, p.fit * 0.6)
    return None


_HOUSE = re.compile(r"^\d{1,4}[A-Za-z]?$")
_POSTAL_TOKEN = re.compile(r"^(\d{4,6}(?:-\d{4})?)$")


def _relines(text: str) -> list[str]:
    """Re-split an address whose lines were joined with spaces ("Anna Costa 111 Linden Road
    75101 Amsterdam Netherlands") into name / street / postal+city / country lines."""
    toks = text.split()
    country = ""
    if country_name(text):
        country, toks = text, []
    elif (tail := _trailing_country(text)) is not None:
        country, toks = tail[1], tail[0].split()
    post_i = next((i for i in range(len(toks) - 1, 0, -1) if _POSTAL_TOKEN.match(toks[i])), None)
    house_i = next((i for i, t in enumerate(toks) if _HOUSE.match(t)
                    and (post_i is None or i < post_i)), None)
    lines: list[str] = []
    if house_i is not None and post_i is not None:
        if house_i > 0:
            lines.append(" ".join(toks[:house_i]))
        # postal code before the city ("75101 Amsterdam") or after it ("Toronto 94076")
        street_end = post_i
        city_after = post_i + 1 < len(toks)
        if not city_after:  # "... Street Toronto 94076": the city is the token(s) before
            street_end = post_i - 1
        lines.append(" ".join(toks[house_i:street_end]))
        lines.append(" ".join(toks[post_i:]) if city_after
                     else " ".join(toks[street_end:post_i + 1]))
    elif toks:
        lines.append(" ".join(toks))
    if country:
        lines.append(country)
    return [ln for ln in lines if ln]
