"""Re-join words that OCR word-spacing recovery split inside a word, checked against a lexicon.

Spacing recovery (``parsers.ocr.spacing``) reads word gaps from the pixels; on blurred or warped
scans a letter gap next to a straight stroke can pass for a space ("Mil l Road", "Instal
lation", "E lm"). ``merge_split_words`` joins two to four adjacent alphabetic fragments of a line
when the joined word is in the lexicon and at least one fragment is not a word by itself (a
single letter other than "a" or "I" never is). Two real words are never joined ("Key board"
stays), nor is a fragment that starts with a capital joined onto the word before it
("Market Square").

The lexicon is the whole-word part of the MiniLM WordPiece vocabulary (``vocab.txt`` of the
embedding model the extractive engine already ships with, ~22k English words and common names);
without that model the lexicon is empty and nothing is joined. Boxes of joined words are the
union of their fragments' boxes; confidence is their minimum.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from prunestack.models import minilm_path
from prunestack.parsers.primitives import Word
from prunestack.pipeline.document import BBox

#: Longest run of fragments joined into one word.
MAX_PARTS = 4
#: Joined words shorter than this are left alone (too many short words are in the lexicon).
MIN_JOINED = 3
_SINGLE_WORDS = frozenset({"a", "i"})
_TRAIL = ".,;:)!?"


@lru_cache(maxsize=1)
def default_lexicon() -> frozenset[str]:
    """Lower-case whole words of the MiniLM vocabulary (a dependency, so always installed)."""
    lines = (minilm_path() / "vocab.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(w for w in (ln.strip() for ln in lines) if w.isalpha() and w.islower())


def _is_word(frag: str, lexicon: frozenset[str]) -> bool:
    low = frag.lower()
    if len(low) == 1:
        return low in _SINGLE_WORDS
    return low in lexicon


def _core(text: str, last: bool) -> str | None:
    """The letters of a fragment (a trailing mark allowed on the last one), else None."""
    t = text.rstrip(_TRAIL) if last else text
    return t if t.isalpha() else None


def _joined(words: list[Word], lexicon: frozenset[str]) -> str | None:
    """The word ``words`` spell together when they are one split word, else None."""
    cores = [_core(w.text, i == len(words) - 1) for i, w in enumerate(words)]
    if any(c is None for c in cores):
        return None
    parts = [c for c in cores if c is not None]
    if any(p[:1].isupper() and not p.isupper() for p in parts[1:]):
        return None  # "Market Square": a capital starts a new word
    word = "".join(parts)
    if len(word) < MIN_JOINED or word.lower() not in lexicon:
        return None
    if all(_is_word(p, lexicon) for p in parts):
        return None  # "Key board": both are words; keep what the page shows
    return word + words[-1].text[len(parts[-1]):]


def merge_split_words(words: list[Word], lexicon: frozenset[str] | None = None) -> list[Word]:
    """``words`` (one line, left to right) with split words re-joined (see the module doc)."""
    lex = default_lexicon() if lexicon is None else lexicon
    if not lex or len(words) < 2:
        return words
    return join_runs(words, MAX_PARTS, lambda span: _joined(span, lex))


def join_runs(words: list[Word], max_parts: int,
              join: Callable[[list[Word]], str | None]) -> list[Word]:
    """``words`` with runs of 2..``max_parts`` neighbours replaced by one word where ``join``
    gives their joined text (longest run first, left to right; the box encloses the run, the
    confidence is its lowest, the font its first word's)."""
    out: list[Word] = []
    i = 0
    while i < len(words):
        for n in range(min(max_parts, len(words) - i), 1, -1):
            span = words[i:i + n]
            text = join(span)
            if text is not None:
                out.append(Word(text=text, bbox=BBox.enclosing([w.bbox for w in span]),
                                confidence=min(w.confidence for w in span),
                                font_size=span[0].font_size, bold=span[0].bold))
                i += n
                break
        else:
            out.append(words[i])
            i += 1
    return out
