"""Tables without rules: rows of text whose pieces line up in columns.

Financial statements and most scientific tables draw few or no lines, so grid detection misses
them. Here a table is a run of at least three rows that split into two or more cells at wide
gaps, with cells that fall into common column intervals. Rows above the first numeric row are
header rows; a header cell that spans several columns makes the table HTML (Markdown cannot say
``colspan``). Two columns of prose are not a table: their pieces are long, so such rows do not
count.
"""

from __future__ import annotations

import dataclasses
import html
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pipeline.convert.pdf_lines import TextLine
from pipeline.convert.pdf_tables import TableBlock, table_markdown

_CELL_GAP = 1.0  # pieces further apart than this many font sizes are different cells
_MIN_ROWS = 3
_ROW_GAP = 2.2  # a vertical gap over this many line heights ends the table
_LONG = 0.42  # a piece wider than this share of the text width is prose, not a cell
_PROSE_WORDS = 8  # a piece with this many words is a line of running text
_CURRENCY = {"$", "€", "£", "¥", "US$", "CHF"}
_PREFIX = {*_CURRENCY, "(", "+", "-", "–"}
_NUMERIC = re.compile(
    r"[-+−–(]?\s*(?:US)?[$€£¥]?\s*[\d.,]*\d[\d.,\s]*(?:\s?[%‰]|[A-Za-z]{1,2})?\s*[$€£)]?\*?"
)


@dataclass(slots=True)
class _Seg:
    x0: float
    x1: float
    text: str


@dataclass(slots=True)
class _Row:
    lines: list[TextLine]
    segs: list[_Seg] = field(default_factory=list)

    @property
    def y0(self) -> float:
        return min(ln.y0 for ln in self.lines)

    @property
    def y1(self) -> float:
        return max(ln.y1 for ln in self.lines)

    @property
    def height(self) -> float:
        return max(ln.height for ln in self.lines)


def is_numeric(text: str) -> bool:
    """A cell that holds a number (amounts, percentages, "3.71T", "(80)", "102 $").

    >>> [is_numeric(t) for t in ("1,136", "$ 178", "(80)", "3.71T", "12,9 %", "OLMo 2 Mix")]
    [True, True, True, True, True, False]
    """
    return bool(_NUMERIC.fullmatch(text.strip()))


def _segments(lines: Sequence[TextLine]) -> list[_Seg]:
    pieces = sorted(
        (p for ln in lines for p in (ln.pieces or ((ln.x0, ln.x1, ln.text),))), key=lambda p: p[0]
    )
    size = max(ln.size for ln in lines)
    segs: list[_Seg] = []
    for x0, x1, text in pieces:
        if not text:
            continue
        last = segs[-1] if segs else None
        if text in _CURRENCY:  # a currency sign opens the next column's cell, never ends one
            segs.append(_Seg(x0, x1, text))
        elif last and (
            x0 - last.x1 <= _CELL_GAP * size
            or last.text in _PREFIX
            or (text in ("%", ")") and x0 - last.x1 <= 2 * size)
        ):
            last.x1, last.text = max(last.x1, x1), f"{last.text} {text}"
        else:
            segs.append(_Seg(x0, x1, text))
    return segs


def _rows(lines: Sequence[TextLine]) -> list[_Row]:
    rows: list[_Row] = []
    for line in sorted(lines, key=lambda ln: (ln.y0, ln.x0)):
        last = rows[-1] if rows else None
        if last and min(line.y1, last.y1) - max(line.y0, last.y0) > 0.5 * min(
            line.height, last.height
        ):
            last.lines.append(line)
        else:
            rows.append(_Row([line]))
    for row in rows:
        row.segs = _segments(row.lines)
    return rows


def _prose(seg: _Seg, width: float) -> bool:
    return seg.x1 - seg.x0 > _LONG * width or len(seg.text.split()) >= _PROSE_WORDS


def _key_value(row: _Row) -> bool:
    """A bold label on its own line beside a plain value of a few words ("Born  943/944").

    Infoboxes and fact sheets set their values in a narrow column, where a value can take half
    the width and read as prose by width alone; the bold key says it is a cell.
    """
    if len(row.segs) != 2 or len(row.lines) != 2:
        return False
    key, value = sorted(row.lines, key=lambda ln: ln.x0)
    return (
        key.bold
        and not value.bold
        and len(key.text.split()) <= 3
        and len(value.text.split()) < _PROSE_WORDS
    )


def _tabular(row: _Row, width: float) -> bool:
    """Two or more cells, none of them a line of running text (a label may be long)."""
    if _key_value(row):
        return True
    if len(row.segs) < 2 or any(_prose(s, width) for s in row.segs[1:]):
        return False
    first = row.segs[0]
    # A long first piece beside one short one is a text column next to a sidebar.
    return not (_prose(first, width) and len(first.text.split()) >= _PROSE_WORDS)


