"""Fusing rankings: each ranker's scores standardised and averaged (``fuse_scores``, the default,
with document evidence), or reciprocal ranks summed (``fuse_rrf``). ``pipeline.retrieve.search``
says why the default is what it is; rerankers reuse ``standardize``.

The work is done on arrays (``Ranking`` in, ``Fusion`` out: ids, document ids and scores, no
chunk objects), so a query fuses its candidates before any of their rows is read, and only the
winners' rows are read. ``fuse_scores`` and ``fuse_rrf`` take and return chunks, over the same
array functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from pipeline.models import Chunk

Fused = list[tuple[Chunk, float, list[int | None]]]


class Ranking(NamedTuple):
    """One ranker's candidates, best first: ids, their documents' ids, scores (higher is
    better) and the ranker's weight."""

    ids: Sequence[str]
    doc_ids: Sequence[str]
    scores: np.ndarray
    weight: float


class Fusion(NamedTuple):
    """The fused order, best first: ids, fused scores, and each id's 1-based rank in every
    ranking (None where that ranking did not return it)."""

    ids: list[str]
    scores: list[float]
    ranks: list[list[int | None]]


def standardize(scores: Sequence[float]) -> list[float]:
    """z-scores of ``scores`` (all 0 when they do not vary).

    >>> standardize([3.0, 1.0, 2.0])
    [1.224744871391589, -1.224744871391589, 0.0]
    """
    return _z(np.asarray(scores, dtype=np.float64)).tolist()


def _z(scores: np.ndarray) -> np.ndarray:
    if not scores.size:
        return scores
    centred = scores - scores.mean()
    sd = float(np.sqrt(np.mean(centred**2)))
    return centred / sd if sd > 1e-12 else np.zeros_like(scores)


class _Union(NamedTuple):
    ids: list[str]  # every id once, in first-seen order (ranking 0 first): the tie order
    slots: list[np.ndarray]  # per ranking: the position of each of its ids in ``ids``
    docs: np.ndarray  # per id: the index of its document


def _union(rankings: Sequence[Ranking]) -> _Union:
    position: dict[str, int] = {}
    document: dict[str, int] = {}
    docs: list[int] = []
    slots = []
    for ranking in rankings:
        slot = np.empty(len(ranking.ids), dtype=np.intp)
        for j, (key, doc) in enumerate(zip(ranking.ids, ranking.doc_ids, strict=True)):
            if key not in position:
                position[key] = len(position)
                docs.append(document.setdefault(doc, len(document)))
            slot[j] = position[key]
        slots.append(slot)
    return _Union(list(position), slots, np.asarray(docs, dtype=np.intp))


def _ranks(union: _Union) -> np.ndarray:
    """(ids × rankings) 1-based ranks, 0 where a ranking did not return the id."""
    ranks = np.zeros((len(union.ids), len(union.slots)), dtype=np.int64)
    for i, slot in enumerate(union.slots):
        ranks[slot, i] = np.arange(1, len(slot) + 1)
    return ranks


def _result(union: _Union, scores: np.ndarray, limit: int) -> Fusion:
    order = np.argsort(-scores, kind="stable")[:limit]
    ranks = _ranks(union)[order].tolist()
    return Fusion(
        ids=[union.ids[i] for i in order],
        scores=scores[order].tolist(),
        ranks=[[r or None for r in row] for row in ranks],
    )


def fuse_score_arrays(
    rankings: Sequence[Ranking], *, document_weight: float = 0.5, limit: int = 10
) -> Fusion:
    """Weighted average of standardised scores, blended with each id's document's best
    standardised score per ranking (``fuse_scores`` on arrays).

    A ranking that did not return an id gives it that ranking's lowest z-score (the floor), and
    a document it did not return gets the floor too.
    """
    union = _union(rankings)
    n, n_docs = len(union.ids), len(set(union.docs.tolist()))
    own = np.empty((len(rankings), n))
    per_doc = np.empty((len(rankings), n))
    for i, (ranking, slot) in enumerate(zip(rankings, union.slots, strict=True)):
        z = _z(np.asarray(ranking.scores, dtype=np.float64))
        floor = float(z.min()) if z.size else 0.0
        own[i] = floor
        own[i, slot] = z
        best = np.full(n_docs, -np.inf)
        np.maximum.at(best, union.docs[slot], z)
        best[np.isneginf(best)] = floor
        per_doc[i] = best[union.docs]
    weights = np.asarray([r.weight for r in rankings], dtype=np.float64)
    total = float(weights.sum()) or 1.0
    fused = (1 - document_weight) * (weights @ own) / total
    fused += document_weight * (weights @ per_doc) / total
    return _result(union, fused, limit)


