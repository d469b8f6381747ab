"""Retrieval: the best chunks for a query, from the index's two rankers.

- ``search``: ``retrieve``, hybrid BM25 + vector search under filters, fused, then reranked;
- ``fusion``: how two rankings become one (standardised scores with document evidence, or RRF);
- ``rerank``: second-stage rerankers by kind (``RERANKERS``: ``embedder``, ``cross-encoder``).

The modules depend one way (search → rerank → fusion), so a reranker can reuse the fusion's
``standardize`` without a cycle.
"""

from __future__ import annotations

from pipeline.retrieve.fusion import Fused, fuse_rrf, fuse_scores, standardize
from pipeline.retrieve.rerank import RERANKERS, Reranker, make_reranker, register_reranker
from pipeline.retrieve.search import retrieve

__all__ = [
    "RERANKERS",
    "Fused",
    "Reranker",
    "fuse_rrf",
    "fuse_scores",
    "make_reranker",
    "register_reranker",
    "retrieve",
    "standardize",
]
