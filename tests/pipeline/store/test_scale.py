"""Indexes at scale, with small thresholds: vector (IVF_PQ), scalar and full-text indexes are
built by ``ensure_indexes``, filtered searches stay correct, appended rows stay findable, and
``maintain`` removes old table versions."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from pathlib import Path

import numpy as np
import pytest

from pipeline.models import Chunk, DocumentRecord, SearchFilters, StoreOptions
from pipeline.store import DocumentWrite, LanceChunkStore
from pipeline.store.upkeep import META_VECTOR_CODES, META_VECTOR_ROWS, vector_index_config

DIM = 64
DOCS = 120
CHUNKS_PER_DOC = 10  # 1200 rows: enough to train 4 IVF partitions of 256+ rows


def _opts(tmp_path: Path, **kw: object) -> StoreOptions:
    base: dict[str, object] = {
        "uri": str(tmp_path / "idx"),
        "vector_index_min_rows": 1000,
        "vector_partition_rows": 256,
        "reindex_after_rows": 50,
        "compact_every_writes": 0,
        "fts_languages": ("English",),
    }
    return StoreOptions(**{**base, **kw})  # type: ignore[arg-type]


def _doc_id(n: int) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()


def _doc(n: int, vectors: np.ndarray, words: list[str] | None = None) -> DocumentWrite:
    doc_id = _doc_id(n)
    collection = "rare" if n % 20 == 0 else "common"
    date = dt.date(1980 + n % 40, 1 + n % 12, 1)
    chunks = [
        Chunk(
            chunk_id=Chunk.make_id(doc_id, i),
            doc_id=doc_id,
            ordinal=i,
            text=(words[i] if words else f"chunk {i} of document {n}"),
            date=date,
            language="en",
            collection=collection,
            page_start=1,
            page_end=1,
        )
        for i in range(len(vectors))
    ]
    record = DocumentRecord(
        doc_id=doc_id, uri=f"/d/{n}.pdf", date=date, collection=collection, chunks=len(chunks)
    )
    return DocumentWrite(record, chunks, vectors)


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    rng = np.random.default_rng(7)
    v = rng.standard_normal((DOCS * CHUNKS_PER_DOC, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _fill(store: LanceChunkStore, vectors: np.ndarray, first_doc: int = 0) -> None:
    """Write ``vectors`` as documents of CHUNKS_PER_DOC chunks, numbered from ``first_doc``."""
    batch = [
        _doc(first_doc + i, vectors[start : start + CHUNKS_PER_DOC])
        for i, start in enumerate(range(0, len(vectors), CHUNKS_PER_DOC))
    ]
    for i in range(0, len(batch), 40):
        store.write_documents(batch[i : i + 40])


def _index_types(table: object) -> dict[str, str]:
    return {ix.columns[0]: str(ix.index_type) for ix in table.list_indices()}  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", ["ivf_rq", "ivf_pq"])
def test_below_threshold_no_vector_index_above_it_ivf(
    tmp_path: Path, vectors: np.ndarray, kind: str
) -> None:
    store = LanceChunkStore(_opts(tmp_path, vector_index_kind=kind), embedder="toy", dim=DIM)
    _fill(store, vectors[:900])  # 900 rows: under the 1000-row threshold
    store.ensure_indexes()
    chunks = _index_types(store.chunks)
    assert "vector" not in chunks
    assert chunks["date"] == "BTree" and chunks["collection"] == "Bitmap"
    assert chunks["language"] == "Bitmap" and chunks["fts_en"] == "FTS"
    docs = _index_types(store.documents)
    assert docs["date"] == "BTree" and docs["collection"] == "Bitmap"

    _fill(store, vectors[900:], 90)  # 1200 rows
    done = store.ensure_indexes()
    name = kind.upper()
    assert any(step.startswith(f"{name} chunks.vector built: 4 partitions") for step in done)
    stats = store.chunks.index_stats("vector_idx")
    assert stats is not None and stats.index_type == name and stats.distance_type == "cosine"
    meta = store.chunks.schema.field("vector").metadata
    assert meta[META_VECTOR_ROWS.encode()] == b"1200"
    assert store.ensure_indexes() == []  # nothing left to do


def test_filtered_vector_search_with_index_matches_exact_search(
    tmp_path: Path, vectors: np.ndarray
) -> None:
    store = LanceChunkStore(_opts(tmp_path), embedder="toy", dim=DIM)
    _fill(store, vectors)
    store.ensure_indexes()
    assert "vector" in _index_types(store.chunks)
    rare = SearchFilters(collection="rare")
    rng = np.random.default_rng(3)
    for target in rng.choice(len(vectors), 10, replace=False):
        hits = store.search_vector(vectors[target], k=5, filters=rare)
        assert len(hits) == 5
        assert all(chunk.collection == "rare" for chunk, _ in hits)
        # the exact answer over the same filtered rows
        exact = (
            store.chunks.search(vectors[target])
            .distance_type("cosine")
            .where("collection = 'rare'", prefilter=True)
            .bypass_vector_index()
            .limit(5)
            .to_list()
        )
        assert hits[0][0].chunk_id == exact[0]["chunk_id"]
        got = {c.chunk_id for c, _ in hits}
        assert len(got & {r["chunk_id"] for r in exact}) >= 4  # recall@5 ≥ 0.8 per query
    # a date range through the BTREE index
    span = SearchFilters(date_from=dt.date(1990, 1, 1), date_to=dt.date(1994, 12, 31))
    hits = store.search_vector(vectors[0], k=20, filters=span)
    assert hits and all(dt.date(1990, 1, 1) <= c.date <= dt.date(1994, 12, 31) for c, _ in hits)  # type: ignore[operator]


def test_partitions_searched_are_bounded_unless_a_filter_leaves_too_few(
    tmp_path: Path, vectors: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exactly ``vector_nprobes`` partitions, whatever the depth; a filter that leaves fewer
    matches than asked in them has the search run again over every partition."""
    from lancedb.query import AsyncVectorQuery

    store = LanceChunkStore(_opts(tmp_path, vector_nprobes=1), embedder="toy", dim=DIM)
    _fill(store, vectors)
    store.ensure_indexes()
    unbounded: list[int] = []
    real = AsyncVectorQuery.maximum_nprobes

    def spy(self: AsyncVectorQuery, n: int) -> AsyncVectorQuery:
        unbounded.append(n)
        return real(self, n)

    monkeypatch.setattr(AsyncVectorQuery, "maximum_nprobes", spy)
    assert len(store.search_vector(vectors[3], k=40)) == 40 and unbounded == []
    rare = SearchFilters(collection="rare")  # 60 of the 1,200 rows, over all 4 partitions
    hits = store.search_vector(vectors[3], k=40, filters=rare)
    assert unbounded == [0]  # one partition held fewer than 40 rare rows: searched again
    assert len(hits) == 40 and all(chunk.collection == "rare" for chunk, _ in hits)


