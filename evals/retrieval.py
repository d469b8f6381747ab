"""Retrieval eval: run every query of a BEIR set through each retrieval mode and score the rankings.

Modes:

- ``fts``: BM25 only (LanceDB native full-text search, stemmed for the query's language);
- ``vector``: the embedder only;
- ``hybrid``: both, fused (the default mode of ``archivist search``);
- ``hybrid+rerank``: hybrid, then a reranker reorders the first hits
  (``pipeline.retrieve.rerank``).

Relevance is judged per corpus document while the index returns chunks, so a ranking of documents
is read off the chunk hits: each document at the rank of its best chunk. Retrieval runs with the
index's own settings (candidates per ranker, fusion, weights) and keeps every fused candidate, so
that 20 distinct documents are almost always there for recall@20.

>>> result = evaluate_retrieval(dataset, index, modes=["fts", "hybrid"])   # doctest: +SKIP
>>> result.modes["hybrid"].metrics["ndcg@10"]                             # doctest: +SKIP
0.91
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Callable, Sequence

from evals.beir import BeirDataset, Query
from evals.collection import EvalIndex
from evals.metrics import first_relevant_rank, mean_metrics, ranking_metrics
from evals.results import (
    DEFAULT_MODES,
    MODES,
    IndexInfo,
    ModeResult,
    QueryRow,
    RetrievalEval,
)
from pipeline.errors import ArchivistError
from pipeline.models import Hit, RerankOptions
from pipeline.retrieve import Reranker, make_reranker, retrieve

log = logging.getLogger(__name__)

MIN_CANDIDATES = 40  # chunks per ranker: enough for 20 distinct documents (recall@20)
RANKING_DEPTH = 20


def parse_modes(text: str) -> list[str]:
    """``"fts,hybrid"`` → ``["fts", "hybrid"]``; an unknown mode names the valid ones.

    >>> parse_modes("hybrid, fts")
    ['hybrid', 'fts']
    """
    modes = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise ValueError(
            f"unknown mode(s) {', '.join(unknown) or '(none)'}; valid: {', '.join(MODES)}"
        )
    return list(dict.fromkeys(modes))


def document_ranking(hits: Sequence[Hit], index: EvalIndex) -> list[str]:
    """Corpus ids in the order of their best chunk (a document counts once)."""
    ranking: dict[str, None] = {}
    for hit in hits:
        for ident in index.corpus_ids(hit.chunk.doc_id):
            ranking.setdefault(ident, None)
    return list(ranking)


def search_mode(query: str, mode: str, index: EvalIndex, reranker: Reranker | None) -> list[Hit]:
    """The chunk hits of one query under one mode, with the index's retrieval settings, deep
    enough for document-level metrics: every fused candidate is kept (not only the first k)."""
    archive = index.archive
    base = "hybrid" if mode == "hybrid+rerank" else mode
    configured = archive.options.retrieve
    candidates = max(configured.candidates, MIN_CANDIDATES)
    opts = configured.model_copy(
        update={"mode": base, "k": 2 * candidates, "candidates": candidates}
    )
    return retrieve(
        query,
        store=archive.store,
        embedder=archive.embedder,
        opts=opts,
        reranker=reranker if mode == "hybrid+rerank" else None,
    )


def _score_query(
    query: Query, hits: Sequence[Hit], dataset: BeirDataset, index: EvalIndex
) -> QueryRow:
    qrels = dataset.qrels.get(query.id, {})
    ranking = document_ranking(hits, index)
    metrics = ranking_metrics(ranking, qrels)
    stories = dataset.stories
    if stories:
        metrics["dup@10"] = float(repeats_story(ranking[:10], stories))
        metrics["story-ndcg@10"] = story_ndcg(ranking, qrels, stories)
    return QueryRow(
        query_id=query.id,
        query=query.text,
        relevant=sorted(d for d, s in qrels.items() if s > 0),
        ranking=ranking[:RANKING_DEPTH],
        first_relevant_rank=first_relevant_rank(ranking, qrels),
        metrics=metrics,
    )


def story_ndcg(
    ranking: Sequence[str], qrels: dict[str, int], stories: dict[str, str], k: int = 10
) -> float:
    """nDCG@k over stories: a story gains at its first version only, by that version's grade
    (a later version of it gains nothing, but takes its place), against the ideal of every
    relevant story once. What a reader of the list gets, whatever the versions.

    >>> story_ndcg(["a1", "a2", "b"], {"a2": 1, "b": 1}, {"a1": "a", "a2": "a", "b": "b"})
    0.3065735963827292
    """
    seen: set[str] = set()
    dcg = 0.0
    for i, doc in enumerate(ranking[:k]):
        story = stories.get(doc, doc)
        if story not in seen:
            seen.add(story)
            dcg += max(qrels.get(doc, 0), 0) / math.log2(i + 2)
    best: dict[str, int] = {}
    for doc, grade in qrels.items():
        if grade > 0:
            story = stories.get(doc, doc)
            best[story] = max(best.get(story, 0), grade)
    ideal = sorted(best.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def repeats_story(ranking: Sequence[str], stories: dict[str, str]) -> bool:
    """Whether ``ranking`` holds two versions of one story (``stories``: corpus id → story).

    >>> repeats_story(["a1", "b", "a2"], {"a1": "a", "a2": "a", "b": "b"})
    True
    """
    seen = [stories[d] for d in ranking if d in stories]
    return len(seen) != len(set(seen))


def run_mode(
    mode: str,
    dataset: BeirDataset,
    index: EvalIndex,
    *,
    reranker: Reranker | None = None,
    on_query: Callable[[str, QueryRow], None] | None = None,
) -> ModeResult:
    """Every judged query under ``mode``."""
    t0 = time.perf_counter()
    rows = []
    for query in dataset.judged_queries():
        row = _score_query(query, search_mode(query.text, mode, index, reranker), dataset, index)
        rows.append(row)
        if on_query:
            on_query(mode, row)
    metrics = mean_metrics([r.metrics for r in rows])
    return ModeResult(mode=mode, metrics=metrics, queries=rows, seconds=time.perf_counter() - t0)


def load_reranker(opts: RerankOptions) -> tuple[Reranker | None, str | None]:
    """The reranker, or None with the reason it cannot load (the mode is then reported skipped)."""
    try:
        return make_reranker(opts), None
    except ArchivistError as e:
        log.warning("hybrid+rerank skipped: %s", " ".join(str(e).split()))
        return None, str(e)


def evaluate_retrieval(
    dataset: BeirDataset,
    index: EvalIndex,
    *,
    modes: Sequence[str] = DEFAULT_MODES,
    rerank: RerankOptions | None = None,
    reranker: Reranker | None = None,
    on_query: Callable[[str, QueryRow], None] | None = None,
) -> RetrievalEval:
    """Score each mode on ``dataset`` against the index built for it."""
    t0 = time.perf_counter()
    rerank = rerank or RerankOptions()
    results: dict[str, ModeResult] = {}
    for mode in modes:
        if mode == "hybrid+rerank" and reranker is None:
            reranker, reason = load_reranker(rerank)
            if reranker is None:
                results[mode] = ModeResult(mode=mode, skipped=reason)
                continue
        results[mode] = run_mode(mode, dataset, index, reranker=reranker, on_query=on_query)
    return RetrievalEval(
        dataset=dataset.name,
        created_at=dt.datetime.now(dt.UTC),
        default_mode=index.archive.options.retrieve.mode,
        modes=results,
        index=index_info(index),
        settings=settings_snapshot(index, rerank if "hybrid+rerank" in modes else None, reranker),
        queries=len(dataset.judged_queries()),
        seconds=time.perf_counter() - t0,
    )


def index_info(index: EvalIndex) -> IndexInfo:
    return IndexInfo(
        path=str(index.path),
        key=index.key,
        table_version=index.table_version,
        documents=index.documents,
        failed=index.failed,
        build_seconds=index.build_seconds,
        reused=index.reused,
    )


def settings_snapshot(
    index: EvalIndex, rerank: RerankOptions | None, reranker: Reranker | None = None
) -> dict[str, object]:
    """The settings a run depends on, recorded with it: embedder, chunker, fusion, reranker."""
    opts = index.archive.options
    return {
        "embedder": {"kind": opts.embed.kind, "model": opts.embed.model},
        "chunker": opts.chunk.model_dump(mode="json"),
        "fusion": opts.retrieve.model_dump(mode="json"),
        "fts": {"languages": list(opts.store.fts_languages), "stem": opts.store.fts_stem},
        "reranker": (
            {**rerank.model_dump(mode="json"), "loaded": reranker is not None} if rerank else None
        ),
    }
