"""Reading order, paragraphs, headings and lists: from a page's lines to Markdown blocks.

Rules, not a model: they read font sizes relative to the document's body size, vertical gaps
relative to line height, and indentation relative to the column. That keeps conversion in the
millisecond range per page and makes every decision explainable from the PDF itself.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.convert.pdf_lines import TextLine, join_texts, merge_rows
from pipeline.convert.pdf_tables import TableBlock

# Bullets include U+FFFD and the private use area: symbol-font bullets often map to those.
_LIST = re.compile(
    r"^(?:(?P<bullet>[•◦▪▫‣⁃●○■□☐►▶➢✓–\-*·\ufffd\ue000-\uf8ff]+)"
    r"|(?P<num>\d{1,3})[.)]"
    r"|(?P<alpha>[a-zA-Z]\)|\(\w{1,3}\)))"
    r"\s+(?P<rest>\S.*)$",
    re.DOTALL,
)
LEADER = re.compile(r"(?:\s*\.){4,}\s*")  # dot leaders of a table of contents
_ROMAN = re.compile(r"^[ivxlcdm]+$", re.IGNORECASE)  # a page number, not a heading
_TERMINAL = (".", "!", "?", ":", "。", "…", '."', ".»", ".”")
_NOT_HEADING_END = (",", ";", ".", ":")
_MAX_COLUMN_DEPTH = 3  # up to 2**3 columns: enough for a broadsheet page
_HEADING_RATIO = 1.15  # a size this much above the body reads as a heading
_NEAR_RATIO = 1.05  # slightly larger text is a heading only when bold or on one line


@dataclass(slots=True)
class Paragraph:
    """Consecutive lines read as one unit: a paragraph, a heading or a list item."""

    lines: list[TextLine]

    @property
    def text(self) -> str:
        return join_texts(line.text for line in self.lines)

    @property
    def size(self) -> float:
        weights: Counter[float] = Counter()
        for line in self.lines:
            weights[line.size] += len(line.text)
        return weights.most_common(1)[0][0]

    @property
    def bold(self) -> bool:
        return all(line.bold for line in self.lines)

    @property
    def mono(self) -> bool:
        return all(line.mono for line in self.lines)

    def code(self) -> str:
        """The lines as a fenced code block, indentation rebuilt from x (0.6 em per char)."""
        left = min(line.x0 for line in self.lines)
        rows = [" " * round((ln.x0 - left) / (0.6 * ln.size)) + ln.text for ln in self.lines]
        return "```\n" + "\n".join(rows) + "\n```"


Block = Paragraph | TableBlock
_Item = TextLine | TableBlock


@dataclass(slots=True)
class FontStyle:
    """Document-wide typography: the body size and the sizes that mark heading levels."""

    body: float
    body_bold: bool
    heading_sizes: list[float]
    # OCR sizes come from box heights (quotes and skew inflate them): demand a clear step up.
    min_ratio: float = 0.0

    def level(self, para: Paragraph, max_level: int) -> int | None:
        """The heading level of ``para`` (1 = ``#``), or ``None`` if it is body text."""
        if not _heading_shape(para):
            return None
        if para.size in self.heading_sizes and _heading_size(para, self.body, self.min_ratio):
            return min(self.heading_sizes.index(para.size) + 1, max_level)
        if _bold_heading(para, self):
            return min(len(self.heading_sizes) + 1, max_level)
        return None


def _heading_shape(para: Paragraph) -> bool:
    text = para.text
    bullet = _LIST.match(text)
    return (
        not para.mono
        and len(para.lines) <= 3
        and len(text) <= 150
        and sum(ch.isalpha() for ch in text) >= 2
        and not text.endswith((",", ";"))
        and not (bullet and bullet.group("bullet"))
        and not LEADER.search(text)
        and not _ROMAN.match(text)
    )


def _heading_size(para: Paragraph, body: float, min_ratio: float = 0.0) -> bool:
    """Clearly larger than the body, or a little larger and bold or on a line of its own."""
    ratio = para.size / body if body else 0.0
    if min_ratio:
        return ratio >= min_ratio
    return ratio >= _HEADING_RATIO or (ratio >= _NEAR_RATIO and (para.bold or len(para.lines) == 1))


def _bold_heading(para: Paragraph, style: FontStyle) -> bool:
    """A short bold line at body size standing alone, in a document whose body is not bold.

    It must be its own paragraph (grouping already split it from the text around it) and read
    like a title: at most two lines, no closing sentence punctuation.
    """
    return (
        para.bold
        and not style.body_bold
        and len(para.lines) <= 2
        and len(para.text) <= 100
        and abs(para.size - style.body) <= 1.0
        and not para.text.endswith(_NOT_HEADING_END)
    )


def font_style(pages: Iterable[Sequence[Block]], *, min_ratio: float = 0.0) -> FontStyle:
    """Body size (the most common size, weighted by characters) and heading sizes, largest first."""
    sizes: Counter[float] = Counter()
    bold: Counter[float] = Counter()
    paras = [b for blocks in pages for b in blocks if isinstance(b, Paragraph)]
    for para in paras:
        for line in para.lines:
            sizes[line.size] += len(line.text)
            bold[line.size] += len(line.text) if line.bold else 0
    if not sizes:
        return FontStyle(body=0.0, body_bold=False, heading_sizes=[])
    body = sizes.most_common(1)[0][0]
    heading = {p.size for p in paras if _heading_size(p, body, min_ratio) and _heading_shape(p)}
    return FontStyle(body, bold[body] > 0.5 * sizes[body], sorted(heading, reverse=True), min_ratio)


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


def _interleave(lines: Sequence[TextLine], tables: Sequence[TableBlock]) -> list[_Item]:
    """Lines in row order with each table placed where its top edge falls."""
    pending = sorted(tables, key=lambda t: t.y0)
    items: list[_Item] = []
    for line in lines:
        while pending and pending[0].y0 <= line.y0:
            items.append(pending.pop(0))
        items.append(line)
    return items + pending


_BAND_GAP = 2.5  # a gap this many line heights high across the whole width separates bands


def _bands(items: Sequence[_Item], lines: Sequence[TextLine]) -> list[list[_Item]]:
    """``items`` cut at horizontal gaps that cross every column (XY-cut, horizontal first)."""
    if len(lines) < 6:
        return [list(items)]
    unit = float(np.median([ln.height for ln in lines]))
    bands: list[list[_Item]] = []
    bottom = -1e9
    for item in sorted(items, key=lambda it: it.y0):
        if bands and item.y0 - bottom > _BAND_GAP * unit:
            bands.append([])
        if not bands:
            bands.append([])
        bands[-1].append(item)
        bottom = max(bottom, item.y1)
    return bands


def _split_columns(items: Sequence[_Item], depth: int = 0) -> list[list[_Item]]:
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
    flows: list[list[_Item]] = []
    left: list[_Item] = []
    right: list[_Item] = []
    spanning: list[_Item] = []
    deferred: list[list[_Item]] = []  # a sidebar, read once the text wrapped around it ends
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


def _wraps_below(left: Sequence[_Item], right: Sequence[_Item], item: _Item) -> bool:
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
        and not prev.text.rstrip().endswith(_TERMINAL)
        and abs(item.size - prev.size) <= 0.5
        and (item.bold, item.italic, item.mono) == (prev.bold, prev.italic, prev.mono)
        and abs(item.x0 - main_x0) <= 2 * size
        and -0.3 * size <= item.y0 - prev.y1 <= 1.5 * size
    )


