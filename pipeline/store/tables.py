"""LanceDB storage: a ``documents`` table (one row per input, failures too) and a ``chunks`` table
(text, vector, metadata, one native full-text index per configured language).

The embedder's name and dimension are written into the chunks table's schema metadata when it is
created; opening it with another embedder raises ``IndexSchemaError`` instead of mixing vector
spaces.
Writes are idempotent (``merge_insert`` on ids). A document's chunks are written before its row,
and the row is the commit mark: searches show only chunks whose document row is committed, so a
crash between the two commits leaves nothing visible, and ``repair`` removes what it left
(``pipeline.store.visibility``). Every write is retried on commit conflicts, so several
processes may write one index (``pipeline.store.upkeep``).

The index may be a folder, object storage (``s3://bucket/prefix``, with ``storage_options``) or
LanceDB Cloud (``db://name``); docs/storage.md shows each.

>>> store = LanceChunkStore(StoreOptions(uri="/tmp/idx"), embedder="use", dim=512)  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import numpy as np
import pyarrow as pa

from pipeline.errors import ConfigError, EngineError, IndexSchemaError, StorageError
from pipeline.models import (
    Chunk,
    DocumentRecord,
    SearchFilters,
    StageError,
    StoreOptions,
)
from pipeline.spans import spans_json
from pipeline.store import upkeep, visibility
from pipeline.store.candidates import CHUNK_COLUMNS, Candidates, chunk_from_row
from pipeline.store.query import Choose, ChunkReader, Searched, W
from pipeline.store.schema import (
    CHUNKS,
    DOCUMENTS,
    META_DIM,
    META_EMBEDDER,
    VARIANT_FIELDS,
    chunks_schema,
    documents_schema,
    filter_sql,
    fts_column,
    sql_str,
)
from pipeline.store.variants import Placement, VariantIndex

log = logging.getLogger(__name__)

T = TypeVar("T")


class DocumentWrite(NamedTuple):
    """One document to store: its row, its chunks and their vectors (None when no chunks)."""

    record: DocumentRecord
    chunks: Sequence[Chunk]
    vectors: np.ndarray | None


class LanceChunkStore:
    """Both tables of one index, opened (or created) for one embedder."""

    def __init__(self, opts: StoreOptions, *, embedder: str, dim: int) -> None:
        self.opts = opts
        self._writes = 0
        self.embedder = embedder
        self.dim = dim
        self.languages = tuple(opts.fts_languages)
        check_location(opts, create=True)  # a file where the folder should be: one clear line
        self._db = upkeep.connect(opts)
        names = set(self._db.list_tables().tables)
        if DOCUMENTS in names:
            self.documents = self._db.open_table(DOCUMENTS)
        else:
            self.documents = self._db.create_table(DOCUMENTS, schema=documents_schema())
        missing = [f for f in VARIANT_FIELDS if f.name not in self.documents.schema.names]
        if missing:  # an index made before documents were grouped: recluster() groups them
            self.documents.add_columns(pa.schema(missing))
        if CHUNKS in names:
            self.chunks = self._db.open_table(CHUNKS)
            self._check_schema()
            outdated = upkeep.outdated_vector_index(self.chunks, dim, opts)
            if outdated:
                log.warning(
                    "the vector index is %s; searches use it as it is until "
                    "`archivist maintain` or the next ingest rebuilds it",
                    outdated,
                )
        else:
            schema = chunks_schema(embedder, dim, self.languages)
            self.chunks = self._db.create_table(CHUNKS, schema=schema)
        self.reader = ChunkReader(self.chunks, self.documents, opts)  # searches: set up once
        self.variants = VariantIndex(self.documents, self.chunks, opts.variants, self._commit)

    @classmethod
    def open(cls, opts: StoreOptions) -> LanceChunkStore:
        """Open an existing index with the embedder recorded in it, without loading any model
        (what maintenance needs). Raises ``ConfigError`` when there is no index at ``opts.uri``."""
        check_location(opts, create=False)
        db = upkeep.connect(opts)
        meta = db.open_table(CHUNKS).schema.metadata or {}
        embedder = meta.get(META_EMBEDDER, b"").decode()
        return cls(opts, embedder=embedder, dim=int(meta.get(META_DIM, b"0").decode() or 0))

    def _commit(self, what: str, op: Callable[[], T], table: Any = None) -> T:
        """``op`` (one write to ``table``), retried on commit conflicts with other writers."""
        opts = self.opts
        refresh = getattr(table, "checkout_latest", None)
        return upkeep.commit(
            what, op, retries=opts.commit_retries, backoff_s=opts.commit_backoff_s, refresh=refresh
        )

    def _check_schema(self) -> None:
        meta = self.chunks.schema.metadata or {}
        stored = (meta.get(META_EMBEDDER, b"").decode(), meta.get(META_DIM, b"0").decode())
        if stored != (self.embedder, str(self.dim)):
            raise IndexSchemaError(
                f"index at {self.opts.uri} was built with embedder {stored[0]!r} "
                f"(dim {stored[1]}); "
                f"refusing to mix in {self.embedder!r} (dim {self.dim}). "
                "Use another --db or re-ingest into an empty one."
            )
        names = set(self.chunks.schema.names)
        added = {"regions": "STRING", "spans": "STRING", "furniture": "STRING",
                 "written_at": "TIMESTAMP"}  # fmt: skip
        for column, kind in added.items():  # an index made before chunks had them
            if column not in names:
                self.chunks.add_columns({column: f"CAST(NULL AS {kind})"})
        self.languages = tuple(lang for lang in self.languages if fts_column(lang) in names)

    # --- documents ---

    def get_document(self, doc_id: str) -> DocumentRecord | None:
        rows = self.documents.search().where(f"doc_id = {sql_str(doc_id)}").limit(1).to_list()
        return _record(rows[0]) if rows else None

    def document_ids_starting(self, prefix: str, *, limit: int = 2) -> list[str]:
        """Ids of documents that start with ``prefix`` (at most ``limit``): short ids for people."""
        q = self.documents.search().where(f"starts_with(doc_id, {sql_str(prefix)})")
        return [r["doc_id"] for r in q.select(["doc_id"]).limit(limit).to_list()]

    def documents_at(self, uri: str) -> list[DocumentRecord]:
        rows = self.documents.search().where(f"uri = {sql_str(uri)}").limit(None).to_list()
        return [_record(r) for r in rows]

    def documents_under(
        self, prefix: str, *, collection: str | None = None
    ) -> list[DocumentRecord]:
        """Every document whose uri starts with ``prefix`` (and in ``collection`` when given),
        without its Markdown: what a sync compares with its source to find removed files."""
        columns = ["doc_id", "uri", "collection", "status", "pages", "chunks", "title", "date"]
        q = self.documents.search().select(columns)
        if collection is not None:
            q = q.where(f"collection = {sql_str(collection)}")
        rows = q.limit(None).to_list()
        # Prefix matched here rather than with SQL LIKE, whose wildcards (% _) occur in paths.
        return [_record(r) for r in rows if str(r["uri"]).startswith(prefix)]

    def list_documents(
        self,
        *,
        limit: int = 100,
        offset: int = 0,
        filters: SearchFilters | None = None,
        status: str | None = None,
    ) -> list[DocumentRecord]:
        """A page of the documents under ``filters`` (and of one ``status``: ok, partial,
        failed), without their Markdown."""
        columns = [f for f in documents_schema().names if f not in ("markdown", "variant_keys")]
        q = self.documents.search().select(columns)
        where = _documents_where(filters, status)
        if where:
            q = q.where(where)
        return [_record(r) for r in q.limit(limit).offset(offset).to_list()]

    def variants_of(self, record: DocumentRecord) -> list[DocumentRecord]:
        """The other versions of ``record``'s story (``pipeline.store.variants``), oldest first,
        without their Markdown."""
        rows = self.variants.rows_of(record.cluster_id, exclude=record.doc_id)
        return [_record(r) for r in rows]

    def count_documents(
        self, filters: SearchFilters | None = None, status: str | None = None
    ) -> int:
        return int(self.documents.count_rows(_documents_where(filters, status)))

    def write_document(
        self, record: DocumentRecord, chunks: Sequence[Chunk], vectors: np.ndarray | None
    ) -> None:
        """Store a document's chunks, then its row (the row is the commit mark)."""
        self.write_documents([DocumentWrite(record, chunks, vectors)])

    def write_documents(self, items: Sequence[DocumentWrite]) -> None:
        """Store several documents with one commit per step, whatever their number: all their
        chunks, then the removal of chunks a re-chunked document no longer has, then all their
        rows. Fewer commits mean fewer table versions and fragments, and fewer conflicts between
        concurrent writers. A document given twice is written once (the last one wins).

        >>> store.write_documents([DocumentWrite(record, chunks, vectors), ...])  # doctest: +SKIP
        """
        batch = list({item.record.doc_id: item for item in items}.values())
        if not batch:
            return
        rows: list[dict[str, Any]] = []
        stale: list[str] = []
        now = dt.datetime.now(dt.UTC)
        for record, chunks, vectors in batch:
            if not chunks:
                continue
            if vectors is None or len(vectors) != len(chunks):
                raise ValueError(f"{record.doc_id}: {len(chunks)} chunks need as many vectors")
            rows.extend(self._chunk_row(c, v, now) for c, v in zip(chunks, vectors, strict=True))
            stale.append(f"(doc_id = {sql_str(record.doc_id)} AND ordinal >= {len(chunks)})")
        if rows:
            data = pa.Table.from_pylist(rows, schema=self.chunks.schema)
            chunks = self.chunks
            self._commit("write chunks", lambda: _upsert(chunks, "chunk_id", data), chunks)
            # A re-chunked document may have fewer chunks than before: drop the extra ordinals.
            self._commit("drop stale chunks", lambda: chunks.delete(" OR ".join(stale)), chunks)
        placed = self.variants.place([(item.record, item.vectors) for item in batch])
        docs = pa.Table.from_pylist(
            [_document_row(item.record, placed) for item in batch], schema=self.documents.schema
        )
        documents = self.documents
        self._commit("write documents", lambda: _upsert(documents, "doc_id", docs), documents)
        if placed is not None:
            self.variants.settle(placed)
        before, self._writes = self._writes, self._writes + len(batch)
        every = self.opts.compact_every_writes
        if every and self._writes // every > before // every:
            try:
                self.compact()
            except StorageError:  # the disk refused: the write fails with the store's reason
                raise
            except EngineError as e:  # conflicts: the documents are stored; compaction can wait
                log.warning("compaction postponed: %s", e)

    def compact(self) -> None:
        """Merge the small fragments that one-document writes leave (and fold new rows into the
        indexes), so that ingest and search stay fast as the tables grow."""
        self._commit("compact chunks", lambda: self.chunks.optimize(), self.chunks)
        self._commit("compact documents", lambda: self.documents.optimize(), self.documents)

    def maintain(self, *, older_than: dt.timedelta | None = None) -> upkeep.Maintenance:
        """Scheduled upkeep: remove a crash's leftover chunks (``repair``), create missing
        indexes, compact both tables, fold new rows into every index and delete the table
        versions older than ``older_than`` (default ``StoreOptions.cleanup_older_than_days``),
        which frees their files.

        A version still read by a running search or written on by another process must not be
        removed: keep ``older_than`` well above the longest query or ingest run (days, not
        seconds) unless nothing else uses the index.
        """
        if older_than is None:
            older_than = dt.timedelta(days=self.opts.cleanup_older_than_days)
        tables = {CHUNKS: self.chunks, DOCUMENTS: self.documents}
        leftovers = self.repair()
        done = upkeep.maintain(tables, self.ensure_indexes, self._commit, older_than)
        return done._replace(leftovers=leftovers)

    def delete_document(self, doc_id: str) -> None:
        """Remove a document and its chunks: the row first, so the document leaves every search
        at once; chunks a crash leaves behind are invisible and ``repair`` removes them."""
        where = f"doc_id = {sql_str(doc_id)}"
        group = self.documents.search().where(where).select(["cluster_id"]).limit(1).to_list()
        self._commit("delete document", lambda: self.documents.delete(where), self.documents)
        self._commit("delete chunks", lambda: self.chunks.delete(where), self.chunks)
        if group and group[0]["cluster_id"]:
            try:  # the versions left may no longer hold together
                self.variants.split(group[0]["cluster_id"])
            except (EngineError, StorageError) as e:  # derived data: recluster() redoes it
                log.warning("variants of %s not checked again after a delete: %s", doc_id, e)

    def repair(self, *, older_than: dt.timedelta | None = None) -> dict[str, int]:
        """Remove the chunks a crash left without a committed row (written more than
        ``older_than`` ago, default ``StoreOptions.repair_after_s``); returns them per
        document. Cheap when there are none: one read of the chunks' ids."""
        if older_than is None:
            older_than = dt.timedelta(seconds=self.opts.repair_after_s)
        cutoff = dt.datetime.now(dt.UTC) - older_than
        leftovers = visibility.leftover_chunks(self.chunks, self.documents, older_than=cutoff)
        for doc_id, n in leftovers.items():
            delete = functools.partial(self.chunks.delete, f"doc_id = {sql_str(doc_id)}")
            self._commit("remove leftover chunks", delete, self.chunks)
            log.warning("%s: removed %d chunks a crash left without a document row", doc_id, n)
        return leftovers

    def _chunk_row(self, chunk: Chunk, vector: np.ndarray, now: dt.datetime) -> dict[str, Any]:
        from pipeline.chunk import context_header

        row = chunk.model_dump()
        header = context_header(chunk)
        # Headers and footers dropped from the text stay findable: an identifier printed only
        # in a running header still finds its page.
        search_text = "\n".join(p for p in (header, chunk.text, chunk.furniture) if p)
        for lang in self.languages:
            row[fts_column(lang)] = search_text
        row["vector"] = np.asarray(vector, dtype=np.float32).tolist()
        row["regions"] = json.dumps([r.model_dump() for r in chunk.regions])
        row["spans"] = spans_json(chunk.spans)
        row["written_at"] = now
        return row

    # --- search ---

    def ensure_indexes(self) -> list[str]:
        """Bring the indexes in line with the tables' size; returns what it did.

        - chunks: one full-text index per language, always;
        - both tables: BTREE on date and ids, BITMAP on collection and language
          (``scalar_indexes``), so filtered searches and lookups skip the scan;
        - chunks: an IVF cosine index (``vector_index_kind``) once ``vector_index_min_rows``
          rows are reached, retrained after the table grows ``vector_retrain_growth`` times
          or when the kind configured changed;
        - either table: ``optimize`` (compaction + folding new rows into every index) once an
          index misses more than ``reindex_after_rows`` rows. Searches see unindexed rows anyway.
        """
        from lancedb.index import FTS

        done: list[str] = []
        rows = int(self.chunks.count_rows())
        if rows:
            existing = {tuple(ix.columns) for ix in self.chunks.list_indices()}
            for lang in self.languages:
                column = fts_column(lang)
                if (column,) not in existing:
                    config = FTS(language=lang, stem=self.opts.fts_stem, ascii_folding=True)
                    build = functools.partial(self.chunks.create_index, column, config=config)
                    self._commit(f"index {column}", build, self.chunks)
                    done.append(f"FTS chunks.{column}")
            if self.opts.scalar_indexes:
                upkeep.ensure_scalar_indexes(self.chunks, upkeep.CHUNK_SCALAR, done, self._commit)
            vector = upkeep.ensure_vector_index(
                self.chunks, rows=rows, dim=self.dim, opts=self.opts, run=self._commit
            )
            if vector:
                done.append(vector)
        if self.opts.scalar_indexes and self.documents.count_rows():
            upkeep.ensure_scalar_indexes(self.documents, upkeep.DOCUMENT_SCALAR, done, self._commit)
        for name, table in ((CHUNKS, self.chunks), (DOCUMENTS, self.documents)):
            if upkeep.needs_refresh(table, self.opts):
                self._commit(f"optimize {name}", table.optimize, table)
                done.append(f"optimize {name}")
        for step in done:
            log.info("index %s: %s", self.opts.uri, step)
        return done

    def candidates(
        self,
        *,
        text: str | None,
        language: str,
        vector: Callable[[], np.ndarray] | None,
        k: int,
        filters: SearchFilters | None = None,
    ) -> tuple[Candidates, Candidates]:
        """The ``k`` best full-text candidates for ``text`` (the index stemmed for ``language``,
        else the first configured one) and the ``k`` nearest to ``vector()``, both under
        ``filters`` and searched at once: ids, document ids, scores and row ids, no text
        (``ChunkReader.candidates``). ``text`` or ``vector`` None leaves that ranker out."""
        return self.reader.candidates(
            text=text, fts_column=self.fts_column_for(language), vector=vector, k=k,
            where=filter_sql(filters),
        )  # fmt: skip

    def search(
        self,
        *,
        text: str | None,
        language: str,
        vector: Callable[[], np.ndarray] | None,
        k: int,
        choose: Choose[W],
        filters: SearchFilters | None = None,
        group: bool = False,
    ) -> Searched[W]:
        """What retrieval runs: both rankers' candidates (as ``candidates``), ``choose`` (the
        fusion; with ``group``, over the candidates' stories) over them, and the complete rows
        of the chunks it chose (with ``group``, and the versions of their stories), with the
        fewest waits in a row (``ChunkReader.search``)."""
        return self.reader.search(
            text=text, fts_column=self.fts_column_for(language), vector=vector, k=k,
            where=filter_sql(filters), choose=choose, group=group,
        )  # fmt: skip

    def take(self, row_ids: Sequence[int], chunk_ids: Sequence[str]) -> list[Chunk]:
        """The chunks of some candidates, complete, in the order of ``chunk_ids``."""
        return self.reader.take(row_ids, chunk_ids)

    def fts_column_for(self, language: str) -> str | None:
        """The full-text column stemmed for ``language`` (``French``...), else the first
        configured one; None when the index has no full-text column."""
        if not self.languages:
            return None
        return fts_column(language if language in self.languages else self.languages[0])

    def search_fts(
        self, query: str, *, language: str, k: int, filters: SearchFilters | None = None
    ) -> list[tuple[Chunk, float]]:
        """BM25 hits from the index stemmed for ``language`` (else the first configured one)."""
        found, _ = self.candidates(text=query, language=language, vector=None, k=k,
                                   filters=filters)  # fmt: skip
        return self._complete(found)

    def search_vector(
        self, vector: np.ndarray, *, k: int, filters: SearchFilters | None = None
    ) -> list[tuple[Chunk, float]]:
        """Nearest chunks by cosine distance.

        With a vector index, ``vector_nprobes`` partitions are searched, more when a filter
        leaves too few rows in them, and the best ``vector_refine_rows`` candidates are
        re-ranked on their full vectors to win back what the index's compressed codes lose;
        without an index the scan is exact and these settings do nothing.
        """
        _, found = self.candidates(text=None, language="", vector=lambda: vector, k=k,
                                   filters=filters)  # fmt: skip
        return self._complete(found)

    def _complete(self, found: Candidates) -> list[tuple[Chunk, float]]:
        scores = dict(zip(found.chunk_ids, found.scores.tolist(), strict=True))
        return [(c, scores[c.chunk_id]) for c in self.take(found.row_ids.tolist(), found.chunk_ids)]

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        rows = self.chunks.search().where(f"doc_id = {sql_str(doc_id)}").select(CHUNK_COLUMNS)
        return sorted(
            (chunk_from_row(r) for r in rows.limit(None).to_list()), key=lambda c: c.ordinal
        )


