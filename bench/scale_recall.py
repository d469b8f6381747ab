"""Recall of the vector index for the scale bench (``bench/scale.py``), and the sweep that chose
the store's vector defaults: each setting against an exact scan of the same rows, with and
without a date filter.

- ``store``: ``store.search_vector`` at the store's own settings (``StoreOptions``): the
  recall@10 the defaults give;
- ``sweep``: for each index layout (``LAYOUTS``: kind, rows per partition, PQ sub-vectors; the
  index is rebuilt for each, then the store's own is rebuilt), each query-time setting
  (``NPROBES`` × ``REFINE_ROWS``) queried as retrieval queries, ``depth`` candidates deep
  (``RetrieveOptions.candidates``), on LanceDB's async table like the store: recall@10 of the
  first 10, recall@depth, p50 ms. ``refine_rows`` is ``StoreOptions.vector_refine_rows``: the
  candidates re-ranked on full vectors whatever the depth, so the first 10 of a search
  ``depth`` deep are those of a search 10 deep (``refine_rows`` 1: only the ``depth`` rows
  asked for are re-ranked, what the codes alone find);
- ``chosen``: the cheapest layout and setting (p50 summed over both filter cases) whose
  recall@10 reaches ``--recall-target`` with and without the filter.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pipeline.models import SearchFilters, StoreOptions
from pipeline.store import LanceChunkStore
from pipeline.store.candidates import nearest
from pipeline.store.schema import filter_sql
from pipeline.store.upkeep import vector_index_config

NPROBES = (5, 10, 20, 40)
REFINE_ROWS = (1, 100, 200, 500, 1000)  # 1: only the rows asked for (``depth``) are re-ranked
# Index layouts tried at build time: StoreOptions fields that change the index.
LAYOUTS: dict[str, dict[str, Any]] = {
    "ivf_pq 8192/partition, dim/16 sub-vectors": {"vector_index_kind": "ivf_pq"},
    "ivf_pq 8192/partition, dim/8 sub-vectors": {"vector_index_kind": "ivf_pq",
                                                 "vector_pq_sub_vectors": 64},
    "ivf_rq 8192/partition, 1 bit": {"vector_index_kind": "ivf_rq", "vector_rq_bits": 1},
    "ivf_rq 8192/partition, 2 bits": {"vector_index_kind": "ivf_rq", "vector_rq_bits": 2},
    "ivf_rq 8192/partition, 4 bits": {"vector_index_kind": "ivf_rq", "vector_rq_bits": 4},
    "ivf_rq 4096/partition, 2 bits": {"vector_index_kind": "ivf_rq", "vector_rq_bits": 2,
                                      "vector_partition_rows": 4096},
    "ivf_rq 16384/partition, 2 bits": {"vector_index_kind": "ivf_rq", "vector_rq_bits": 2,
                                       "vector_partition_rows": 16384},
}  # fmt: skip


def has_vector_index(store: LanceChunkStore) -> bool:
    return any(ix.columns == ["vector"] for ix in store.chunks.list_indices())


def date_windows(n: int, *, years: int = 3, seed: int = 3) -> list[SearchFilters]:
    rng = np.random.default_rng(seed)
    starts = rng.integers(1983, 2027 - years + 1, n)
    return [SearchFilters(date_from=dt.date(int(y), 1, 1),
                          date_to=dt.date(int(y) + years - 1, 12, 31)) for y in starts]  # fmt: skip


def _run(coro: Any) -> Any:
    from lancedb.background_loop import LOOP

    return LOOP.run(coro)


def _flat(store: LanceChunkStore, vector: np.ndarray, depth: int, where: str | None) -> list[str]:
    """Ids of the exact ``depth`` nearest (a scan of every row under ``where``)."""
    q = store.chunks._table.query().nearest_to(np.asarray(vector, dtype=np.float32))
    q = q.column("vector").distance_type("cosine").bypass_vector_index()
    if where:
        q = q.where(where)
    table = _run(q.select(["chunk_id", "_distance"]).limit(depth).to_arrow())
    return table.column("chunk_id").to_pylist()  # type: ignore[no-any-return]


def _top(
    store: LanceChunkStore, vector: np.ndarray, depth: int, where: str | None,
    *, nprobes: int, refine_rows: int,
) -> list[str]:  # fmt: skip
    """Ids of the ``depth`` nearest, by the store's own vector query with these settings."""
    opts = store.opts.model_copy(update={"vector_nprobes": nprobes,
                                         "vector_refine_rows": refine_rows})  # fmt: skip
    found = _run(nearest(store.chunks._table, vector, opts, limit=depth, where=where,
                         columns=["chunk_id", "_distance"]))  # fmt: skip
    return found.column("chunk_id").to_pylist()  # type: ignore[no-any-return]


