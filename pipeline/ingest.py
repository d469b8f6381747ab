"""Ingest one document: convert → chunk → embed → store, with a result for every input.

Rules (DESIGN.md, "Storage"):

- the same bytes already ingested with the same converter and embedder → ``unchanged`` (or
  ``duplicate`` when they sit at another uri): no conversion, no embedding;
- new bytes at a uri that held other bytes → the new version is written, then the old one removed
  (``replaced``), so the index never holds two versions once the call returns;
- bad input → ``failed`` with the reason, recorded in the ``documents`` table; a previous good
  version at the same uri is kept (a half-copied file must not erase what was searchable);
- any error is caught here and turned into a result: one document never stops a batch.

>>> ingestor = Ingestor(store=store, embedder=emb)        # doctest: +SKIP
>>> ingestor.ingest(SourceDocument(uri="a.pdf", path=Path("a.pdf"))).action   # doctest: +SKIP
'added'
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from pipeline.chunk import chunk_markdown, context_header
from pipeline.convert import CONVERTER_VERSION, convert_document
from pipeline.convert.provenance import attach_regions
from pipeline.embed import Embedder
from pipeline.errors import ArchivistError, DocumentLoadError, EngineError
from pipeline.models import (
    Chunk,
    ChunkOptions,
    ConvertOptions,
    DocumentRecord,
    IngestResult,
    ParsedDocument,
    SourceDocument,
    StageError,
)
from pipeline.store import DocumentWrite, LanceChunkStore
from pipeline.store_upkeep import storage_reason
from pipeline.tokens import TokenCounter, default_token_counter

log = logging.getLogger(__name__)


class PreparedDocument(NamedTuple):
    """A converted, chunked and embedded document not yet stored: the part worth caching."""

    parsed: ParsedDocument
    chunks: list[Chunk]
    vectors: np.ndarray | None


@dataclass
class Ingestor:
    """Holds the stages for one index; ``ingest`` is safe to call for any input."""

    store: LanceChunkStore
    embedder: Embedder
    convert_options: ConvertOptions = field(default_factory=ConvertOptions)
    chunk_options: ChunkOptions = field(default_factory=ChunkOptions)
    counter: TokenCounter = field(default_factory=default_token_counter)

    def ingest(self, src: SourceDocument) -> IngestResult:
        """Ingest one document; never raises for a bad document."""
        try:
            doc_id = src.doc_id
        except OSError as e:
            return self._fail(
                src, _unreadable_id(src.uri), [StageError(stage="read", message=str(e))]
            )
        try:
            skipped = self._skip_if_known(src, doc_id)
            if skipped:
                return skipped
            parsed = convert_document(src, self.convert_options)
            return self._index(src, parsed)
        except DocumentLoadError as e:
            return self._fail(src, doc_id, [StageError(stage="convert", message=str(e))])
        except EngineError as e:
            return self._fail(src, doc_id, [StageError(stage="engine", message=str(e))])
        except ArchivistError as e:
            return self._fail(src, doc_id, [StageError(stage="ingest", message=str(e))])
        except Exception as e:  # a bug or an unexpected library error: still one result
            log.exception("unexpected error while ingesting %s", src.uri)
            message = f"internal error: {type(e).__name__}: {e}"
            return self._fail(src, doc_id, [StageError(stage="ingest", message=message)])

    def ingest_many(
        self,
        sources: Iterable[SourceDocument],
        *,
        on_result: Callable[[IngestResult], None] | None = None,
    ) -> list[IngestResult]:
        """Ingest every source, then bring the full-text indexes up to date."""
        results = []
        for src in sources:
            result = self.ingest(src)
            results.append(result)
            if on_result:
                on_result(result)
        self.store.ensure_indexes()
        return results

    def _skip_if_known(self, src: SourceDocument, doc_id: str) -> IngestResult | None:
        known = self.store.get_document(doc_id)
        if (
            known is None
            or known.status == "failed"
            or known.converter != CONVERTER_VERSION
            or known.embedder != self.embedder.name
        ):
            return None
        action = "unchanged" if known.uri == src.uri else "duplicate"
        return IngestResult(
            uri=src.uri,
            doc_id=doc_id,
            action=action,
            status=known.status,
            pages=known.pages,
            chunks=known.chunks,
            errors=known.errors,
        )

    def _index(self, src: SourceDocument, parsed: ParsedDocument) -> IngestResult:
        return self.commit(src, self.prepare(src, parsed))

    # --- the same steps one by one, for orchestrators (flows/) that retry, cache or lock them ---

    def known(self, src: SourceDocument, doc_id: str) -> IngestResult | None:
        """The result for bytes this index already holds (unchanged or duplicate), else None."""
        return self._skip_if_known(src, doc_id)

    def prepare(
        self, src: SourceDocument, parsed: ParsedDocument | None = None
    ) -> PreparedDocument:
        """Convert (unless ``parsed`` is given), chunk and embed; raises instead of recording.

        The output depends only on the bytes, the uri, the metadata and the options, so a caller
        may cache it by content hash; ``commit`` then stores it.
        """
        if parsed is None:
            parsed = convert_document(src, self.convert_options)
        return prepare_parsed(
            parsed, embedder=self.embedder, chunk_options=self.chunk_options, counter=self.counter
        )

    def commit(self, src: SourceDocument, prepared: PreparedDocument) -> IngestResult:
        """Store a prepared document, then drop older versions held at the same uri."""
        parsed, chunks, vectors = prepared
        older = self._older(src, parsed.doc_id)
        self.store.write_document(self._record(parsed, len(chunks)), chunks, vectors)
        for old in older:
            self.store.delete_document(old)
        return self._result(src, prepared, replaced=bool(older))

    def commit_many(
        self, items: Sequence[tuple[SourceDocument, PreparedDocument]]
    ) -> list[IngestResult]:
        """Store several prepared documents in one batch write; one result each, never raises.

        When the batch write fails, the documents are written one by one (writes are upserts,
        so what the batch left is overwritten), and a document whose own write fails (disk full,
        read-only storage, a lost connection) is removed again, chunks included, and recorded as
        failed with the store's error: no chunk is left that no ``documents`` row vouches for.
        """
        if len(items) < 2:
            return [self._commit_or_fail(src, prepared) for src, prepared in items]
        try:
            older = [self._older(src, prepared.parsed.doc_id) for src, prepared in items]
            self.store.write_documents([self._write(prepared) for _, prepared in items])
        except Exception as e:
            reason = storage_reason(e)
            log.warning("batch write of %d documents failed (%s): one by one", len(items), reason)
            return [self._commit_or_fail(src, prepared) for src, prepared in items]
        results = []
        for (src, prepared), old in zip(items, older, strict=True):
            try:
                for doc_id in old:
                    self.store.delete_document(doc_id)
            except Exception:  # the new version is in; retry alone, and fail it cleanly if need be
                results.append(self._commit_or_fail(src, prepared))
                continue
            results.append(self._result(src, prepared, replaced=bool(old)))
        return results

    def _older(self, src: SourceDocument, doc_id: str) -> list[str]:
        """Other versions held at ``src``'s uri: removed once the new one is stored."""
        return [d.doc_id for d in self.store.documents_at(src.uri) if d.doc_id != doc_id]

    def _write(self, prepared: PreparedDocument) -> DocumentWrite:
        parsed, chunks, vectors = prepared
        return DocumentWrite(self._record(parsed, len(chunks)), chunks, vectors)

    def _result(
        self, src: SourceDocument, prepared: PreparedDocument, *, replaced: bool
    ) -> IngestResult:
        parsed = prepared.parsed
        return IngestResult(
            uri=src.uri,
            doc_id=parsed.doc_id,
            action="replaced" if replaced else "added",
            status=parsed.status,
            pages=len(parsed.pages),
            chunks=len(prepared.chunks),
            errors=parsed.errors,
        )

    def _commit_or_fail(self, src: SourceDocument, prepared: PreparedDocument) -> IngestResult:
        try:
            return self.commit(src, prepared)
        except Exception as e:
            doc_id, where = prepared.parsed.doc_id, self.store.opts.uri
            message = f"could not write to the index at {where}: {storage_reason(e)}"
            log.error("%s: %s", src.uri, message)
            errors = [StageError(stage="store", message=message)]
            try:
                self.store.delete_document(doc_id)  # what was written before the failure
            except Exception as cleanup:
                message = f"could not remove the partial write: {storage_reason(cleanup)}"
                errors.append(StageError(stage="store", message=message))
            return self._fail(src, doc_id, errors)

    def fail(self, src: SourceDocument, doc_id: str, errors: list[StageError]) -> IngestResult:
        """Record ``src`` as failed with ``errors`` (the row says why) and return that result."""
        return self._fail(src, doc_id, errors)

    def _record(self, parsed: ParsedDocument, n_chunks: int) -> DocumentRecord:
        meta = parsed.metadata
        return DocumentRecord(
            doc_id=parsed.doc_id,
            uri=parsed.uri,
            title=meta.title,
            date=meta.date,
            language=meta.language,
            collection=meta.collection,
            source=meta.source,
            media_type=parsed.media_type,
            pages=len(parsed.pages),
            chunks=n_chunks,
            status=parsed.status,
            errors=parsed.errors,
            page_methods=[p.method for p in parsed.pages],
            converter=parsed.converter,
            embedder=self.embedder.name,
            ingested_at=dt.datetime.now(dt.UTC),
            markdown=parsed.markdown,
        )

    def _fail(self, src: SourceDocument, doc_id: str, errors: list[StageError]) -> IngestResult:
        record = DocumentRecord(
            doc_id=doc_id,
            uri=src.uri,
            title=src.metadata.title or src.name,
            date=src.metadata.date,
            language=src.metadata.language,
            collection=src.metadata.collection,
            source=src.metadata.source,
            media_type=src.media_type,
            status="failed",
            errors=errors,
            converter=CONVERTER_VERSION,
            embedder=self.embedder.name,
            ingested_at=dt.datetime.now(dt.UTC),
        )
        try:
            self.store.write_document(record, [], None)
        except Exception as e:  # an unwritable index: say so without hiding the first error
            message = f"could not record the failure in {self.store.opts.uri}: {storage_reason(e)}"
            errors = [*errors, StageError(stage="store", message=message)]
        return IngestResult(
            uri=src.uri, doc_id=doc_id, action="failed", status="failed", errors=errors
        )


def prepare_parsed(
    parsed: ParsedDocument,
    *,
    embedder: Embedder,
    chunk_options: ChunkOptions,
    counter: TokenCounter,
) -> PreparedDocument:
    """Chunk and embed a converted document; needs no index, so a remote worker can run it.

    >>> prepare_parsed(parsed, embedder=emb, chunk_options=ChunkOptions(),   # doctest: +SKIP
    ...                counter=default_token_counter()).chunks[0].chunk_id
    '3f2a…-0000'
    """
    chunks = attach_regions(parsed, chunk_markdown(parsed, chunk_options, counter=counter))
    texts = [_embedding_text(c.text, context_header(c)) for c in chunks]
    vectors = embedder.embed_documents(texts) if chunks else None
    return PreparedDocument(parsed, chunks, vectors)


def _embedding_text(text: str, header: str) -> str:
    return f"{header}\n{text}" if header else text


def _unreadable_id(uri: str) -> str:
    """A stable id for a file whose bytes cannot be read (its uri's hash, marked as such)."""
    return "unreadable-" + hashlib.sha256(uri.encode()).hexdigest()[:48]