def _runs(rows: list[_Row], width: float) -> list[list[_Row]]:
    """Maximal runs of close rows, mostly tabular, trimmed of plain rows at the bottom."""
    runs: list[list[_Row]] = []
    run: list[_Row] = []

    def close() -> None:
        while run and not _tabular(run[-1], width):
            run.pop()
        tabular = [r for r in run if _tabular(r, width)]
        left = min((r.segs[0].x0 for r in tabular), default=0.0)
        # A plain line at the left edge above the table is the paragraph before it; one set
        # in from the edge is a heading over the value columns ("Year Ended").
        while run and not _tabular(run[0], width) and run[0].segs[0].x0 <= left + 0.1 * width:
            run.pop(0)
        if sum(_tabular(r, width) for r in run) >= _MIN_ROWS:
            runs.append(list(run))
        run.clear()

    for row in rows:
        fits = _tabular(row, width) or (
            len(row.segs) == 1 and row.segs[0].x1 - row.segs[0].x0 <= 0.6 * width
        )
        near = not run or row.y0 - run[-1].y1 <= _ROW_GAP * max(row.height, run[-1].height)
        if fits and near:
            run.append(row)
            continue
        close()
        if fits:
            run.append(row)
    close()
    return runs


def _columns(rows: list[_Row], width: float) -> list[tuple[float, float]]:
    """Column intervals: the union of the cells of tabular rows, overlaps merged."""
    spans = sorted(
        (s.x0, s.x1)
        for r in rows
        if _tabular(r, width)
        for s in r.segs
        if _key_value(r) or s.x1 - s.x0 <= _LONG * width
    )
    columns: list[tuple[float, float]] = []
    for x0, x1 in spans:
        if columns and x0 <= columns[-1][1] + 1.0:
            columns[-1] = (columns[-1][0], max(columns[-1][1], x1))
        else:
            columns.append((x0, x1))
    return columns


@dataclass(slots=True)
class _Cell:
    first: int
    span: int
    text: str
    x0: float
    x1: float


Grid = list[list[_Cell]]


def _cells(row: _Row, columns: list[tuple[float, float]]) -> list[_Cell]:
    """The cells of ``row``: each segment in the columns it overlaps (one cell per column)."""
    out: list[_Cell] = []
    for seg in row.segs:
        hit = [i for i, (c0, c1) in enumerate(columns) if seg.x0 < c1 - 0.5 and seg.x1 > c0 + 0.5]
        if not hit:  # between columns: the nearest one by centre
            mid = (seg.x0 + seg.x1) / 2
            hit = [min(range(len(columns)), key=lambda i: abs(sum(columns[i]) / 2 - mid))]
        last = out[-1] if out else None
        if last and last.first <= hit[0] < last.first + last.span:  # same column: one cell
            last.span = max(last.span, hit[-1] - last.first + 1)
            last.text, last.x1 = f"{last.text} {seg.text}", seg.x1
        else:
            out.append(_Cell(hit[0], hit[-1] - hit[0] + 1, seg.text, seg.x0, seg.x1))
    return out


CellCutter = Callable[[_Row, list[tuple[float, float]]], list[_Cell]]


def _grid(run: list[_Row], columns: list[tuple[float, float]], cut: CellCutter = _cells) -> Grid:
    merged: Grid = []
    for cells in (cut(row, columns) for row in run):
        only_label = len(cells) == 1 and cells[0].first == 0 and cells[0].span == 1
        wrapped = bool(cells) and cells[0].first == 0 and cells[0].text[:1].islower()
        previous = merged[-1] if merged else []
        if wrapped and previous and previous[0].first == 0:
            if only_label:  # the label's second line: values sat on its first
                previous[0].text = f"{previous[0].text} {cells[0].text}"
                continue
            if len(previous) == 1 and previous[0].span == 1:  # values sit on its last line
                cells[0].text = f"{previous[0].text} {cells[0].text}"
                merged[-1] = cells
                continue
        merged.append(cells)
    return merged


def _header_rows(grid: Grid) -> int:
    for index, cells in enumerate(grid):
        if any(is_numeric(cell.text) for cell in cells):
            return index
    return 1


def _spread(cell: _Cell, taken: set[int], columns: list[tuple[float, float]]) -> None:
    """Widen a header cell over the value columns it is centred on ("Year Ended" over three)."""
    mid = (cell.x0 + cell.x1) / 2
    best = (cell.first, cell.first + cell.span - 1)
    for a in range(1, len(columns)):
        for b in range(a, len(columns)):
            if any(c in taken for c in range(a, b + 1)) or b - a <= best[1] - best[0]:
                continue
            x0, x1 = columns[a][0], columns[b][1]
            if x0 <= cell.x0 and cell.x1 <= x1 and abs((x0 + x1) / 2 - mid) <= 0.15 * (x1 - x0):
                best = (a, b)
    cell.first, cell.span = best[0], best[1] - best[0] + 1


