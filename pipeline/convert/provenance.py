"""Provenance: where on which page each piece of Markdown came from.

The converter records every page's layout blocks with their boxes (``PageResult.blocks``).
``provenance_json`` writes them as the sidecar ``archivist convert`` puts next to each ``.md``;
``attach_regions`` carries them through chunking: each chunk gets the boxes of the blocks its
text came from, so a citation can point to a region of a page, not just a page number.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from pipeline.models import Box, Chunk, PageRegion, ParsedDocument
from pipeline.spans import chunk_regions

_WORD = re.compile(r"\w+", re.UNICODE)
_MIN_SHARED = 0.6  # a block belongs to a chunk when this share of its words is in the chunk


def provenance(doc: ParsedDocument) -> dict[str, object]:
    """The document's provenance as plain data (what the JSON sidecar holds)."""
    return {
        "doc_id": doc.doc_id,
        "uri": doc.uri,
        "converter": doc.converter,
        "status": doc.status,
        "errors": [e.model_dump() for e in doc.errors],
        "coordinates": "PDF points, origin top-left of the page as read (upright)",
        "pages": [
            {
                "page": p.page,
                "method": p.method,
                "status": p.status,
                "reason": p.reason,
                "rotation": p.rotation,
                "confidence": None if p.confidence is None else round(p.confidence, 4),
                "width": p.width,
                "height": p.height,
                "blocks": [
                    {
                        "kind": b.kind,
                        "region": b.region,
                        "box": _box(b.box),
                        "text": b.text,
                    }
                    for b in p.blocks
                ],
                "furniture": [
                    {"text": f.text, "box": _box(f.box), "reason": f.reason} for f in p.furniture
                ],
                "layout": [{"kind": r.kind, "box": _box(r.box)} for r in p.layout],
            }
            for p in doc.pages
        ],
    }


def _box(box: Box) -> list[float]:
    return [round(v, 2) for v in (box.x0, box.y0, box.x1, box.y1)]


def provenance_json(doc: ParsedDocument) -> str:
    """The sidecar text: ``provenance(doc)`` as indented UTF-8 JSON."""
    return json.dumps(provenance(doc), ensure_ascii=False, indent=1)


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def attach_regions(doc: ParsedDocument, chunks: Sequence[Chunk]) -> list[Chunk]:
    """``chunks`` with ``regions`` set: the line boxes their text came from (``Chunk.spans``,
    merged paragraph by paragraph), or else the boxes of the blocks (on the chunk's pages) whose
    words the chunk holds. Chunks of documents without recorded blocks come back unchanged.

    >>> attach_regions(doc, chunk_markdown(doc))[0].regions[0].page   # doctest: +SKIP
    1
    """
    pages = {p.page: p for p in doc.pages if p.blocks}
    if not pages:
        return list(chunks)
    out = []
    for chunk in chunks:
        if any(s.box is not None for s in chunk.spans):
            out.append(chunk.model_copy(update={"regions": chunk_regions(chunk)}))
            continue
        first = chunk.page_start or 1
        last = chunk.page_end or first
        words = _words(chunk.text)
        regions = []
        for number in range(first, last + 1):
            page = pages.get(number)
            for block in page.blocks if page else ():
                mine = _words(block.text)
                if mine and len(mine & words) >= _MIN_SHARED * len(mine):
                    regions.append(PageRegion(page=number, box=block.box))
        out.append(chunk.model_copy(update={"regions": regions}))
    return out