def fuse_rrf_arrays(rankings: Sequence[Ranking], *, rrf_k: int = 60, limit: int = 10) -> Fusion:
    """Reciprocal-rank fusion on arrays: score = Σ weight / (rrf_k + rank); scores unused."""
    union = _union(rankings)
    fused = np.zeros(len(union.ids))
    for ranking, slot in zip(rankings, union.slots, strict=True):
        fused[slot] += ranking.weight / (rrf_k + np.arange(1, len(slot) + 1))
    return _result(union, fused, limit)


def _chunks_fused(chunks: dict[str, Chunk], fusion: Fusion) -> Fused:
    return [
        (chunks[key], score, ranks)
        for key, score, ranks in zip(fusion.ids, fusion.scores, fusion.ranks, strict=True)
    ]


def fuse_scores(
    rankings: list[tuple[list[tuple[Chunk, float]], float]],
    *,
    document_weight: float = 0.5,
    limit: int = 10,
) -> Fused:
    """Weighted average of standardised scores (higher is better in every list), blended with
    each chunk's document's best standardised score per list.

    Returns (chunk, fused score, rank in each list or None), best first.

    >>> a = Chunk(chunk_id="a", doc_id="d1", ordinal=0, text="")
    >>> b = Chunk(chunk_id="b", doc_id="d2", ordinal=0, text="")
    >>> c = Chunk(chunk_id="c", doc_id="d3", ordinal=0, text="")
    >>> fused = fuse_scores([([(a, 9.0), (b, 8.0), (c, 1.0)], 1.0), ([(b, 0.9), (c, 0.2)], 1.0)])
    >>> [(ch.chunk_id, r) for ch, _, r in fused]
    [('b', [2, 1]), ('a', [1, None]), ('c', [3, 2])]
    """
    chunks = {c.chunk_id: c for ranked, _ in rankings for c, _ in ranked}
    arrays = [
        Ranking(
            ids=[c.chunk_id for c, _ in ranked],
            doc_ids=[c.doc_id for c, _ in ranked],
            scores=np.asarray([s for _, s in ranked], dtype=np.float64),
            weight=weight,
        )
        for ranked, weight in rankings
    ]
    fusion = fuse_score_arrays(arrays, document_weight=document_weight, limit=limit)
    return _chunks_fused(chunks, fusion)


def fuse_rrf(
    rankings: list[tuple[list[Chunk], float]], *, rrf_k: int = 60, limit: int = 10
) -> Fused:
    """Reciprocal-rank fusion of several ranked lists (each with a weight).

    Returns (chunk, fused score, rank in each list or None), best first; ties keep first-seen order.

    >>> a = Chunk(chunk_id="a", doc_id="d", ordinal=0, text="")
    >>> b = Chunk(chunk_id="b", doc_id="d", ordinal=1, text="")
    >>> [(c.chunk_id, r) for c, _, r in fuse_rrf([([a, b], 1.0), ([b], 1.0)])]
    [('b', [2, 1]), ('a', [1, None])]
    """
    chunks = {c.chunk_id: c for ranked, _ in rankings for c in ranked}
    arrays = [
        Ranking(
            ids=[c.chunk_id for c in ranked],
            doc_ids=[c.doc_id for c in ranked],
            scores=np.zeros(len(ranked)),
            weight=weight,
        )
        for ranked, weight in rankings
    ]
    return _chunks_fused(chunks, fuse_rrf_arrays(arrays, rrf_k=rrf_k, limit=limit))
