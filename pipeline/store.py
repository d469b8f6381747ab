"""LanceDB storage: a ``documents`` table (one row per input, failures too) and a ``chunks`` table
(text, vector, metadata, one native full-text index per configured language).

The embedder's name and dimension are written into the chunks table's schema metadata when it is
created; opening it with another embedder raises ``IndexSchemaError`` instead of mixing vector
spaces.
Writes are idempotent (``merge_insert`` on ids). A document's chunks are written before its row, so
a crash in between leaves chunks without a document row, which the next ingest of the same bytes
overwrites: nothing half-written is ever reported as ingested.

>>> store = LanceChunkStore(StoreOptions(uri="/tmp/idx"), embedder="use", dim=512)  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from pipeline.errors import IndexSchemaError
from pipeline.models import (
    Chunk,
    DocumentRecord,
    PageRegion,
    SearchFilters,
    StageError,
    StoreOptions,
)

log = logging.getLogger(__name__)

DOCUMENTS = "documents"
CHUNKS = "chunks"
META_EMBEDDER = b"archivist.embedder"
META_DIM = b"archivist.dim"

LANGUAGE_CODES = {"french": "fr", "english": "en", "german": "de", "spanish": "es", "italian": "it"}


def fts_column(language: str) -> str:
    """The column holding the text indexed with ``language``'s stemmer (``fts_fr``...)."""
    return "fts_" + LANGUAGE_CODES.get(language.lower(), language.lower()[:2])


def _documents_schema() -> pa.Schema:
    return pa.schema(
        [
            ("doc_id", pa.string()),
            ("uri", pa.string()),
            ("title", pa.string()),
            ("date", pa.date32()),
            ("language", pa.string()),
            ("collection", pa.string()),
            ("source", pa.string()),
            ("media_type", pa.string()),
            ("pages", pa.int32()),
            ("chunks", pa.int32()),
            ("status", pa.string()),
            ("errors", pa.string()),  # JSON list of StageError
            ("page_methods", pa.list_(pa.string())),
            ("converter", pa.string()),
            ("embedder", pa.string()),
            ("ingested_at", pa.timestamp("us", tz="UTC")),
            ("markdown", pa.large_string()),
        ]
    )


def _chunks_schema(embedder: str, dim: int, languages: Sequence[str]) -> pa.Schema:
    fields = [
        pa.field("chunk_id", pa.string()),
        pa.field("doc_id", pa.string()),
        pa.field("ordinal", pa.int32()),
        pa.field("text", pa.string()),
        *[pa.field(fts_column(lang), pa.string()) for lang in languages],
        pa.field("vector", pa.list_(pa.float32(), dim)),
        pa.field("heading_path", pa.list_(pa.string())),
        pa.field("page_start", pa.int32()),
        pa.field("page_end", pa.int32()),
        pa.field("title", pa.string()),
        pa.field("source", pa.string()),
        pa.field("date", pa.date32()),
        pa.field("language", pa.string()),
        pa.field("collection", pa.string()),
        pa.field("regions", pa.string()),  # JSON list of PageRegion: where the chunk lies
    ]
    return pa.schema(
        fields, metadata={META_EMBEDDER: embedder.encode(), META_DIM: str(dim).encode()}
    )


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def filter_sql(filters: SearchFilters | None) -> str | None:
    """A Lance SQL predicate for ``filters`` (values quoted, never interpolated raw)."""
    if filters is None:
        return None
    parts = []
    if filters.date_from:
        parts.append(f"date >= date '{filters.date_from.isoformat()}'")
    if filters.date_to:
        parts.append(f"date <= date '{filters.date_to.isoformat()}'")
    for column in ("language", "collection", "source"):
        value = getattr(filters, column)
        if value:
            parts.append(f"{column} = {_sql_str(value)}")
    if filters.collections is not None:  # an empty tuple allows nothing, not everything
        allowed = ", ".join(_sql_str(c) for c in filters.collections)
        parts.append(f"collection IN ({allowed})" if allowed else "FALSE")
    return " AND ".join(parts) or None


