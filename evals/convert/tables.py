"""Tables in converter output (Markdown pipe tables and HTML ``<table>``) as grids of cells.

The table checks of olmOCR-Bench ask about neighbours: the cell above, below, left, right of a
cell, and the heading at the top of its column or the left of its row. Both syntaxes are read
into one shape, ``TableGrid``, where a cell spanning several rows or columns is stored once and
is a neighbour of every cell along its edges.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser

Cell = tuple[int, int]


@dataclass(slots=True)
class CellSpec:
    """One cell as written: its text, spans and whether it is a heading (``th``, first row)."""

    text: str
    rowspan: int = 1
    colspan: int = 1
    heading: bool = False


@dataclass(slots=True)
class TableGrid:
    """A parsed table: each cell's text by its top-left ``(row, col)``, and its neighbours."""

    text: dict[Cell, str]
    headings: set[Cell]
    up: dict[Cell, set[Cell]] = field(default_factory=dict)
    down: dict[Cell, set[Cell]] = field(default_factory=dict)
    left: dict[Cell, set[Cell]] = field(default_factory=dict)
    right: dict[Cell, set[Cell]] = field(default_factory=dict)

    def top_headings(self, cell: Cell) -> set[Cell]:
        """Heading cells reached walking up from ``cell`` (or the top cells if none is marked)."""
        return self._walk(cell, self.up)

    def left_headings(self, cell: Cell) -> set[Cell]:
        """Heading cells reached walking left from ``cell`` (or the leftmost cells)."""
        return self._walk(cell, self.left)

    def _walk(self, start: Cell, relation: dict[Cell, set[Cell]]) -> set[Cell]:
        headings: set[Cell] = set()
        ends: set[Cell] = set()
        seen: set[Cell] = set()
        todo = {start}
        while todo:
            cur = todo.pop()
            seen.add(cur)
            if cur in self.headings:
                headings.add(cur)
            nxt = relation.get(cur, set()) - seen
            if not relation.get(cur):
                ends.add(cur)
            todo |= nxt
        headings.discard(start)
        ends.discard(start)
        return headings or ends


def _occupancy(rows: list[list[CellSpec]]) -> tuple[list[list[Cell | None]], dict[Cell, CellSpec]]:
    """Lay the written cells on a grid, honouring row and column spans."""
    grid: list[list[Cell | None]] = []
    cells: dict[Cell, CellSpec] = {}
    pending: dict[int, tuple[Cell, int]] = {}  # column -> (cell, rows still to cover)
    r = 0
    for r, specs in enumerate(rows):
        line: list[Cell | None] = []
        col = 0
        queue = list(specs)
        while queue or any(c >= col for c in pending):
            if col in pending:
                cell, left = pending.pop(col)
                line.append(cell)
                if left > 1:
                    pending[col] = (cell, left - 1)
                col += 1
                continue
            if not queue:
                line.append(None)
                col += 1
                continue
            spec = queue.pop(0)
            cell = (r, col)
            cells[cell] = spec
            for c in range(col, col + spec.colspan):
                line.append(cell)
                if spec.rowspan > 1:
                    pending[c] = (cell, spec.rowspan - 1)
            col += spec.colspan
        grid.append(line)
    while pending:  # rowspans running past the last written row
        line = []
        for c in range(max(pending) + 1):
            entry = pending.pop(c, None)
            line.append(entry[0] if entry else None)
            if entry and entry[1] > 1:
                pending[c] = (entry[0], entry[1] - 1)
        grid.append(line)
    width = max((len(line) for line in grid), default=0)
    for line in grid:
        line.extend([None] * (width - len(line)))
    return grid, cells


