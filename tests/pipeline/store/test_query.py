"""The read path of searches: both rankers' candidates (ids and scores, no text) searched at
once, the same as LanceDB's own queries return; then the winners' complete rows, also when a
compaction moved them or a deletion removed them in between."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pipeline.retrieve.search as search_module
from pipeline.models import (
    Box,
    Chunk,
    DocumentRecord,
    PageRegion,
    RetrieveOptions,
    StoreOptions,
    TextSpan,
)
from pipeline.retrieve.fusion import Fusion
from pipeline.retrieve.variants import group_variants
from pipeline.store import Candidates, LanceChunkStore, Searched
from pipeline.store.versions import Member, member_of, versions_by_story

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
                # a length of its own: no two chunks tie in BM25, so orders are comparable
                text=f"{WORDS[n % 8]} {WORDS[(n + i) % 8]} {'suite ' * (2 * n + i)}à Port-Aurèle, "
                f"numéro {n}-{i}",
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


def _fuse(fts: Candidates, vec: Candidates, members: Mapping[str, Member] | None = None) -> Fusion:
    return search_module._fuse(fts, vec, RetrieveOptions(), 5)


def _checked_first(store: LanceChunkStore, text: str, vector: np.ndarray) -> Searched[Fusion]:
    """The read path as it was: candidates checked for visibility, fused, then rows read."""
    fts, vec = store.candidates(text=text, language="French", vector=lambda: vector, k=6)
    fused = _fuse(fts, vec)
    rows = dict(zip(fts.chunk_ids + vec.chunk_ids, [*fts.row_ids, *vec.row_ids], strict=True))
    return Searched(fts, vec, fused, store.take([int(rows[i]) for i in fused.ids], fused.ids))


def _same(a: Searched[Fusion], b: Searched[Fusion]) -> None:
    assert a.fts.chunk_ids == b.fts.chunk_ids and a.vector.chunk_ids == b.vector.chunk_ids
    assert a.chosen.ids == b.chosen.ids and a.chosen.ranks == b.chosen.ranks
    assert a.chosen.scores == pytest.approx(b.chosen.scores)
    assert a.chunks == b.chunks and len(a.chunks) == 5


QUERIES = [("grève dockers", 5), ("canicule récolte", 12), ("tempête marée incendie", 30)]


def _members_are_the_candidates_documents(found: Searched[Fusion], grouped: bool) -> None:
    """A grouped search knows the story of every candidate's document (here each its own) and
    lists the versions of those shown; an ungrouped one reads neither."""
    docs = set(found.fts.doc_ids) | set(found.vector.doc_ids)
    if not grouped:
        assert not found.members and not found.versions
        return
    assert set(found.members) == docs
    assert all(m.cluster_id == doc for doc, m in found.members.items())
    assert {c.doc_id for c in found.chunks} <= set(found.versions) <= docs
    assert all([v.doc_id for v in found.versions[c.doc_id]] == [c.doc_id] for c in found.chunks)
    assert all(found.versions_of(c.doc_id) == [] for c in found.chunks)


@pytest.mark.parametrize("grouped", [False, True], ids=["plain", "grouped"])
@pytest.mark.parametrize(("text", "near"), QUERIES)
def test_search_gives_what_checking_first_gives(
    store: LanceChunkStore, text: str, near: int, grouped: bool
) -> None:
    found = store.search(text=text, language="French", vector=lambda: _vec(near), k=6,
                         choose=_fuse, group=grouped)  # fmt: skip
    _same(found, _checked_first(store, text, _vec(near)))
    _members_are_the_candidates_documents(found, grouped)


@pytest.mark.parametrize("grouped", [False, True], ids=["plain", "grouped"])
def test_uncommitted_candidates_are_searched_again_without_them(
    store: LanceChunkStore,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    grouped: bool,
) -> None:
    """Chunks whose document row never came (a crash between the two commits) are among the
    best candidates of both rankers: the search drops its speculative rows, checks, and gives
    what checking first gives, without them."""
    real = LanceChunkStore._commit

    def no_row(self: LanceChunkStore, what: str, op: Any, table: Any = None) -> Any:
        if what == "write documents":
            raise RuntimeError("killed before the row's commit")
        return real(self, what, op, table)

    ghost = _doc_id(99)
    near = _vec(5) + 0.3 * _vec(6)
    near /= np.linalg.norm(near)  # the ghost's own vector: nearer than any other chunk
    monkeypatch.setattr(LanceChunkStore, "_commit", no_row)
    with pytest.raises(RuntimeError):
        store.write_document(
            DocumentRecord(doc_id=ghost, uri="/d/ghost.pdf", chunks=1),
            [Chunk(chunk_id=Chunk.make_id(ghost, 0), doc_id=ghost, ordinal=0,
                   text="grève dockers grève dockers", language="fr")],
            np.stack([near]),
        )  # fmt: skip
    monkeypatch.setattr(LanceChunkStore, "_commit", real)
    store.ensure_indexes()
    raw = store.chunks.search(near).distance_type("cosine").limit(1).to_list()
    assert raw[0]["doc_id"] == ghost  # the nearest chunk of all, were it shown
    with caplog.at_level(logging.DEBUG, logger="pipeline.store.query"):
        found = store.search(text="grève dockers", language="French", vector=lambda: near,
                             k=6, choose=_fuse, group=grouped)  # fmt: skip
    assert "not committed" in caplog.text
    _same(found, _checked_first(store, "grève dockers", near))
    shown = {c.doc_id for c in found.chunks} | set(found.fts.doc_ids) | set(found.vector.doc_ids)
    assert ghost not in shown and len(found.vector.chunk_ids) == 6
    _members_are_the_candidates_documents(found, grouped)
    assert ghost not in found.members


def test_vector_settings_reach_the_query(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``vector_nprobes``, ``vector_refine_rows`` and ``vector_rq_bits`` from the settings
    (here the environment) reach the store's options, and the first two LanceDB's query: the
    refine factor re-ranks about refine_rows rows whatever the depth asked."""
    from lancedb.query import AsyncVectorQuery

    from pipeline.settings import Settings

    monkeypatch.setenv("ARCHIVIST_DB", str(tmp_path / "idx"))
    monkeypatch.setenv("ARCHIVIST_VECTOR_NPROBES", "60")  # above LanceDB's default maximum
    monkeypatch.setenv("ARCHIVIST_VECTOR_REFINE_ROWS", "300")
    monkeypatch.setenv("ARCHIVIST_STORE__VECTOR_INDEX_KIND", "ivf_pq")
    monkeypatch.setenv("ARCHIVIST_VECTOR_RQ_BITS", "3")
    opts = Settings().options()
    assert (opts.store.vector_index_kind, opts.store.vector_nprobes) == ("ivf_pq", 60)
    assert opts.store.vector_rq_bits == 3
    store = LanceChunkStore(opts.store, embedder="toy", dim=DIM)
    seen: dict[str, list[int]] = {"refine_factor": [], "nprobes": []}
    for name in seen:
        method = getattr(AsyncVectorQuery, name)

        def spy(self: Any, value: int, _m: Any = method, _n: str = name) -> Any:
            seen[_n].append(value)
            return _m(self, value)

        monkeypatch.setattr(AsyncVectorQuery, name, spy)
    store.search_vector(_vec(1), k=10)
    store.candidates(text=None, language="", vector=lambda: _vec(1), k=50)
    assert seen == {"refine_factor": [30, 6], "nprobes": [60, 60]}


