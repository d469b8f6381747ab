"""LanceDB store: schema guard, idempotent writes, filters, both rankers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import IndexSchemaError
from pipeline.models import Chunk, DocumentRecord, SearchFilters, StoreOptions
from pipeline.retrieve import fuse_rrf
from pipeline.store import LanceChunkStore
from pipeline.store.schema import filter_sql


def _chunk(doc: str, i: int, text: str, **kw: object) -> Chunk:
    return Chunk(chunk_id=Chunk.make_id(doc, i), doc_id=doc, ordinal=i, text=text, **kw)


def _vec(*xs: float) -> np.ndarray:
    v = np.zeros(4, dtype=np.float32)
    v[: len(xs)] = xs
    return v / np.linalg.norm(v)


@pytest.fixture
def store(tmp_path: Path) -> LanceChunkStore:
    s = LanceChunkStore(StoreOptions(uri=str(tmp_path / "idx")), embedder="toy", dim=4)
    docs = {
        "a" * 64: (
            "Les dockers de Port-Aurèle sont en grève depuis onze jours.",
            dt.date(1983, 5, 12),
            "fr",
        ),
        "b" * 64: (
            "The Kestrel probe was launched on an Aldane-4 rocket.",
            dt.date(1994, 9, 7),
            "en",
        ),
        "c" * 64: ("La canicule bat le record de chaleur à Lorvennes.", dt.date(2003, 8, 11), "fr"),
    }
    for n, (doc_id, (text, date, lang)) in enumerate(docs.items()):
        chunk = _chunk(doc_id, 0, text, date=date, language=lang, page_start=1, page_end=1)
        record = DocumentRecord(
            doc_id=doc_id, uri=f"/x/{n}.pdf", date=date, language=lang, chunks=1
        )
        s.write_document(record, [chunk], np.stack([_vec(*([0.0] * n), 1.0)]))
    s.ensure_indexes()
    return s


def test_embedder_mismatch_is_refused(store: LanceChunkStore) -> None:
    with pytest.raises(IndexSchemaError, match="toy"):
        LanceChunkStore(store.opts, embedder="other-model", dim=4)
    with pytest.raises(IndexSchemaError):
        LanceChunkStore(store.opts, embedder="toy", dim=8)
    assert LanceChunkStore(store.opts, embedder="toy", dim=4).chunks.count_rows() == 3


def test_writes_are_idempotent_and_shrink_with_the_document(store: LanceChunkStore) -> None:
    doc_id = "a" * 64
    chunks = [_chunk(doc_id, i, f"part {i}") for i in range(3)]
    record = DocumentRecord(doc_id=doc_id, uri="/x/0.pdf", chunks=3)
    for _ in range(2):
        store.write_document(record, chunks, np.stack([_vec(1.0)] * 3))
    assert len(store.chunks_of(doc_id)) == 3
    store.write_document(record, chunks[:1], np.stack([_vec(1.0)]))
    assert [c.text for c in store.chunks_of(doc_id)] == ["part 0"]
    assert store.count_documents() == 3


def test_fts_uses_stemming_and_filters(store: LanceChunkStore) -> None:
    hits = store.search_fts("grèves docker", language="French", k=5)
    assert [c.doc_id for c, _ in hits] == ["a" * 64]
    flt = SearchFilters(date_from=dt.date(1990, 1, 1))
    assert store.search_fts("grève", language="French", k=5, filters=flt) == []
    assert [
        c.doc_id for c, _ in store.search_fts("record chaleur", language="French", k=5, filters=flt)
    ] == ["c" * 64]


def test_vector_search_with_language_filter(store: LanceChunkStore) -> None:
    hits = store.search_vector(_vec(1.0), k=3)
    assert hits[0][0].doc_id == "a" * 64 and hits[0][1] == pytest.approx(0.0, abs=1e-5)
    fr_only = store.search_vector(_vec(0.0, 1.0), k=3, filters=SearchFilters(language="fr"))
    assert {c.language for c, _ in fr_only} == {"fr"}


def test_filter_sql_quotes_values() -> None:
    sql = filter_sql(SearchFilters(collection="O'Brien", date_to=dt.date(1990, 12, 31)))
    assert sql == "date <= date '1990-12-31' AND collection = 'O''Brien'"
    assert filter_sql(SearchFilters()) is None


def test_delete_removes_chunks_and_row(store: LanceChunkStore) -> None:
    store.delete_document("b" * 64)
    assert store.get_document("b" * 64) is None
    assert store.chunks_of("b" * 64) == []
    assert store.search_fts("Kestrel", language="English", k=5) == []


def test_rrf_prefers_agreement() -> None:
    a, b, c = (_chunk("d" * 64, i, t) for i, t in enumerate("abc"))
    fused = fuse_rrf([([a, b, c], 1.0), ([b, c], 1.0)], rrf_k=60, limit=3)
    assert [ch.text for ch, _, _ in fused] == ["b", "c", "a"]
    assert fused[0][2] == [2, 1]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)
    assert fused[2][2] == [1, None]


def test_writes_are_compacted_periodically(tmp_path: Path) -> None:
    def fragments(s: LanceChunkStore) -> int:
        return int(s.chunks.stats()["fragment_stats"]["num_fragments"])

    opts = StoreOptions(uri=str(tmp_path / "idx"), compact_every_writes=4)
    s = LanceChunkStore(opts, embedder="toy", dim=4)
    for n in range(3):
        doc_id = f"{n}" * 64
        record = DocumentRecord(doc_id=doc_id, uri=f"/x/{n}.pdf", chunks=1)
        s.write_document(record, [_chunk(doc_id, 0, f"text {n}")], np.stack([_vec(1.0)]))
    assert fragments(s) == 3  # one per write, not yet compacted
    doc_id = "9" * 64
    record = DocumentRecord(doc_id=doc_id, uri="/x/9.pdf", chunks=1)
    s.write_document(record, [_chunk(doc_id, 0, "text 9")], np.stack([_vec(1.0)]))
    assert fragments(s) == 1 and s.chunks.count_rows() == 4


def test_chunks_without_a_committed_row_are_never_shown(
    store: LanceChunkStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documents row is the commit mark: chunks whose row never came (a crash between the
    two commits) or whose row says failed are left out of both rankers, and only a repair
    older than the grace removes them (a write in progress elsewhere is not a leftover)."""
    ghost, failed = "d" * 64, "e" * 64
    real = LanceChunkStore._commit

    def no_row(self: LanceChunkStore, what: str, op: object, table: object = None) -> object:
        if what == "write documents":
            raise RuntimeError("killed before the row's commit")
        return real(self, what, op, table)  # type: ignore[arg-type]

    text = "Les dockers de Port-Aurèle reprennent le travail."
    monkeypatch.setattr(LanceChunkStore, "_commit", no_row)
    with pytest.raises(RuntimeError):
        store.write_document(
            DocumentRecord(doc_id=ghost, uri="/x/ghost.pdf", chunks=1),
            [_chunk(ghost, 0, text)],
            np.stack([_vec(1.0)]),
        )
    monkeypatch.setattr(LanceChunkStore, "_commit", real)
    store.write_document(
        DocumentRecord(doc_id=failed, uri="/x/failed.pdf", chunks=1),
        [_chunk(failed, 0, text)],
        np.stack([_vec(1.0)]),
    )
    store.write_document(
        DocumentRecord(doc_id=failed, uri="/x/failed.pdf", status="failed"), [], None
    )
    store.ensure_indexes()
    assert store.chunks.count_rows(f"doc_id IN ('{ghost}', '{failed}')") == 2
    fts = store.search_fts("dockers Port-Aurèle travail", language="French", k=5)
    vector = store.search_vector(_vec(1.0), k=5)
    shown = {c.doc_id for c, _ in fts + vector}
    assert "a" * 64 in shown and not shown & {ghost, failed}
    assert len(vector) == 3  # every visible document, and only those

    assert store.repair() == {}  # written just now: maybe a write in progress elsewhere
    assert store.repair(older_than=dt.timedelta(0)) == {ghost: 1, failed: 1}
    assert store.chunks.count_rows() == 3


def test_delete_removes_the_row_first(
    store: LanceChunkStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = "a" * 64
    real = LanceChunkStore._commit

    def die_before_chunks(
        self: LanceChunkStore, what: str, op: object, table: object = None
    ) -> object:
        if what == "delete chunks":
            raise RuntimeError("killed between the two deletes")
        return real(self, what, op, table)  # type: ignore[arg-type]

    monkeypatch.setattr(LanceChunkStore, "_commit", die_before_chunks)
    with pytest.raises(RuntimeError):
        store.delete_document(doc)
    monkeypatch.setattr(LanceChunkStore, "_commit", real)
    assert store.get_document(doc) is None
    hits = store.search_fts("dockers Port-Aurèle grève", language="French", k=5)
    assert doc not in {c.doc_id for c, _ in hits}
    assert store.repair(older_than=dt.timedelta(0)) == {doc: 1}