def reading_flows(lines: Sequence[TextLine], tables: Sequence[TableBlock]) -> list[list[_Item]]:
    """The page's lines and tables as flows read one after another.

    A two-column page under a full-width title gives three flows: the title, the left column,
    the right column. A single-column page gives one.
    """
    return _split_columns(_interleave(lines, tables))


def list_marker(text: str) -> tuple[str, str] | None:
    """The Markdown marker and the item text if ``text`` starts like a list item.

    >>> list_marker("• first point")
    ('-', 'first point')
    >>> list_marker("2) second")
    ('2.', 'second')
    """
    match = _LIST.match(text)
    if not match:
        return None
    if match.group("num"):
        return f"{int(match.group('num'))}.", match.group("rest")
    if match.group("alpha"):
        return "-", f"{match.group('alpha')} {match.group('rest')}"
    return "-", match.group("rest")


def _continues(para: Paragraph, line: TextLine, left: float, right: float) -> bool:
    """Whether ``line`` carries on ``para`` (same column, same style, normal line spacing)."""
    prev = para.lines[-1]
    size = min(prev.size, line.size)
    gap = line.y0 - prev.y1
    if line.y0 < prev.y0 + 0.5 * prev.height or gap > 0.8 * size:
        return False
    if len(para.lines) > 1:
        usual = min(b.y0 - a.y1 for a, b in zip(para.lines, para.lines[1:], strict=False))
        if gap > usual + 0.5 * size:
            return False
    # A change of size or style marks a new unit: a run-in subheading, a caption, a heading.
    if abs(line.size - prev.size) > 0.5 or line.mono != prev.mono:
        return False
    if line.mono:  # code keeps its lines whatever their indentation or punctuation
        return True
    if line.bold != prev.bold or line.italic != prev.italic:
        return False
    if line.x0 >= prev.x1 or line.x1 <= prev.x0 or list_marker(line.text):
        return False
    if LEADER.search(prev.text):  # a table-of-contents entry is a line of its own
        return False
    ended = prev.x1 < right - max(2 * size, 0.1 * (right - left))
    # An indented line after a short one starts a paragraph, except under a list item, whose
    # continuation lines hang indented after the marker.
    hanging = list_marker(para.lines[0].text) is not None
    indented = line.x0 > min(ln.x0 for ln in para.lines) + 0.8 * size and not hanging
    return not (ended and (prev.text.endswith(_TERMINAL) or indented))


