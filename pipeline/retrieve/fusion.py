"""Fusing rankings: each ranker's scores standardised and averaged (``fuse_scores``, the default,
with document evidence), or reciprocal ranks summed (``fuse_rrf``). ``pipeline.retrieve.search``
says why the default is what it is; rerankers reuse ``standardize``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pipeline.models import Chunk

Fused = list[tuple[Chunk, float, list[int | None]]]


def standardize(scores: Sequence[float]) -> list[float]:
    """z-scores of ``scores`` (all 0 when they do not vary).

    >>> standardize([3.0, 1.0, 2.0])
    [1.224744871391589, -1.224744871391589, 0.0]
    """
    if not scores:
        return []
    mean = sum(scores) / len(scores)
    sd = math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))
    return [(s - mean) / sd if sd > 1e-12 else 0.0 for s in scores]


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
    chunks: dict[str, Chunk] = {}
    ranks: dict[str, list[int | None]] = {}
    z: list[dict[str, float]] = []
    for i, (ranked, _) in enumerate(rankings):
        ids = [c.chunk_id for c, _ in ranked]
        z.append(dict(zip(ids, standardize([s for _, s in ranked]), strict=True)))
        for rank, (chunk, _) in enumerate(ranked, start=1):
            chunks.setdefault(chunk.chunk_id, chunk)
            ranks.setdefault(chunk.chunk_id, [None] * len(rankings))[i] = rank
    # A chunk a ranker did not return ranks below all it did return: its lowest z-score.
    floors = [min(zi.values(), default=0.0) for zi in z]
    best = [_best_per_document(zi, chunks) for zi in z]
    weights = [w for _, w in rankings]
    total = sum(weights) or 1.0
    scores = {}
    for key, chunk in chunks.items():
        own = [zi.get(key, floors[i]) for i, zi in enumerate(z)]
        per_doc = [bi.get(chunk.doc_id, floors[i]) for i, bi in enumerate(best)]
        own_score = sum(w * v for w, v in zip(weights, own, strict=True)) / total
        doc_score = sum(w * v for w, v in zip(weights, per_doc, strict=True)) / total
        scores[key] = (1 - document_weight) * own_score + document_weight * doc_score
    order = sorted(scores, key=lambda key: -scores[key])
    return [(chunks[key], scores[key], ranks[key]) for key in order[:limit]]


def _best_per_document(z: dict[str, float], chunks: dict[str, Chunk]) -> dict[str, float]:
    best: dict[str, float] = {}
    for key, value in z.items():
        doc_id = chunks[key].doc_id
        best[doc_id] = max(best.get(doc_id, value), value)
    return best


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
    scores: dict[str, float] = {}
    chunks: dict[str, Chunk] = {}
    ranks: dict[str, list[int | None]] = {}
    for i, (ranked, weight) in enumerate(rankings):
        for rank, chunk in enumerate(ranked, start=1):
            key = chunk.chunk_id
            chunks.setdefault(key, chunk)
            ranks.setdefault(key, [None] * len(rankings))[i] = rank
            scores[key] = scores.get(key, 0.0) + weight / (rrf_k + rank)
    order = sorted(scores, key=lambda key: -scores[key])
    return [(chunks[key], scores[key], ranks[key]) for key in order[:limit]]