class LanceChunkStore:
    """Both tables of one index, opened (or created) for one embedder."""

    def __init__(self, opts: StoreOptions, *, embedder: str, dim: int) -> None:
        import lancedb

        self.opts = opts
        self._writes = 0
        self.embedder = embedder
        self.dim = dim
        self.languages = tuple(opts.fts_languages)
        self._db = lancedb.connect(opts.uri)
        names = set(self._db.list_tables().tables)
        if DOCUMENTS in names:
            self.documents = self._db.open_table(DOCUMENTS)
        else:
            self.documents = self._db.create_table(DOCUMENTS, schema=_documents_schema())
        if CHUNKS in names:
            self.chunks = self._db.open_table(CHUNKS)
            self._check_schema()
        else:
            schema = _chunks_schema(embedder, dim, self.languages)
            self.chunks = self._db.create_table(CHUNKS, schema=schema)

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
        if "regions" not in names:  # an index made before chunks carried page regions
            self.chunks.add_columns({"regions": "CAST(NULL AS STRING)"})
        self.languages = tuple(lang for lang in self.languages if fts_column(lang) in names)

    # --- documents ---

    def get_document(self, doc_id: str) -> DocumentRecord | None:
        rows = self.documents.search().where(f"doc_id = {_sql_str(doc_id)}").limit(1).to_list()
        return _record(rows[0]) if rows else None

    def documents_at(self, uri: str) -> list[DocumentRecord]:
        rows = self.documents.search().where(f"uri = {_sql_str(uri)}").limit(None).to_list()
        return [_record(r) for r in rows]

    def documents_under(
        self, prefix: str, *, collection: str | None = None
    ) -> list[DocumentRecord]:
        """Every document whose uri starts with ``prefix`` (and in ``collection`` when given),
        without its Markdown: what a sync compares with its source to find removed files."""
        columns = ["doc_id", "uri", "collection", "status", "pages", "chunks", "title", "date"]
        q = self.documents.search().select(columns)
        if collection is not None:
            q = q.where(f"collection = {_sql_str(collection)}")
        rows = q.limit(None).to_list()
        # Prefix matched here rather than with SQL LIKE, whose wildcards (% _) occur in paths.
        return [_record(r) for r in rows if str(r["uri"]).startswith(prefix)]

    def list_documents(
        self, *, limit: int = 100, offset: int = 0, filters: SearchFilters | None = None
    ) -> list[DocumentRecord]:
        columns = [f for f in _documents_schema().names if f != "markdown"]
        q = self.documents.search().select(columns)
        where = filter_sql(filters)
        if where:
            q = q.where(where)
        return [_record(r) for r in q.limit(limit).offset(offset).to_list()]

    def count_documents(self, filters: SearchFilters | None = None) -> int:
        return int(self.documents.count_rows(filter_sql(filters)))

    def write_document(
        self, record: DocumentRecord, chunks: Sequence[Chunk], vectors: np.ndarray | None
    ) -> None:
        """Store a document's chunks, then its row (the row is the commit mark)."""
        if chunks:
            assert vectors is not None and len(vectors) == len(chunks)
            rows = [self._chunk_row(c, v) for c, v in zip(chunks, vectors, strict=True)]
            self.chunks.merge_insert(
                "chunk_id"
            ).when_matched_update_all().when_not_matched_insert_all().execute(
                pa.Table.from_pylist(rows, schema=self.chunks.schema)
            )
            # A re-chunked document may have fewer chunks than before: drop the extra ordinals.
            self.chunks.delete(f"doc_id = {_sql_str(record.doc_id)} AND ordinal >= {len(chunks)}")
        row = _document_row(record)
        self.documents.merge_insert(
            "doc_id"
        ).when_matched_update_all().when_not_matched_insert_all().execute(
            pa.Table.from_pylist([row], schema=self.documents.schema)
        )
        self._writes += 1
        if self.opts.compact_every_writes and self._writes % self.opts.compact_every_writes == 0:
            self.compact()

    def compact(self) -> None:
        """Merge the small fragments that one-document writes leave (and fold new rows into the
        full-text indexes), so that ingest and search stay fast as the tables grow."""
        self.chunks.optimize()
        self.documents.optimize()

    def delete_document(self, doc_id: str) -> None:
        """Remove a document and its chunks (chunks first: no orphan is ever searchable)."""
        self.chunks.delete(f"doc_id = {_sql_str(doc_id)}")
        self.documents.delete(f"doc_id = {_sql_str(doc_id)}")

    def _chunk_row(self, chunk: Chunk, vector: np.ndarray) -> dict[str, Any]:
        from pipeline.chunk import context_header

        row = chunk.model_dump()
        header = context_header(chunk)
        search_text = f"{header}\n{chunk.text}" if header else chunk.text
        for lang in self.languages:
            row[fts_column(lang)] = search_text
        row["vector"] = np.asarray(vector, dtype=np.float32).tolist()
        row["regions"] = json.dumps([r.model_dump() for r in chunk.regions])
        return row

    # --- search ---

    def ensure_indexes(self) -> None:
        """Create the full-text indexes when missing; fold new rows into them when many."""
        from lancedb.index import FTS

        if self.chunks.count_rows() == 0:
            return
        existing = {tuple(ix.columns) for ix in self.chunks.list_indices()}
        for lang in self.languages:
            column = fts_column(lang)
            if (column,) not in existing:
                config = FTS(language=lang, stem=self.opts.fts_stem, ascii_folding=True)
                self.chunks.create_index(column, config=config)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stats = [self.chunks.index_stats(ix.name) for ix in self.chunks.list_indices()]
        if any(s and s.num_unindexed_rows > self.opts.reindex_after_rows for s in stats):
            self.chunks.optimize()

    def search_fts(
        self, query: str, *, language: str, k: int, filters: SearchFilters | None = None
    ) -> list[tuple[Chunk, float]]:
        """BM25 hits from the index stemmed for ``language`` (else the first configured one)."""
        if not self.languages:
            return []
        lang = language if language in self.languages else self.languages[0]
        q = self.chunks.search(query, query_type="fts", fts_columns=fts_column(lang))
        where = filter_sql(filters)
        if where:
            q = q.where(where, prefilter=True)
        rows = q.select([*_CHUNK_COLUMNS, "_score"]).limit(k).to_list()
        return [(_chunk(r), float(r["_score"])) for r in rows]

    def search_vector(
        self, vector: np.ndarray, *, k: int, filters: SearchFilters | None = None
    ) -> list[tuple[Chunk, float]]:
        """Nearest chunks by cosine distance."""
        # a vector query builder (search() is typed as the generic base class)
        q = self.chunks.search(np.asarray(vector, dtype=np.float32))
        q = q.distance_type("cosine")  # type: ignore[attr-defined]
        where = filter_sql(filters)
        if where:
            q = q.where(where, prefilter=True)
        rows = q.select([*_CHUNK_COLUMNS, "_distance"]).limit(k).to_list()
        return [(_chunk(r), float(r["_distance"])) for r in rows]

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        rows = self.chunks.search().where(f"doc_id = {_sql_str(doc_id)}").select(_CHUNK_COLUMNS)
        return sorted((_chunk(r) for r in rows.limit(None).to_list()), key=lambda c: c.ordinal)


