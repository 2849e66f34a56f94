"""Struc-Bench heuristic scores (H-score) for generated tables: text tables, HTML and LaTeX.

After gersteinlab/Struc-Bench ``score/{table,html,latex}_scores.py``. Each format gives a
*content* score and a *structure* score, each the sum of its sub-scores as published (so text
tables range up to 2 and 4, HTML up to 2 and 3, LaTeX up to 3 and 4); ``*_norm`` divides by the
number of sub-scores. Two similarities are used on sequences (lists of cells, or strings):

* Levenshtein similarity ``1 − dist(pred, gold) / (2·len(gold))`` (0 when gold is empty; it can
  go negative for a prediction much longer than the gold, as published);
* difflib ``SequenceMatcher(None, pred, gold).ratio()``.

Text tables: rows split on newlines (or ``<NEWLINE>``), cells on ``|``; separator rows
(only ``-``/``=``) and blank rows dropped, empty first/last columns dropped; the first row is the
header. Content = data-cell Levenshtein + difflib; structure = rows match + columns match +
header Levenshtein + header difflib. (Struc-Bench's RotoWire script splits "team" and "player"
tables first; here one table is scored — call it per table.)

HTML: the gold decides the cell type (``th``/``td`` for tables, ``li`` for lists, else any
recognised tag with text). Content = cell-text Levenshtein + difflib; structure = cells-count
match + Levenshtein + difflib on the flattened tag sequence, built as published (each recognised
descendant is expanded recursively, so nested tags repeat).

LaTeX (own parser, no pylatexenc): the first ``tabular``; the alignment string is its argument
without ``{...}`` groups (``p{2cm}`` → ``p``); cells split on unescaped ``&``, rows on ``\\\\``;
macros and brace groups are dropped from cells (as the published ``skip_macros``/group skipping
does, so ``\\textbf{x}`` contributes nothing), math delimiters dropped, cells stripped, empty
cells and rows removed. Content = caption match + data Levenshtein + difflib; structure =
alignment Levenshtein + difflib + rows match + columns match. Deviation: the caption is the
argument of ``\\caption{...}`` (the published walker can pick up a later group instead).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any, Literal

Format = Literal["text", "html", "latex"]
NEWLINE_RE = re.compile(r"\n|<NEWLINE>|<newline>")
RECOGNIZED_HTML_TAGS = ["table", "tr", "th", "td", "ul", "ol", "li", "div", "span", "p", "a",
                        "img", "embed", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "input",
                        "button"]


def edit_distance(a: Sequence[Any], b: Sequence[Any]) -> int:
    """Levenshtein distance between two sequences (strings or lists of hashables)."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def levenshtein_similarity(pred: Sequence[Any], gold: Sequence[Any]) -> float:
    if not gold:
        return 0.0
    return 1 - edit_distance(pred, gold) / (2 * len(gold))


def difflib_similarity(pred: Sequence[Any], gold: Sequence[Any]) -> float:
    return difflib.SequenceMatcher(None, pred, gold).ratio()


def _result(content: dict[str, float], structure: dict[str, float]) -> dict[str, Any]:
    c, s = sum(content.values()), sum(structure.values())
    return {"content": c, "structure": s, "content_norm": c / len(content),
            "structure_norm": s / len(structure), "sub_scores": {**content, **structure}}


# ---------------------------------------------------------------------------------- text tables


def text_table_artifacts(raw: str) -> dict[str, Any]:
    rows = [[c.strip() for c in line.split("|")] for line in NEWLINE_RE.split(raw)]
    rows = [r for r in rows if not {ch for cell in r for ch in cell} <= {"-", "="}]
    if rows and not any(r[0] for r in rows):
        rows = [r[1:] for r in rows]
    if rows and not any(r[-1] for r in rows if r):
        rows = [r[:-1] for r in rows]
    if not rows:
        return {"num_rows": 0, "num_cols": 0, "column_names": [], "data_rows": []}
    return {"num_rows": len(rows), "num_cols": max(len(r) for r in rows),
            "column_names": rows[0], "data_rows": rows[1:]}


def _flat(table: Sequence[Sequence[str]]) -> list[str]:
    return [x for row in table for x in row]


def score_text_table(pred: str, gold: str) -> dict[str, Any]:
    p, g = text_table_artifacts(pred), text_table_artifacts(gold)
    content = {
        "data_levenshtein_score": levenshtein_similarity(_flat(p["data_rows"]),
                                                         _flat(g["data_rows"])),
        "data_difflib_score": difflib_similarity(_flat(p["data_rows"]), _flat(g["data_rows"])),
    }
    structure = {
        "num_rows_match": float(p["num_rows"] == g["num_rows"]),
        "num_cols_match": float(p["num_cols"] == g["num_cols"]),
        "columns_levenshtein_score": levenshtein_similarity(p["column_names"],
                                                            g["column_names"]),
        "columns_difflib_score": difflib_similarity(p["column_names"], g["column_names"]),
    }
    return _result(content, structure)


# ----------------------------------------------------------------------------------------- HTML


def _simple_tree(node: Any, record: list[str]) -> None:
    for desc in getattr(node, "descendants", []):
        if getattr(desc, "name", None) in RECOGNIZED_HTML_TAGS:
            record.append(f"<{desc.name}>")
            _simple_tree(desc, record)
            record.append(f"</{desc.name}>")


