"""Markdown → chunks: heading-aware, token-bounded, with overlap, each chunk knowing its pages.

The converter's Markdown carries ``<!-- page N -->`` anchors; the chunker walks it block by block
(paragraph, list, table), keeps the heading path it is under, and closes a chunk when the next block
would pass ``max_tokens`` or a new section starts. The tail of a closed chunk (whole sentences, up
to ``overlap_tokens``) opens the next one within the same section, so a fact cut at a boundary is
still found whole. Tables and lists are never split mid-row unless a single one exceeds the bound.

>>> from pipeline.models import ParsedDocument, SourceMetadata
>>> doc = ParsedDocument(doc_id="ab" * 32, uri="x.md", metadata=SourceMetadata(),
...     media_type="text/markdown", markdown="<!-- page 1 -->\\n# Title\\n\\nSome text.")
>>> [(c.heading_path, c.page_start) for c in chunk_markdown(doc)]
[(['Title'], 1)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.models import Chunk, ChunkOptions, ParsedDocument, TextSpan
from pipeline.tokens import TokenCounter, default_token_counter

_PAGE = re.compile(r"^<!--\s*page\s+(\d+)\s*-->\s*$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?…»])\s+(?=[«\"(\[A-ZÀ-ÖØ-Þ0-9])")


@dataclass
class _Block:
    text: str
    page: int | None
    headings: tuple[str, ...]
    src: tuple[int, int] | None = None  # where ``text`` lies in its page's Markdown


@dataclass
class _Open:
    blocks: list[_Block] = field(default_factory=list)
    tokens: int = 0


def _blocks(markdown: str, pages: dict[int, str] | None = None) -> list[_Block]:
    """Split Markdown into blocks (blank-line separated), tracking page and heading path.

    ``pages`` (page number → that page's Markdown) lets each block record where it lies in its
    page, so a chunk can tell the page and line of any of its sentences.
    """
    page: int | None = None
    path: list[tuple[int, str]] = []
    out: list[_Block] = []
    buf: list[str] = []
    buf_page: int | None = None
    cursor: dict[int, int] = {}

    def flush() -> None:
        if buf and "".join(buf).strip():
            text = "\n".join(buf).strip()
            out.append(_Block(text, buf_page, tuple(t for _, t in path), _source(text)))
        buf.clear()

    def _source(text: str) -> tuple[int, int] | None:
        source = (pages or {}).get(buf_page) if buf_page is not None else None
        if source is None or buf_page is None:
            return None
        at = source.find(text, cursor.get(buf_page, 0))
        if at < 0:
            return None
        cursor[buf_page] = at + len(text)
        return (at, at + len(text))

    for line in markdown.splitlines():
        if m := _PAGE.match(line):
            flush()
            page = int(m.group(1))
            continue
        if m := _HEADING.match(line):
            flush()
            level, title = len(m.group(1)), m.group(2).strip()
            path = [(lvl, t) for lvl, t in path if lvl < level] + [(level, title)]
            buf_page = page
            _source(line.strip())  # move past the heading in its page
            continue
        if not line.strip():
            flush()
            continue
        if not buf:
            buf_page = page
        buf.append(line)
    flush()
    return out


def _split_long(text: str, max_tokens: int, counter: TokenCounter) -> list[str]:
    """Cut an over-long block at sentence (or line) ends; a monster sentence is cut by tokens."""
    parts = [p for p in (_SENTENCE_END.split(text) if "\n" not in text else text.split("\n")) if p]
    pieces: list[str] = []
    cur: list[str] = []
    cur_tokens = 0
    sep = "\n" if "\n" in text else " "
    for part in parts:
        n = counter.count(part)
        if cur and cur_tokens + n > max_tokens:
            pieces.append(sep.join(cur))
            cur, cur_tokens = [], 0
        while n > max_tokens:
            head = counter.truncate(part, max_tokens)
            pieces.append(head)
            part = part[len(head) :].lstrip()
            n = counter.count(part)
        if part:
            cur.append(part)
            cur_tokens += n
    if cur:
        pieces.append(sep.join(cur))
    return pieces


def _overlap_tail(blocks: list[_Block], budget: int, counter: TokenCounter) -> list[_Block]:
    """Whole sentences from the end of the last block, up to ``budget`` tokens."""
    if budget <= 0 or not blocks:
        return []
    last = blocks[-1]
    if last.text.lstrip().startswith("|"):  # never start a chunk with half a table
        return []
    tail: list[str] = []
    used = 0
    for sentence in reversed(_SENTENCE_END.split(last.text)):
        n = counter.count(sentence)
        if used + n > budget:
            break
        tail.insert(0, sentence)
        used += n
    if not tail:
        return []
    text = " ".join(tail)
    return [_Block(text, last.page, last.headings, _within(last, text, from_end=True))]


def _within(
    block: _Block, text: str, *, from_end: bool = False, at: int = 0
) -> tuple[int, int] | None:
    """Where ``text`` (a piece of ``block``) lies in the block's page, if the block knows."""
    if block.src is None:
        return None
    offset = block.text.rfind(text) if from_end else block.text.find(text, at)
    if offset < 0:  # re-joined with other spacing: place it by length from the right end
        offset = max(0, len(block.text) - len(text)) if from_end else at
    start = block.src[0] + offset
    return (start, min(start + len(text), block.src[1]))


def chunk_markdown(
    doc: ParsedDocument,
    opts: ChunkOptions | None = None,
    *,
    counter: TokenCounter | None = None,
) -> list[Chunk]:
    """Chunks of ``doc.markdown``, in document order, with deterministic ids."""
    opts = opts or ChunkOptions()
    counter = counter or default_token_counter()
    groups: list[list[_Block]] = []
    cur = _Open()
    pages = {p.page: p.markdown.strip("\n") for p in doc.pages}
    for block in _blocks(doc.markdown, pages):
        # Pieces leave room for the overlap carried from the previous chunk.
        room = max(opts.max_tokens - opts.overlap_tokens, opts.max_tokens // 2)
        pieces = _split_long(block.text, room, counter)
        at = 0
        for text in pieces:
            src = block.src if len(pieces) == 1 else _within(block, text, at=at)
            if src is not None and block.src is not None:
                at = src[1] - block.src[0]
            piece = _Block(text, block.page, block.headings, src)
            n = counter.count(text)
            new_section = bool(cur.blocks) and cur.blocks[-1].headings != piece.headings
            if cur.blocks and (new_section or cur.tokens + n > opts.max_tokens):
                groups.append(cur.blocks)
                carry = (
                    [] if new_section else _overlap_tail(cur.blocks, opts.overlap_tokens, counter)
                )
                if carry and sum(counter.count(b.text) for b in carry) + n > opts.max_tokens:
                    carry = []
                cur = _Open(carry, sum(counter.count(b.text) for b in carry))
            cur.blocks.append(piece)
            cur.tokens += n
    if cur.blocks:
        groups.append(cur.blocks)
    lines = page_lines(doc)
    return [_make_chunk(doc, i, blocks, lines) for i, blocks in enumerate(groups)]


def _make_chunk(
    doc: ParsedDocument, ordinal: int, blocks: list[_Block], lines: dict[int, list[TextSpan]]
) -> Chunk:
    pages = [b.page for b in blocks if b.page is not None]
    meta = doc.metadata
    return Chunk(
        chunk_id=Chunk.make_id(doc.doc_id, ordinal),
        doc_id=doc.doc_id,
        ordinal=ordinal,
        text="\n\n".join(b.text for b in blocks),
        heading_path=list(blocks[-1].headings),
        page_start=min(pages) if pages else None,
        page_end=max(pages) if pages else None,
        title=meta.title,
        source=meta.source or doc.uri,
        date=meta.date,
        language=meta.language,
        collection=meta.collection,
        spans=_spans(blocks, lines),
        furniture=_furniture(doc, min(pages) if pages else None, max(pages) if pages else None),
    )


def _furniture(doc: ParsedDocument, first: int | None, last: int | None) -> str:
    """The running headers and footers dropped from the chunk's pages, one per line."""
    if first is None or last is None:
        return ""
    texts = [f.text for p in doc.pages if first <= p.page <= last for f in p.furniture]
    return "\n".join(dict.fromkeys(texts))


def _spans(blocks: list[_Block], lines: dict[int, list[TextSpan]]) -> list[TextSpan]:
    """The chunk's stretches of text with their page and line box, in chunk offsets."""
    out: list[TextSpan] = []
    offset = 0
    for block in blocks:
        end = offset + len(block.text)
        mine = lines.get(block.page or 0, []) if block.src else []
        placed = False
        for line in mine:
            assert block.src is not None
            lo, hi = max(line.start, block.src[0]), min(line.end, block.src[1])
            if lo < hi:
                start = offset + lo - block.src[0]
                out.append(
                    TextSpan(
                        start=start,
                        end=min(end, offset + hi - block.src[0]),
                        page=block.page,
                        box=line.box,
                    )
                )
                placed = True
        if not placed:  # no line boxes (Markdown, a VLM's page): the page is known
            out.append(TextSpan(start=offset, end=end, page=block.page))
        offset = end + 2  # the blank line between blocks
    return out


def page_lines(doc: ParsedDocument) -> dict[int, list[TextSpan]]:
    """Every page's line spans, in offsets of that page's Markdown (from the converter's
    blocks, found in order in the page's text)."""
    out: dict[int, list[TextSpan]] = {}
    for page in doc.pages:
        text = page.markdown.strip("\n")
        cursor = 0
        spans: list[TextSpan] = []
        for block in page.blocks:
            at = text.find(block.text, cursor)
            if at < 0:
                continue
            cursor = at + len(block.text)
            spans += [
                TextSpan(start=at + s.start, end=at + s.end, page=page.page, box=s.box)
                for s in block.spans
            ]
        if spans:
            out[page.page] = spans
    return out


def context_header(chunk: Chunk) -> str:
    """Title and heading path, prefixed to a chunk's text for embedding and full-text search.

    A passage often omits its subject ("It rose 4 %"); its headings name it.
    """
    parts = [p for p in [chunk.title, *chunk.heading_path] if p]
    seen: list[str] = []
    for p in parts:
        if p not in seen:
            seen.append(p)
    return " > ".join(seen)
