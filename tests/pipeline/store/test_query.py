"""The read path of searches: both rankers' candidates (ids and scores, no text) searched at
once, the same as LanceDB's own queries return; then the winners' complete rows, also when a
compaction moved them or a deletion removed them in between."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.models import Box, Chunk, DocumentRecord, PageRegion, StoreOptions, TextSpan
from pipeline.store import LanceChunkStore

DIM = 8
WORDS = ["grève", "dockers", "canicule", "récolte", "tempête", "élection", "marée", "incendie"]


def _vec(i: int) -> np.ndarray:
    v = np.full(DIM, 0.1, dtype=np.float32)
    v[i % DIM] += 1.0 + i / 100
    return v / np.linalg.norm(v)


def _doc_id(n: int) -> str:
    return f"{n:032x}" * 2  # chunk ids keep the first half: it must differ between documents


@pytest.fixture
def store(tmp_path: Path) -> LanceChunkStore:
    """24 documents of 2 chunks, one document per write (so many fragments, as ingest makes)."""
    s = LanceChunkStore(
        StoreOptions(uri=str(tmp_path / "idx"), compact_every_writes=0), embedder="toy", dim=DIM
    )
    for n in range(24):
        doc_id = _doc_id(n)
        chunks = [
            Chunk(
                chunk_id=Chunk.make_id(doc_id, i),
                doc_id=doc_id,
                ordinal=i,
                text=f"{WORDS[n % 8]} {WORDS[(n + i) % 8]} à Port-Aurèle, numéro {n}-{i}",
                heading_path=["Chronique", f"Partie {i}"],
                page_start=i + 1,
                page_end=i + 1,
                language="fr",
                regions=[PageRegion(page=i + 1, box=Box(x0=1.0, y0=2.0, x1=3.0, y1=4.0))],
                spans=[TextSpan(start=0, end=5, page=i + 1)],
            )
            for i in range(2)
        ]
        vectors = np.stack([_vec(2 * n + i) for i in range(2)])
        s.write_document(DocumentRecord(doc_id=doc_id, uri=f"/d/{n}.pdf", chunks=2), chunks,
                         vectors)  # fmt: skip
    s.ensure_indexes()
    return s


def test_candidates_match_lancedb_queries_and_carry_no_text(store: LanceChunkStore) -> None:
    query, vector = "grève dockers", _vec(5)
    fts, vec = store.candidates(text=query, language="French", vector=lambda: vector, k=6)
    own_fts = (
        store.chunks.search(query, query_type="fts", fts_columns="fts_fr")
        .select(["chunk_id", "_score"]).limit(6).to_list()
    )  # fmt: skip
    own_vec = (
        store.chunks.search(vector).distance_type("cosine")
        .select(["chunk_id", "_distance"]).limit(6).to_list()
    )  # fmt: skip
    assert fts.chunk_ids == [r["chunk_id"] for r in own_fts]
    assert fts.scores == pytest.approx([r["_score"] for r in own_fts])
    assert vec.chunk_ids == [r["chunk_id"] for r in own_vec]
    assert vec.scores == pytest.approx([r["_distance"] for r in own_vec], abs=1e-6)
    assert all(c.startswith(d[:32]) for c, d in zip(fts.chunk_ids, fts.doc_ids, strict=True))
    assert not hasattr(fts, "text") and len(fts.row_ids) == len(fts.chunk_ids) == 6


def test_a_ranker_left_out_returns_nothing(store: LanceChunkStore) -> None:
    called = []
    fts, vec = store.candidates(text="grève", language="French", vector=None, k=4)
    assert len(fts.chunk_ids) == 4 and vec.chunk_ids == []
    fts, vec = store.candidates(
        text=None, language="", vector=lambda: called.append(1) or _vec(0), k=4
    )
    assert fts.chunk_ids == [] and len(vec.chunk_ids) == 4 and called == [1]


def test_take_returns_complete_chunks_in_the_order_asked(store: LanceChunkStore) -> None:
    _, vec = store.candidates(text=None, language="", vector=lambda: _vec(3), k=5)
    order = list(reversed(range(5)))
    chunks = store.take([int(vec.row_ids[i]) for i in order], [vec.chunk_ids[i] for i in order])
    assert [c.chunk_id for c in chunks] == [vec.chunk_ids[i] for i in order]
    first = chunks[0]
    assert first.heading_path == ["Chronique", f"Partie {first.ordinal}"]
    assert first.regions[0].page == first.page_start and first.spans[0].end == 5
    assert "Port-Aurèle" in first.text and first.language == "fr"


def test_rows_moved_by_a_compaction_or_deleted_are_handled(store: LanceChunkStore) -> None:
    _, vec = store.candidates(text=None, language="", vector=lambda: _vec(9), k=6)
    ids, row_ids = vec.chunk_ids, vec.row_ids.tolist()
    gone = ids[0][:32]  # the document of the nearest chunk
    store.delete_document(next(d for d in vec.doc_ids if d.startswith(gone)))
    store.compact()  # rewrites the fragments: row ids now point elsewhere
    rows = store.chunks.search().with_row_id(True).select(["chunk_id"]).limit(None).to_list()
    now = {r["chunk_id"]: r["_rowid"] for r in rows}
    assert any(now.get(c) not in (None, r) for c, r in zip(ids, row_ids, strict=True))
    chunks = store.take(row_ids, ids)
    kept = [c for c in ids if not c.startswith(gone)]
    assert [c.chunk_id for c in chunks] == kept
    # each row read is the chunk asked for, not whatever now sits at its old row id
    assert all(c.text.endswith(f"{int(c.doc_id[:32], 16)}-{c.ordinal}") for c in chunks)
