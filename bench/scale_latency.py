"""The timed part of the scale bench (``bench/scale.py``): query vectors served from memory, the
closed-loop timer, the latency cells (each mode of ``retrieve``, then two references on the same
table: our hybrid search without grouping and LanceDB's own hybrid query) and the ratios of the
hybrid search to them and to full-text search in the same run."""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
from scale_recall import date_windows

from pipeline.lang import question_language
from pipeline.models import RetrieveOptions, SearchFilters
from pipeline.retrieve import retrieve
from pipeline.store import LanceChunkStore
from pipeline.store.candidates import CHUNK_COLUMNS, refine_factor
from pipeline.store.schema import LANGUAGE_CODES, filter_sql


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


class QueryVectors:
    """The Embedder protocol over precomputed query vectors (real ones, embedded beforehand)."""

    def __init__(self, name: str, dim: int, table: dict[str, np.ndarray]) -> None:
        self.name, self.dim, self._table = name, dim, table

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return np.vstack([self._table[t] for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._table[text.strip()]


def timed(fn: Callable[[int], object], n: int, concurrency: int) -> dict[str, Any]:
    """Run ``fn(i)`` for i in 0..n-1 from ``concurrency`` threads (closed loop): p50/p99/QPS."""
    latencies: list[float] = []
    errors: list[str] = []
    counter = iter(range(n))
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            t = time.perf_counter()
            try:
                fn(i)
            except Exception as e:  # a failed query is counted and shown, never dropped
                with lock:
                    errors.append(f"{type(e).__name__}: {e}")
                continue
            with lock:
                latencies.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    ms = np.array(latencies) * 1000 if latencies else np.array([np.nan])
    return {
        "n": len(latencies), "errors": len(errors), "first_error": errors[0] if errors else "",
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "mean_ms": round(float(ms.mean()), 1), "qps": round(len(latencies) / wall, 2),
    }  # fmt: skip


def latency(
    store: LanceChunkStore, emb: QueryVectors, qs: list[str], concurrency: Sequence[int]
) -> list[dict[str, Any]]:
    """Timed cells: each mode of ``retrieve`` (hybrid with story grouping, the default; vector;
    full-text), then two references on the same table, one thread: our hybrid without grouping
    (``hybrid-ungrouped``) and LanceDB's own hybrid query (``engine-hybrid``, ``engine_hybrid``)."""
    windows = date_windows(len(qs))
    cells = []
    runs: list[tuple[str, Callable[[str, SearchFilters | None], object], Sequence[int]]] = [
        (mode, _ours(store, emb, RetrieveOptions(mode=mode)), concurrency)
        for mode in ("hybrid", "vector", "fts")
    ]
    runs += [
        ("hybrid-ungrouped", _ours(store, emb, RetrieveOptions(group_variants=False)), [1]),
        ("engine-hybrid", functools.partial(engine_hybrid, store, emb), [1]),
    ]
    for mode, query, threads in runs:
        for filtered in (False, True):

            def one(i: int, query: Any = query, filtered: bool = filtered) -> None:
                query(qs[i % len(qs)], windows[i % len(qs)] if filtered else None)

            timed(one, min(20, len(qs)), 2)  # warm caches (not reported)
            for c in threads:
                cell = {"mode": mode, "date_filter": filtered, "concurrency": c, "load": load()}
                cell |= timed(one, len(qs), c)
                print(f"  {cell}", flush=True)
                cells.append(cell)
    return cells


def _ours(
    store: LanceChunkStore, emb: QueryVectors, opts: RetrieveOptions
) -> Callable[[str, SearchFilters | None], object]:
    def query(text: str, filters: SearchFilters | None) -> object:
        return retrieve(text, store=store, embedder=emb, opts=opts, filters=filters)

    return query


def engine_hybrid(
    store: LanceChunkStore, emb: QueryVectors, text: str, filters: SearchFilters | None
) -> pa.Table:
    """LanceDB's own hybrid query on the chunks table, as close to ours as its API allows: the
    question's full-text column, the store's probes and re-ranked rows, the same filter (as a
    prefilter), the same columns of the same number of hits (``k``), fused by RRF (its default).
    It asks each ranker for those ``k`` only, where ours fuses ``candidates`` (50) from each,
    and has none of what our layer adds: no visibility check, no document evidence, no
    grouping."""
    opts, k = store.opts, RetrieveOptions().k
    code = question_language(text, store.languages)
    names = {c: name.capitalize() for name, c in LANGUAGE_CODES.items()}
    column = store.fts_column_for(names.get(code or "", ""))
    q = store.chunks.search(query_type="hybrid", vector_column_name="vector", fts_columns=column)
    q = q.vector(emb.embed_query(text)).text(text).distance_type("cosine")
    q = q.nprobes(opts.vector_nprobes).refine_factor(refine_factor(opts.vector_refine_rows, k))
    where = filter_sql(filters)
    if where:
        q = q.where(where, prefilter=True)
    return q.select(CHUNK_COLUMNS).limit(k).to_arrow()


def ratios(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Hybrid p50 over full-text p50 of the same run, per filter case and concurrency; with one
    thread, also over our ungrouped hybrid and over LanceDB's own hybrid query."""
    p50 = {(c["mode"], c["date_filter"], c["concurrency"]): c["p50_ms"] for c in cells}
    out = []
    for (mode, f, c), h in p50.items():
        if mode != "hybrid" or not p50.get(("fts", f, c)):
            continue
        fts = p50[("fts", f, c)]
        row = {"date_filter": f, "concurrency": c, "hybrid_p50_ms": h, "fts_p50_ms": fts,
               "ratio": round(h / fts, 2)}  # fmt: skip
        for ref in ("hybrid-ungrouped", "engine-hybrid"):
            if p50.get((ref, f, c)):
                row[f"{ref}_p50_ms"] = p50[(ref, f, c)]
                row[f"over_{ref.replace('-', '_')}"] = round(h / p50[(ref, f, c)], 2)
        out.append(row)
    return out