def test_rows_appended_after_indexing_are_found_then_folded_in(
    tmp_path: Path, vectors: np.ndarray
) -> None:
    store = LanceChunkStore(_opts(tmp_path), embedder="toy", dim=DIM)
    _fill(store, vectors)
    store.ensure_indexes()
    rng = np.random.default_rng(11)
    fresh = rng.standard_normal((3, DIM)).astype(np.float32)
    words = ["zeppelin hangar", "quokka census", "marmalade tariff"]
    store.write_document(*_doc(5000, fresh, words))
    stats = store.chunks.index_stats("vector_idx")
    assert stats is not None and stats.num_unindexed_rows == 3
    # unindexed rows are searched too
    assert store.search_vector(fresh[1], k=1)[0][0].text == "quokka census"
    assert store.search_fts("quokka", language="English", k=3)[0][0].text == "quokka census"

    _fill(store, -vectors[:600], 2000)  # 600 more rows: over reindex_after_rows
    assert "optimize chunks" in store.ensure_indexes()
    stats = store.chunks.index_stats("vector_idx")
    assert stats is not None and stats.num_unindexed_rows == 0
    assert store.search_vector(fresh[2], k=1)[0][0].text == "marmalade tariff"
    assert store.search_fts("zeppelin", language="English", k=3)[0][0].text == "zeppelin hangar"


def test_vector_index_is_retrained_after_the_table_doubles(
    tmp_path: Path, vectors: np.ndarray
) -> None:
    store = LanceChunkStore(_opts(tmp_path, vector_retrain_growth=1.5), embedder="toy", dim=DIM)
    _fill(store, vectors)
    store.ensure_indexes()
    _fill(store, -vectors[:700], 3000)  # 1200 -> 1900 rows, ≥ 1.5 × 1200
    done = store.ensure_indexes()
    assert any("retrained" in step and "1900 rows" in step for step in done)
    meta = store.chunks.schema.field("vector").metadata
    assert meta[META_VECTOR_ROWS.encode()] == b"1900"


def test_a_vector_index_of_another_kind_is_rebuilt(tmp_path: Path, vectors: np.ndarray) -> None:
    """An index built before ``vector_index_kind`` changed (IVF_PQ, the default before) is
    rebuilt as the configured kind by the next ``ensure_indexes``, and only once."""
    old = LanceChunkStore(_opts(tmp_path, vector_index_kind="ivf_pq"), embedder="toy", dim=DIM)
    _fill(old, vectors)
    old.ensure_indexes()
    store = LanceChunkStore(_opts(tmp_path), embedder="toy", dim=DIM)
    assert store.opts.vector_index_kind == "ivf_rq"  # the default
    done = store.ensure_indexes()
    assert any(step.startswith("IVF_RQ chunks.vector rebuilt") for step in done)
    stats = store.chunks.index_stats("vector_idx")
    assert stats is not None and stats.index_type == "IVF_RQ"
    assert store.ensure_indexes() == []
    assert store.search_vector(vectors[7], k=1)[0][0].chunk_id == Chunk.make_id(_doc_id(0), 7)


