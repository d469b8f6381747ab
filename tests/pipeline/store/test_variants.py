"""Versions of one story grouped at ingest (``cluster_id`` in the documents table), on real wire
copy (evals/data/wire), the real embedder and LanceDB on disk: groups of real variants apart from
other stories on the same subject, whatever the order; kept across runs; split when the document
that held them together is deleted; worked out again by ``recluster``."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from evals.collection import document_bytes
from pipeline.ingest import Ingestor
from pipeline.models import SourceDocument, SourceMetadata, StoreOptions
from pipeline.store import LanceChunkStore
from tests.conftest import REPO

pytestmark = pytest.mark.slow  # the real embedder on a few dozen passages

WIRE = REPO / "evals" / "data" / "wire" / "corpus.jsonl"
FLOOD = ["brennach-urgent", "brennach-lead1", "brennach-lead2", "brennach-corrected",
         "brennach-fr"]  # fmt: skip
NEIGHBOURS = ["brennach-cleanup", "brennach-sidebar", "brennach-defences"]


@cache
def _rows() -> dict[str, dict]:
    rows = (json.loads(line) for line in WIRE.read_text(encoding="utf-8").splitlines())
    return {r["_id"]: r for r in rows}


def source(ident: str) -> SourceDocument:
    row = _rows()[ident]
    data = document_bytes(row["title"], row["text"], row["metadata"])
    return SourceDocument(uri=f"wire/{ident}.txt", data=data, metadata=SourceMetadata())


def ingestor(db: Path, embedder) -> Ingestor:  # type: ignore[no-untyped-def]
    store = LanceChunkStore(StoreOptions(uri=str(db)), embedder=embedder.name, dim=embedder.dim)
    return Ingestor(store=store, embedder=embedder)


def groups(store: LanceChunkStore) -> dict[str, str]:
    """uri name → cluster id."""
    rows = store.documents.search().select(["uri", "cluster_id"]).limit(None).to_list()
    return {Path(r["uri"]).stem: r["cluster_id"] for r in rows}


def marks(store: LanceChunkStore) -> dict[str, bool | None]:
    """uri name → whether its row says its group holds other documents (``grouped``)."""
    rows = store.documents.search().select(["uri", "grouped"]).limit(None).to_list()
    return {Path(r["uri"]).stem: r["grouped"] for r in rows}


def assert_marked(store: LanceChunkStore) -> None:
    """Every row's ``grouped`` says whether another row shares its group, what a search relies
    on to skip reading the versions of a story of one document."""
    rows = store.documents.search().select(["doc_id", "cluster_id", "grouped"]).limit(None)
    found = rows.to_list()
    size: dict[str, int] = {}
    for r in found:
        size[r["cluster_id"] or r["doc_id"]] = size.get(r["cluster_id"] or r["doc_id"], 0) + 1
    assert {r["doc_id"]: r["grouped"] for r in found} == {
        r["doc_id"]: size[r["cluster_id"] or r["doc_id"]] > 1 for r in found
    }


def partition(store: LanceChunkStore) -> set[frozenset[str]]:
    found: dict[str, set[str]] = {}
    for name, cluster in groups(store).items():
        found.setdefault(cluster, set()).add(name)
    return {frozenset(members) for members in found.values()}


def test_versions_share_a_group_and_other_stories_on_the_subject_do_not(tmp_path, embedder):
    engine = ingestor(tmp_path / "idx", embedder)
    results = engine.ingest_many(source(i) for i in [*FLOOD, *NEIGHBOURS])
    assert {r.action for r in results} == {"added"}
    assert partition(engine.store) == {
        frozenset(FLOOD),  # urgent, lead, update, correction and the French translation
        *(frozenset([n]) for n in NEIGHBOURS),  # the clean-up, the sidebar, the flood wall
    }
    urgent = engine.store.get_document(results[0].doc_id)
    assert urgent is not None and urgent.cluster_id == results[0].doc_id  # named after the first
    assert marks(engine.store) == {**dict.fromkeys(FLOOD, True), **dict.fromkeys(NEIGHBOURS, False)}


def test_the_groups_do_not_depend_on_the_order_documents_come_in(tmp_path, embedder):
    forward, backward = ingestor(tmp_path / "a", embedder), ingestor(tmp_path / "b", embedder)
    forward.ingest_many(source(i) for i in [*FLOOD, *NEIGHBOURS])
    backward.ingest_many(source(i) for i in reversed([*FLOOD, *NEIGHBOURS]))
    assert partition(forward.store) == partition(backward.store)


def test_a_later_run_finds_the_groups_an_earlier_one_stored(tmp_path, embedder):
    db = tmp_path / "idx"
    first = ingestor(db, embedder).ingest(source("kestrel-urgent"))
    assert marks(ingestor(db, embedder).store) == {"kestrel-urgent": False}  # alone, so far
    again = ingestor(db, embedder)  # a new connection, as the next run has
    assert again.ingest(source("kestrel-lead2")).action == "added"
    assert again.ingest(source("kestrel-venus")).action == "added"  # another story
    assert groups(again.store) == {
        "kestrel-urgent": first.doc_id,
        "kestrel-lead2": first.doc_id,
        "kestrel-venus": groups(again.store)["kestrel-venus"],
    }
    assert groups(again.store)["kestrel-venus"] != first.doc_id
    # the stored urgent is marked when the lead joins it; another story stays alone
    assert marks(again.store) == {"kestrel-urgent": True, "kestrel-lead2": True,
                                  "kestrel-venus": False}  # fmt: skip


def test_a_document_that_links_two_groups_merges_them(tmp_path, embedder):
    engine = ingestor(tmp_path / "idx", embedder)
    engine.ingest_many([source("heat-urgent"), source("heat-en")])  # not linked to each other
    assert len(set(groups(engine.store).values())) == 2
    assert set(marks(engine.store).values()) == {False}
    engine.ingest(source("heat-lead1"))  # contains the urgent; the English text translates it
    assert len(set(groups(engine.store).values())) == 1
    assert set(marks(engine.store).values()) == {True}


def test_deleting_the_document_that_held_a_group_together_splits_it(tmp_path, embedder):
    engine = ingestor(tmp_path / "idx", embedder)
    results = engine.ingest_many(source(i) for i in ["heat-urgent", "heat-lead1", "heat-en"])
    assert len(set(groups(engine.store).values())) == 1
    engine.store.delete_document(results[1].doc_id)  # the lead: the urgent is inside it,
    after = groups(engine.store)  # the English text is its translation
    assert set(after) == {"heat-urgent", "heat-en"}
    assert after["heat-urgent"] != after["heat-en"]
    assert marks(engine.store) == {"heat-urgent": False, "heat-en": False}  # each alone now
    # what is left of a group that still holds together keeps its name
    engine.ingest(source("heat-lead1"))
    assert_marked(engine.store)
    kept = groups(engine.store)
    engine.store.delete_document(results[2].doc_id)
    assert groups(engine.store)["heat-urgent"] == kept["heat-urgent"]
    assert marks(engine.store) == {"heat-urgent": True, "heat-lead1": True}
    engine.store.delete_document(results[0].doc_id)  # the last one left is alone
    assert marks(engine.store) == {"heat-lead1": False}


def test_recluster_works_the_same_groups_out_again(tmp_path, embedder):
    engine = ingestor(tmp_path / "idx", embedder)
    engine.ingest_many(source(i) for i in [*FLOOD, *NEIGHBOURS, "ncb-lead1", "ncb-june"])
    before, marked = partition(engine.store), marks(engine.store)
    assert_marked(engine.store)
    table = engine.store.documents
    table.update(where="true", values_sql={"cluster_id": "NULL", "variant_keys": "NULL",
                                           "grouped": "NULL"})  # fmt: skip
    assert engine.store.variants.recluster() == len(FLOOD) + len(NEIGHBOURS) + 2
    assert partition(engine.store) == before
    assert marks(engine.store) == marked


def test_versions_in_two_collections_are_never_grouped(tmp_path, embedder):
    engine = ingestor(tmp_path / "idx", embedder)

    def in_desk(ident: str, desk: str) -> SourceDocument:
        doc = source(ident)
        meta = SourceMetadata(collection=desk)
        return doc.model_copy(update={"uri": f"{desk}/{ident}.txt", "metadata": meta})

    # an update and its correction: in one batch (a sync of two collections), then apart
    update_a, corrected_b = engine.ingest_many(
        [in_desk("brennach-lead2", "desk-a"), in_desk("brennach-corrected", "desk-b")]
    )
    corrected_a = engine.ingest(in_desk("brennach-corrected", "desk-a"))
    for _ in ("at ingest", "by recluster, all three compared in one batch"):
        rows = engine.store.documents.search().select(["doc_id", "cluster_id"]).limit(None)
        cluster = {r["doc_id"]: r["cluster_id"] for r in rows.to_list()}
        assert len(cluster) == 3
        assert cluster[update_a.doc_id] == cluster[corrected_a.doc_id]  # one desk's versions
        assert cluster[corrected_b.doc_id] not in (cluster[update_a.doc_id], None)
        engine.store.variants.recluster()