def _paragraphs(flow: Sequence[_Item]) -> list[Block]:
    lines = [item for item in flow if isinstance(item, TextLine)]
    left = min((ln.x0 for ln in lines), default=0.0)
    right = max((ln.x1 for ln in lines), default=0.0)
    blocks: list[Block] = []
    para: Paragraph | None = None
    for item in flow:
        if isinstance(item, TextLine) and para and _continues(para, item, left, right):
            para.lines.append(item)
            continue
        if isinstance(item, TextLine):
            para = Paragraph([item])
            blocks.append(para)
        else:
            para = None
            blocks.append(item)
    return blocks


TableFinder = Callable[[Sequence[TextLine]], list[tuple[TableBlock, list[TextLine]]]]


def _with_tables(flow: list[_Item], find: TableFinder) -> list[_Item]:
    """The flow with runs of aligned text replaced by the tables they form, in place."""
    lines = [item for item in flow if isinstance(item, TextLine)]
    found = find(lines)
    if not found:
        return flow
    taken: dict[int, TableBlock] = {}
    for table, members in found:
        for line in members:
            taken[id(line)] = table
    out: list[_Item] = []
    placed: set[int] = set()
    for item in flow:
        owner = taken.get(id(item))
        if owner is None:
            out.append(item)
        elif id(owner) not in placed:
            placed.add(id(owner))
            out.append(owner)
    return out


def layout_page(
    lines: Sequence[TextLine],
    tables: Sequence[TableBlock],
    text_tables: TableFinder | None = None,
) -> list[Block]:
    """The page's blocks in reading order; text inside a table's box is left to the table.

    ``text_tables`` finds tables of aligned text within each flow (column), after columns are
    split, so that a text column beside a sidebar never reads as a two-column table.
    """
    outside = [
        ln
        for ln in lines
        if not any(t.contains((ln.x0 + ln.x1) / 2, (ln.y0 + ln.y1) / 2) for t in tables)
    ]
    blocks: list[Block] = []
    for flow in reading_flows(merge_rows(outside), tables):
        blocks += _paragraphs(_with_tables(flow, text_tables) if text_tables else flow)
    return blocks
