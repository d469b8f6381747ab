"""The ingest engine: one document's trip from its bytes to the index, with a result always.

Each document moves through a small state machine; every entry point (the CLI, the API, the
ingest flow and its workers, the drop-folder watcher) drives the same steps and differs only in
where and when it runs them:

    fetched ──convert──▶ converted ──embed──▶ embedded ──commit──▶ committed (added | replaced)
       │                    │                    │                    │
       └─ known bytes: unchanged | duplicate     └────────── any error ─────▶ failed

- **fetched** (``DocumentRun``): the bytes are in hand and have an id (``doc_id``, their sha256;
  ``placeholder_id`` when they could not be read). Bytes the index already holds with this
  converter and embedder stop here (``known``): ``unchanged`` at the same uri, ``duplicate`` at
  another; so do bytes that failed for their own content at this uri (see
  ``pipeline.ingest.failures`` for the one failure rule).
- **converted**, **embedded**: ``pipeline.ingest.steps``, which need no index (a worker runs
  them, and their output is cached by content hash in the flows).
- **committed**: the new version is written, then older versions at the same uri are removed
  (``replaced``), so the index never holds two versions once a commit returns. A write that
  fails is undone (no chunk without its document row) and the document fails with the store's
  reason; the others of its batch still go in.
- **failed**: recorded in the ``documents`` table with the stage and reason (a previous good
  version at the same uri is kept: a half-copied file must not erase what was searchable).

>>> ingestor = Ingestor(store=store, embedder=emb)        # doctest: +SKIP
>>> ingestor.ingest(SourceDocument(uri="a.pdf", path=Path("a.pdf"))).action   # doctest: +SKIP
'added'
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from pipeline.convert import CONVERTER_VERSION
from pipeline.embed import Embedder
from pipeline.ingest import steps
from pipeline.ingest.failures import (
    FAILURE_PREFIX,
    failure_id,
    failure_of,
    is_content_failure,
    is_placeholder_id,
    placeholder_id,
)
from pipeline.ingest.steps import PreparedDocument, Stages
from pipeline.models import (
    ChunkOptions,
    ConvertOptions,
    DocumentRecord,
    IngestResult,
    LimitOptions,
    ParsedDocument,
    SourceDocument,
    StageError,
)
from pipeline.store import DocumentWrite, LanceChunkStore
from pipeline.store.errors import os_error_code, storage_reason
from pipeline.tokens import TokenCounter, default_token_counter

log = logging.getLogger(__name__)


class DocState(enum.Enum):
    FETCHED = "fetched"
    CONVERTED = "converted"
    EMBEDDED = "embedded"
    COMMITTED = "committed"
    FAILED = "failed"


@dataclass
class DocumentRun:
    """One document on its way: its state, what the last step made, and its result once done."""

    src: SourceDocument
    doc_id: str
    state: DocState = DocState.FETCHED
    parsed: ParsedDocument | None = None
    prepared: PreparedDocument | None = None
    result: IngestResult | None = None
    budget: steps.Budget | None = None  # the document's limits, from its conversion on

    @property
    def done(self) -> bool:
        return self.result is not None


@dataclass
class Ingestor:
    """The engine for one index: ``ingest`` runs every step here; the steps one by one are for
    schedulers (flows, the watcher) that retry, cache, batch or lock them."""

    store: LanceChunkStore
    embedder: Embedder
    convert_options: ConvertOptions = field(default_factory=ConvertOptions)
    chunk_options: ChunkOptions = field(default_factory=ChunkOptions)
    counter: TokenCounter = field(default_factory=default_token_counter)
    limits: LimitOptions = field(default_factory=LimitOptions)

    @property
    def stages(self) -> Stages:
        return Stages(
            self.convert_options, self.chunk_options, self.embedder, self.counter, self.limits
        )

    # --- the whole trip, for callers that run it in one place (CLI, API) ---

    def ingest(self, src: SourceDocument) -> IngestResult:
        """Ingest one document; never raises for a bad document."""
        run = self.start(src)
        while not run.done:
            self.advance(run)
        assert run.result is not None
        return run.result

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

    def start(self, src: SourceDocument) -> DocumentRun:
        """fetched: the document's id, and its result already when the index knows the bytes
        or they cannot be read."""
        try:
            doc_id = src.doc_id
        except OSError as e:
            run = DocumentRun(src, placeholder_id(src.uri))
            return self._failed(run, failure_of(e).errors)
        run = DocumentRun(src, doc_id)
        known = self.known(src, doc_id)
        if known is not None:
            run.result = known
        return run

    def advance(self, run: DocumentRun) -> DocumentRun:
        """Take ``run`` one step further; an error fails it under the one failure rule."""
        step = {
            DocState.FETCHED: self._convert,
            DocState.CONVERTED: self._embed,
            DocState.EMBEDDED: self._commit,
        }[run.state]
        try:
            step(run)
        except Exception as e:
            self._failed(run, failure_of(e).errors)
        return run

    def _convert(self, run: DocumentRun) -> None:
        run.budget = steps.Budget(self.limits, size=len(run.src.read_bytes()))
        run.parsed = steps.convert(run.src, self.convert_options, run.budget)
        run.state = DocState.CONVERTED

    def _embed(self, run: DocumentRun) -> None:
        assert run.parsed is not None
        run.prepared = steps.embed(
            run.parsed,
            embedder=self.embedder,
            chunk_options=self.chunk_options,
            counter=self.counter,
            budget=run.budget,
        )
        run.state = DocState.EMBEDDED

    def _commit(self, run: DocumentRun) -> None:
        assert run.prepared is not None
        (run.result,) = self.commit_many([(run.src, run.prepared)])
        run.state = DocState.FAILED if run.result.action == "failed" else DocState.COMMITTED

    # --- the steps one by one, for schedulers ---

    def known(self, src: SourceDocument, doc_id: str) -> IngestResult | None:
        """The result for bytes that need no work, else None.

        The same bytes with the same converter and embedder: ``unchanged`` at the same uri,
        ``duplicate`` at another. Bytes that failed for their own content at this uri with this
        converter: ``unchanged``, status ``failed``, with the reason (converting again would
        fail again).
        """
        rec = self.store.get_document(doc_id)
        if rec is None:  # not indexed: perhaps these bytes failed at this uri before
            rec = self.store.get_document(failure_id(src.uri, doc_id))
        if rec is None or rec.converter != CONVERTER_VERSION:
            return None
        if rec.status == "failed":
            if rec.uri != src.uri or not is_content_failure(rec.errors):
                return None
        elif rec.embedder != self.embedder.name:
            return None
        action = "unchanged" if rec.uri == src.uri else "duplicate"
        return IngestResult(
            uri=src.uri,
            doc_id=rec.doc_id,
            action=action,
            status=rec.status,
            pages=rec.pages,
            chunks=rec.chunks,
            errors=rec.errors,
        )

    def commit(self, src: SourceDocument, prepared: PreparedDocument) -> IngestResult:
        """embedded → committed: store the new version, then drop older ones at the same uri.

        Raises when the index cannot be written (``commit_many`` records that instead).
        """
        parsed, chunks, vectors = prepared
        older = self._older(src, parsed.doc_id)
        self.store.write_document(self._record(parsed, len(chunks)), chunks, vectors)
        for old in older:
            self.store.delete_document(old)
        return self._result(src, prepared, replaced=_replaces(older))

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
            results.append(self._result(src, prepared, replaced=_replaces(old)))
        return results

    def fail(
        self, src: SourceDocument, doc_id: str | None, errors: list[StageError]
    ) -> IngestResult:
        """failed: record ``src`` with ``errors`` (the row says why) and return that result.

        ``doc_id`` None: the bytes could not be had, the document gets ``placeholder_id``;
        else the record's id is ``failure_id(uri, doc_id)``, one per source.
        """
        if doc_id is None or is_placeholder_id(doc_id) or doc_id.startswith(FAILURE_PREFIX):
            record_id = doc_id or placeholder_id(src.uri)
        else:
            record_id = failure_id(src.uri, doc_id)
        record = DocumentRecord(
            doc_id=record_id,
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
            errors = [*errors, StageError(stage="store", message=message, errno=os_error_code(e))]
        result = IngestResult(
            uri=src.uri, doc_id=record.doc_id, action="failed", status="failed", errors=errors
        )
        # info, not warning: the result carries the failure to whoever reports it (the CLI's
        # line, the flow's task state); this line is for a run's log (Prefect shows it)
        log.info("failed %s: %s", src.uri, result.reason)
        return result

    # --- plumbing ---

    def _failed(self, run: DocumentRun, errors: list[StageError]) -> DocumentRun:
        run.state, run.result = DocState.FAILED, self.fail(run.src, run.doc_id, errors)
        return run

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
        result = IngestResult(
            uri=src.uri,
            doc_id=parsed.doc_id,
            action="replaced" if replaced else "added",
            status=parsed.status,
            pages=len(parsed.pages),
            chunks=len(prepared.chunks),
            errors=parsed.errors,
        )
        log.info(
            "%s %s: %d pages, %d chunks%s",
            result.action,
            src.uri,
            result.pages,
            result.chunks,
            f" ({result.status}: {result.reason})" if result.errors else "",
        )
        return result

    def _commit_or_fail(self, src: SourceDocument, prepared: PreparedDocument) -> IngestResult:
        try:
            return self.commit(src, prepared)
        except Exception as e:
            doc_id, where = prepared.parsed.doc_id, self.store.opts.uri
            message = f"could not write to the index at {where}: {storage_reason(e)}"
            log.error("%s: %s", src.uri, message)
            errors = [StageError(stage="store", message=message, errno=os_error_code(e))]
            try:
                self.store.delete_document(doc_id)  # what was written before the failure
            except Exception as cleanup:
                message = f"could not remove the partial write: {storage_reason(cleanup)}"
                errors.append(
                    StageError(stage="store", message=message, errno=os_error_code(cleanup))
                )
            return self.fail(src, doc_id, errors)

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


def _replaces(older: list[str]) -> bool:
    """Whether removing ``older`` replaces a version: a failure record giving way does not."""
    return any(not doc_id.startswith(FAILURE_PREFIX) for doc_id in older)
