"""Score fusion with document evidence, single-ranker modes, and the reranker hook of retrieve().

Values are checked by hand: z-scores use the population standard deviation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.models import Chunk, DocumentRecord, Hit, RetrieveOptions, StoreOptions
from pipeline.retrieve import fuse_scores, retrieve, standardize
from pipeline.store import LanceChunkStore


def _c(cid: str, doc: str) -> Chunk:
    return Chunk(chunk_id=cid, doc_id=doc, ordinal=0, text=cid)


def test_standardize_by_hand():
    # mean 2, population sd sqrt(2/3) = 0.8165: (3-2)/0.8165 = 1.2247
    assert standardize([3.0, 1.0, 2.0]) == pytest.approx([1.22474, -1.22474, 0.0], abs=1e-5)
    assert standardize([5.0, 5.0]) == [0.0, 0.0]
    assert standardize([]) == []


def test_score_fusion_keeps_margins_that_reciprocal_rank_loses():
    # BM25 puts a far ahead of b and c; the vector ranker has b barely ahead of a.
    a, b, c = _c("a", "A"), _c("b", "B"), _c("c", "C")
    fts = [(a, 30.0), (b, 5.0), (c, 4.0)]
    vec = [(b, 0.62), (a, 0.61), (c, 0.20)]
    fused = fuse_scores([(fts, 1.0), (vec, 1.0)], document_weight=0.0, limit=3)
    # fts: mean 13, sd sqrt(434/3) = 12.028 → z a 1.4134, b -0.6651, c -0.7483
    # vec: mean 0.4767, sd 0.19568 → z b 0.7325, a 0.6814, c -1.4139
    # a: (1.4134 + 0.6814) / 2 = 1.0474; b: (-0.6651 + 0.7325) / 2 = 0.0337
    assert [ch.chunk_id for ch, _, _ in fused] == ["a", "b", "c"]
    assert fused[0][1] == pytest.approx(1.0474, abs=1e-3)
    assert fused[1][1] == pytest.approx(0.0337, abs=1e-3)
    assert fused[0][2] == [1, 2]  # ranks in each list


def test_missing_from_a_list_counts_as_its_lowest_score():
    a, b = _c("a", "A"), _c("b", "B")
    fused = fuse_scores([([(a, 2.0), (b, 1.0)], 1.0), ([(b, 0.9)], 1.0)], document_weight=0.0)
    # fts z: a 1, b -1; vector z: b 0 (one item), a gets the floor 0 → a 0.5, b -0.5
    assert [(ch.chunk_id, round(s, 6)) for ch, s, _ in fused] == [("a", 0.5), ("b", -0.5)]
    assert fused[1][2] == [2, 1] and fused[0][2] == [1, None]


def test_document_evidence_lifts_a_passage_of_a_document_both_rankers_like():
    # Document D is found by BM25 through d1 and by vectors through d2; X has one passage that
    # is second in both lists. Without document evidence x wins; with it D's passages do.
    d1, d2, x = _c("d1", "D"), _c("d2", "D"), _c("x", "X")
    y, z = _c("y", "Y"), _c("z", "Z")
    fts = [(d1, 10.0), (x, 7.0), (y, 2.0), (z, 1.5), (d2, 1.0)]
    vec = [(d2, 0.9), (x, 0.75), (y, 0.3), (z, 0.25), (d1, 0.2)]
    plain = fuse_scores([(fts, 1.0), (vec, 1.0)], document_weight=0.0, limit=5)
    with_doc = fuse_scores([(fts, 1.0), (vec, 1.0)], document_weight=0.5, limit=5)
    assert plain[0][0].chunk_id == "x"
    assert [ch.chunk_id for ch, _, _ in with_doc[:3]] == ["d1", "d2", "x"]
    # x's own score does not change: its document has no other passage
    assert with_doc[2][1] == pytest.approx(plain[0][1])


def test_weights_shift_the_balance():
    a, b = _c("a", "A"), _c("b", "B")
    fts = [(a, 2.0), (b, 1.0)]
    vec = [(b, 0.9), (a, 0.1)]
    assert fuse_scores([(fts, 2.0), (vec, 1.0)], document_weight=0)[0][0].chunk_id == "a"
    assert fuse_scores([(fts, 1.0), (vec, 2.0)], document_weight=0)[0][0].chunk_id == "b"


class _Reverse:
    """A reranker that reverses the first ``depth`` hits: visible in the output order."""

    name = "reverse"

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.seen = 0

    def rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        self.seen = len(hits)
        head = list(reversed(hits[: self.depth]))
        return head + hits[self.depth :]


@pytest.fixture
def store(tmp_path: Path) -> LanceChunkStore:
    s = LanceChunkStore(StoreOptions(uri=str(tmp_path / "idx")), embedder="toy", dim=4)
    texts = ["grève des dockers au port", "les dockers votent la grève", "la canicule à Lorvennes"]
    for i, text in enumerate(texts):
        doc = str(i) * 64
        chunk = Chunk(chunk_id=Chunk.make_id(doc, 0), doc_id=doc, ordinal=0, text=text)
        vec = np.zeros(4, dtype=np.float32)
        vec[i] = 1.0
        s.write_document(
            DocumentRecord(doc_id=doc, uri=f"/x/{i}.txt", chunks=1), [chunk], vec[None]
        )
    s.ensure_indexes()
    return s


class _Toy:
    name, dim = "toy", 4

    def embed_query(self, text: str) -> np.ndarray:
        return np.array([0.0, 1.0, 0.0, 0.0], dtype=np.float32)  # closest to the second text

    def embed_documents(self, texts):  # type: ignore[no-untyped-def]
        raise AssertionError("not used")


def test_single_ranker_modes_keep_their_own_order_and_scores(store):
    fts = retrieve("grève dockers", store=store, embedder=_Toy(), opts=RetrieveOptions(mode="fts"))
    assert {h.chunk.text for h in fts} == {
        "grève des dockers au port",
        "les dockers votent la grève",
    }
    assert all(h.vector_rank is None and h.fts_rank for h in fts)
    assert fts[0].score >= fts[1].score > 0  # BM25 scores
    vec = retrieve("x", store=store, embedder=_Toy(), opts=RetrieveOptions(mode="vector"))
    assert vec[0].chunk.text == "les dockers votent la grève"
    assert vec[0].score == pytest.approx(1.0) and vec[0].vector_distance == pytest.approx(0.0)


def test_hybrid_fuses_both_and_rrf_remains_available(store):
    hits = retrieve("grève dockers", store=store, embedder=_Toy(), opts=RetrieveOptions(k=3))
    assert hits[0].chunk.text == "les dockers votent la grève"  # first in vectors, in BM25 too
    assert hits[0].fts_rank and hits[0].vector_rank == 1
    rrf = retrieve(
        "grève dockers", store=store, embedder=_Toy(), opts=RetrieveOptions(k=3, fusion="rrf")
    )
    assert {h.chunk.chunk_id for h in rrf} == {h.chunk.chunk_id for h in hits}


def test_reranker_sees_its_depth_and_the_list_is_cut_to_k(store):
    reranker = _Reverse(depth=3)
    opts = RetrieveOptions(k=2)
    plain = retrieve("grève dockers", store=store, embedder=_Toy(), opts=RetrieveOptions(k=3))
    hits = retrieve("grève dockers", store=store, embedder=_Toy(), opts=opts, reranker=reranker)
    assert reranker.seen == 3 and len(hits) == 2
    assert [h.chunk.chunk_id for h in hits] == [h.chunk.chunk_id for h in plain[::-1][:2]]


def test_hybrid_is_the_fusion_of_both_rankers_complete_hits(store):
    # retrieve fuses ids and scores before reading rows; the hits must be what fusing the two
    # rankers' complete results gives, with every field of the chunk read back.
    opts = RetrieveOptions(k=3)
    hits = retrieve("grève dockers", store=store, embedder=_Toy(), opts=opts)
    fts = store.search_fts("grève dockers", language="French", k=opts.candidates)
    vec = store.search_vector(_Toy().embed_query(""), k=opts.candidates)
    similar = [(c, 1.0 - d) for c, d in vec]
    want = fuse_scores([(fts, 1.0), (similar, 1.0)], document_weight=opts.document_weight, limit=3)
    assert [h.chunk for h in hits] == [c for c, _, _ in want]
    assert [h.score for h in hits] == pytest.approx([s for _, s, _ in want])
    assert [[h.fts_rank, h.vector_rank] for h in hits] == [r for _, _, r in want]
    assert [h.vector_distance for h in hits] == pytest.approx(
        [dict((c.chunk_id, d) for c, d in vec)[h.chunk.chunk_id] for h in hits]
    )