def check_location(opts: StoreOptions, *, create: bool) -> None:
    """Refuse an index location before anything is written there: a file where a folder is
    needed, or, unless ``create``, a place that holds no index (a mistyped ``--db`` must not
    become a new, empty index that answers every search with nothing).

    Nothing is created here: a local folder is looked at on disk (connecting would create it),
    object storage and LanceDB Cloud are asked for their tables. ``ConfigError`` when refused.
    """
    uri = opts.uri
    if "://" not in uri:
        path = Path(uri).expanduser()
        if path.exists() and not path.is_dir():
            raise ConfigError(f"{uri} is a file, not an index folder")
        if create:
            return
        if not (path / f"{CHUNKS}.lance").is_dir():
            raise ConfigError(f"no index at {uri}")
        return
    if create:
        return
    try:
        names = set(upkeep.connect(opts).list_tables().tables)
    except Exception as e:  # unreachable bucket, refused credentials: say so, in one line
        raise ConfigError(f"cannot read the index at {uri}: {e}") from e
    if CHUNKS not in names:
        raise ConfigError(f"no index at {uri}")


def _documents_where(filters: SearchFilters | None, status: str | None) -> str | None:
    parts = [p for p in (filter_sql(filters), status and f"status = {sql_str(status)}") if p]
    return " AND ".join(parts) or None


def _upsert(table: Any, key: str, data: pa.Table) -> None:
    table.merge_insert(key).when_matched_update_all().when_not_matched_insert_all().execute(data)


def _document_row(record: DocumentRecord, placed: Placement | None) -> dict[str, Any]:
    row = record.model_dump()
    if placed is not None and record.doc_id in placed.clusters:
        row["cluster_id"] = placed.clusters[record.doc_id]
        row["variant_keys"] = placed.keys[record.doc_id]
        row["grouped"] = placed.grouped[record.doc_id]
    row["errors"] = json.dumps([e.model_dump() for e in record.errors], ensure_ascii=False)
    row["ingested_at"] = record.ingested_at or dt.datetime.now(dt.UTC)
    return row


def _record(row: dict[str, Any]) -> DocumentRecord:
    data = {k: v for k, v in row.items() if k in DocumentRecord.model_fields and v is not None}
    data["errors"] = [StageError(**e) for e in json.loads(row.get("errors") or "[]")]
    data["page_methods"] = list(row.get("page_methods") or [])
    return DocumentRecord(**data)
