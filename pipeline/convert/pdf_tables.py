"""Ruled tables: find them cheaply, extract them with PyMuPDF, write them as Markdown pipe tables.

``page.find_tables()`` costs 50–500 ms a page (more when the layout model is installed), most of
it spent turning every character on the page into a Python dict. Line-based detection can only
find a table where ruling lines cross, so we first read the page's rules from ``get_cdrawings``
(a few milliseconds) and run ``find_tables`` only over the part of the page where they form a
grid. Pages without one pay almost nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pymupdf

from pipeline.convert.common import normalize_text
from pipeline.convert.pdf_lines import join_texts

_THIN = 3.0  # a rectangle thinner than this is a drawn line
_MIN_EDGE = 5.0  # shorter strokes are glyph parts or dots, not rules
_MIN_CELL = 8.0  # rules closer than this on average cannot have text between them
_MAX_LINES_PER_CELL = 8  # more text than this per grid cell is a frame around running text
_SNAP = 3.0  # edges closer than this touch (PyMuPDF's own snap tolerance)
_MAX_PAIRS = 4_000_000  # more rule pairs than this is a drawing (hatching, a map), not a form


@dataclass(slots=True)
class TableBlock:
    """A table found on a page: its box (PDF points) and its Markdown."""

    x0: float
    y0: float
    x1: float
    y1: float
    markdown: str
    role: str | None = None  # the layout model's class for the region, when one ran

    def contains(self, x: float, y: float) -> bool:
        return self.x0 - 1 <= x <= self.x1 + 1 and self.y0 - 1 <= y <= self.y1 + 1


Box = tuple[float, float, float, float]
_Word = tuple[float, float, float, float, str, int, int, int]
_Edge = tuple[float, float, float]  # (position across, start, end along the rule)


def _item_box(item: tuple[Any, ...]) -> Sequence[float] | None:
    kind = item[0]
    if kind == "l":
        return (*item[1], *item[2])
    if kind == "re":
        return item[1]
    if kind == "qu":
        xs = [p[0] for p in item[1]]
        ys = [p[1] for p in item[1]]
        return (min(xs), min(ys), max(xs), max(ys))
    return None  # curves never form a table grid


def _edges(page: pymupdf.Page) -> tuple[list[_Edge], list[_Edge]]:
    """Horizontal and vertical rules: drawn lines, thin rectangles and the sides of rectangles."""
    page_area = page.rect.width * page.rect.height
    horizontal: list[_Edge] = []
    vertical: list[_Edge] = []
    for path in page.get_cdrawings():
        for item in path["items"]:
            box = _item_box(item)
            if box is None:
                continue
            x0, x1 = sorted((box[0], box[2]))
            y0, y1 = sorted((box[1], box[3]))
            w, h = x1 - x0, y1 - y0
            if h <= _THIN and w >= _MIN_EDGE:
                horizontal.append(((y0 + y1) / 2, x0, x1))
            elif w <= _THIN and h >= _MIN_EDGE:
                vertical.append(((x0 + x1) / 2, y0, y1))
            elif w > _THIN and h > _THIN and w * h < 0.8 * page_area:  # not a page background
                horizontal += [(y0, x0, x1), (y1, x0, x1)]
                vertical += [(x0, y0, y1), (x1, y0, y1)]
    return _merge(horizontal), _merge(vertical)


def _merge(edges: list[_Edge]) -> list[_Edge]:
    """Fuse collinear pieces that touch: cell borders drawn cell by cell become whole rules."""
    merged: list[_Edge] = []
    for pos, start, end in sorted(edges, key=lambda e: (round(e[0]), e[1])):
        if merged and abs(pos - merged[-1][0]) <= _SNAP and start <= merged[-1][2] + _SNAP:
            last = merged[-1]
            merged[-1] = (last[0], last[1], max(last[2], end))
        else:
            merged.append((pos, start, end))
    return merged


def _spaced(positions: np.ndarray) -> bool:
    """Rules far enough apart to hold a line of text between them (hatching is not)."""
    unique = np.unique(np.round(positions))
    return len(unique) >= 2 and float(np.median(np.diff(unique))) >= _MIN_CELL


def candidate_region(page: pymupdf.Page, text: Sequence[Box] = ()) -> pymupdf.Rect | None:
    """Where rules form a grid (the only place a line-based table can be), or ``None``.

    A grid has three horizontal rules that each cross two vertical ones (or two that cross three),
    with cells wide and tall enough for text; the boxes around figure labels, a frame, a page
    rule or the hatching of a drawing do not qualify. With the page's text line boxes given, a
    grid whose cells would hold more than a few lines each is a layout frame, not a table.
    """
    horizontal, vertical = _edges(page)
    if len(horizontal) < 2 or len(vertical) < 2 or len(horizontal) * len(vertical) > _MAX_PAIRS:
        return None
    h = np.array(horizontal)
    v = np.array(vertical)
    crosses = (
        (v[None, :, 0] >= h[:, None, 1] - _SNAP)
        & (v[None, :, 0] <= h[:, None, 2] + _SNAP)
        & (h[:, None, 0] >= v[None, :, 1] - _SNAP)
        & (h[:, None, 0] <= v[None, :, 2] + _SNAP)
    )
    counts = crosses.sum(axis=1)
    rows = np.array([n >= 2 and _spaced(v[crosses[i], 0]) for i, n in enumerate(counts)], bool)
    if not rows.any() or not _spaced(h[rows, 0]):
        return None
    if rows.sum() < 3 and (counts[rows] >= 3).sum() < 2:
        return None
    cols = crosses[rows].any(axis=0)
    # One find_tables call over the union: each call re-reads the whole page's content stream.
    x0 = min(h[rows, 1].min(), v[cols, 0].min()) - _SNAP
    x1 = max(h[rows, 2].max(), v[cols, 0].max()) + _SNAP
    y0 = min(h[rows, 0].min(), v[cols, 1].min()) - _SNAP
    y1 = max(h[rows, 0].max(), v[cols, 2].max()) + _SNAP
    region = pymupdf.Rect(float(x0), float(y0), float(x1), float(y1))
    cells = max(len(np.unique(np.round(h[rows, 0]))) - 1, 1) * max(
        len(np.unique(np.round(v[cols, 0]))) - 1, 1
    )
    inside = sum(1 for b in text if region.contains(((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)))
    return None if inside > _MAX_LINES_PER_CELL * cells else region


def _cell_text(words: Sequence[_Word], box: Sequence[float]) -> str:
    """The words whose centre lies in ``box``, line by line, as one cell string."""
    lines: dict[tuple[int, int], list[_Word]] = {}
    for word in words:
        cx, cy = (word[0] + word[2]) / 2, (word[1] + word[3]) / 2
        if box[0] <= cx <= box[2] and box[1] <= cy <= box[3]:
            lines.setdefault((word[5], word[6]), []).append(word)
    ordered = sorted(lines.values(), key=lambda ws: (round((ws[0][1] + ws[0][3]) / 4), ws[0][0]))
    texts = (normalize_text(" ".join(w[4] for w in ws)).strip() for ws in ordered)
    return join_texts(t for t in texts if t)


def table_markdown(rows: Sequence[Sequence[str | None]]) -> str | None:
    """A pipe table, first row as header; ``None`` if fewer than two rows or two columns of text.

    >>> print(table_markdown([["Name", "Qty"], ["a|b", None]]))
    | Name | Qty |
    | --- | --- |
    | a\\|b |  |
    """
    cells = [[" ".join((c or "").split()).replace("|", "\\|") for c in row] for row in rows]
    cells = [row for row in cells if any(row)]
    if not cells:
        return None
    width = max(len(row) for row in cells)
    cells = [row + [""] * (width - len(row)) for row in cells]
    keep = [c for c in range(width) if any(row[c] for row in cells)]
    cells = [[row[c] for c in keep] for row in cells]
    if len(cells) < 2 or len(keep) < 2:
        return None
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + " --- |" * len(keep)]
    lines += ["| " + " | ".join(row) + " |" for row in cells[1:]]
    return "\n".join(lines)


def _looks_tabular(rows: Sequence[Sequence[str | None]]) -> bool:
    """Reject grids that are page furniture: a frame around whole columns of running text."""
    filled = [len(c) for row in rows for c in row if c and c.strip()]
    total = sum(len(row) for row in rows)
    return len(filled) >= 4 and len(filled) >= 0.25 * total and sum(filled) / len(filled) <= 200


def find_tables(
    page: pymupdf.Page, textpage: pymupdf.TextPage | None = None, text: Sequence[Box] = ()
) -> list[TableBlock]:
    """The page's ruled tables as Markdown, top to bottom. Exceptions are the caller's to record.

    PyMuPDF finds the grid; the cell text comes from MuPDF's words (``textpage`` if given, to
    reuse the page's extraction), which keeps spaces and decimal points where PyMuPDF's
    character-level cell text can lose them. ``text`` (the page's line boxes) lets the search
    skip frames around running text.
    """
    region = candidate_region(page, text)
    if region is None:
        return []
    found = page.find_tables(clip=region, use_layout=False).tables
    if not found:
        return []
    words = [w for w in page.get_text("words", textpage=textpage) if region.contains(w[:4])]
    blocks: list[TableBlock] = []
    for table in found:
        rows = [[_cell_text(words, c) if c else "" for c in row.cells] for row in table.rows]
        markdown = table_markdown(rows) if _looks_tabular(rows) else None
        box = pymupdf.Rect(table.bbox)
        if markdown and not any(_overlaps(box, b) for b in blocks):
            blocks.append(TableBlock(box.x0, box.y0, box.x1, box.y1, markdown))
    blocks.sort(key=lambda b: b.y0)
    return blocks


def _overlaps(box: pymupdf.Rect, block: TableBlock) -> bool:
    return box.intersects(pymupdf.Rect(block.x0, block.y0, block.x1, block.y1))