_CHUNK_COLUMNS = [
    "chunk_id", "doc_id", "ordinal", "text", "heading_path", "page_start", "page_end",
    "title", "source", "date", "language", "collection", "regions",
]  # fmt: skip


def _chunk(row: dict[str, Any]) -> Chunk:
    data = {k: row.get(k) for k in _CHUNK_COLUMNS}
    data["heading_path"] = list(row.get("heading_path") or [])
    data["collection"] = data["collection"] or "default"
    data["source"] = data["source"] or ""
    data["regions"] = [PageRegion(**r) for r in json.loads(row.get("regions") or "[]")]
    return Chunk(**data)


def _document_row(record: DocumentRecord) -> dict[str, Any]:
    row = record.model_dump()
    row["errors"] = json.dumps([e.model_dump() for e in record.errors], ensure_ascii=False)
    row["ingested_at"] = record.ingested_at or dt.datetime.now(dt.UTC)
    return row


def _record(row: dict[str, Any]) -> DocumentRecord:
    data = {k: v for k, v in row.items() if k in DocumentRecord.model_fields and v is not None}
    data["errors"] = [StageError(**e) for e in json.loads(row.get("errors") or "[]")]
    data["page_methods"] = list(row.get("page_methods") or [])
    return DocumentRecord(**data)