def test_a_vector_index_of_other_codes_is_rebuilt(tmp_path: Path, vectors: np.ndarray) -> None:
    """An IVF_RQ index of another code size than ``vector_rq_bits`` is rebuilt by the next
    ``ensure_indexes`` (once), and the codes it now holds are recorded."""
    old = LanceChunkStore(_opts(tmp_path, vector_rq_bits=1), embedder="toy", dim=DIM)
    _fill(old, vectors)
    assert any("1-bit codes" in step for step in old.ensure_indexes())
    store = LanceChunkStore(_opts(tmp_path, vector_rq_bits=4), embedder="toy", dim=DIM)
    done = store.ensure_indexes()
    assert done == ["IVF_RQ chunks.vector rebuilt: 4 partitions, 4-bit codes, 1200 rows"]
    meta = store.chunks.schema.field("vector").metadata
    assert meta[META_VECTOR_CODES.encode()] == b"4-bit codes"
    assert store.ensure_indexes() == []
    assert store.search_vector(vectors[7], k=1)[0][0].chunk_id == Chunk.make_id(_doc_id(0), 7)


def test_opening_an_index_of_other_codes_says_so(
    tmp_path: Path, vectors: np.ndarray, caplog: pytest.LogCaptureFixture
) -> None:
    """Opening a store whose vector index holds other codes than its settings ask for warns
    (searches use the old index until it is rebuilt); the same settings, or none built, do not."""
    old = LanceChunkStore(_opts(tmp_path, vector_rq_bits=1), embedder="toy", dim=DIM)
    _fill(old, vectors[:900])
    old.ensure_indexes()  # under the threshold: no vector index, nothing to warn about
    with caplog.at_level(logging.WARNING, logger="pipeline.store.tables"):
        LanceChunkStore(_opts(tmp_path, vector_rq_bits=2), embedder="toy", dim=DIM)
    assert "vector index" not in caplog.text
    _fill(old, vectors[900:], 90)
    old.ensure_indexes()
    with caplog.at_level(logging.WARNING, logger="pipeline.store.tables"):
        LanceChunkStore(_opts(tmp_path, vector_rq_bits=1), embedder="toy", dim=DIM)
        assert "vector index" not in caplog.text
        LanceChunkStore(_opts(tmp_path, vector_rq_bits=2), embedder="toy", dim=DIM)
    assert (
        "the vector index is IVF_RQ with 1-bit codes, where the settings ask for IVF_RQ "
        "with 2-bit codes" in caplog.text
    )


def test_an_rq_index_built_before_codes_were_recorded_counts_as_1_bit(
    tmp_path: Path, vectors: np.ndarray
) -> None:
    """An IVF_RQ index that records no codes (built before they were recorded, or by hand)
    holds 1-bit codes: kept under ``vector_rq_bits=1``, rebuilt under any other."""
    store = LanceChunkStore(_opts(tmp_path, vector_rq_bits=1), embedder="toy", dim=DIM)
    _fill(store, vectors)
    config = vector_index_config(len(vectors), DIM, store.opts)
    store.chunks.create_index("vector", config=config)  # by hand: no record
    assert not any("vector" in step for step in store.ensure_indexes())  # adopted as it is
    assert META_VECTOR_CODES.encode() not in store.chunks.schema.field("vector").metadata
    wider = LanceChunkStore(_opts(tmp_path, vector_rq_bits=2), embedder="toy", dim=DIM)
    assert wider.ensure_indexes() == [
        "IVF_RQ chunks.vector rebuilt: 4 partitions, 2-bit codes, 1200 rows"
    ]


def test_maintain_removes_old_versions_and_keeps_rows(tmp_path: Path, vectors: np.ndarray) -> None:
    store = LanceChunkStore(_opts(tmp_path), embedder="toy", dim=DIM)
    for n in range(12):  # one commit per document: many versions
        store.write_document(*_doc(n, vectors[n * 10 : n * 10 + 10]))
    kept = store.maintain(older_than=dt.timedelta(days=7))  # everything is younger: kept
    assert kept.versions_after["chunks"] >= kept.versions_before["chunks"]
    with pytest.warns(UserWarning, match="removes every version"):  # LanceDB's own caution
        result = store.maintain(older_than=dt.timedelta(0))
    assert result.versions_before["chunks"] > 12
    assert result.versions_after == {"chunks": 1, "documents": 1}
    assert result.rows == {"chunks": 120, "documents": 12}
    assert len(store.chunks.list_versions()) == 1
    assert store.search_vector(vectors[15], k=1)[0][0].chunk_id == Chunk.make_id(_doc_id(1), 5)