@pytest.mark.parametrize(
    "marked", [False, True], ids=["groups-not-marked", "marked-as-ingest-does"]
)
def test_a_grouped_search_shows_one_version_per_story_and_lists_the_others(
    store: LanceChunkStore, marked: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stories across the candidates: one named after a document the search does not find, one
    named after a candidate, the others one document each. The search gives what grouping the
    checked candidates, then reading their rows and every story's documents, gives; whether the
    documents say if their group holds others (``grouped``, as ingest writes it) or not (an
    index grouped before it did). Marked, only the stories of several documents are read."""
    text, vector = "grève dockers", _vec(5)
    opts = RetrieveOptions(k=5, group_variants=True)
    fts, vec = store.candidates(text=text, language="French", vector=lambda: vector, k=6)
    found_docs = list(dict.fromkeys(fts.doc_ids[:1] + vec.doc_ids[:1] + fts.doc_ids + vec.doc_ids))
    others = [_doc_id(n) for n in range(24) if _doc_id(n) not in found_docs]
    story = {found_docs[0]: others[0], found_docs[1]: others[0], others[0]: others[0],
             found_docs[2]: found_docs[2], others[1]: found_docs[2]}  # fmt: skip
    for doc, label in story.items():
        store.documents.update(where=f"doc_id = '{doc}'", values={"cluster_id": label})
    if marked:
        store.documents.update(where="true", values={"grouped": False})
        in_story = ", ".join(f"'{d}'" for d in story)
        store.documents.update(where=f"doc_id IN ({in_story})", values={"grouped": True})
    read: list[set[str]] = []
    versions = store.reader._versions

    async def spy(stories: Any) -> Any:
        read.append(set(stories))
        return await versions(stories)

    monkeypatch.setattr(store.reader, "_versions", spy)

    found = store.search(text=text, language="French", vector=lambda: vector, k=6, group=True,
                         choose=search_module._Chooser(opts, 5, "fr"))  # fmt: skip

    columns = ["doc_id", "cluster_id", "title", "date", "language", "uri", "ingested_at"]
    rows = store.documents.search().select(columns).limit(None).to_list()
    members = {r["doc_id"]: member_of(r) for r in rows if r["doc_id"] in found_docs}
    doc_of = dict(zip(fts.chunk_ids + vec.chunk_ids, fts.doc_ids + vec.doc_ids, strict=True))
    fused = search_module._fuse(fts, vec, opts, len(doc_of))
    chosen = group_variants(fused, doc_of, members, 5, language="fr")
    at = dict(zip(fts.chunk_ids + vec.chunk_ids, [*fts.row_ids, *vec.row_ids], strict=True))
    assert found.chosen == chosen
    assert found.chunks == store.take([int(at[c]) for c in chosen.ids], chosen.ids)
    shown = {c.doc_id for c in found.chunks}
    assert not {found_docs[0], found_docs[1]} <= shown  # two versions of one story: one shown
    listed = versions_by_story(rows)
    for doc in shown:
        versions_of = [v for v in listed[members[doc].cluster_id] if v.doc_id != doc]
        assert found.versions_of(doc) == versions_of
    listed_ids = {v.doc_id for d in shown for v in found.versions_of(d)}
    assert others[0] in listed_ids and others[1] in listed_ids  # named elsewhere, and after one
    stories_shown = {members[d].cluster_id for d in shown}
    expected = {others[0], found_docs[2]} if marked else stories_shown
    assert read == [expected]  # one read of versions, after grouping
