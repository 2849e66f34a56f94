"""Tables from aligned segments: runs of rows with ≥ 2 cells whose columns line up.

How a table is found (on segments no other step claimed):

* visual rows (``parsers.segments.rows``) with at least two segments and no prose segment
  (≥ 8 words, ≥ 6 words and wider than a quarter of the page, or ≥ 3 words ending a sentence)
  are *candidate rows*;
* consecutive candidate rows, each at most ``MAX_ROW_GAP`` row heights below the previous one,
  form a run; a single-segment row directly under a candidate row (≤ 0.6 row heights) and followed
  by another candidate row is a wrapped cell and joins the cell above it;
* the run's columns are the union of overlapping x-ranges of its segments; every segment falls into
  exactly one column (a cell of several segments reads them row by row, left to right); a run
  needs ≥ 2 columns, and a column of short cells (≤ 3 words on average) or digits in ≥ 30% of its
  cells (multi-column running text has neither);
* a line of several cells continues the row above it (wrapped cells side by side) when the PDF
  draws its cell straight after the cell above it, rows are spaced wider than those lines, and
  most rows so joined are ragged (``_join_wrapped``); a cell's lines then read in order;
* a run whose every column is a list of dot-leader entries ("Adolph, S. ....... 20") is an index
  or contents set in columns, not a table: its lines are left to the reading order;
* a gap wider than 2.5 × the run's usual gap and 1.5 row heights starts a new run, and so does a
  row of ≥ 3 cells without digits under ≥ 2 rows with fewer cells (a table's header under two
  address blocks side by side); a first or
  last column filled in ≤ 40% of a run's rows (of ≥ 3 columns) is dropped from it (an address
  beside a field block);
* a two-column run of ≥ 3 rows with short non-numeric labels on the left and values with digits
  on the right, row 0 included (so no header row), is a field block: one key–value pair per row;
* a run of ≥ 3 rows is a table whose row 0 is the header row; a run of exactly 2 rows whose first
  row holds short labels (≤ 4 words, no digits) over values no larger than them is a grid of
  labels over values and becomes key–value pairs (one per column); other 2-row runs stay text.

Ruled lines are not used (the text layer and OCR give none); merged (spanning) cells are not
detected in page geometry — HTML tables carry their spans explicitly (``parsers.html``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise
from statistics import median

from prunestack.parsers.keyvalue import KVPair, extend_down
from prunestack.parsers.segments import Seg, median_height, rows
from prunestack.pipeline.document import BBox, TableCell

MAX_ROW_GAP = 2.0  # row heights between consecutive table rows
#: Rows are spaced at least this many times wider than the lines of a wrapped cell (plus a
#: quarter row height) when ``_join_wrapped`` joins those lines.
WRAP_SPACING = 2.0
PROSE_WORDS = 6
_NUMBER = re.compile(r"\d")
#: A dot leader: four dots or more, spaced or not.
_LEADER = re.compile(r"\.{4,}|(?:\. ){3,}\.")
#: Share of a column's cells with a dot leader for ``_leader_columns``.
LEADER_SHARE = 0.8


@dataclass
class TableBlock:
    cells: list[TableCell]
    bbox: BBox
    segs: list[Seg]

    @property
    def confidence(self) -> float:
        return min(s.confidence for s in self.segs)

    @property
    def n_rows(self) -> int:
        return max(c.row for c in self.cells) + 1

    @property
    def n_cols(self) -> int:
        return max(c.col for c in self.cells) + 1


def _is_prose(seg: Seg, page_width: float) -> bool:
    if seg.n_words >= 3 and seg.text.rstrip().endswith((".", "!", "?")):
        return True  # a sentence end, not a cell
    if seg.n_words >= 8:
        return True
    return seg.n_words >= PROSE_WORDS and seg.bbox.width >= 0.25 * page_width


def _candidate(row: list[Seg], page_width: float) -> bool:
    return len(row) >= 2 and not any(_is_prose(s, page_width) for s in row)


def _widens(row: list[Seg], cur: list[tuple[list[Seg], bool]]) -> bool:
    """``row`` is a header of labels (≥ 3 cells, no digits) under ≥ 2 rows with fewer cells."""
    if len(row) < 3 or any(_NUMBER.search(s.text) for s in row):
        return False
    narrower = 0
    for r, cont in reversed(cur):
        if cont:
            continue
        if len(r) >= len(row):
            break
        narrower += 1
    return narrower >= 2


def _runs(grid: list[list[Seg]], page_width: float) -> list[list[tuple[list[Seg], bool]]]:
    """Runs of (row, is_continuation) pairs."""
    h = median_height([s for r in grid for s in r])
    runs: list[list[tuple[list[Seg], bool]]] = []
    cur: list[tuple[list[Seg], bool]] = []
    pending: list[Seg] | None = None

    def top(r: list[Seg]) -> float:
        return min(s.bbox.y0 for s in r)

    def bottom(r: list[Seg]) -> float:
        return max(s.bbox.y1 for s in r)

    gaps: list[float] = []  # gaps between the main rows of the current run

    def close(run: list[tuple[list[Seg], bool]]) -> None:
        """Append ``run``; a first row far above the rest (its gap > 2.5 × the later gaps and
        1.5 row heights) with fewer cells than the row under it is not the run's header (a
        letterhead beside the title over a field grid): it is cut off."""
        second = next((i for i, (_, cont) in enumerate(run) if i and not cont), None)
        if second is not None and len(gaps) >= 3 and \
                gaps[0] > max(2.5 * median(gaps[1:]), 1.5 * h) and \
                len(run[0][0]) < len(run[second][0]):
            runs.extend([run[:second], run[second:]])
        else:
            runs.append(run)

    for row in grid:
        if _candidate(row, page_width):
            prev = pending if pending is not None else (cur[-1][0] if cur else None)
            gap = top(row) - bottom(prev) if prev is not None else 0.0
            # A gap far wider than the run's usual one starts a new block (a field block above
            # a table, two grids stacked with space between them).
            jump = bool(gaps) and gap > max(2.5 * median(gaps), 1.5 * h)
            jump = jump or _widens(row, cur)
            if cur and prev is not None and gap <= MAX_ROW_GAP * h and not jump:
                gaps.append(max(0.0, gap))
                if pending is not None:
                    cur.append((pending, True))
                cur.append((row, False))
            else:
                if cur:
                    close(cur)
                cur, gaps = [(row, False)], []
            pending = None
            continue
        if (
            cur
            and pending is None
            and len(row) == 1
            and top(row) - bottom(cur[-1][0]) <= 0.6 * h
        ):
            pending = row
            continue
        if cur:
            close(cur)
        cur, pending, gaps = [], None, []
    if cur:
        close(cur)
    return runs


def _columns(segs: list[Seg]) -> list[tuple[float, float]]:
    spans: list[list[float]] = []
    for s in sorted(segs, key=lambda s: s.bbox.x0):
        if spans and s.bbox.x0 <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], s.bbox.x1)
        else:
            spans.append([s.bbox.x0, s.bbox.x1])
    return [(a, b) for a, b in spans]


def _col_of(seg: Seg, cols: list[tuple[float, float]]) -> int:
    best, best_ov = 0, -1.0
    for i, (a, b) in enumerate(cols):
        ov = min(b, seg.bbox.x1) - max(a, seg.bbox.x0)
        if ov > best_ov:
            best, best_ov = i, ov
    return best


def _tabular(cells: list[TableCell]) -> bool:
    """Some column of short cells (≤ 3 words on average) or digits in ≥ 30% of the cells: what
    multi-column running text (long cells everywhere, few numbers) does not have."""
    by_col: dict[int, list[int]] = {}
    for c in cells:
        by_col.setdefault(c.col, []).append(len(c.text.split()))
    short = any(sum(v) / len(v) <= 3 for v in by_col.values())
    digits = sum(bool(_NUMBER.search(c.text)) for c in cells) >= 0.3 * len(cells)
    return short or digits


def has_leader(text: str) -> bool:
    """The text holds a dot leader ("Adolph, S. ........ 20"): an index or contents entry."""
    return bool(_LEADER.search(text))


def _leader_columns(cells: list[TableCell]) -> bool:
    """Every column is a list of leader lines ("Adolph, S. ........ 20"): an index or a table
    of contents set in columns. Each line is a whole entry, and a column reads top to bottom
    before the next one; the rows that line up across columns are not related."""
    by_col: dict[int, list[bool]] = {}
    for c in cells:
        by_col.setdefault(c.col, []).append(has_leader(c.text))
    return len(by_col) >= 2 and all(sum(v) >= LEADER_SHARE * len(v) for v in by_col.values())


def _prune_sparse_edges(
    run: list[tuple[list[Seg], bool]],
) -> list[tuple[list[Seg], bool]]:
    """Drop a first or last column filled in ≤ 40% of the rows (of ≥ 3 columns): lines beside a
    field block that happen to share its rows (an address next to invoice facts)."""
    main = [s for r, cont in run if not cont for s in r]
    cols = _columns(main)
    n_main = sum(1 for _, cont in run if not cont)
    if len(cols) < 3:
        return run
    drop: set[int] = set()
    for edge in (0, len(cols) - 1):
        filled = sum(any(_col_of(s, cols) == edge for s in r) for r, cont in run if not cont)
        if filled <= 0.4 * n_main:
            drop.add(edge)
    if not drop:
        return run
    out = [([s for s in r if _col_of(s, cols) not in drop], cont) for r, cont in run]
    return [(r, cont) for r, cont in out if r]


def _join_wrapped(
    run: list[tuple[list[Seg], bool]], cols: list[tuple[float, float]],
) -> list[tuple[list[Seg], bool]]:
    """Mark the lines of wrapped cells as continuations of the table row they wrap in.

    ``_runs`` joins a wrapped cell's next line only when it is alone on its line; when cells
    of the same row wrap side by side ("Graphic Art Mart | 1/22 Loyalty Rd, | 02 8843 0299"
    over "North Rocks NSW 2151 | www.gamart.com.au") every line looked like a row. A line
    continues the row above it when all of these hold:

    * the PDF draws one of its segments straight after the lowest segment above it in the same
      column (the producer wrote the cell's lines one after the other, cell by cell) and the two
      lines do not overlap;
    * the geometry agrees for the whole run: the widest such gap is less than half the
      narrowest gap between lines that the drawing order does not link (rows are spaced
      apart, a cell's lines are set close: ``WRAP_SPACING``);
    * at least half of the rows so formed are ragged (a line lacks a column another line of
      the row fills): rows of complete lines drawn column by column (labels, then values) are
      separate rows, not one wrapped row.

    A table drawn row by row links nothing; without a drawing order (OCR) nothing changes.
    """
    main = [i for i, (_, cont) in enumerate(run) if not cont]
    segs = [s for r, _ in run for s in r]
    if len(main) < 3 or any(s.order is None for s in segs):
        return run
    h = median_height(segs)
    drawn = sorted(segs, key=lambda s: (s.order or 0, s.idx))
    before = {id(b): a for a, b in pairwise(drawn)}

    def top(r: list[Seg]) -> float:
        return min(s.bbox.y0 for s in r)

    def bottom(r: list[Seg]) -> float:
        return max(s.bbox.y1 for s in r)

    linked: list[float] = []
    unlinked: list[float] = []
    wraps: set[int] = set()
    for prev, i in pairwise(main):
        above = [s for r, _ in run[prev:i] for s in r]
        gap = top(run[i][0]) - bottom(above)
        lowest = {}
        for s in sorted(above, key=lambda s: s.bbox.y0):
            lowest[_col_of(s, cols)] = s
        if gap >= 0 and any(before.get(id(b)) is lowest.get(_col_of(b, cols)) is not None
                            for b in run[i][0]):
            linked.append(gap)
            wraps.add(i)
        else:
            unlinked.append(gap)
    if not linked or not unlinked or \
            WRAP_SPACING * max(linked) + 0.25 * h > min(unlinked):
        return run
    groups: list[list[set[int]]] = []  # per joined row: the columns of each of its lines
    for i in main:
        line = {_col_of(s, cols) for s in run[i][0]}
        if i in wraps:
            groups[-1].append(line)
        else:
            groups.append([line])
    wrapped = [g for g in groups if len(g) > 1]
    ragged = sum(any(line != set().union(*g) for line in g) for g in wrapped)
    if 2 * ragged < len(wrapped):
        return run
    return [(r, cont or i in wraps) for i, (r, cont) in enumerate(run)]


def _label_value_column(cells: list[TableCell]) -> bool:
    """Two columns with no header row: short non-numeric labels on the left, values with digits
    on the right (in row 0 too, so row 0 is not a header) — a field block, not a table."""
    left = [c for c in cells if c.col == 0]
    right = [c for c in cells if c.col == 1]
    if not left or not right or len(left) != len(right):
        return False
    labels = all(len(c.text.split()) <= 4 and not _NUMBER.search(c.text) for c in left)
    digits = sum(bool(_NUMBER.search(c.text)) for c in right)
    row0 = next((c for c in right if c.row == 0), None)
    return (labels and digits * 2 >= len(right) and row0 is not None
            and bool(_NUMBER.search(row0.text)))


def find_tables(segs: list[Seg], *, page_width: float) -> tuple[list[TableBlock], list[KVPair]]:
    """Tables and label-over-value grids among the segments with no role yet.

    Claimed segments get ``role = "table"`` (or ``"kv"`` for two-row grids).
    """
    free = [s for s in segs if not s.role]
    tables: list[TableBlock] = []
    pairs: list[KVPair] = []
    for run in _runs(rows(free), page_width):
        run = _prune_sparse_edges(run)
        main_segs = [s for r, cont in run if not cont for s in r]
        cols = _columns(main_segs)
        run = _join_wrapped(run, cols)
        n_main = sum(1 for _, cont in run if not cont)
        if len(cols) < 2 or n_main < 2:
            continue
        grid: dict[tuple[int, int], list[Seg]] = {}
        r_i = -1
        for r, cont in run:
            if not cont:
                r_i += 1
            for s in r:
                grid.setdefault((r_i, _col_of(s, cols)), []).append(s)
        cells = [
            TableCell(
                row=r,
                col=c,
                text=" ".join(s.text for row in rows(ss) for s in row),
                bbox=BBox.enclosing([s.bbox for s in ss]),
            )
            for (r, c), ss in sorted(grid.items())
        ]
        used = [s for r, _ in run for s in r]
        if not _tabular(cells) or _leader_columns(cells):
            continue
        if n_main == 2:
            keys = [c for c in cells if c.row == 0]
            key_segs = [s for r, cont in run[:1] for s in r]
            val_segs = [s for r, cont in run[1:] if not cont for s in r]
            if (
                any(_NUMBER.search(c.text) or len(c.text.split()) > 4 for c in keys)
                or max(s.size for s in val_segs) > 1.15 * min(s.size for s in key_segs)
            ):
                continue
            for k in keys:
                v = next((c for c in cells if c.row == 1 and c.col == k.col), None)
                if v is None or k.bbox is None or v.bbox is None:
                    continue
                for s in grid[(0, k.col)] + grid[(1, k.col)]:
                    s.role = "kv"
                more = extend_down(grid[(1, k.col)][-1], free)
                for s in more:
                    s.role = "kv"
                kv_segs = grid[(0, k.col)] + grid[(1, k.col)] + more
                value = " ".join([v.text, *(s.text for s in more)])
                pairs.append(KVPair(
                    key=k.text.rstrip(":：").strip(), value=value, key_bbox=k.bbox,
                    value_bbox=BBox.enclosing([v.bbox, *(s.bbox for s in more)]), segs=kv_segs,
                ))
            continue
        if len(cols) == 2 and n_main >= 3 and _label_value_column(cells):
            for ri in range(n_main):
                key_cell = next((c for c in cells if c.row == ri and c.col == 0), None)
                val_cell = next((c for c in cells if c.row == ri and c.col == 1), None)
                if (key_cell is None or val_cell is None or key_cell.bbox is None
                        or val_cell.bbox is None):
                    continue
                kv_segs = grid[(ri, 0)] + grid[(ri, 1)]
                for s in kv_segs:
                    s.role = "kv"
                pairs.append(KVPair(key=key_cell.text.rstrip(":：").strip(), value=val_cell.text,
                                    key_bbox=key_cell.bbox, value_bbox=val_cell.bbox,
                                    segs=kv_segs))
            continue
        for s in used:
            s.role = "table"
        tables.append(
            TableBlock(cells=cells, bbox=BBox.enclosing([s.bbox for s in used]), segs=used)
        )
    return tables, pairs
