"""Where a piece of a chunk lies: the pages and line boxes of any sentence it quotes.

A chunk can run over a page break, so its ``page_start``/``page_end`` are not the page of a
sentence in it. Chunks carry ``spans`` (``Chunk.spans``: stretches of their text with the page
and, for converted PDFs, the box of the line each came from); ``locate`` finds a quoted text in
the chunk and returns the pages and boxes of the lines it covers, so a citation names the page
its quote is on and a viewer can highlight those lines.

>>> from pipeline.models import Chunk, TextSpan
>>> chunk = Chunk(chunk_id="c", doc_id="d", ordinal=0, text="First page. Second page here.",
...               page_start=1, page_end=2,
...               spans=[TextSpan(start=0, end=11, page=1), TextSpan(start=12, end=29, page=2)])
>>> locate(chunk, "Second page here.").pages
(2, 2)
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from typing import NamedTuple

from pipeline.models import Box, Chunk, PageRegion, TextSpan

_WORD = re.compile(r"\w+", re.UNICODE)
_ANCHOR_WORDS = 4


class Located(NamedTuple):
    """The pages (first, last) and line regions of a text inside a chunk."""

    pages: tuple[int | None, int | None]
    regions: list[PageRegion]
    found: bool


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _words(text: str) -> list[tuple[str, int, int]]:
    return [(_fold(m.group()), m.start(), m.end()) for m in _WORD.finditer(text)]


def _run_at(hay: Sequence[tuple[str, int, int]], needle: Sequence[str], start: int = 0) -> int:
    """Index in ``hay`` where the words ``needle`` occur in a row (-1 if they do not)."""
    n = len(needle)
    for i in range(start, len(hay) - n + 1):
        if all(hay[i + k][0] == needle[k] for k in range(n)):
            return i
    return -1


def find_range(text: str, quote: str) -> tuple[int, int] | None:
    """Where ``quote`` lies in ``text``: exactly, or by its first and last words when the
    quote was cleaned (emphasis, spacing, a table row rewritten) on the way."""
    at = text.find(quote)
    if at >= 0 and quote:
        return (at, at + len(quote))
    hay = _words(text)
    words = [w for w, _, _ in _words(quote)]
    if not words or not hay:
        return None
    k = min(_ANCHOR_WORDS, len(words))
    first = _run_at(hay, words[:k])
    if first < 0:
        return None
    last = _run_at(hay, words[-k:], first)
    if last < 0:
        return None
    return (hay[first][1], hay[last + k - 1][2])


def merge_boxes(spans: Sequence[TextSpan]) -> list[PageRegion]:
    """One region per run of lines on a page that stack into a column (a paragraph's lines);
    lines in another column, or far below, start a new region."""
    regions: list[PageRegion] = []
    for span in spans:
        if span.box is None or span.page is None:
            continue
        last = regions[-1] if regions else None
        if last is not None and last.page == span.page and _stacks(last.box, span.box):
            last.box = Box(
                x0=min(last.box.x0, span.box.x0),
                y0=min(last.box.y0, span.box.y0),
                x1=max(last.box.x1, span.box.x1),
                y1=max(last.box.y1, span.box.y1),
            )
        else:
            regions.append(PageRegion(page=span.page, box=span.box.model_copy()))
    return regions


def _stacks(above: Box, box: Box) -> bool:
    height = max(box.y1 - box.y0, 1.0)
    overlap = min(above.x1, box.x1) - max(above.x0, box.x0)
    return overlap > 0 and -0.5 * height <= box.y0 - above.y1 <= 1.5 * height


def locate(chunk: Chunk, quote: str) -> Located:
    """The pages and line regions of ``quote`` in ``chunk`` (the chunk's own when not found)."""
    found = find_range(chunk.text, quote) if chunk.spans else None
    if found is None:
        return Located((chunk.page_start, chunk.page_end), list(chunk.regions), False)
    start, end = found
    covered = [s for s in chunk.spans if s.start < end and s.end > start]
    pages = [s.page for s in covered if s.page is not None]
    if not pages:
        return Located((chunk.page_start, chunk.page_end), list(chunk.regions), False)
    return Located((min(pages), max(pages)), merge_boxes(covered), True)


def chunk_regions(chunk: Chunk) -> list[PageRegion]:
    """Every region the chunk's text covers, paragraph by paragraph."""
    return merge_boxes(chunk.spans)


def spans_json(spans: Sequence[TextSpan]) -> str:
    """Compact JSON for storage: ``[start, end, page, x0, y0, x1, y1]`` per span."""
    rows = []
    for s in spans:
        box = [round(v, 1) for v in (s.box.x0, s.box.y0, s.box.x1, s.box.y1)] if s.box else []
        rows.append([s.start, s.end, s.page, *box])
    return json.dumps(rows, separators=(",", ":"))


def spans_from_json(text: str | None) -> list[TextSpan]:
    """The spans ``spans_json`` wrote (an empty list for older rows)."""
    out = []
    for row in json.loads(text or "[]"):
        box = Box(x0=row[3], y0=row[4], x1=row[5], y1=row[6]) if len(row) == 7 else None
        out.append(TextSpan(start=row[0], end=row[1], page=row[2], box=box))
    return out
