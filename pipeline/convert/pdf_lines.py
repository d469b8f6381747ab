"""From a PyMuPDF page to visual text lines: the raw material of layout analysis.

MuPDF's own blocks are unreliable paragraph boundaries (some producers emit one block per line,
others one block per column), so layout works on lines: each carries its box, its dominant font
size and whether it is bold, which is all heading, paragraph and column logic needs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pymupdf

from pipeline.convert.common import normalize_text

# No ligature or image preservation: MuPDF then expands ligatures itself and skips image data.
TEXT_FLAGS = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP
_BOLD_NAMES = ("bold", "black", "heavy", "semibold", "demibold")
_MONO_NAMES = ("mono", "courier", "consola", "menlo", "typewriter")
_STYLE_SHARE = 0.8  # a line is bold (italic) when this share of its characters is


@dataclass(slots=True)
class TextLine:
    """One visual line of text, in PDF points with the origin top-left."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    size: float
    bold: bool
    block: int
    italic: bool = False
    mono: bool = False

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def width(self) -> float:
        return self.x1 - self.x0


def _span_is_bold(span: dict[str, Any]) -> bool:
    # flags bit 16 is the font's bold flag, char_flags bit 8 MuPDF's synthetic (stroked) bold;
    # many subset fonts set neither, so the font name is the last resort.
    if span["flags"] & pymupdf.TEXT_FONT_BOLD or span.get("char_flags", 0) & 8:
        return True
    name = span["font"].lower()
    return any(word in name for word in _BOLD_NAMES)


def _span_is_mono(span: dict[str, Any]) -> bool:
    if span["flags"] & pymupdf.TEXT_FONT_MONOSPACED:
        return True
    name = span["font"].lower()
    return any(word in name for word in _MONO_NAMES)


def _line_from_spans(spans: Sequence[dict[str, Any]], block: int) -> TextLine | None:
    """Join a line's spans left to right, adding a space where the PDF left only a gap."""
    parts: list[str] = []
    sizes: Counter[float] = Counter()
    bold_chars = italic_chars = mono_chars = total = 0
    prev_x1: float | None = None
    for span in sorted(spans, key=lambda s: s["bbox"][0]):
        text = span["text"]
        if not text:
            continue
        size = span["size"]
        if prev_x1 is not None and span["bbox"][0] - prev_x1 > 0.2 * size:
            parts.append(" ")
        parts.append(text)
        prev_x1 = span["bbox"][2]
        visible = len(text.strip())
        sizes[round(size * 2) / 2] += visible
        total += visible
        bold_chars += visible if _span_is_bold(span) else 0
        italic_chars += visible if span["flags"] & pymupdf.TEXT_FONT_ITALIC else 0
        mono_chars += visible if _span_is_mono(span) else 0
    mono = mono_chars >= _STYLE_SHARE * total
    raw = "".join(parts)
    text = normalize_text(raw, collapse_spaces=not mono).rstrip()
    text = text if mono else text.lstrip()
    if not text.strip() or not total:
        return None
    x0, y0, x1, y1 = _union(span["bbox"] for span in spans if span["text"].strip())
    size = sizes.most_common(1)[0][0]
    share = _STYLE_SHARE * total
    return TextLine(
        text,
        x0,
        y0,
        x1,
        y1,
        size,
        bold_chars >= share,
        block,
        italic=italic_chars >= share,
        mono=mono,
    )


def _union(boxes: Iterable[Sequence[float]]) -> tuple[float, float, float, float]:
    x0s, y0s, x1s, y1s = zip(*boxes, strict=True)
    return min(x0s), min(y0s), max(x1s), max(y1s)


