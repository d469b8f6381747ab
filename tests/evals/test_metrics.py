"""Ranking metrics against values computed by hand (comments show the arithmetic)."""

from __future__ import annotations

import pytest

from evals.metrics import (
    first_relevant_rank,
    mean_metrics,
    mrr_at_k,
    ndcg_at_k,
    ranking_metrics,
    recall_at_k,
)

RANKING = ["a", "b", "c", "d"]
GRADED = {"b": 1, "d": 2, "z": 0}  # z is judged non-relevant: it must not count


def test_recall_counts_relevant_ids_in_the_top_k():
    assert recall_at_k(RANKING, GRADED, 1) == 0.0  # a is not relevant
    assert recall_at_k(RANKING, GRADED, 2) == 0.5  # b of {b, d}
    assert recall_at_k(RANKING, GRADED, 4) == 1.0
    assert recall_at_k(["b"], {"b": 1, "x": 1, "y": 1}, 20) == pytest.approx(1 / 3)


def test_mrr_is_the_reciprocal_rank_of_the_first_relevant_within_k():
    assert mrr_at_k(RANKING, GRADED, 10) == 0.5  # b at rank 2
    assert mrr_at_k(RANKING, GRADED, 1) == 0.0  # rank 2 is past k = 1
    assert first_relevant_rank(RANKING, GRADED) == 2
    assert first_relevant_rank(RANKING, {"q": 1}) is None


def test_ndcg_uses_linear_gain_and_the_ideal_order():
    # DCG = 1/log2(3) + 2/log2(5) = 0.63093 + 0.86135 = 1.49228
    # IDCG (d then b) = 2/log2(2) + 1/log2(3) = 2 + 0.63093 = 2.63093
    assert ndcg_at_k(RANKING, GRADED, 10) == pytest.approx(1.49228 / 2.63093, abs=1e-5)
    assert ndcg_at_k(["d", "b"], GRADED, 10) == pytest.approx(1.0)
    # binary relevance, one relevant at rank 3 of three relevant: (1/2) / (1 + 0.63093 + 0.5)
    assert ndcg_at_k(["x", "y", "r1"], {"r1": 1, "r2": 1, "r3": 1}, 10) == pytest.approx(
        0.5 / 2.13093, abs=1e-5
    )
    # relevant only past k: nothing earned
    assert ndcg_at_k(["x"] * 0 + [f"n{i}" for i in range(10)] + ["b"], GRADED, 10) == 0.0


def test_a_query_without_relevant_documents_scores_zero():
    assert ranking_metrics(RANKING, {"z": 0}) == {
        "recall@1": 0.0, "recall@5": 0.0, "recall@10": 0.0, "recall@20": 0.0,
        "mrr@10": 0.0, "ndcg@10": 0.0,
    }  # fmt: skip


def test_a_document_counts_once_at_its_best_rank():
    # Two chunks of "a" must not push "b" to rank 3.
    metrics = ranking_metrics(["a", "a", "b"], {"b": 1})
    assert metrics["mrr@10"] == 0.5
    assert metrics["recall@1"] == 0.0


def test_mean_over_queries():
    rows = [ranking_metrics(["b"], {"b": 1}), ranking_metrics(["a", "b"], {"b": 1})]
    mean = mean_metrics(rows)
    assert mean["mrr@10"] == pytest.approx((1 + 0.5) / 2)
    # ndcg of rank 2 alone is 1/log2(3) = 0.63093
    assert mean["ndcg@10"] == pytest.approx((1 + 0.63093) / 2, abs=1e-5)
    assert mean_metrics([]) == {}
