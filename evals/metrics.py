"""Ranking metrics over one ranked list of ids and the graded relevance of one query.

Definitions follow BEIR's scorer (pytrec_eval), so numbers compare with published ones:

- ``recall@k``: relevant ids in the top k / all relevant ids;
- ``mrr@k``: 1 / rank of the first relevant id if it is within the top k, else 0;
- ``ndcg@k``: Σ rel_i / log2(i + 1) over the top k, divided by the same sum for the ideal order
  (linear gain: a grade-2 document counts twice a grade-1 one).

>>> ranking_metrics(["d3", "d1", "d2"], {"d1": 1}, ks=(1, 5))["recall@5"]
1.0
>>> round(ndcg_at_k(["d3", "d1"], {"d1": 1}, 10), 4)
0.6309
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

RECALL_KS = (1, 5, 10, 20)


def _relevant(qrels: Mapping[str, int]) -> dict[str, int]:
    return {doc: grade for doc, grade in qrels.items() if grade > 0}


def recall_at_k(ranking: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """Share of the relevant ids found in the top ``k`` (0 when nothing is relevant)."""
    relevant = _relevant(qrels)
    if not relevant:
        return 0.0
    return len(relevant.keys() & set(ranking[:k])) / len(relevant)


def first_relevant_rank(ranking: Sequence[str], qrels: Mapping[str, int]) -> int | None:
    """1-based rank of the first relevant id in the whole ranking, None if none is there."""
    relevant = _relevant(qrels)
    for rank, doc in enumerate(ranking, start=1):
        if doc in relevant:
            return rank
    return None


def mrr_at_k(ranking: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """Reciprocal rank of the first relevant id, counted only within the top ``k``."""
    rank = first_relevant_rank(ranking[:k], qrels)
    return 1.0 / rank if rank else 0.0


def ndcg_at_k(ranking: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """Normalised discounted cumulative gain at ``k`` with linear gain."""
    relevant = _relevant(qrels)
    if not relevant:
        return 0.0
    dcg = sum(relevant.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranking[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(grade / math.log2(i + 2) for i, grade in enumerate(ideal))
    return dcg / idcg


def ranking_metrics(
    ranking: Sequence[str], qrels: Mapping[str, int], *, ks: Iterable[int] = RECALL_KS
) -> dict[str, float]:
    """recall@k for each k, mrr@10 and ndcg@10 of one query."""
    ranking = _dedupe(ranking)
    out = {f"recall@{k}": recall_at_k(ranking, qrels, k) for k in ks}
    out["mrr@10"] = mrr_at_k(ranking, qrels, 10)
    out["ndcg@10"] = ndcg_at_k(ranking, qrels, 10)
    return out


def mean_metrics(rows: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """The mean of each metric over queries (the keys of the first row)."""
    if not rows:
        return {}
    return {key: sum(r[key] for r in rows) / len(rows) for key in rows[0]}


def _dedupe(ranking: Sequence[str]) -> list[str]:
    """A document counts once, at its best rank (several chunks may point to it)."""
    return list(dict.fromkeys(ranking))
