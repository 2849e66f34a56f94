"""Which HTML elements hold no text for a reader: the one hidden-element rule of ``parsers.html``
(documents) and ``retrieval.clean`` (RAG cleaning).

``hidden_rule(root)`` returns the test for one parsed page; an element is hidden when

* it has the ``hidden`` attribute in any state but ``until-found`` (the HTML standard: any other
  value, empty or invalid, means hidden; values compare ASCII case-insensitively, untrimmed);
* it has ``aria-hidden="true"`` (case-insensitive, untrimmed, as browsers read it;
  ``"false"`` or any other value hides nothing, and does not un-hide an element hidden another
  way);
* or an inline style says ``display: none`` or ``visibility: hidden``;

unless a disclosure toggle (an element with ``aria-expanded``) names it in ``aria-controls``:
collapsed accordion and tab panels that one click shows (FAQ answers live there).

Why ``hidden="until-found"`` is kept: the browser's find-in-page searches that text and opens
the section it is in (GOV.UK accordions), so a reader can reach it. Why ``aria-hidden="true"``
is dropped although it is drawn on screen: authors put it on what a text-only reader must not
get twice or at all — icon-font glyphs, the visual copy of a label whose screen-reader copy is
kept, cloned carousel slides, the page behind a modal — and a text pipeline is such a reader.

It does not look at style sheets or scripts (no rendering), nor at tags that never hold text
(``script``, ``template``: each caller has its own list of those).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)


def disclosed_ids(root: Any) -> frozenset[str]:
    """Ids named by ``aria-controls`` of disclosure toggles (``aria-expanded`` set) under the
    lxml element ``root``."""
    out: set[str] = set()
    for el in root.iter():
        if isinstance(el.tag, str) and el.get("aria-expanded") is not None:
            out.update((el.get("aria-controls") or "").split())
    return frozenset(out)


def is_hidden(el: Any, disclosed: frozenset[str]) -> bool:
    """Whether the lxml element ``el`` is hidden from every reader (see the module docstring);
    ``disclosed``: the page's :func:`disclosed_ids`."""
    a = el.attrib
    hidden = a.get("hidden")
    style = a.get("style")
    if ((hidden is not None and hidden.lower() != "until-found")
            or a.get("aria-hidden", "").lower() == "true"
            or (style and _HIDDEN_STYLE.search(style))):
        return a.get("id") not in disclosed
    return False


def hidden_rule(root: Any) -> Callable[[Any], bool]:
    """``is_hidden`` for the page under the lxml element ``root`` (its toggles read once)."""
    disclosed = disclosed_ids(root)
    return lambda el: is_hidden(el, disclosed)