def build_grid(rows: list[list[CellSpec]]) -> TableGrid | None:
    """A ``TableGrid`` from written rows, or ``None`` if there is no cell."""
    grid, cells = _occupancy(rows)
    if not cells:
        return None
    height, width = len(grid), len(grid[0]) if grid else 0
    rel: dict[str, dict[Cell, set[Cell]]] = {k: defaultdict(set) for k in ("u", "d", "l", "r")}
    for cell, spec in cells.items():
        r0, c0 = cell
        r1, c1 = r0 + spec.rowspan - 1, c0 + spec.colspan - 1
        for r in range(r0, min(r1, height - 1) + 1):
            _first(rel["r"][cell], (grid[r][c] for c in range(c1 + 1, width)), cell)
            _first(rel["l"][cell], (grid[r][c] for c in range(c0 - 1, -1, -1)), cell)
        for c in range(c0, min(c1, width - 1) + 1):
            _first(rel["d"][cell], (grid[r][c] for r in range(r1 + 1, height)), cell)
            _first(rel["u"][cell], (grid[r][c] for r in range(r0 - 1, -1, -1)), cell)
    return TableGrid(
        text={cell: spec.text for cell, spec in cells.items()},
        headings={cell for cell, spec in cells.items() if spec.heading},
        up={c: set(rel["u"][c]) for c in cells},
        down={c: set(rel["d"][c]) for c in cells},
        left={c: set(rel["l"][c]) for c in cells},
        right={c: set(rel["r"][c]) for c in cells},
    )


def _first(into: set[Cell], neighbours: object, me: Cell) -> None:
    for cell in neighbours:  # type: ignore[attr-defined]
        if cell is not None and cell != me:
            into.add(cell)
            return


def _is_rule(line: str) -> bool:
    body = line.replace("|", "").strip()
    return bool(body) and all(ch in "-: " for ch in body)


def _split_row(line: str) -> list[str]:
    cells = [c.strip() for c in line.replace("\\|", "\x00").split("|")]
    if cells and cells[0] == "":
        cells = cells[1:]
    if cells and cells[-1] == "":
        cells = cells[:-1]
    return [c.replace("\x00", "|") for c in cells]


def parse_markdown_tables(text: str) -> list[TableGrid]:
    """Every run of two or more lines holding ``|``; the first row and column are headings."""
    tables: list[TableGrid] = []
    run: list[str] = []
    for line in [*text.strip().split("\n"), ""]:
        if "|" in line:
            run.append(line)
            continue
        if len(run) >= 2:
            rows = [_split_row(ln) for ln in run if not _is_rule(ln)]
            rows = [row for row in rows if row]
            specs = [
                [CellSpec(c, heading=(r == 0 or i == 0)) for i, c in enumerate(row)]
                for r, row in enumerate(rows)
            ]
            grid = build_grid(specs) if specs else None
            if grid:
                tables.append(grid)
        run = []
    return tables


def _span(value: str | None) -> int:
    try:
        return max(1, int(value or 1))
    except ValueError:
        return 1


class _HtmlTables(HTMLParser):
    """Collects ``<table>`` rows and cells; ``<br>`` inside a cell becomes a line break."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[CellSpec]]] = []
        self._stack: list[list[list[CellSpec]]] = []
        self._cell: CellSpec | None = None
        self._thead = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._stack.append([])
        elif tag == "thead":
            self._thead += 1
        elif tag == "tr" and self._stack:
            self._stack[-1].append([])
        elif tag in ("td", "th") and self._stack:
            if not self._stack[-1]:
                self._stack[-1].append([])
            a = dict(attrs)
            self._cell = CellSpec(
                "", _span(a.get("rowspan")), _span(a.get("colspan")), tag == "th" or self._thead > 0
            )
            self._stack[-1][-1].append(self._cell)
        elif tag == "br" and self._cell is not None:
            self._cell.text += "\n"

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._stack:
            self.tables.append(self._stack.pop())
        elif tag == "thead":
            self._thead = max(0, self._thead - 1)
        elif tag in ("td", "th") and self._cell is not None:
            self._cell.text = self._cell.text.strip()
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.text += data


def parse_html_tables(text: str) -> list[TableGrid]:
    """Every ``<table>`` in ``text``; ``th`` cells and ``thead`` rows are headings."""
    parser = _HtmlTables()
    parser.feed(text)
    parser.close()
    grids = (build_grid(rows) for rows in parser.tables)
    return [g for g in grids if g is not None]
