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
from typing import NamedTuple

import numpy as np

from pipeline.chunk import chunk_markdown, context_header
from pipeline.convert import CONVERTER_VERSION, convert_document
from pipeline.convert.provenance import attach_regions
from pipeline.embed import Embedder
from pipeline.ingest.failures import NothingConverted
from pipeline.models import Chunk, ChunkOptions, ConvertOptions, ParsedDocument, SourceDocument
from pipeline.tokens import TokenCounter

# PyMuPDF is not thread-safe: one conversion at a time per process. Steps take it themselves, so
# no lock object has to travel to a worker (cloudpickle sends functions by reference).
CONVERT_LOCK = threading.Lock()


class Stages(NamedTuple):
    """What converting, chunking and embedding need: options and the loaded embedder."""

    convert: ConvertOptions
    chunk: ChunkOptions
    embedder: Embedder
    counter: TokenCounter

    def recipe(self) -> str:
        """Everything besides the bytes that decides what the steps produce: part of a cache
        key, so a new converter, chunking or embedder never reuses old output."""
        return "|".join(
            [
                CONVERTER_VERSION,
                self.convert.model_dump_json(),
                self.chunk.model_dump_json(),
                self.embedder.name,
            ]
        )


class PreparedDocument(NamedTuple):
    """A converted, chunked and embedded document not yet stored: the part worth caching."""

    parsed: ParsedDocument
    chunks: list[Chunk]
    vectors: np.ndarray | None


def convert(src: SourceDocument, opts: ConvertOptions) -> ParsedDocument:
    """fetched → converted. Raises ``DocumentLoadError`` for input the converter refuses, and
    ``NothingConverted`` (one too) when no page could be read: both are the document's fault."""
    with CONVERT_LOCK:
        parsed = convert_document(src, opts)
    if parsed.status == "failed":
        raise NothingConverted(parsed.errors)
    return parsed


def embed(
    parsed: ParsedDocument,
    *,
    embedder: Embedder,
    chunk_options: ChunkOptions,
    counter: TokenCounter,
) -> PreparedDocument:
    """converted → embedded: chunk the Markdown, place the chunks on their pages, embed them.

    >>> embed(parsed, embedder=emb, chunk_options=ChunkOptions(),   # doctest: +SKIP
    ...       counter=default_token_counter()).chunks[0].chunk_id
    '3f2a…-0000'
    """
    chunks = attach_regions(parsed, chunk_markdown(parsed, chunk_options, counter=counter))
    texts = [_embedding_text(c.text, context_header(c)) for c in chunks]
    vectors = embedder.embed_documents(texts) if chunks else None
    return PreparedDocument(parsed, chunks, vectors)


def prepare(src: SourceDocument, stages: Stages) -> PreparedDocument:
    """Both steps: what a worker runs for one document."""
    parsed = convert(src, stages.convert)
    return embed(
        parsed, embedder=stages.embedder, chunk_options=stages.chunk, counter=stages.counter
    )


def _embedding_text(text: str, header: str) -> str:
    return f"{header}\n{text}" if header else text
