"""A cheap language guess for a page or a query: script first, then stop-word counts.

The embedding pruner's encoder (all-MiniLM-L6-v2) is English-only: on Russian and German pages
it misses what BM25 finds. ``auto`` (see :mod:`retrieval.prune`) uses :func:`is_english` to fall
back to BM25 there; the HTML benchmark uses :func:`guess_language` to report recall per language.

How: letters of non-Latin scripts are counted by Unicode block (Cyrillic -> ``ru``, Hangul ->
``ko``, kana -> ``ja``, Han without kana -> ``zh``, Arabic, Greek, Hebrew, Thai, Devanagari); for
Latin text, the language whose short stop-word list covers the most tokens wins, when it covers
at least ``MIN_SHARE`` of them. It does not use the page's ``<html lang>`` (site templates often
say ``en`` on other languages' pages), does not tell close languages apart reliably on a handful
of words, and returns ``"unknown"`` rather than guessing on too little text.
"""

from __future__ import annotations

import re
from collections import Counter

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
MIN_SHARE = 0.12  # stop-word share of tokens below which Latin text is "unknown"
MIN_TOKENS = 3
MIN_JUDGED = 12  # words below which is_english judges the script only (a query)
# the most frequent function words of each language (short lists: ambiguity between languages is
# settled by the share, not by any single word)
STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset("the of and to in is that for it with as was on be by at this are from or "
                    "have an which not but they his her has were been their will would there "
                    "what about who more when can said".split()),
    "de": frozenset("der die das und ist nicht mit von den dem des sich auf für ein eine einen "
                    "auch als wie bei aus nach wird sind wurde oder noch über zum zur im vom "
                    "sie er es dass hat werden".split()),
    "fr": frozenset("le la les et des est une du que qui dans pour pas sur au avec ce il elle "
                    "sont par plus ont été aux ses leur cette mais ou nous vous".split()),
    "es": frozenset("el la los las y que del en un una es por con para se no su al lo como más "
                    "pero sus le ya o fue ha este está son entre".split()),
    "it": frozenset("il la che di e per un una non sono della del dei nel con si da al le gli "
                    "anche come ma più questo è ha alla".split()),
    "pt": frozenset("o a os as e que do da dos das em um uma para com não por se mais foi ao "
                    "na no é pelo pela ser está como mas".split()),
    "nl": frozenset("de het een en van is dat die niet op te zijn met voor aan er ook als bij "
                    "maar dan om nog wordt werd heeft door".split()),
}
SCRIPTS: tuple[tuple[str, int, int], ...] = (
    ("ru", 0x0400, 0x04FF), ("el", 0x0370, 0x03FF), ("he", 0x0590, 0x05FF),
    ("ar", 0x0600, 0x06FF), ("hi", 0x0900, 0x097F), ("th", 0x0E00, 0x0E7F),
    ("ko", 0xAC00, 0xD7AF), ("ko", 0x1100, 0x11FF), ("ja", 0x3040, 0x30FF),
    ("zh", 0x4E00, 0x9FFF),
)


def _script(ch: str) -> str | None:
    o = ord(ch)
    if o < 0x0370:
        return None
    for name, lo, hi in SCRIPTS:
        if lo <= o <= hi:
            return name
    return None


def guess_language(text: str, max_chars: int = 20_000) -> str:
    """``"en"``, ``"de"``, ``"ru"``, ... or ``"unknown"`` (see the module docstring)."""
    text = text[:max_chars]
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return "unknown"
    scripts = Counter(s for s in map(_script, letters) if s is not None)
    if scripts and sum(scripts.values()) >= 0.3 * len(letters):
        if scripts.get("ja") and scripts["ja"] >= 0.05 * len(letters):
            return "ja"  # Japanese mixes kana with Han
        return scripts.most_common(1)[0][0]
    tokens = [t.lower() for t in _WORD.findall(text)]
    if len(tokens) < MIN_TOKENS:
        return "unknown"
    shares = {lang: sum(t in words for t in tokens) / len(tokens)
              for lang, words in STOPWORDS.items()}
    best = max(shares, key=lambda k: shares[k])
    return best if shares[best] >= MIN_SHARE else "unknown"


def _latin(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return not letters or sum(ord(c) < 0x0250 for c in letters) >= 0.7 * len(letters)


def is_english(text: str) -> bool:
    """True when ``text`` reads as English. Under ``MIN_JUDGED`` words (a query) only the script
    is judged — a few words say little about a Latin-script language ("how do ferries run":
    "do" is Portuguese too) — so any Latin-script text counts; longer text must guess as ``en``,
    or as ``unknown`` in Latin script (no stop words of any listed language)."""
    if len(_WORD.findall(text)) < MIN_JUDGED:
        return _latin(text)
    lang = guess_language(text)
    return lang == "en" or (lang == "unknown" and _latin(text))
