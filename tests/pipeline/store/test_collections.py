"""Multi-collection filters (an API key scoped to several collections) and filtered listings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from pipeline.models import Chunk, DocumentRecord, SearchFilters, StoreOptions
from pipeline.store import LanceChunkStore
from pipeline.store.schema import filter_sql

DOCS = {
    "a" * 64: ("press", "Les dockers de Port-Aurèle sont en grève depuis onze jours."),
    "b" * 64: ("wire", "The dockers' strike at Port-Aurèle enters its twelfth day."),
    "c" * 64: ("o'hara", "Dockers walk out again: the Port-Aurèle strike goes on."),
}


@pytest.fixture
def store(tmp_path: Path) -> LanceChunkStore:
    s = LanceChunkStore(StoreOptions(uri=str(tmp_path / "idx")), embedder="toy", dim=4)
    for n, (doc_id, (collection, text)) in enumerate(DOCS.items()):
        chunk = Chunk(
            chunk_id=Chunk.make_id(doc_id, 0),
            doc_id=doc_id,
            ordinal=0,
            text=text,
            collection=collection,
            date=dt.date(1983, 5, 12 + n),
        )
        record = DocumentRecord(doc_id=doc_id, uri=f"/x/{n}.pdf", collection=collection, chunks=1)
        vector = np.eye(4, dtype=np.float32)[n : n + 1] + 0.1
        s.write_document(record, [chunk], vector / np.linalg.norm(vector))
    s.ensure_indexes()
    return s


def test_filter_sql_quotes_every_collection() -> None:
    sql = filter_sql(SearchFilters(collections=("press", "o'hara")))
    assert sql == "collection IN ('press', 'o''hara')"
    assert filter_sql(SearchFilters(collections=())) == "FALSE"
    both = filter_sql(SearchFilters(collection="press", collections=("press", "wire")))
    assert both == "collection = 'press' AND collection IN ('press', 'wire')"


def test_both_rankers_and_listings_honour_collections(store: LanceChunkStore) -> None:
    scope = SearchFilters(collections=("wire", "o'hara"))
    fts = store.search_fts("dockers strike", language="English", k=10, filters=scope)
    vec = store.search_vector(np.ones(4, dtype=np.float32) / 2, k=10, filters=scope)
    for hits in (fts, vec):
        assert hits and {c.collection for c, _ in hits} == {"wire", "o'hara"}
    nothing = SearchFilters(collections=())
    assert store.search_vector(np.ones(4, dtype=np.float32) / 2, k=10, filters=nothing) == []

    listed = store.list_documents(filters=scope)
    assert {d.collection for d in listed} == {"wire", "o'hara"}
    assert store.count_documents(scope) == 2
    assert store.count_documents(SearchFilters(collection="press")) == 1
    assert store.count_documents() == 3
    assert len(store.list_documents(limit=1, offset=1, filters=scope)) == 1
