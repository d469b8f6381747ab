"""One hit per story: the versions of a story give way to one of them, listed on its hit, and
``group_variants=False`` shows them all. Real wire copy, the real embedder, LanceDB on disk."""

from __future__ import annotations

import datetime as dt

import pytest

from pipeline.models import RetrieveOptions, SearchFilters
from pipeline.retrieve import retrieve
from tests.pipeline.store.test_variants import ingestor, source

pytestmark = pytest.mark.slow

STORIES = [
    "brennach-urgent", "brennach-lead1", "brennach-lead2", "brennach-corrected", "brennach-fr",
    "brennach-cleanup", "brennach-sidebar", "vote-urgent", "vote-lead1", "vote-final",
    "vote-en", "vote-2015", "heat-urgent", "heat-lead1", "heat-en",
]  # fmt: skip


@pytest.fixture(scope="module")
def engine(tmp_path_factory, embedder):  # type: ignore[no-untyped-def]
    engine = ingestor(tmp_path_factory.mktemp("variants") / "idx", embedder)
    engine.ingest_many(source(i) for i in STORIES)
    return engine


def search(engine, query: str, **kwargs):  # type: ignore[no-untyped-def]
    filters = kwargs.pop("filters", None)
    opts = RetrieveOptions(k=10, **kwargs)
    return retrieve(query, store=engine.store, embedder=engine.embedder, opts=opts,
                    filters=filters)  # fmt: skip


def _story(engine, hit) -> str:  # type: ignore[no-untyped-def]
    record = engine.store.get_document(hit.chunk.doc_id)
    return record.cluster_id


def test_one_hit_per_story_with_the_others_listed_on_it(engine):
    hits = search(engine, "How many people were evacuated when the Brennach flooded Ashwick?")
    stories = [_story(engine, h) for h in hits]
    shown = {h.chunk.doc_id for h in hits}
    per_story: dict[str, str] = {}
    for hit, story in zip(hits, stories, strict=True):  # a story's hits: all one document's
        assert per_story.setdefault(story, hit.chunk.doc_id) == hit.chunk.doc_id
    assert len(set(stories)) >= 3
    flood = next(h for h in hits if len(h.variants) == 4)  # urgent, leads, correction, French
    assert {v.doc_id for v in flood.variants}.isdisjoint(shown)
    assert sorted(v.language for v in flood.variants).count("fr") == 1


def test_the_flag_shows_every_version(engine):
    query = "How many people were evacuated when the Brennach flooded Ashwick?"
    everything = search(engine, query, group_variants=False)
    stories = [_story(engine, h) for h in everything]
    assert max(stories.count(s) for s in stories) >= 3  # versions crowding the list
    assert all(not h.variants for h in everything)


def test_the_newest_version_stands_for_its_story_within_the_date_range(engine):
    query = "Quel score a obtenu Claire Moreau aux régionales en Haute-Varenne ?"
    hits = search(engine, query)
    top = engine.store.get_document(hits[0].chunk.doc_id)
    assert top.date == dt.date(2021, 6, 28) and top.language == "fr"  # the final results
    before = SearchFilters(date_to=dt.date(2021, 6, 27))
    hits = search(engine, query, filters=before)
    top = engine.store.get_document(hits[0].chunk.doc_id)
    assert top.date == dt.date(2021, 6, 27) and top.uri.endswith("vote-lead1.txt")
    assert any(v.uri.endswith("vote-final.txt") for v in hits[0].variants)


def test_a_version_in_the_question_language_is_preferred(engine):
    hits = search(engine, "What was Lorvennes' all-time heat record in August 2003?")
    top = engine.store.get_document(hits[0].chunk.doc_id)
    assert top.uri.endswith("heat-en.txt")
    hits = search(engine, "Quel record de chaleur à Lorvennes en août 2003 ?")
    assert engine.store.get_document(hits[0].chunk.doc_id).language == "fr"