def _spread_headers(grid: Grid, header: int, columns: list[tuple[float, float]]) -> None:
    for cells in grid[:header]:
        for cell in cells:
            if cell.first == 0:
                continue
            others = {c for o in cells if o is not cell for c in range(o.first, o.first + o.span)}
            _spread(cell, others, columns)


def _html(grid: Grid, width: int, header: int) -> str:
    out = ["<table>"]
    for r, cells in enumerate(grid):
        tag = "th" if r < header else "td"
        parts, col = [], 0
        for cell in cells:
            parts += [f"<{tag}></{tag}>"] * (cell.first - col)
            attr = f' colspan="{cell.span}"' if cell.span > 1 else ""
            parts.append(f"<{tag}{attr}>{html.escape(cell.text)}</{tag}>")
            col = cell.first + cell.span
        parts += [f"<{tag}></{tag}>"] * (width - col)
        out.append("<tr>" + "".join(parts) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _cells_by_share(row: _Row, columns: list[tuple[float, float]]) -> list[_Cell]:
    """Cells for columns that tile the table (a model's separators): a segment belongs to the
    columns it covers over half of (of its own width or the column's), so a figure that pokes
    over a separator by a few points does not span, while a header over several columns does."""
    out: list[_Cell] = []
    for seg in row.segs:
        width = seg.x1 - seg.x0
        hit = [
            i
            for i, (c0, c1) in enumerate(columns)
            if min(seg.x1, c1) - max(seg.x0, c0) > 0.5 * min(width, c1 - c0)
        ]
        if not hit:
            mid = (seg.x0 + seg.x1) / 2
            hit = [min(range(len(columns)), key=lambda i: abs(sum(columns[i]) / 2 - mid))]
        last = out[-1] if out else None
        if last and last.first <= hit[0] < last.first + last.span:
            last.span = max(last.span, hit[-1] - last.first + 1)
            last.text, last.x1 = f"{last.text} {seg.text}", seg.x1
        else:
            out.append(_Cell(hit[0], hit[-1] - hit[0] + 1, seg.text, seg.x0, seg.x1))
    return out


_FILLER = re.compile(r"^[\s.…·_\-]+$")  # dot leaders and rules typed as characters
_LEADER_RUN = re.compile(r"(?:\s*[.…·]){4,}\s*")


def _unfilled(line: TextLine) -> TextLine:
    """The line without its dot leaders (pieces of dots or dashes, runs of dots in a piece)."""
    pieces = []
    for x0, x1, text in line.pieces or ((line.x0, line.x1, line.text),):
        text = _LEADER_RUN.sub(" ", text).strip()
        if text and not _FILLER.match(text):
            pieces.append((x0, x1, text))
    return dataclasses.replace(line, pieces=tuple(pieces))


def grid_table(lines: Sequence[TextLine], cuts: Sequence[float]) -> TableBlock | None:
    """The table ``lines`` form when cut into columns at ``cuts`` (a layout model's column
    separators): text rows as rows, wrapped labels joined, headers over the columns they span.
    ``None`` when fewer than two rows hold two cells."""
    rows = [r for r in _rows([ln for ln in map(_unfilled, lines) if ln.pieces]) if r.segs]
    if not rows:
        return None
    left = min(ln.x0 for ln in lines)
    right = max(ln.x1 for ln in lines)
    edges = [left, *sorted(c for c in cuts if left < c < right), right]
    columns = list(itertools.pairwise(edges))
    grid = _grid(rows, columns, _cells_by_share)
    if sum(len(cells) >= 2 for cells in grid) < 2:
        return None
    text = _render(grid, columns)
    if not text:
        return None
    box = (left, min(ln.y0 for ln in lines), right, max(ln.y1 for ln in lines))
    return TableBlock(*box, text)


def _render(grid: Grid, columns: list[tuple[float, float]]) -> str | None:
    header = max(1, _header_rows(grid))
    _spread_headers(grid, header, columns)
    width = len(columns)
    if any(cell.span > 1 for cells in grid for cell in cells):
        return _html(grid, width, header)
    rows = []
    for cells in grid:
        row = [""] * width
        for cell in cells:
            row[cell.first] = cell.text
        rows.append(row)
    return table_markdown(rows)


def find_text_tables(lines: Sequence[TextLine]) -> list[tuple[TableBlock, list[TextLine]]]:
    """Tables made of aligned text, each with the lines it took, top to bottom."""
    if len(lines) < _MIN_ROWS:
        return []
    left = min(ln.x0 for ln in lines)
    width = max(ln.x1 for ln in lines) - left
    found = []
    for run in _runs(_rows(lines), width):
        columns = _columns(run, width)
        if len(columns) < 2:
            continue
        grid = _grid(run, columns)
        text = _render(grid, columns)
        if not text:
            continue
        taken = [ln for row in run for ln in row.lines]
        box = (
            min(ln.x0 for ln in taken),
            min(ln.y0 for ln in taken),
            max(ln.x1 for ln in taken),
            max(ln.y1 for ln in taken),
        )
        found.append((TableBlock(*box, text), taken))
    return found