class Exact:
    """The exact ``depth`` nearest of each sample query, per filter case (scanned once)."""

    def __init__(self, store: LanceChunkStore, vectors: np.ndarray, depth: int) -> None:
        self.wheres = {False: [None] * len(vectors), True: [filter_sql(w) for w in
                       date_windows(len(vectors))]}  # fmt: skip
        self.ids: dict[bool, list[list[str]]] = {}
        self.flat_ms: dict[bool, float] = {}
        for filtered, wheres in self.wheres.items():
            ms, ids = [], []
            for vector, where in zip(vectors, wheres, strict=True):
                t = time.perf_counter()
                ids.append(_flat(store, vector, depth, where))
                ms.append((time.perf_counter() - t) * 1000)
            self.ids[filtered] = ids
            self.flat_ms[filtered] = round(float(np.median(ms)), 1)


def _recall(got: Sequence[list[str]], want: Sequence[list[str]], k: int) -> float:
    pairs = zip(got, want, strict=True)
    hits = [len(set(g[:k]) & set(w[:k])) / max(1, len(w[:k])) for g, w in pairs]
    return round(float(np.mean(hits)), 3)


def _timed(fn: Callable[[int], list[str]], n: int) -> tuple[list[list[str]], float]:
    out, ms = [], []
    for i in range(n):
        t = time.perf_counter()
        out.append(fn(i))
        ms.append((time.perf_counter() - t) * 1000)
    return out, round(float(np.median(ms)), 1)


def store_recall(
    store: LanceChunkStore, vectors: np.ndarray, exact: Exact, k: int
) -> list[dict[str, Any]]:
    """Recall@k of ``store.search_vector`` (the store's own settings, k deep)."""
    opts = store.opts
    rows = []
    for filtered in (False, True):
        windows = date_windows(len(vectors)) if filtered else [None] * len(vectors)
        got, p50 = _timed(
            lambda i, w=windows: [c.chunk_id for c, _ in store.search_vector(vectors[i], k=k,
                                                                             filters=w[i])],
            len(vectors),
        )  # fmt: skip
        rows.append({"date_filter": filtered, "recall": _recall(got, exact.ids[filtered], k),
                     "p50_ms": p50, "flat_p50_ms": exact.flat_ms[filtered],
                     "settings": f"{opts.vector_index_kind}, nprobes {opts.vector_nprobes}, "
                                 f"refine {opts.vector_refine_rows} rows"})  # fmt: skip
        print(f"  store {rows[-1]}", flush=True)
    return rows


def sweep(
    store: LanceChunkStore, vectors: np.ndarray, exact: Exact, *, layout: str, k: int, depth: int
) -> list[dict[str, Any]]:
    """Every query-time setting on the index as it is now."""
    rows = []
    for filtered in (False, True):
        wheres = exact.wheres[filtered]
        for nprobes in NPROBES:
            for refine in REFINE_ROWS:
                got, p50 = _timed(
                    lambda i, n=nprobes, r=refine, w=wheres: _top(
                        store, vectors[i], depth, w[i], nprobes=n, refine_rows=r
                    ),
                    len(vectors),
                )
                want = exact.ids[filtered]
                rows.append({
                    "layout": layout, "date_filter": filtered, "nprobes": nprobes,
                    "refine_rows": refine, f"recall@{k}": _recall(got, want, k),
                    f"recall@{depth}": _recall(got, want, depth), "p50_ms": p50,
                })  # fmt: skip
                print(f"  {rows[-1]}", flush=True)
    return rows


