"""Token counting for budgets: words of the text a reader sees (default), or a local HF tokenizer.

A budget is always checked on the exact string that is returned (see :mod:`retrieval.prune`); the
counter here only has to be deterministic. It does not truncate text and does not add special tokens
(a budget counts the context, not the chat template around it).

The default :class:`WordCounter` counts words of the *text* of an HTML string, with a space at
the edges of every non-inline element (:func:`html_text`): ``<li><a>Home</a></li><li><a>News</a>
</li>`` is 2 words, as a reader sees it — whitespace tokens of the HTML string counted it as one,
so outputs reached +13 % of a word budget in words of text on real pages. Inline tags (``<a>``,
``<b>``, ...) join what they touch (``<b>foo</b>bar`` is 1 word); tags and attributes count
nothing. An :class:`HFTokenCounter` counts the tokens of the whole string, markup included (what
a language model reads).
"""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from prunestack.models import registry
from prunestack.retrieval.clean import INLINE


class TokenCounter(Protocol):
    name: str

    def count(self, text: str) -> int: ...

    def count_many(self, texts: Sequence[str]) -> list[int]: ...


# a start or end tag (the pruners' output is serialised by retrieval.clean: text is escaped, so
# a "<" followed by a letter always opens a tag there); group 1 = the tag name
_TAG = re.compile(r"</?([A-Za-z][A-Za-z0-9:-]*)(?:\s[^<>]*)?/?>")


def _tag_gap(m: re.Match[str]) -> str:
    return "" if m.group(1).lower() in INLINE else " "


def html_text(html: str) -> str:
    """The text of an HTML string as a reader sees it: tags removed, a space at the edges of every
    non-inline element, entities decoded, whitespace collapsed. ``"<li><a>Home</a></li><li><a>News
    </a></li>"`` -> ``"Home News"``; ``"<p>See <a>this</a>.</p>"`` -> ``"See this."``. Plain text
    without tags comes back as it is (whitespace collapsed)."""
    return " ".join(htmllib.unescape(_TAG.sub(_tag_gap, html)).split())


class WordCounter:
    """Words of the text a reader sees (:func:`html_text`): tags count nothing and non-inline
    element edges separate words."""

    name = "words"

    def count(self, text: str) -> int:
        if "<" not in text:
            return len(htmllib.unescape(text).split() if "&" in text else text.split())
        return len(html_text(text).split())

    def count_many(self, texts: Sequence[str]) -> list[int]:
        return [self.count(t) for t in texts]


class HFTokenCounter:
    """Tokens of a Hugging Face tokenizer, without special tokens."""

    def __init__(self, tokenizer: Any, name: str | None = None) -> None:
        self.tokenizer = tokenizer
        self.name = name or type(tokenizer).__name__
        self._backend = _unpadded(getattr(tokenizer, "backend_tokenizer", None))  # fast path

    def count(self, text: str) -> int:
        return self.count_many([text])[0]

    def count_many(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        if self._backend is not None:
            encs = self._backend.encode_batch(list(texts), add_special_tokens=False)
            return [len(e.ids) for e in encs]
        return [len(self.tokenizer.encode(t, add_special_tokens=False)) for t in texts]


def _unpadded(backend: Any) -> Any:
    """A copy of a Rust tokenizer without padding and truncation. Tokenizer files of sentence
    encoders (all-MiniLM-L6-v2's tokenizer.json) enable both: ``encode_batch`` then padded every
    block to the longest one (every block of a page "cost" 128 tokens) and truncated long texts
    (a 300-token block counted 128, so the budget could be exceeded)."""
    if backend is None:
        return None
    # always a private copy: transformers switches padding/truncation on the SHARED backend per
    # call (a later ``tok(texts, padding=True)`` elsewhere would change our counts)
    from tokenizers import Tokenizer

    clone = Tokenizer.from_str(backend.to_str())
    clone.no_padding()
    clone.no_truncation()
    return clone


def make_counter(tokenizer: str | Path | Any | None = None) -> TokenCounter:
    """``None``/``"words"`` -> :class:`WordCounter`; a folder -> its tokenizer; a tokenizer object
    -> :class:`HFTokenCounter` around it."""
    if tokenizer is None or (isinstance(tokenizer, str) and tokenizer == "words"):
        return WordCounter()
    if isinstance(tokenizer, str | Path):
        return HFTokenCounter(registry().tokenizer(tokenizer), name=str(tokenizer))
    if hasattr(tokenizer, "count") and hasattr(tokenizer, "count_many"):
        return tokenizer  # already a counter
    return HFTokenCounter(tokenizer)
