"""The two tables' schemas and the SQL that filters them: what ``pipeline.store`` writes and reads.

The chunks table holds the text once per full-text language (``fts_fr``, ``fts_en``...), each
column indexed with its own stemmer, and the embedder's name and dimension in its schema metadata.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from pipeline.models import SearchFilters

DOCUMENTS = "documents"
CHUNKS = "chunks"
META_EMBEDDER = b"archivist.embedder"
META_DIM = b"archivist.dim"

LANGUAGE_CODES = {"french": "fr", "english": "en", "german": "de", "spanish": "es", "italian": "it"}


def fts_column(language: str) -> str:
    """The column holding the text indexed with ``language``'s stemmer (``fts_fr``...)."""
    return "fts_" + LANGUAGE_CODES.get(language.lower(), language.lower()[:2])


# Versions of one story (``pipeline.store.variants``): their group, the LSH keys that find it,
# and whether the group holds other documents (False: alone; null: not known, as in an index
# grouped before the column existed), which spares a search reading the versions of a story
# that has none.
VARIANT_FIELDS = [
    pa.field("cluster_id", pa.string()),
    pa.field("variant_keys", pa.list_(pa.string())),
    pa.field("grouped", pa.bool_()),
]


def documents_schema() -> pa.Schema:
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
            *VARIANT_FIELDS,
        ]
    )


def chunks_schema(embedder: str, dim: int, languages: Sequence[str]) -> pa.Schema:
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
        pa.field("spans", pa.string()),  # JSON [start, end, page, x0, y0, x1, y1] per line
        pa.field("furniture", pa.string()),  # headers/footers of its pages (full-text only)
        pa.field("written_at", pa.timestamp("us", tz="UTC")),  # leftovers of a crash are old
    ]
    return pa.schema(
        fields, metadata={META_EMBEDDER: embedder.encode(), META_DIM: str(dim).encode()}
    )


def sql_str(value: str) -> str:
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
            parts.append(f"{column} = {sql_str(value)}")
    if filters.collections is not None:  # an empty tuple allows nothing, not everything
        allowed = ", ".join(sql_str(c) for c in filters.collections)
        parts.append(f"collection IN ({allowed})" if allowed else "FALSE")
    return " AND ".join(parts) or None
