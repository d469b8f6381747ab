"""The steps of ingestion that need no index: convert, then chunk and embed.

They depend only on the bytes, the uri, the metadata and the options (``Stages``), so they run
anywhere (a thread here, a Dask or Ray worker) and their output may be cached by content hash
(``Stages.recipe`` says what else decides it). Storing is the index's business
(``pipeline.ingest.engine``).

>>> stages = Stages(ConvertOptions(), ChunkOptions(), emb, counter)     # doctest: +SKIP
>>> prepare(SourceDocument(uri="a.md", data=b"# A"), stages).chunks[0].ordinal  # doctest: +SKIP
0
"""

from __future__ import annotations

import threading
import time
from typing import NamedTuple

import numpy as np

from pipeline.chunk import chunk_markdown, context_header
from pipeline.convert import CONVERTER_VERSION, convert_document
from pipeline.convert.provenance import attach_regions
from pipeline.embed import Embedder
from pipeline.ingest.failures import NothingConverted, OverLimit
from pipeline.models import (
    Chunk,
    ChunkOptions,
    ConvertOptions,
    LimitOptions,
    ParsedDocument,
    SourceDocument,
)
from pipeline.tokens import TokenCounter

# PyMuPDF is not thread-safe: one conversion at a time per process. Steps take it themselves, so
# no lock object has to travel to a worker (cloudpickle sends functions by reference).
CONVERT_LOCK = threading.Lock()
EMBED_SLICE = 256  # chunks embedded between two looks at the clock


class Budget:
    """One document's limits as it goes: pages, characters, chunks and a deadline."""

    def __init__(self, limits: LimitOptions, *, size: int) -> None:
        self.limits = limits
        self.size = size
        self.deadline = time.monotonic() + limits.max_seconds

    def check_time(self, doing: str) -> None:
        if time.monotonic() > self.deadline:
            raise OverLimit(f"took over {self.limits.max_seconds:g} s {doing} (limits.max_seconds)")

    def on_page(self, done: int, total: int) -> None:
        """The converter's progress callback: stops a document over the page limit at its
        first page, and any document past its deadline between two pages."""
        if total > self.limits.max_pages:
            raise OverLimit(f"{total} pages is over the limit of {self.limits.max_pages} pages "
                            "(limits.max_pages)")  # fmt: skip
        self.check_time(f"converting (page {done} of {total})")

    def check_text(self, chars: int) -> None:
        limits = self.limits
        if chars > limits.max_chars:
            raise OverLimit(f"{chars} characters is over the limit of {limits.max_chars} "
                            "(limits.max_chars)")  # fmt: skip
        ratio = chars / max(self.size, 1)
        if chars > limits.expansion_floor_chars and ratio > limits.max_chars_per_byte:
            raise OverLimit(f"{chars} characters from {self.size} bytes ({ratio:.0f} per byte) is "
                            f"over the limit of {limits.max_chars_per_byte:g} per byte "
                            "(limits.max_chars_per_byte): an expansion bomb?")  # fmt: skip

    def check_chunks(self, n: int) -> None:
        if n > self.limits.max_chunks:
            raise OverLimit(f"{n} chunks is over the limit of {self.limits.max_chunks} "
                            "(limits.max_chunks)")  # fmt: skip


class Stages(NamedTuple):
    """What converting, chunking and embedding need: options and the loaded embedder."""

    convert: ConvertOptions
    chunk: ChunkOptions
    embedder: Embedder
    counter: TokenCounter
    limits: LimitOptions = LimitOptions()

    def recipe(self) -> str:
        """Everything besides the bytes that decides what the steps produce: part of a cache
        key, so a new converter, chunking or embedder never reuses old output."""
        return "|".join(
            [
                CONVERTER_VERSION,
                self.convert.model_dump_json(),
                self.chunk.model_dump_json(),
                self.embedder.name,
                self.limits.model_dump_json(),
            ]
        )


class PreparedDocument(NamedTuple):
    """A converted, chunked and embedded document not yet stored: the part worth caching."""

    parsed: ParsedDocument
    chunks: list[Chunk]
    vectors: np.ndarray | None


def convert(
    src: SourceDocument, opts: ConvertOptions, budget: Budget | None = None
) -> ParsedDocument:
    """fetched → converted. Raises ``DocumentLoadError`` for input the converter refuses,
    ``NothingConverted`` (one too) when no page could be read: both are the document's fault;
    ``OverLimit`` past the ``budget``'s pages, characters or time."""
    with CONVERT_LOCK:
        parsed = convert_document(src, opts, on_page=budget.on_page if budget else None)
    if parsed.status == "failed":
        raise NothingConverted(parsed.errors)
    if budget is not None:
        budget.check_text(len(parsed.markdown))
        budget.check_time("converting")
    return parsed


def embed(
    parsed: ParsedDocument,
    *,
    embedder: Embedder,
    chunk_options: ChunkOptions,
    counter: TokenCounter,
    budget: Budget | None = None,
) -> PreparedDocument:
    """converted → embedded: chunk the Markdown, place the chunks on their pages, embed them.

    >>> embed(parsed, embedder=emb, chunk_options=ChunkOptions(),   # doctest: +SKIP
    ...       counter=default_token_counter()).chunks[0].chunk_id
    '3f2a…-0000'
    """
    chunks = attach_regions(parsed, chunk_markdown(parsed, chunk_options, counter=counter))
    if budget is not None:
        budget.check_chunks(len(chunks))
        budget.check_time("chunking")
    texts = [_embedding_text(c.text, context_header(c)) for c in chunks]
    if not chunks:
        return PreparedDocument(parsed, chunks, None)
    parts = []
    for start in range(0, len(texts), EMBED_SLICE):
        if budget is not None:
            budget.check_time(f"embedding (chunk {start} of {len(texts)})")
        parts.append(embedder.embed_documents(texts[start : start + EMBED_SLICE]))
    return PreparedDocument(parsed, chunks, np.concatenate(parts) if len(parts) > 1 else parts[0])


def prepare(src: SourceDocument, stages: Stages) -> PreparedDocument:
    """Both steps, within the document's limits: what a worker runs for one document."""
    budget = Budget(stages.limits, size=len(src.read_bytes()))
    parsed = convert(src, stages.convert, budget)
    return embed(
        parsed,
        embedder=stages.embedder,
        chunk_options=stages.chunk,
        counter=stages.counter,
        budget=budget,
    )


def _embedding_text(text: str, header: str) -> str:
    return f"{header}\n{text}" if header else text