def extract_lines(page: pymupdf.Page, textpage: pymupdf.TextPage | None = None) -> list[TextLine]:
    """The page's visible text lines, upright text only unless the page is mostly rotated text.

    Rotated lines are usually margin notes (an arXiv stamp, a vertical running title); on a page
    printed sideways they are the content, so they are kept when they hold most of the text.
    """
    # Text coordinates ignore /Rotate; compare them with the unrotated page.
    visible = page.rect * page.derotation_matrix
    upright: list[TextLine] = []
    rotated: list[TextLine] = []
    for number, block in enumerate(
        page.get_text("dict", flags=TEXT_FLAGS, textpage=textpage)["blocks"]
    ):
        if block.get("type", 0) != 0:
            continue
        for raw in block["lines"]:
            line = _line_from_spans(raw["spans"], number)
            if line is None or not _intersects(line, visible):
                continue
            (upright if abs(raw["dir"][1]) < 0.1 else rotated).append(line)
    if sum(len(r.text) for r in rotated) > sum(len(u.text) for u in upright):
        return upright + rotated
    return upright


def _intersects(line: TextLine, rect: pymupdf.Rect) -> bool:
    return line.x1 > rect.x0 and line.x0 < rect.x1 and line.y1 > rect.y0 and line.y0 < rect.y1


def _same_row(a: TextLine, b: TextLine) -> bool:
    overlap = min(a.y1, b.y1) - max(a.y0, b.y0)
    return overlap > 0.5 * min(a.height, b.height)


def merge_rows(lines: Sequence[TextLine]) -> list[TextLine]:
    """Sort lines top to bottom and fuse pieces of one visual line that the PDF split.

    Producers often write a section number, a bullet or a word apart from the rest of its line;
    pieces on the same row are fused when the gap between them is small for their font size
    (wider within one MuPDF block, which already says they belong together).
    """
    rows: list[list[TextLine]] = []
    for line in sorted(lines, key=lambda ln: (ln.y0, ln.x0)):
        if rows and _same_row(rows[-1][0], line):
            rows[-1].append(line)
        else:
            rows.append([line])
    merged: list[TextLine] = []
    for row in rows:
        row.sort(key=lambda ln: ln.x0)
        current = row[0]
        for line in row[1:]:
            gap = line.x0 - current.x1
            limit = (2.0 if line.block == current.block else 0.6) * max(line.size, current.size)
            if gap <= limit or (_is_marker_only(current.text) and gap <= 4 * line.size):
                current = _fuse(current, line)
            else:
                merged.append(current)
                current = line
        merged.append(current)
    return merged


def _is_marker_only(text: str) -> bool:
    # A bullet or number standing alone belongs to the text to its right, even a tab stop away.
    return len(text) <= 3 and not any(ch.isalpha() for ch in text.rstrip(".)"))


def _fuse(left: TextLine, right: TextLine) -> TextLine:
    bigger = left if len(left.text) >= len(right.text) else right
    return TextLine(
        text=f"{left.text} {right.text}",
        x0=min(left.x0, right.x0),
        y0=min(left.y0, right.y0),
        x1=max(left.x1, right.x1),
        y1=max(left.y1, right.y1),
        size=bigger.size,
        bold=left.bold and right.bold if len(left.text) > 3 else right.bold,
        block=left.block,
        italic=left.italic and right.italic if len(left.text) > 3 else right.italic,
        mono=left.mono and right.mono,
    )


_HYPHENS = ("-", "\u2010")


def _is_cjk(ch: str) -> bool:
    # Chinese and Japanese run words together; Hangul uses spaces and is deliberately excluded.
    code = ord(ch)
    return 0x3040 <= code <= 0x30FF or 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF


def join_texts(texts: Iterable[str]) -> str:
    """Join the lines of one paragraph, undoing end-of-line hyphenation.

    A hyphen that ends a line after a letter, followed by a line that starts in lower case, was a
    word break and goes ("infor-" + "mation"); before anything else it stays and the lines touch
    ("COVID-" + "19"). Chinese and Japanese lines join without a space.

    >>> join_texts(["the infor-", "mation age", "of COVID-", "19"])
    'the information age of COVID-19'
    """
    out = ""
    for text in texts:
        if not out:
            out = text
        elif out.endswith(_HYPHENS) and len(out) > 1 and out[-2].isalpha():
            out = out[:-1] + text if text[:1].islower() else out + text
        elif _is_cjk(out[-1]) and _is_cjk(text[0]):
            out += text
        else:
            out = f"{out} {text}"
    return out
