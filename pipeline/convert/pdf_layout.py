"""Paragraphs, headings and lists: a page's lines, read in order (``pdf_columns``), as blocks.

Rules, not a model: they read font sizes relative to the document's body size, vertical gaps
relative to line height, and indentation relative to the column. That keeps conversion in the
millisecond range per page and makes every decision explainable from the PDF itself.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from pipeline.convert.layout_model import HEADINGS
from pipeline.convert.pdf_columns import TERMINAL, Item, reading_flows
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
_NOT_HEADING_END = (",", ";", ".", ":")
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

    @property
    def role(self) -> str | None:
        """The layout model's class that most of the paragraph's text lies in, if it ran."""
        weights: Counter[str] = Counter()
        for line in self.lines:
            if line.role:
                weights[line.role] += len(line.text)
        return weights.most_common(1)[0][0] if weights else None

    def code(self) -> str:
        """The lines as a fenced code block, indentation rebuilt from x (0.6 em per char)."""
        left = min(line.x0 for line in self.lines)
        rows = [" " * round((ln.x0 - left) / (0.6 * ln.size)) + ln.text for ln in self.lines]
        return "```\n" + "\n".join(rows) + "\n```"


Block = Paragraph | TableBlock


@dataclass(slots=True)
class FontStyle:
    """Document-wide typography: the body size and the sizes that mark heading levels."""

    body: float
    body_bold: bool
    heading_sizes: list[float]
    # OCR sizes come from box heights (quotes and skew inflate them): demand a clear step up.
    min_ratio: float = 0.0

    def level(self, para: Paragraph, max_level: int) -> int | None:
        """The heading level of ``para`` (1 = ``#``), or ``None`` if it is body text.

        Sizes decide first. A paragraph the layout model calls a title or section header is a
        heading even at body size (the level below the sized ones); one it calls body text is
        not made a heading by boldness alone.
        """
        if not _heading_shape(para):
            return None
        if para.size in self.heading_sizes and _heading_size(para, self.body, self.min_ratio):
            return min(self.heading_sizes.index(para.size) + 1, max_level)
        role = para.role
        if role in HEADINGS or (role is None and _bold_heading(para, self)):
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
    return not (ended and (prev.text.endswith(TERMINAL) or indented))


def _paragraphs(flow: Sequence[Item]) -> list[Block]:
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


def _with_tables(flow: list[Item], find: TableFinder) -> list[Item]:
    """The flow with runs of aligned text replaced by the tables they form, in place."""
    lines = [item for item in flow if isinstance(item, TextLine)]
    found = find(lines)
    if not found:
        return flow
    taken: dict[int, TableBlock] = {}
    for table, members in found:
        for line in members:
            taken[id(line)] = table
    out: list[Item] = []
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
        blocks += _join_across(
            _paragraphs(_with_tables(flow, text_tables) if text_tables else flow), blocks
        )
    return blocks


def _carries_on(first: Paragraph, second: Paragraph) -> bool:
    """``second`` (the top of the next column) finishes ``first``'s sentence: ``first`` ends
    without closing it, ``second`` starts in lower case, in the same size and style."""
    last, nxt = first.lines[-1], second.lines[0]
    text = first.text.rstrip()
    return (
        bool(text)
        and not text.endswith(TERMINAL)
        and nxt.text[:1].islower()
        and abs(last.size - nxt.size) <= 0.5
        and last.bold == nxt.bold
        and last.italic == nxt.italic
        and last.mono == nxt.mono == False  # noqa: E712 - code keeps its own blocks
        and list_marker(second.text) is None
    )


def _join_across(flow: list[Block], before: list[Block]) -> list[Block]:
    """The flow's blocks, its first paragraph joined to the previous flow's last one when a
    sentence (or a hyphenated word) runs from the foot of one column to the head of the next."""
    if not flow or not before:
        return flow
    first, last = flow[0], before[-1]
    if isinstance(first, Paragraph) and isinstance(last, Paragraph) and _carries_on(last, first):
        last.lines.extend(first.lines)
        return flow[1:]
    return flow
