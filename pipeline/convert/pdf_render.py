"""From layout blocks to Markdown: headings by level, tight lists, tables, code, and escapes."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pipeline.convert.pdf_layout import LEADER, Block, FontStyle, list_marker
from pipeline.convert.pdf_lines import TextLine
from pipeline.convert.pdf_tables import TableBlock

_MARKS_ONLY = re.compile(r"^[•◦▪▫‣⁃●○■□☐►▶➢✓·\ufffd\ue000-\uf8ff\s]+$")


def _escape(text: str) -> str:
    # A paragraph that happens to start like Markdown syntax must stay a paragraph.
    return "\\" + text if text.startswith(("#", ">", "|", "```")) else text


Rendered = tuple[str, str, Block]  # (kind, Markdown, block)


def render_blocks(blocks: Sequence[Block], style: FontStyle, max_level: int) -> list[Rendered]:
    """Each block's kind (heading, paragraph, list, table, code) and Markdown, in order."""
    out: list[Rendered] = []
    for block in blocks:
        if isinstance(block, TableBlock):
            out.append(("table", block.markdown, block))
            continue
        if block.mono:
            out.append(("code", block.code(), block))
            continue
        text = LEADER.sub(" … ", block.text)
        if _MARKS_ONLY.match(text):  # a stray bullet or checkbox glyph carries no text
            continue
        level = style.level(block, max_level)
        item = None if level else list_marker(text)
        if level:
            out.append(("heading", f"{'#' * level} {text}", block))
        elif item:
            out.append(("list", f"{item[0]} {item[1]}", block))
        else:
            out.append(("paragraph", _escape(text), block))
    return out


def join_rendered(rendered: Sequence[Rendered]) -> str:
    """The page's Markdown: blocks separated by blank lines, consecutive list items kept tight."""
    parts: list[str] = []
    previous_item = False
    for kind, markdown, _ in rendered:
        if kind == "list" and previous_item:
            parts[-1] += "\n" + markdown
        else:
            parts.append(markdown)
        previous_item = kind == "list"
    return "\n\n".join(parts)


def render_markdown(blocks: Sequence[Block], style: FontStyle, max_level: int) -> str:
    """Markdown for one page: headings, list items (kept tight), paragraphs and tables."""
    return join_rendered(render_blocks(blocks, style, max_level))


def block_box(block: Block) -> tuple[float, float, float, float]:
    """The box around a block, in the page's points."""
    if isinstance(block, TableBlock):
        return (block.x0, block.y0, block.x1, block.y1)
    lines = block.lines
    return (
        min(ln.x0 for ln in lines),
        min(ln.y0 for ln in lines),
        max(ln.x1 for ln in lines),
        max(ln.y1 for ln in lines),
    )


def item_box(line: TextLine) -> tuple[float, float, float, float]:
    """The box of one line, in the page's points."""
    return (line.x0, line.y0, line.x1, line.y1)


def block_region(block: Block) -> str | None:
    """The layout model's class most of the block's text lies in (``None`` if it did not run)."""
    return block.role


def line_spans(block: Block, text: str) -> list[tuple[int, int, tuple[float, float, float, float]]]:
    """Where each of the block's lines lies in its Markdown ``text``: (start, end, line box).

    A line starts where its first word appears (after the previous line); it runs to the next
    line's start. A table, or a block whose words cannot be followed, is one span with the
    block's box: a quote from it is placed by block, not by line.
    """
    whole = [(0, len(text), block_box(block))]
    if isinstance(block, TableBlock) or not text:
        return whole
    starts: list[int] = []
    cursor = 0
    for line in block.lines:
        words = line.text.split()
        head = words[0].rstrip("-\u2010") if words else ""
        at = text.find(head, cursor) if head else -1
        if at < 0:
            return whole
        starts.append(at)
        cursor = at + len(head)
    starts[0] = 0  # the heading or list marker belongs to the first line
    ends = [*starts[1:], len(text)]
    return [(a, b, item_box(ln)) for a, b, ln in zip(starts, ends, block.lines, strict=True)]
