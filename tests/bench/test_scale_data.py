"""The scale bench's synthetic collection: what it writes is what the store reads and searches."""

from __future__ import annotations

import collections
import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.models import RetrieveOptions, SearchFilters, StoreOptions
from pipeline.store import LanceChunkStore

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from scale_data import Corpus, batches

DIM = 16
FRENCH = "le port de commerce est paralysé depuis onze jours par une grève des dockers"
ENGLISH = "the bridge over the river opened after four years of work on its main span"


def _corpus() -> Corpus:
    """Two small languages with distinct words, and random unit centres (the generator is under
    test here, not the embedder)."""
    rng = np.random.default_rng(0)
    fr, en = FRENCH.split(), ENGLISH.split()
    passages = {
        "fr": [[f"{w}{i}" for w in fr] * 6 for i in range(5)],
        "en": [[f"{w}{i}" for w in en] * 6 for i in range(3)],
    }
    vectors = {}
    for lang, ps in passages.items():
        v = rng.standard_normal((len(ps), DIM)).astype(np.float32)
        vectors[lang] = v / np.linalg.norm(v, axis=1, keepdims=True)
    words = {
        lang: np.array([w for p in ps for w in p], dtype=object) for lang, ps in passages.items()
    }
    return Corpus(passages, vectors, words)


@pytest.fixture
def loaded(tmp_path: Path) -> tuple[LanceChunkStore, list]:
    store = LanceChunkStore(StoreOptions(uri=str(tmp_path / "idx")), embedder="fake", dim=DIM)
    written = []
    for chunks, docs in batches(
        _corpus(), 1234, chunk_schema=store.chunks.schema, doc_schema=store.documents.schema,
        embedder="fake", docs_per_batch=40, seed=7,
    ):  # fmt: skip
        store.chunks.add(chunks)
        store.documents.add(docs)
        written.append((chunks, docs))
    store.ensure_indexes()
    return store, written


def test_exact_count_unique_ids_and_consistent_documents(loaded: tuple) -> None:
    store, written = loaded
    assert store.chunks.count_rows() == 1234
    chunks = [c for c, _ in written]
    ids = [i for c in chunks for i in c["chunk_id"].to_pylist()]
    assert len(set(ids)) == len(ids)
    per_doc = collections.Counter(d for c in chunks for d in c["doc_id"].to_pylist())
    declared = {
        d: n
        for _, docs in written
        for d, n in zip(docs["doc_id"].to_pylist(), docs["chunks"].to_pylist(), strict=True)
    }
    assert per_doc == declared  # every document row counts exactly its chunks
    assert store.documents.count_rows() == len(declared)


def test_lengths_dates_languages_and_unit_vectors(loaded: tuple) -> None:
    _, written = loaded
    table = written[0][0]
    lengths = [len(t.split()) for t in table["text"].to_pylist()]
    assert min(lengths) >= 80 and max(lengths) <= 250
    dates = table["date"].to_pylist()
    assert min(dates) >= dt.date(1983, 1, 1) and max(dates) <= dt.date(2026, 12, 31)
    assert set(table["language"].to_pylist()) == {"fr", "en"}
    vocab = {lang: set(words) for lang, words in _corpus().words.items()}
    for text, lang in zip(table["text"].to_pylist(), table["language"].to_pylist(), strict=True):
        assert set(text.split()) <= vocab[lang]  # words of the chunk's own language only
    norms = np.linalg.norm(np.stack(table["vector"].to_numpy(zero_copy_only=False)), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-5)


def test_the_store_searches_what_the_bench_wrote(loaded: tuple) -> None:
    store, written = loaded
    hits = store.search_fts("dockers3", language="French", k=5)
    assert hits and all("dockers3" in c.text for c, _ in hits)
    first = written[0][0]
    vector = np.asarray(first["vector"][0].as_py(), dtype=np.float32)
    nearest, distance = store.search_vector(vector, k=1)[0]
    assert nearest.chunk_id == first["chunk_id"][0].as_py() and distance < 1e-5
    window = SearchFilters(date_from=dt.date(1990, 1, 1), date_to=dt.date(1992, 12, 31))
    dated = store.search_vector(vector, k=20, filters=window)
    assert all(window.date_from <= c.date <= window.date_to for c, _ in dated)


def test_the_engine_reference_searches_the_same_table_with_the_same_filter(loaded: tuple) -> None:
    from scale_latency import QueryVectors, engine_hybrid

    store, written = loaded
    first = written[0][0]
    text = " ".join(first["text"][0].as_py().split()[:6])
    vector = np.asarray(first["vector"][0].as_py(), dtype=np.float32)
    emb = QueryVectors("fake", DIM, {text: vector})
    found = engine_hybrid(store, emb, text, None)
    assert found.num_rows == RetrieveOptions().k  # the hits a search shows
    assert {"chunk_id", "text", "spans"} <= set(found.column_names)
    assert first["chunk_id"][0].as_py() in found["chunk_id"].to_pylist()  # both rankers' best
    window = SearchFilters(date_from=dt.date(1990, 1, 1), date_to=dt.date(1992, 12, 31))
    dated = engine_hybrid(store, emb, text, window).column("date").to_pylist()
    assert dated and all(window.date_from <= d <= window.date_to for d in dated)


def test_ratios_set_hybrid_beside_full_text_and_both_references() -> None:
    from scale_latency import ratios

    cells = [
        {"mode": "hybrid", "date_filter": False, "concurrency": 1, "p50_ms": 30.0},
        {"mode": "fts", "date_filter": False, "concurrency": 1, "p50_ms": 15.0},
        {"mode": "hybrid-ungrouped", "date_filter": False, "concurrency": 1, "p50_ms": 24.0},
        {"mode": "engine-hybrid", "date_filter": False, "concurrency": 1, "p50_ms": 40.0},
        {"mode": "hybrid", "date_filter": False, "concurrency": 8, "p50_ms": 90.0},
        {"mode": "fts", "date_filter": False, "concurrency": 8, "p50_ms": 60.0},
    ]
    one, eight = ratios(cells)
    assert one["ratio"] == 2.0 and one["over_hybrid_ungrouped"] == 1.25
    assert one["over_engine_hybrid"] == 0.75 and one["engine-hybrid_p50_ms"] == 40.0
    assert eight == {"date_filter": False, "concurrency": 8, "hybrid_p50_ms": 90.0,
                     "fts_p50_ms": 60.0, "ratio": 1.5}  # fmt: skip
