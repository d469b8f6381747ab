"""Hybrid retrieval: BM25 (LanceDB native FTS) and vector search, fused by reciprocal rank.

Both rankers see the same pre-filtered candidate set (date range, language, collection, source),
so a filter never lets one ranker's out-of-range hits through. Fusion is reciprocal rank
(score = Σ wᵢ / (rrf_k + rankᵢ)), which needs no score calibration between BM25 and cosine.
The full-text index used is the one stemmed for the question's language.

>>> hits = retrieve("grève des dockers", store=store, embedder=emb)  # doctest: +SKIP
"""

from __future__ import annotations

from pipeline.embed import Embedder
from pipeline.lang import detect_language
from pipeline.models import Chunk, Hit, RetrieveOptions, SearchFilters
from pipeline.store import LANGUAGE_CODES, LanceChunkStore

_LANG_NAMES = {code: name.capitalize() for name, code in LANGUAGE_CODES.items()}


def fuse_rrf(
    rankings: list[tuple[list[Chunk], float]], *, rrf_k: int = 60, limit: int = 10
) -> list[tuple[Chunk, float, list[int | None]]]:
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


def retrieve(
    query: str,
    *,
    store: LanceChunkStore,
    embedder: Embedder,
    opts: RetrieveOptions | None = None,
    filters: SearchFilters | None = None,
) -> list[Hit]:
    """The ``opts.k`` best chunks for ``query`` under ``filters``, best first."""
    opts = opts or RetrieveOptions()
    query = query.strip()
    if not query:
        return []
    fts: list[tuple[Chunk, float]] = []
    vec: list[tuple[Chunk, float]] = []
    if opts.mode in ("hybrid", "fts"):
        language = _LANG_NAMES.get(detect_language(query) or "", "")
        fts = store.search_fts(query, language=language, k=opts.candidates, filters=filters)
    if opts.mode in ("hybrid", "vector"):
        vec = store.search_vector(embedder.embed_query(query), k=opts.candidates, filters=filters)
    distances = {c.chunk_id: d for c, d in vec}
    fused = fuse_rrf(
        [([c for c, _ in fts], opts.fts_weight), ([c for c, _ in vec], opts.vector_weight)],
        rrf_k=opts.rrf_k,
        limit=opts.k,
    )
    return [
        Hit(
            chunk=chunk,
            score=score,
            fts_rank=ranks[0],
            vector_rank=ranks[1],
            vector_distance=distances.get(chunk.chunk_id),
        )
        for chunk, score, ranks in fused
    ]