def rebuild(store: LanceChunkStore, changes: dict[str, Any]) -> dict[str, Any]:
    """The vector index rebuilt with the store's options changed by ``changes``."""
    opts = StoreOptions(**{**store.opts.model_dump(), **changes})
    config = vector_index_config(int(store.chunks.count_rows()), store.dim, opts)
    t = time.perf_counter()
    store.chunks.create_index("vector", config=config, replace=True)
    built = {"kind": type(config).__name__, "partitions": config.num_partitions,
             "build_s": round(time.perf_counter() - t, 1)}  # fmt: skip
    if hasattr(config, "num_sub_vectors"):
        built["sub_vectors"] = config.num_sub_vectors
    if hasattr(config, "num_bits"):
        built["bits"] = config.num_bits
    print(f"  built {built}", flush=True)
    return built


def choose(rows: list[dict[str, Any]], *, k: int, target: float) -> dict[str, Any] | None:
    """The cheapest (layout, nprobes, refine) reaching ``target`` recall@k with and without
    the filter; p50 summed over both."""
    cases: dict[tuple[str, int, int], list[dict[str, Any]]] = {}
    for row in rows:
        cases.setdefault((row["layout"], row["nprobes"], row["refine_rows"]), []).append(row)
    good = [(sum(r["p50_ms"] for r in rs), key, rs) for key, rs in cases.items()
            if len(rs) == 2 and all(r[f"recall@{k}"] >= target for r in rs)]  # fmt: skip
    if not good:
        return None
    _, (layout, nprobes, refine), rs = min(good, key=lambda g: g[0])
    return {
        "layout": layout, "nprobes": nprobes, "refine_rows": refine, "target": target,
        "recall": [r[f"recall@{k}"] for r in rs], "p50_ms": [r["p50_ms"] for r in rs],
    }  # fmt: skip


def recall(
    store: LanceChunkStore,
    vectors: np.ndarray,
    *,
    k: int = 10,
    depth: int = 50,
    layouts: Sequence[str] = (),
    target: float = 0.95,
    index_bytes: Callable[[], int] | None = None,
) -> dict[str, Any]:
    """Recall of the store's settings, the query-time sweep on its index, and the same sweep
    on each of ``layouts`` (rebuilt in turn; the store's own index is rebuilt at the end)."""
    exact = Exact(store, vectors, depth)
    out: dict[str, Any] = {"k": k, "depth": depth, "sample": len(vectors), "layouts": {}}
    if not has_vector_index(store):
        out["store"] = [{"date_filter": f, "recall": 1.0, "flat_p50_ms": exact.flat_ms[f],
                         "settings": "no vector index (exact)"} for f in (False, True)]  # fmt: skip
        return out
    out["store"] = store_recall(store, vectors, exact, k)
    opts = store.opts
    own = f"store's own: {opts.vector_index_kind} {opts.vector_partition_rows}/partition"
    if opts.vector_index_kind == "ivf_rq":
        own += f", {opts.vector_rq_bits} bit{'s' if opts.vector_rq_bits > 1 else ''}"
    out["layouts"][own] = {"index_bytes": index_bytes() if index_bytes else None}
    rows = sweep(store, vectors, exact, layout=own, k=k, depth=depth)
    for name in layouts:
        if StoreOptions(**{**opts.model_dump(), **LAYOUTS[name]}) == opts:
            continue  # the store's own, swept above
        built = rebuild(store, LAYOUTS[name])
        out["layouts"][name] = built | {"index_bytes": index_bytes() if index_bytes else None}
        rows += sweep(store, vectors, exact, layout=name, k=k, depth=depth)
    if layouts:
        out["layouts"][own] |= rebuild(store, {})
    out["sweep"] = rows
    out["chosen"] = choose(rows, k=k, target=target)
    print(f"  chosen: {out['chosen']}", flush=True)
    return out
