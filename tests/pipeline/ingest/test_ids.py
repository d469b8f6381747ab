"""The id rule: bytes are deduplicated within a collection, never across; a failure is recorded
per source, so two files that fail with the same bytes keep a record each."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.ingest import Ingestor
from pipeline.models import SearchFilters, SourceDocument, SourceMetadata, StoreOptions
from pipeline.store import LanceChunkStore

NOTE = b"# Orlesse\n\nThe Orlesse dam inquiry opened on 2 March 1999.\n"
BROKEN = b"%PDF-1.7\n this is not a PDF body at all\n"


@pytest.fixture
def ingestor(tmp_path: Path, embedder) -> Ingestor:
    store = LanceChunkStore(
        StoreOptions(uri=str(tmp_path / "idx")), embedder=embedder.name, dim=embedder.dim
    )
    return Ingestor(store=store, embedder=embedder)


def _src(uri: str, data: bytes, collection: str = "default") -> SourceDocument:
    return SourceDocument(uri=uri, data=data, metadata=SourceMetadata(collection=collection))


def test_the_same_bytes_in_two_collections_are_two_documents(ingestor: Ingestor) -> None:
    wire = ingestor.ingest(_src("upload://wire/a.md", NOTE, "wire"))
    press = ingestor.ingest(_src("upload://press/a.md", NOTE, "press"))
    twin = ingestor.ingest(_src("upload://press/copy.md", NOTE, "press"))
    assert (wire.action, press.action, twin.action) == ("added", "added", "duplicate")
    assert press.doc_id != wire.doc_id and twin.doc_id == press.doc_id
    for collection, doc_id in (("wire", wire.doc_id), ("press", press.doc_id)):
        filters = SearchFilters(collection=collection)
        hits = ingestor.store.search_fts("Orlesse inquiry", language="English", k=5,
                                         filters=filters)  # fmt: skip
        assert {c.doc_id for c, _ in hits} == {doc_id}
        record = ingestor.store.get_document(doc_id or "")
        assert record is not None and record.collection == collection


def test_two_failed_files_with_the_same_bytes_keep_a_record_each(ingestor: Ingestor) -> None:
    first = ingestor.ingest(_src("/drop/failed/a.pdf", BROKEN))
    second = ingestor.ingest(_src("/drop/failed/b.pdf", BROKEN))
    assert first.action == second.action == "failed" and first.doc_id != second.doc_id
    for uri in ("/drop/failed/a.pdf", "/drop/failed/b.pdf"):
        (record,) = ingestor.store.documents_at(uri)
        assert record.status == "failed" and "unreadable PDF" in record.errors[0].message
    again = ingestor.ingest(_src("/drop/failed/a.pdf", BROKEN))  # remembered: not converted
    assert (again.action, again.status, again.doc_id) == ("unchanged", "failed", first.doc_id)
