"""Profile hybrid queries on a scale-bench index (``bench/scale.py`` builds it): where one query's
time goes, in our layer and in LanceDB's.

Two views of the same queries:

- phases: wall time of each step of ``pipeline.retrieve`` (language, both rankers' candidates,
  fusion, reading the winners' rows, building the hits), taken by wrapping the functions the
  query calls, p50 over the queries;
- cProfile of the calling thread (LanceDB's own work runs on its threads and shows here as the
  time spent waiting for it), top functions by cumulative time.

    python bench/scale_profile.py --db /tmp/archivist-scale/100k --queries 50
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale_data import load_corpus, queries
from scale_latency import QueryVectors, load

import pipeline.retrieve.search as search
from pipeline.embed import make_embedder
from pipeline.models import EmbedOptions, RetrieveOptions, StoreOptions
from pipeline.retrieve import retrieve
from pipeline.store import LanceChunkStore


def _timed(spent: dict[str, list[float]], name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*a: Any, **kw: Any) -> Any:
        t = time.perf_counter()
        try:
            return fn(*a, **kw)
        finally:
            spent[name].append((time.perf_counter() - t) * 1000)

    return call


def _timed_async(
    spent: dict[str, list[float]], name: str, fn: Callable[..., Any]
) -> Callable[..., Any]:
    async def call(*a: Any, **kw: Any) -> Any:
        t = time.perf_counter()
        try:
            return await fn(*a, **kw)
        finally:
            spent[name].append((time.perf_counter() - t) * 1000)

    return call


def _timed_maker(
    spent: dict[str, list[float]], name: str, fn: Callable[..., Any]
) -> Callable[..., Any]:
    """``fn`` makes a ranker (a coroutine function): time the ranker's runs."""

    def make(*a: Any, **kw: Any) -> Any:
        return _timed_async(spent, name, fn(*a, **kw))

    return make


def phases(store: LanceChunkStore, emb: QueryVectors, texts: list[str]) -> dict[str, float]:
    """p50 ms of each step of ``retrieve`` over ``texts`` (hybrid, no filter). Indented steps
    run on LanceDB's event loop, and overlap one another."""
    spent: dict[str, list[float]] = defaultdict(list)
    reader = store.reader
    wrapped: dict[tuple[Any, str], tuple[str, Callable[..., Any]]] = {
        (search, "question_language"): ("language", _timed),
        (reader, "_rankers"): ("both rankers", _timed),
        (reader, "_fts"): ("  full-text query", _timed_maker),
        (reader, "_vector"): ("  vector query", _timed_maker),
        (search, "_fuse"): ("fusion", _timed),
        (reader, "_shown"): ("  visibility lookup", _timed_async),
        (reader, "_members"): ("  documents (visibility, stories)", _timed_async),
        (search, "group_variants"): ("grouping", _timed),
        (reader, "_take"): ("  rows read", _timed_async),
        (reader, "_versions"): ("  versions read (stories of several documents)", _timed_async),
        (search, "_hits"): ("hits", _timed),
    }
    originals = {key: getattr(*key) for key in wrapped}
    for (owner, attr), (name, wrap) in wrapped.items():
        setattr(owner, attr, wrap(spent, name, originals[owner, attr]))
    try:
        for text in texts:
            t = time.perf_counter()
            retrieve(text, store=store, embedder=emb, opts=RetrieveOptions())
            spent["whole query"].append((time.perf_counter() - t) * 1000)
    finally:
        for owner, attr in originals:
            if owner is reader:
                delattr(owner, attr)  # back to the class's method
            else:
                setattr(owner, attr, originals[owner, attr])
    return {name: round(float(np.median(ms)), 2) for name, ms in spent.items()}


def profile(store: LanceChunkStore, emb: QueryVectors, texts: list[str], top: int) -> str:
    prof = cProfile.Profile()
    prof.enable()
    for text in texts:
        retrieve(text, store=store, embedder=emb, opts=RetrieveOptions())
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out).strip_dirs().sort_stats("cumulative")
    stats.print_stats(top)
    return out.getvalue()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", default="/tmp/archivist-scale/100k")
    p.add_argument("--cache", default="/tmp/archivist-scale/cache")
    p.add_argument("--queries", type=int, default=50)
    p.add_argument("--top", type=int, default=30, help="cProfile rows shown")
    args = p.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    real = make_embedder(EmbedOptions())
    corpus = load_corpus(Path(args.cache), real)
    texts = [q.strip() for q, _ in queries(corpus, args.queries)]
    vectors = real.embed_documents(texts)
    emb = QueryVectors(real.name, real.dim, dict(zip(texts, vectors, strict=True)))
    store = LanceChunkStore(StoreOptions(uri=args.db), embedder=real.name, dim=real.dim)
    for text in texts[:10]:  # warm caches
        retrieve(text, store=store, embedder=emb)
    print(f"rows {store.chunks.count_rows():,}  queries {len(texts)}  load {load()}")
    print("phases, p50 ms:")
    for name, ms in phases(store, emb, texts).items():
        print(f"  {name:28s} {ms:8.2f}")
    print(profile(store, emb, texts, args.top))
    print(f"load {load()}")


if __name__ == "__main__":
    main()
