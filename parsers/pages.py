"""Parse a page selection such as ``"1-3,5,8-"`` into sorted 1-based page numbers.

Pure function, no I/O. ``None`` or ``"all"`` selects every page. Malformed selections and pages
beyond the document raise ``PageSelectionError``.
"""

from __future__ import annotations

import re

from prunestack.parsers.errors import PageSelectionError

_PART = re.compile(r"^\s*(\d*)\s*(?:(-)\s*(\d*))?\s*$")


def parse_pages(spec: str | None, n_pages: int) -> list[int]:
    """The 1-based page numbers ``spec`` selects out of ``n_pages``, ascending, without repeats."""
    if spec is None or spec.strip().lower() in ("", "all"):
        return list(range(1, n_pages + 1))
    chosen: set[int] = set()
    for part in spec.split(","):
        m = _PART.match(part)
        if not m or not (m.group(1) or m.group(3)) or (not m.group(1) and not m.group(2)):
            raise PageSelectionError(f"bad page selection {spec!r}", "use e.g. 1-3,5 or 2- or -4")
        lo = int(m.group(1)) if m.group(1) else 1
        hi = (int(m.group(3)) if m.group(3) else n_pages) if m.group(2) else lo
        if lo < 1 or hi < lo:
            raise PageSelectionError(f"bad page range {part.strip()!r} in {spec!r}",
                                     "pages are numbered from 1 and ranges go low-high")
        if hi > n_pages or lo > n_pages:
            raise PageSelectionError(
                f"page {max(lo, hi)} requested but the document has {n_pages} page(s)",
                f"choose pages between 1 and {n_pages}",
            )
        chosen.update(range(lo, hi + 1))
    return sorted(chosen)
