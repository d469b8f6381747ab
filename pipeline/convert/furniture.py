"""Running headers, footers and page numbers: page furniture, not content.

Four signals. The layout model's ``page-header`` and ``page-footer`` regions (when a model ran:
``layout_model``), and three rules on lines near the top or bottom edge (the outer ``_BAND``):

- **repetition**: the same text (digits ignored, so "Page 3" matches "Page 4") near the same edge
  on a good share of the document's pages;
- **page numbers**: a number (arabic or roman, "Page 12", "12 / 40", "- 12 -") alone at the very
  top or bottom of the page, or at either end of the first or last row (a book's running head
  "400  BRITISH HUSBANDRY  [Ch. XIX.");
- **margins**: a line in the outermost margin, set apart from the text by a gap, and no larger
  than the body text. A title is larger than the body, so it stays.

The rules look at positions and sizes, never at particular words, so they hold for any language.
The margin rule is the weakest signal: where the model ran and calls the line content (a title,
a caption, text), the model wins.

Never furniture, whatever the signals say: the only text of a page (page numbers aside: with no
body, nothing is a header); a line that runs on into a paragraph
(the next line follows at normal leading in the same size and style, and the sentence has not
ended), because a running header never continues into body text; and nothing is removed
silently: every dropped line comes back with its reason, for the provenance sidecar and the
index (an identifier printed in a header must stay findable).
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.convert.layout_model import CONTENT, FURNITURE
from pipeline.convert.pdf_lines import TextLine

_BAND = 0.12  # the outer share of the page height where furniture lives
_DEEP = 0.075  # the outermost margin
_REPEAT_SHARE = 0.4
_TITLE_RATIO = 1.15
_NUMBER = re.compile(
    r"^[\W_]*(?:(?:page|p\.|pag\.|seite|pagina|página)\s*)?"
    r"(?:\d{1,4}|[ivxlcdm]{1,7})(?:\s*(?:/|of|sur|de|von)\s*\d{1,4})?[\W_]*$",
    re.IGNORECASE,
)
_DIGITS = re.compile(r"\d+")


_TERMINAL = (".", "!", "?", ":", ";", "»", '"', "”")


@dataclass(slots=True)
class PageLines:
    """One page's lines with its size, as furniture removal sees it. ``modelled`` says a layout
    model gave the lines their ``role``."""

    lines: list[TextLine]
    width: float
    height: float
    modelled: bool = False


@dataclass(slots=True)
class Dropped:
    """A line taken out as furniture, and why (kept for the sidecar and the index)."""

    line: TextLine
    reason: str


@dataclass(slots=True)
class Furnished:
    """One page after furniture removal: the lines kept and the lines dropped."""

    kept: list[TextLine]
    dropped: list[Dropped]


def is_page_number(text: str) -> bool:
    """Whether ``text`` reads as a page number.

    >>> [is_page_number(t) for t in ("12", "Page 3 of 40", "- xiv -", "1983", "Chapter 2")]
    [True, True, True, True, False]
    """
    return bool(_NUMBER.match(text.strip()))


def _key(text: str) -> str:
    return _DIGITS.sub("#", " ".join(text.lower().split()))


def _edge(line: TextLine, height: float) -> str | None:
    if line.y1 <= _BAND * height:
        return "top"
    if line.y0 >= (1 - _BAND) * height:
        return "bottom"
    return None


def _body_size(lines: Sequence[TextLine]) -> float:
    sizes: Counter[float] = Counter()
    for line in lines:
        sizes[line.size] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0


def _rows(lines: Sequence[TextLine]) -> list[list[TextLine]]:
    rows: list[list[TextLine]] = []
    for line in sorted(lines, key=lambda ln: (ln.y0, ln.x0)):
        last = rows[-1] if rows else None
        if last and min(line.y1, last[0].y1) - max(line.y0, last[0].y0) > 0.5 * min(
            line.height, last[0].height
        ):
            last.append(line)
        else:
            rows.append([line])
    return rows


def _repeated(pages: Sequence[PageLines]) -> set[tuple[str, str]]:
    """(edge, key) pairs found near the same edge on enough pages to be running text."""
    with_text = [p for p in pages if p.lines]
    if len(with_text) < 3:
        return set()
    seen: Counter[tuple[str, str]] = Counter()
    for page in with_text:
        keys = {(e, _key(ln.text)) for ln in page.lines if (e := _edge(ln, page.height))}
        seen.update(keys)
    need = max(3, _REPEAT_SHARE * len(with_text))
    return {k for k, n in seen.items() if n >= need and len(k[1]) >= 1}


def _gap(rows: list[list[TextLine]], index: int) -> float:
    """The vertical space between row ``index`` and the nearest row toward the page centre."""
    row = rows[index]
    if index == 0 and len(rows) > 1:
        return min(ln.y0 for ln in rows[1]) - max(ln.y1 for ln in row)
    if index == len(rows) - 1 and len(rows) > 1:
        return min(ln.y0 for ln in row) - max(ln.y1 for ln in rows[-2])
    return float("inf")


def _numbered_rows(rows: list[list[TextLine]], height: float) -> set[int]:
    """The first/last rows that carry a page number at an end (or are one), set apart by a gap.

    Measured from the content, not the paper: a cropped page's number sits mid-sheet. A row of
    several numbers ("2019  45  67", a table's last row) stays unless a gap sets it apart.
    """
    found: set[int] = set()
    for index in {0, len(rows) - 1}:
        row = sorted(rows[index], key=lambda ln: ln.x0)
        if not row:
            continue
        ends = [ln for ln in (row[0], row[-1]) if is_page_number(ln.text)]
        if not ends:
            continue
        # A running head is one number and words; a table's row has numbers all along.
        others = [ln for ln in row if ln not in ends[:1] and is_page_number(ln.text)]
        if not others or _gap(rows, index) >= 0.5 * min(ln.height for ln in row):
            found.add(index)
    return found


def _margin_line(line: TextLine, rows: list[list[TextLine]], index: int, page: PageLines) -> bool:
    """An isolated line in the outermost margin, no larger than the body text."""
    top = line.y1 <= _DEEP * page.height
    bottom = line.y0 >= (1 - _DEEP) * page.height
    body = _body_size(page.lines)
    if not (top or bottom) or (body and line.size >= _TITLE_RATIO * body):
        return False
    inner = rows[index + 1 :] if top else rows[:index]
    others = [ln for row in inner for ln in row]
    if not others:
        return False
    gap = min(ln.y0 for ln in others) - line.y1 if top else line.y0 - max(ln.y1 for ln in others)
    return gap >= 0.8 * line.height


def _overlap_x(a: TextLine, b: TextLine) -> bool:
    return min(a.x1, b.x1) - max(a.x0, b.x0) > 0.5 * min(a.width, b.width)


def _flows(upper: TextLine, lower: TextLine) -> bool:
    """``lower`` carries on ``upper``'s sentence: normal leading, same size and style."""
    size = max(upper.size, lower.size, 1.0)
    gap = lower.y0 - upper.y1
    return (
        -0.3 * size <= gap <= 0.8 * size
        and abs(upper.size - lower.size) <= 0.5
        and upper.bold == lower.bold
        and upper.italic == lower.italic
        and _overlap_x(upper, lower)
        and not upper.text.rstrip().endswith(_TERMINAL)
    )


def runs_on(line: TextLine, lines: Sequence[TextLine]) -> bool:
    """Whether ``line`` is part of a paragraph: the line below carries on its sentence, or it
    carries on the sentence of the line above."""
    return any(
        other is not line and (_flows(line, other) or _flows(other, line)) for other in lines
    )


def _rule_reason(
    line: TextLine, index: int, rows: list[list[TextLine]], page: PageLines, found: _Signals
) -> str | None:
    if index in found.numbered:
        return "page number row"
    edge = _edge(line, page.height)
    if edge is None:
        return None
    if (edge, _key(line.text)) in found.repeated:
        return f"repeated near the {edge} edge on many pages"
    if len(rows) > 1 and _margin_line(line, rows, index, page):
        if page.modelled and line.role in CONTENT:
            return None  # the model reads it as content: the weakest rule gives way
        return f"isolated in the {edge} margin"
    return None


@dataclass(slots=True)
class _Signals:
    repeated: set[tuple[str, str]]
    numbered: set[int]


def _reason(
    line: TextLine, index: int, rows: list[list[TextLine]], page: PageLines, found: _Signals
) -> str | None:
    if line.role in FURNITURE:
        reason: str | None = f"layout model: {line.role}"
    else:
        reason = _rule_reason(line, index, rows, page, found)
    if reason is not None and not is_page_number(line.text) and runs_on(line, page.lines):
        return None  # a running header never continues into body text
    return reason


def _by_id(page: PageLines, key: int) -> TextLine:
    return next(ln for ln in page.lines if id(ln) == key)


def remove_furniture(pages: Sequence[PageLines]) -> list[Furnished]:
    """Each page's lines without running headers, footers and page numbers, and what went."""
    repeated = _repeated(pages)
    out = []
    for page in pages:
        rows = _rows(page.lines)
        found = _Signals(repeated, _numbered_rows(rows, page.height) if rows else set())
        why: dict[int, str] = {}
        for index, row in enumerate(rows):
            for line in row:
                reason = _reason(line, index, rows, page, found)
                if reason is not None:
                    why[id(line)] = reason
        if len(why) == len(page.lines):  # nothing left: with no body, nothing is its header
            why = {k: v for k, v in why.items() if is_page_number(_by_id(page, k).text)}
        kept = [ln for ln in page.lines if id(ln) not in why]
        dropped = [Dropped(ln, why[id(ln)]) for ln in page.lines if id(ln) in why]
        out.append(Furnished(kept, dropped))
    return out


def body_height(lines: Sequence[TextLine]) -> float:
    """The median line height: the unit gaps are measured in."""
    return statistics.median(ln.height for ln in lines) if lines else 0.0
