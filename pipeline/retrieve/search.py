"""Hybrid retrieval: BM25 (LanceDB native FTS) and vector search, fused into one ranking.

Both rankers see the same pre-filtered candidate set (date range, language, collection, source),
so a filter never lets one ranker's out-of-range hits through. The full-text index used is the one
stemmed for the question's language.

Fusion (``RetrieveOptions.fusion``):

- ``"score"`` (default): each ranker's scores (BM25, cosine similarity) are standardised over its
  own candidates (z-scores: how far above that ranker's average a chunk sits), then averaged with
  the rankers' weights; a chunk one ranker did not return gets that ranker's lowest z-score.
  Unlike reciprocal rank, this keeps *how much* better the first hit is than the tenth, which is
  what separates a clear match from a near tie (the convex-combination result of Bruch et al.,
  "An Analysis of Fusion Functions for Hybrid Retrieval", TOIS 2023).
- ``"rrf"``: reciprocal-rank fusion, score = Σ wᵢ / (rrf_k + rankᵢ).

Document evidence (``document_weight``): a chunk's fused score is blended with the best score its
document reaches in each ranker, so a passage of a document that both rankers find relevant, even
through different passages, rises above an isolated look-alike passage elsewhere. Measured on the
French PIAF set (52 questions, 3,687 documents) and on 105 questions kept apart from it
(``bench/make_piaf_heldout.py``): nDCG@10 0.819 → 0.881 and 0.860 → 0.886 against reciprocal rank.

With one ranker (``mode="fts"`` or ``"vector"``) its own order and scores are kept.

>>> hits = retrieve("grève des dockers", store=store, embedder=emb)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from pipeline.embed import Embedder
from pipeline.lang import question_language
from pipeline.models import Hit, RetrieveOptions, SearchFilters
from pipeline.retrieve.fusion import Fusion, Ranking, fuse_rrf_arrays, fuse_score_arrays
from pipeline.retrieve.rerank import Reranker
from pipeline.retrieve.variants import group_variants
from pipeline.store import Candidates, LanceChunkStore, Searched
from pipeline.store.schema import LANGUAGE_CODES
from pipeline.store.versions import Member

_LANG_NAMES = {code: name.capitalize() for name, code in LANGUAGE_CODES.items()}


def retrieve(
    query: str,
    *,
    store: LanceChunkStore,
    embedder: Embedder,
    opts: RetrieveOptions | None = None,
    filters: SearchFilters | None = None,
    reranker: Reranker | None = None,
    language: str | None = None,
) -> list[Hit]:
    """The ``opts.k`` best chunks for ``query`` under ``filters``, best first.

    With a ``reranker``, the first ``reranker.depth`` fused hits are reordered by it before the
    list is cut to ``opts.k``. ``language`` (``fr``, ``en``) picks the stemmed full-text index;
    by default it is detected from ``query``.
    """
    opts = opts or RetrieveOptions()
    query = query.strip()
    if not query:
        return []
    language_name, code = "", language
    if opts.mode in ("hybrid", "fts"):
        code = language if language is not None else question_language(query, store.languages)
        language_name = _LANG_NAMES.get(code or "", "")
    limit = max(opts.k, reranker.depth) if reranker else opts.k
    # Both rankers at once (the question is embedded while the full-text query runs), fused (and
    # grouped) in this thread; the winners' rows read while the candidates' documents are read
    # (their visibility; grouped, their stories and versions too).
    found = store.search(
        text=query if opts.mode in ("hybrid", "fts") else None,
        language=language_name,
        vector=(lambda: embedder.embed_query(query)) if opts.mode != "fts" else None,
        k=opts.candidates,
        choose=_Chooser(opts, limit, code),
        filters=filters,
        group=opts.group_variants,
    )
    hits = _hits(found)
    if reranker is not None and hits:
        hits = reranker.rerank(query, hits)
    return hits[: opts.k]


class _Chooser:
    """A search's ``choose``: the fused order cut to ``limit``; with ``group_variants``, one
    version of each story kept (``pipeline.retrieve.variants``), ``language`` preferred.

    A grouped search chooses twice on the same candidates, first as if every document were its
    own story, then with their stories (``pipeline.store.query``): the candidates are fused
    once, and grouped only when two of their documents share a story; otherwise grouping would
    keep the fused order as it is."""

    def __init__(self, opts: RetrieveOptions, limit: int, language: str | None) -> None:
        self._opts, self._limit, self._language = opts, limit, language
        self._last: tuple[Candidates, Candidates, dict[str, str], Fusion] | None = None

    def __call__(self, fts: Candidates, vec: Candidates, members: Mapping[str, Member]) -> Fusion:
        if not self._opts.group_variants:
            return _fuse(fts, vec, self._opts, self._limit)
        if self._last is not None and self._last[0] is fts and self._last[1] is vec:
            doc_of, fused = self._last[2], self._last[3]
        else:
            doc_of = dict(zip(fts.chunk_ids + vec.chunk_ids, fts.doc_ids + vec.doc_ids,
                              strict=True))  # fmt: skip
            fused = _fuse(fts, vec, self._opts, len(doc_of))  # every candidate, in order
            self._last = (fts, vec, doc_of, fused)
        if _one_per_story(doc_of.values(), members):
            return Fusion(fused.ids[: self._limit], fused.scores[: self._limit],
                          fused.ranks[: self._limit])  # fmt: skip
        return group_variants(fused, doc_of, members, self._limit, language=self._language)


def _one_per_story(docs: Iterable[str], members: Mapping[str, Member]) -> bool:
    """True when no two of ``docs`` belong to one story (a document ``members`` lacks is its
    own)."""
    distinct = set(docs)
    stories = {members[d].cluster_id if d in members else d for d in distinct}
    return len(stories) == len(distinct)


def _fuse(fts: Candidates, vec: Candidates, opts: RetrieveOptions, limit: int) -> Fusion:
    # cosine distance → similarity, so that higher is better in both lists
    rankings = [
        Ranking(fts.chunk_ids, fts.doc_ids, fts.scores, opts.fts_weight),
        Ranking(vec.chunk_ids, vec.doc_ids, 1.0 - vec.scores, opts.vector_weight),
    ]
    if not (fts.chunk_ids and vec.chunk_ids):  # one ranker (a mode, or the other found nothing)
        ranked = rankings[0] if fts.chunk_ids else rankings[1]
        ids = list(ranked.ids[:limit])
        ranks = [[i, None] if fts.chunk_ids else [None, i] for i in range(1, len(ids) + 1)]
        return Fusion(ids, np.asarray(ranked.scores[:limit]).tolist(), ranks)
    if opts.fusion == "rrf":
        return fuse_rrf_arrays(rankings, rrf_k=opts.rrf_k, limit=limit)
    return fuse_score_arrays(rankings, document_weight=opts.document_weight, limit=limit)


def _hits(found: Searched[Fusion]) -> list[Hit]:
    """The chosen candidates as hits, over their rows (read in one read), with their documents'
    other versions."""
    fused = found.chosen
    distances = dict(zip(found.vector.chunk_ids, found.vector.scores.tolist(), strict=True))
    chunks = {c.chunk_id: c for c in found.chunks}
    return [
        Hit(
            chunk=chunks[key],
            score=score,
            fts_rank=ranks[0],
            vector_rank=ranks[1],
            vector_distance=distances.get(key),
            variants=found.versions_of(chunks[key].doc_id),
        )
        for key, score, ranks in zip(fused.ids, fused.scores, fused.ranks, strict=True)
        if key in chunks  # a chunk deleted since the search is left out
    ]
