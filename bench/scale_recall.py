"""Recall of the vector index for the scale bench (``bench/scale.py``): the store's own vector
search and a small nprobes / refine sweep, each against an exact scan of the same rows, with
and without a date filter.

Besides recall@k, each setting reports how much farther its k-th hit is than the true k-th
(cosine distance, computed from the returned vectors, since without refine ``_distance`` is the
PQ estimate): a recall lost among near-ties costs almost nothing, one lost to a bad index a lot.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from pipeline.models import SearchFilters
from pipeline.store import LanceChunkStore
from pipeline.store.schema import filter_sql

Ranked = list[tuple[str, float]]  # (chunk_id, cosine distance), nearest first


def has_vector_index(store: LanceChunkStore) -> bool:
    return any(ix.columns == ["vector"] for ix in store.chunks.list_indices())


def rebuild_vector_index(store: LanceChunkStore, sub_vectors: int) -> dict[str, Any]:
    """An experiment: the store's IVF_PQ layout with another number of PQ sub-vectors."""
    from pipeline.store.upkeep import vector_index_config

    config = vector_index_config(store.chunks.count_rows(), store.dim, store.opts)
    config.num_sub_vectors = sub_vectors
    t = time.perf_counter()
    store.chunks.create_index("vector", config=config, replace=True)
    return {"partitions": config.num_partitions, "sub_vectors": sub_vectors,
            "s": round(time.perf_counter() - t, 1)}  # fmt: skip


def date_windows(n: int, *, years: int = 3, seed: int = 3) -> list[SearchFilters]:
    rng = np.random.default_rng(seed)
    starts = rng.integers(1983, 2027 - years + 1, n)
    return [SearchFilters(date_from=dt.date(int(y), 1, 1),
                          date_to=dt.date(int(y) + years - 1, 12, 31)) for y in starts]  # fmt: skip


def recall(
    store: LanceChunkStore, vectors: np.ndarray, *, sample: int, k: int = 10
) -> list[dict[str, Any]]:
    """Recall@k of ``store.search_vector`` (the store's own nprobes / refine settings) against
    exact (flat) search, plus a small nprobes / refine sweep so the settings can be judged."""
    windows = date_windows(sample)
    sweep: list[tuple[int, int | None]] = [(20, None), (5, 10), (20, 50), (60, 50), (20, 100)]
    has_index = has_vector_index(store)
    out = []
    for filtered in (False, True):
        flt = [windows[i] if filtered else None for i in range(sample)]
        exact, flat_ms = [], []
        for i in range(sample):
            t = time.perf_counter()
            exact.append(_ids(store, vectors[i], k, flt[i], flat=True))
            flat_ms.append((time.perf_counter() - t) * 1000)
        spread = [e[-1][1] - e[0][1] for e in exact if e]  # how tight the exact top k is
        row: dict[str, Any] = {"date_filter": filtered, "k": k,
                               "flat_p50_ms": round(float(np.median(flat_ms)), 1),
                               "exact_d1_to_dk": round(float(np.mean(spread)), 4)}  # fmt: skip
        if has_index:

            def store_ids(i: int, flt: list[SearchFilters | None] = flt) -> Ranked:
                return [
                    (c.chunk_id, d) for c, d in store.search_vector(vectors[i], k=k, filters=flt[i])
                ]

            row["store"] = _score(store_ids, exact)
            row["store"]["settings"] = (
                f"nprobes>={store.opts.vector_nprobes},refine={store.opts.vector_refine_factor}"
            )
            for nprobes, refine in sweep:
                row[f"nprobes={nprobes},refine={refine or 'none'}"] = _score(
                    lambda i, n=nprobes, r=refine, f=flt: _ids(
                        store, vectors[i], k, f[i], nprobes=n, refine=r
                    ),
                    exact,
                )
        print(f"  {row}", flush=True)
        out.append(row)
    return out


def _score(fn: Callable[[int], Ranked], exact: list[Ranked]) -> dict[str, Any]:
    """Recall, and how much farther the k-th hit is than the exact k-th (cosine distance): a
    recall lost to near-ties costs almost no distance, one lost to a bad index costs a lot."""
    hits, ms, excess = [], [], []
    for i, want in enumerate(exact):
        t = time.perf_counter()
        got = fn(i)
        ms.append((time.perf_counter() - t) * 1000)
        hits.append(len({c for c, _ in got} & {c for c, _ in want}) / max(1, len(want)))
        if got and want:
            excess.append(got[-1][1] - want[-1][1])
    return {
        "recall": round(float(np.mean(hits)), 3),
        "p50_ms": round(float(np.median(ms)), 1),
        "kth_distance_excess": round(float(np.mean(excess)), 4) if excess else None,
    }


def _ids(
    store: LanceChunkStore, vector: np.ndarray, k: int, filters: SearchFilters | None,
    *, flat: bool = False, nprobes: int | None = None, refine: int | None = None,
) -> Ranked:  # fmt: skip
    q: Any = store.chunks.search(np.asarray(vector, dtype=np.float32)).distance_type("cosine")
    if flat:
        q = q.bypass_vector_index()
    if nprobes:
        q = q.nprobes(nprobes)
    if refine:
        q = q.refine_factor(refine)
    where = filter_sql(filters)
    if where:
        q = q.where(where, prefilter=True)
    # True cosine distances (without refine, ``_distance`` is the PQ estimate, biased).
    rows = q.select(["chunk_id", "vector", "_distance"]).limit(k).to_list()
    q_vec = np.asarray(vector, dtype=np.float32)
    ranked = [(r["chunk_id"], 1.0 - float(np.dot(q_vec, r["vector"]))) for r in rows]
    return sorted(ranked, key=lambda x: x[1])