def score_html(pred: str, gold: str) -> dict[str, Any]:
    from bs4 import BeautifulSoup

    sp, sg = BeautifulSoup(pred, "lxml"), BeautifulSoup(gold, "lxml")
    if sg.find_all("table"):
        cells: list[str] = ["th", "td"]
    elif sg.find_all(["ul", "ol", "li"]):
        cells = ["li"]
    else:
        cells = []
    if cells:
        tg = [x.text for x in sg.find_all(cells)]
        tp = [x.text for x in sp.find_all(cells)]
    else:
        tg = [x.text for x in sg.find_all(RECOGNIZED_HTML_TAGS) if x.text]
        tp = [x.text for x in sp.find_all(RECOGNIZED_HTML_TAGS) if x.text]
    fg: list[str] = []
    fp: list[str] = []
    _simple_tree(sg, fg)
    _simple_tree(sp, fp)
    content = {"cells_text_levenshtein_score": levenshtein_similarity(tp, tg),
               "cells_text_difflib_score": difflib_similarity(tp, tg)}
    structure = {"num_cells_match": float(len(tp) == len(tg)),
                 "struct_levenshtein_score": levenshtein_similarity(fp, fg),
                 "struct_difflib_score": difflib_similarity(fp, fg)}
    return _result(content, structure)


# ---------------------------------------------------------------------------------------- LaTeX

_TABULAR_RE = re.compile(r"\\begin\{tabular\*?\}", re.DOTALL)


def _strip_comments(s: str) -> str:
    return re.sub(r"(?<!\\)%[^\n]*", "", s)


def _group_end(s: str, start: int) -> int:
    """Index just past the brace group opening at ``s[start] == '{'`` (or len(s))."""
    depth = 0
    i = start
    while i < len(s):
        ch = s[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(s)


def _drop_groups(s: str) -> str:
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s):
            out.append(s[i : i + 2])
            i += 2
        elif s[i] == "{":
            i = _group_end(s, i)
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def latex_artifacts(src: str) -> dict[str, Any]:
    src = _strip_comments(src)
    cap = re.search(r"\\caption\*?\s*(?:\[[^\]]*\])?\s*\{", src)
    caption = src[cap.end() : _group_end(src, cap.end() - 1) - 1] if cap else "None"
    m = _TABULAR_RE.search(src)
    empty = {"tabular_alignment_string": "", "data_table": [], "caption": caption,
             "num_rows": 0, "num_cols": 0}
    if not m:
        return empty
    i = m.end()
    if src[i:].lstrip().startswith("{") and "tabular*" in m.group():  # width argument
        j = src.index("{", i)
        i = _group_end(src, j)
    rest = src[i:].lstrip()
    if not rest.startswith("{"):
        return empty
    start = src.index("{", i)
    end = _group_end(src, start)
    align = _drop_groups(src[start + 1 : end - 1])
    body_end = src.find("\\end{tabular", end)
    body = src[end : body_end if body_end >= 0 else len(src)]
    rows: list[list[str]] = []
    row: list[str] = []
    cell = ""
    k = 0
    while k < len(body):
        ch = body[k]
        if ch == "\\":
            if body.startswith("\\\\", k):
                if cell:
                    row.append(cell)
                rows.append(row)
                row, cell = [], ""
                k += 2
                continue
            mac = re.match(r"\\([A-Za-z]+|.)", body[k:])
            k += len(mac.group()) if mac else 1  # macros contribute nothing
            continue
        if ch == "{":
            k = _group_end(body, k)
            continue
        if ch == "&":
            row.append(cell)
            cell = ""
        elif ch != "$":
            cell += ch
        k += 1
    if cell:
        row.append(cell)
    if row:
        rows.append(row)
    table = [[c.strip() for c in r if c.strip()] for r in rows]
    table = [r for r in table if r]
    return {"tabular_alignment_string": align, "data_table": table, "caption": caption,
            "num_rows": len(table), "num_cols": max((len(r) for r in table), default=0)}


def score_latex(pred: str, gold: str) -> dict[str, Any]:
    p, g = latex_artifacts(pred), latex_artifacts(gold)
    content = {
        "caption_match_score": float(p["caption"] == g["caption"]),
        "data_levenshtein_score": levenshtein_similarity(_flat(p["data_table"]),
                                                         _flat(g["data_table"])),
        "data_difflib_score": difflib_similarity(_flat(p["data_table"]), _flat(g["data_table"])),
    }
    structure = {
        "alignment_levenshtein_score": levenshtein_similarity(p["tabular_alignment_string"],
                                                              g["tabular_alignment_string"]),
        "alignment_difflib_score": difflib_similarity(p["tabular_alignment_string"],
                                                      g["tabular_alignment_string"]),
        "num_rows_match": float(p["num_rows"] == g["num_rows"]),
        "num_cols_match": float(p["num_cols"] == g["num_cols"]),
    }
    return _result(content, structure)


SCORERS = {"text": score_text_table, "html": score_html, "latex": score_latex}


def score_corpus(preds: Sequence[str], golds: Sequence[str], fmt: Format) -> dict[str, float]:
    """Mean content and structure scores over pairs, as the published scripts report them."""
    if len(preds) != len(golds):
        raise ValueError(f"{len(preds)} predictions for {len(golds)} references")
    if fmt not in SCORERS:
        raise ValueError(f"unknown table format {fmt!r}")
    if not preds:
        return {"content": 0.0, "structure": 0.0, "content_norm": 0.0, "structure_norm": 0.0,
                "n": 0.0}
    res = [SCORERS[fmt](p, g) for p, g in zip(preds, golds, strict=True)]
    keys = ("content", "structure", "content_norm", "structure_norm")
    return {**{k: sum(r[k] for r in res) / len(res) for k in keys}, "n": float(len(res))}
