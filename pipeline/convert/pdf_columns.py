"""Reading order: a page's lines and tables cut into bands and columns, then read flow by flow.

A full-width gap splits the page into bands; inside a band, a vertical gutter that the lines'
edges agree on splits it into columns, recursively (up to 2**3 columns, a broadsheet). A narrow
box beside the text (a sidebar, an infobox) is read once the text wrapped around it ends.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pipeline.convert.pdf_lines import TextLine
from pipeline.convert.pdf_tables import TableBlock

Item = TextLine | TableBlock
TERMINAL = (".", "!", "?", ":", "。", "…", '."', ".»", ".”")  # ends a sentence
_MAX_COLUMN_DEPTH = 3  # up to 2**3 columns: enough for a broadsheet page


def _gutter(lines: Sequence[TextLine]) -> float | None:
    """The x of a vertical gap that splits the lines into two columns, or ``None``.

    The gap is the x (in the middle 60% of the text's width) crossed by the fewest lines, at
    most a quarter of them (titles, an abstract or footers may span both columns). Each side
    must hold three lines, a tenth of the characters, and lines as wide as a column rather than
    a form's short labels.
    """
    if len(lines) < 6:
        return None
    x0 = np.array([ln.x0 for ln in lines])
    x1 = np.array([ln.x1 for ln in lines])
    left_edge, right_edge = float(x0.min()), float(x1.max())
    width = right_edge - left_edge
    xs = np.arange(left_edge + 0.2 * width, right_edge - 0.2 * width, 2.0)
    if width < 100 or len(xs) < 3:
        return None
    crossing = ((x0[None, :] < xs[:, None] - 1) & (x1[None, :] > xs[:, None] + 1)).sum(axis=1)
    fewest = int(crossing.min())
    if fewest > 0.25 * len(lines):
        return None
    split = _widest_run(xs, crossing == fewest)
    sides = ([ln for ln in lines if ln.x1 <= split], [ln for ln in lines if ln.x0 >= split])
    if _paired(*sides):  # labels beside their values: a table, not two columns of text
        return None
    total = sum(len(ln.text) for ln in lines)
    for side in sides:
        if len(side) < 3 or sum(len(ln.text) for ln in side) < 0.1 * total:
            return None
        widths = sorted(ln.width for ln in side)
        if widths[3 * len(widths) // 4] < 0.12 * width:  # upper quartile: most lines are short
            return None
    return split


def _paired(left: Sequence[TextLine], right: Sequence[TextLine]) -> bool:
    """Whether most lines on each side have a partner on the same row and no side is prose.

    A value may wrap onto lines of its own (an infobox's "Spouses" with three names), so the
    values side also counts as paired when nearly every label found its value on its row.
    """
    if any(len(ln.text.split()) >= 8 for ln in (*left, *right)):
        return False

    def partnered(a: TextLine, others: Sequence[TextLine]) -> bool:
        return any(
            min(a.y1, b.y1) - max(a.y0, b.y0) > 0.5 * min(a.height, b.height) for b in others
        )

    labels = sum(partnered(a, right) for a in left)
    values = sum(partnered(b, left) for b in right)
    if labels < 0.6 * max(len(left), 1):
        return False
    return values >= 0.6 * len(right) or (
        len(left) >= 3 and labels >= 0.8 * len(left) and values >= labels
    )


def _widest_run(xs: np.ndarray, mask: np.ndarray) -> float:
    """The centre of the longest run of consecutive ``True`` in ``mask``, as an x."""
    best_start = best_len = start = run = 0
    for i, flag in enumerate(mask):
        run = run + 1 if flag else 0
        start = i - run + 1 if flag else start
        if run > best_len:
            best_start, best_len = start, run
    return float((xs[best_start] + xs[best_start + best_len - 1]) / 2)


def _interleave(lines: Sequence[TextLine], tables: Sequence[TableBlock]) -> list[Item]:
    """Lines in row order with each table placed where its top edge falls."""
    pending = sorted(tables, key=lambda t: t.y0)
    items: list[Item] = []
    for line in lines:
        while pending and pending[0].y0 <= line.y0:
            items.append(pending.pop(0))
        items.append(line)
    return items + pending


_BAND_GAP = 2.5  # a gap this many line heights high across the whole width separates bands


def _bands(items: Sequence[Item], lines: Sequence[TextLine]) -> list[list[Item]]:
    """``items`` cut at horizontal gaps that cross every column (XY-cut, horizontal first)."""
    if len(lines) < 6:
        return [list(items)]
    unit = float(np.median([ln.height for ln in lines]))
    bands: list[list[Item]] = []
    bottom = -1e9
    for item in sorted(items, key=lambda it: it.y0):
        if bands and item.y0 - bottom > _BAND_GAP * unit:
            bands.append([])
        if not bands:
            bands.append([])
        bands[-1].append(item)
        bottom = max(bottom, item.y1)
    return bands


def _split_columns(items: Sequence[Item], depth: int = 0) -> list[list[Item]]:
    """Flows of ``items`` read one after another, splitting at column gutters recursively.

    An item that crosses the gutter (a title, a wide table, a footer) closes the current band of
    columns: the columns above it are read first, then it, then the columns below.
    """
    lines = [item for item in items if isinstance(item, TextLine)]
    split = _gutter(lines) if depth < _MAX_COLUMN_DEPTH else None
    if split is None:
        return [list(items)] if items else []
    bands = _bands(items, lines)
    if len(bands) > 1:  # a grid of boxes (cards, panels) reads row by row
        return [flow for band in bands for flow in _split_columns(band, depth + 1)]
    flows: list[list[Item]] = []
    left: list[Item] = []
    right: list[Item] = []
    spanning: list[Item] = []
    deferred: list[list[Item]] = []  # a sidebar, read once the text wrapped around it ends
    for item in items:
        side = left if item.x1 <= split else right if item.x0 >= split else None
        if side is not None:
            if spanning:
                flows += [spanning, *deferred]
                spanning, deferred = [], []
            side.append(item)
            continue
        if not spanning and _wraps_below(left, right, item):
            flows += _split_columns(left, depth + 1)
            deferred = _split_columns(right, depth + 1)
            spanning = flows.pop()  # the sentence runs on: same flow, so the same paragraph
        else:
            flows += _split_columns(left, depth + 1) + _split_columns(right, depth + 1)
        left, right = [], []
        spanning.append(item)
    if spanning:
        flows += [spanning, *deferred]
    return flows + _split_columns(left, depth + 1) + _split_columns(right, depth + 1)


def _wraps_below(left: Sequence[Item], right: Sequence[Item], item: Item) -> bool:
    """Whether full-width ``item`` carries on the left column's sentence under a sidebar.

    Text wrapped around a floating box (an infobox, a pull quote, a figure with its caption)
    runs on below it at full width: the box is read after that sentence, not in the middle of
    it. A narrower right column tells a sidebar from the second column of an even layout,
    whose text the left column hands on to.
    """
    main = [ln for ln in left if isinstance(ln, TextLine)]
    box = [ln for ln in right if isinstance(ln, TextLine)]
    if not isinstance(item, TextLine) or not main or not box:
        return False
    prev = max(main, key=lambda ln: ln.y1)
    main_x0 = min(ln.x0 for ln in main)
    main_width = max(ln.x1 for ln in main) - main_x0
    box_width = max(ln.x1 for ln in box) - min(ln.x0 for ln in box)
    size = max(prev.size, 1.0)
    return (
        box_width < 0.85 * main_width
        and not prev.text.rstrip().endswith(TERMINAL)
        and abs(item.size - prev.size) <= 0.5
        and (item.bold, item.italic, item.mono) == (prev.bold, prev.italic, prev.mono)
        and abs(item.x0 - main_x0) <= 2 * size
        and -0.3 * size <= item.y0 - prev.y1 <= 1.5 * size
    )


def reading_flows(lines: Sequence[TextLine], tables: Sequence[TableBlock]) -> list[list[Item]]:
    """The page's lines and tables as flows read one after another.

    A two-column page under a full-width title gives three flows: the title, the left column,
    the right column. A single-column page gives one.
    """
    return _split_columns(_interleave(lines, tables))
