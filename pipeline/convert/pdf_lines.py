"""From a PyMuPDF page to visual text lines: the raw material of layout analysis.

MuPDF's own blocks are unreliable paragraph boundaries (some producers emit one block per line,
others one block per column), so layout works on lines: each carries its box, its dominant font
size and whether it is bold, which is all heading, paragraph and column logic needs.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
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
    # The line's spans as (x0, x1, text): table detection splits a row into cells at wide gaps.
    pieces: tuple[tuple[float, float, str], ...] = ()
    # The layout model's class for the region holding the line (``layout_model``), if it ran.
    role: str | None = None

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
    pieces: list[tuple[float, float, str]] = []
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
        if text.strip():
            pieces.append((span["bbox"][0], span["bbox"][2], normalize_text(text).strip()))
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
        pieces=tuple(pieces),
    )


def _union(boxes: Iterable[Sequence[float]]) -> tuple[float, float, float, float]:
    x0s, y0s, x1s, y1s = zip(*boxes, strict=True)
    return min(x0s), min(y0s), max(x1s), max(y1s)


@dataclass(slots=True)
class TextLayer:
    """A page's text layer: its visible lines and what routing needs to judge it.

    ``invisible`` counts characters drawn invisibly (render mode 3, zero alpha: an OCR layer
    laid over a scan); ``unmapped`` counts characters the PDF gives no Unicode for (U+FFFD,
    private use, control codes); ``rotation`` is how far the lines were turned to read upright.
    ``aside`` are the lines left out because they run in another direction than the page's
    text (a vertical download stamp, an arXiv identifier; on a page printed sideways, its upright
    page number), in the same frame as ``lines``: the converter lists them as furniture.
    """

    lines: list[TextLine]
    aside: list[TextLine] = field(default_factory=list)
    chars: int = 0
    invisible: int = 0
    unmapped: int = 0
    rotation: int = 0


def _is_unmapped(ch: str) -> bool:
    code = ord(ch)
    return ch == "\ufffd" or 0xE000 <= code <= 0xF8FF or (code < 0x20 and ch not in "\t\n\r")


def read_text_layer(page: pymupdf.Page, textpage: pymupdf.TextPage | None = None) -> TextLayer:
    """The page's lines (see ``extract_lines``) with counts of invisible and unmapped characters."""
    visible = page.rect * page.derotation_matrix  # text coordinates ignore /Rotate
    upright: list[TextLine] = []
    turned: dict[tuple[int, int], list[TextLine]] = {}
    layer = TextLayer([])
    blocks = page.get_text("dict", flags=TEXT_FLAGS, textpage=textpage)["blocks"]
    raw_blocks: list[dict[str, Any]] | None = None
    for number, block in enumerate(blocks):
        if block.get("type", 0) != 0:
            continue
        for index, raw in enumerate(block["lines"]):
            _count(layer, raw["spans"])
            spans = raw["spans"]
            if any(_RUN_ON.search(span["text"]) for span in spans):
                if raw_blocks is None:  # rare: only pages with run-on words pay for glyph boxes
                    raw_blocks = page.get_text("rawdict", flags=TEXT_FLAGS, textpage=textpage)[
                        "blocks"
                    ]
                spans = _respaced(raw_blocks[number]["lines"][index]["spans"])
            line = _line_from_spans(spans, number)
            if line is None or not _intersects(line, visible):
                continue
            direction = (round(raw["dir"][0]), round(raw["dir"][1]))
            (upright if direction == (1, 0) else turned.setdefault(direction, [])).append(line)
    layer.lines = upright
    layer.aside = [ln for lines in turned.values() for ln in lines]
    main = max(turned.items(), key=lambda kv: sum(len(ln.text) for ln in kv[1]), default=None)
    if main and sum(len(ln.text) for ln in main[1]) > sum(len(u.text) for u in upright):
        # A page printed sideways: its text is the content. Turn it upright for layout.
        layer.rotation = _DIR_ROTATION.get(main[0], 0)
        others = upright + [ln for d, lines in turned.items() if d != main[0] for ln in lines]
        layer.lines = [_turn(ln, layer.rotation, visible) for ln in main[1]]
        layer.aside = [_turn(ln, layer.rotation, visible) for ln in others]
        if not layer.rotation:  # an odd angle: keep the lines as they are
            layer.lines, layer.aside = upright + main[1], others[len(upright) :]
    return layer


# A "word" this long is usually words whose spaces the PDF left out (kerning only).
_RUN_ON = re.compile(r"[^\W\d_]{20,}")


def _respaced(spans: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Spans rebuilt from their glyphs with a space wherever the gap between two glyphs is
    clearly wider than the span's usual letter gap (MuPDF's own threshold missed it)."""
    out = []
    for span in spans:
        chars = span.get("chars", [])
        size = span["size"] or 1.0
        gaps = [b["bbox"][0] - a["bbox"][2] for a, b in itertools.pairwise(chars)]
        usual = sorted(gaps)[len(gaps) // 2] if gaps else 0.0
        limit = max(usual + 0.08 * size, 0.1 * size)
        text = chars[0]["c"] if chars else ""
        for gap, a, b in zip(gaps, chars, chars[1:], strict=False):
            if gap > limit and not a["c"].isspace() and not b["c"].isspace():
                text += " "
            text += b["c"]
        out.append({**span, "text": text})
    return out


def _count(layer: TextLayer, spans: Sequence[dict[str, Any]]) -> None:
    for span in spans:
        n = len(span["text"].strip())
        layer.chars += n
        if span.get("alpha", 255) == 0 or not span.get("char_flags", 16) & 48:
            layer.invisible += n
        layer.unmapped += sum(1 for ch in span["text"] if _is_unmapped(ch))


# Line direction -> how far the page must be turned clockwise to read the line left to right.
_DIR_ROTATION = {(0, -1): 90, (-1, 0): 180, (0, 1): 270}


def _turn(line: TextLine, rotation: int, rect: pymupdf.Rect) -> TextLine:
    """``line`` in the frame of the page turned ``rotation`` degrees clockwise."""
    w, h = rect.width, rect.height
    x0, y0, x1, y1 = line.x0 - rect.x0, line.y0 - rect.y0, line.x1 - rect.x0, line.y1 - rect.y0
    if rotation == 90:  # (x, y) -> (H - y, x)
        box = (h - y1, x0, h - y0, x1)
    elif rotation == 180:
        box = (w - x1, h - y1, w - x0, h - y0)
    else:  # 270: (x, y) -> (y, W - x)
        box = (y0, w - x1, y1, w - x0)
    return TextLine(
        line.text,
        *box,
        line.size,
        line.bold,
        line.block,
        line.italic,
        line.mono,
        pieces=(),
        role=line.role,
    )


def extract_lines(page: pymupdf.Page, textpage: pymupdf.TextPage | None = None) -> list[TextLine]:
    """The page's visible text lines, upright text only unless the page is mostly rotated text.

    Rotated lines are usually margin notes (an arXiv stamp, a vertical running title); on a page
    printed sideways they are the content, so they are kept (turned upright) when they hold most
    of the text.
    """
    return read_text_layer(page, textpage).lines


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
        pieces=_pieces(left) + _pieces(right),
        role=bigger.role or left.role or right.role,
    )


def _pieces(line: TextLine) -> tuple[tuple[float, float, str], ...]:
    return line.pieces or ((line.x0, line.x1, line.text),)


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
