"""Find ground-truth values in a document's text: the normalisation the synthetic set is checked by.

Used by the tests (every value must be in a born-digital PDF's text layer) and by the benchmark
(the share of values OCR recovered from a scan). The rules, independent of the generator's own
formatting code:

* whitespace is collapsed to single spaces on both sides;
* a string must appear verbatim — except an ISO date (``YYYY-MM-DD``), which may appear as
  ISO, ``DD/MM/YYYY``, ``MM/DD/YYYY``, ``DD.MM.YYYY``, ``7 March 2024``, ``March 7, 2024`` or
  ``Mar 7, 2024``;
* a float must appear with two decimals in either style (``1,234.50``, ``1234.50``,
  ``1.234,50``, ``1234,50``) or, when integral, as an integer; an integer as itself; neither may
  touch other digits;
* a line-item ``quantity`` of 1 may be implicit (receipts print ``N x price`` only for N > 1);
* a boolean is the word ``Yes``/``No`` after its label (``labels`` maps the leaf path to it).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from prunestack.eval.sob import flatten_leaf_paths

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: Labels of the boolean fields of the synthetic form.
BOOL_LABELS = {"newsletter": "Subscribe to the newsletter",
               "terms_accepted": "I accept the terms and conditions"}


def collapse(text: str) -> str:
    return " ".join(text.split())


def date_forms(iso: str) -> list[str]:
    d = dt.date.fromisoformat(iso)
    return [iso, d.strftime("%d/%m/%Y"), d.strftime("%m/%d/%Y"), d.strftime("%d.%m.%Y"),
            f"{d.day} {d.strftime('%B')} {d.year}", f"{d.strftime('%B')} {d.day}, {d.year}",
            f"{d.strftime('%b')} {d.day}, {d.year}"]


def number_forms(x: float) -> list[str]:
    q = Decimal(str(x)).quantize(Decimal("0.01"))
    grouped, plain = f"{q:,.2f}", f"{q:.2f}"
    comma = grouped.replace(",", " ").replace(".", ",").replace(" ", ".")
    forms = [grouped, plain, comma, plain.replace(".", ",")]
    if q == q.to_integral_value():
        forms.append(str(int(q)))
    return forms


def value_found(text: str, path: str, value: Any, labels: dict[str, str] | None = None) -> bool:
    """Whether a ground-truth leaf is visible in ``text`` (already collapsed) under the rules."""
    if isinstance(value, bool):
        label = (labels or BOOL_LABELS).get(path)
        if label is None:
            return False
        word = "Yes" if value else "No"
        return re.search(rf"{re.escape(label)}[^|]*?\b{word}\b", text) is not None
    if value == 1 and isinstance(value, int) and path.endswith(".quantity"):
        return True
    if isinstance(value, int | float):
        forms = number_forms(float(value)) if isinstance(value, float) else [str(value)]
        return any(re.search(rf"(?<!\d){re.escape(f)}(?!\d)", text) for f in forms)
    if value is None:
        return True
    if isinstance(value, str) and ISO_DATE.match(value):
        return any(f in text for f in date_forms(value))
    return collapse(str(value)) in text


def recovered(text: str, ground_truth: Any, labels: dict[str, str] | None = None
              ) -> tuple[int, int, list[str]]:
    """(found, total, missing paths) over the ground truth's leaves."""
    flat = collapse(text)
    leaves = flatten_leaf_paths(ground_truth)
    missing = [p for p, v in leaves.items() if not value_found(flat, p, v, labels)]
    return len(leaves) - len(missing), len(leaves), missing
