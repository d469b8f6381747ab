"""Scale bench: build a synthetic N-chunk index in the store's own schema, index it with the
store's ``ensure_indexes`` and compact it (as ``maintain`` does), then time hybrid / vector /
full-text retrieval through ``pipeline.retrieve`` with and without a date filter, at several
client concurrencies (and hybrid / full-text p50 of the same run; ``scale_latency``), the
vector index's recall against exact search with the sweep that chose its defaults
(``scale_recall``), and a 10M projection from the sizes measured (``scale_report.project``).

How the data is made (and why vectors are synthetic) is in ``bench/scale_data.py``. Query vectors
are real: the query texts are embedded once with the default embedder and served from memory, so
the latencies are those of the index; one query embedding costs ``embed_query_ms`` on top.

    python bench/scale.py --n 100000 --db /tmp/archivist-scale/100k
    python bench/scale.py --n 1000000 --db /tmp/archivist-scale/1m --docs-per-batch 5000
    python bench/scale.py --n 100000 --db /tmp/archivist-scale/100k --reuse --layouts all
    python bench/scale_report.py            # table + plot from bench/results/scale-*.json

The database is large (≈ 4.6 GB per million chunks): keep it out of the repository (``--db``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale_data import batches, load_corpus, queries
from scale_latency import QueryVectors, latency, load, ratios
from scale_recall import LAYOUTS, has_vector_index, recall
from scale_report import write_projection

from pipeline.embed import make_embedder
from pipeline.models import EmbedOptions, StoreOptions
from pipeline.store import LanceChunkStore

REPO = Path(__file__).resolve().parents[1]


def rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def du(path: Path) -> int:
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0])


def disk(db: Path) -> dict[str, int]:
    sizes = {"total": du(db)}
    for table in db.glob("*.lance"):
        sizes[table.stem] = du(table)
        if (table / "_indices").exists():
            sizes[f"{table.stem}_indices"] = du(table / "_indices")
    return sizes


INDEX_FILES = {"invert": "fts", "index.idx": "vector", "bitmap": "bitmap", "page_data": "btree"}


def vector_index_bytes(db: Path) -> int:
    """Bytes of the newest vector index of the chunks table (a rebuilt one leaves the old
    folder until the table's old versions are cleaned up)."""
    indices = (db / "chunks.lance" / "_indices").glob("*")
    folders = [f for f in indices if (f / "index.idx").exists()]
    return du(max(folders, key=lambda f: f.stat().st_mtime)) if folders else 0


def index_sizes(db: Path) -> dict[str, int]:
    """Bytes of each kind of index (fts, vector, btree, bitmap), told apart by their files."""
    sizes: dict[str, int] = {}
    for folder in db.glob("*.lance/_indices/*"):
        names = " ".join(p.name for p in folder.iterdir())
        kind = next((k for marker, k in INDEX_FILES.items() if marker in names), "other")
        key = f"{folder.parent.parent.stem}.{kind}"
        sizes[key] = sizes.get(key, 0) + du(folder)
    return sizes


def bulk_load(args: argparse.Namespace, store: LanceChunkStore, corpus: Any) -> dict[str, Any]:
    """Write the synthetic rows through the store's tables in large Arrow batches (one
    ``add`` per batch: the bulk path, not ``write_document``'s per-document merge)."""
    gen_s = write_s = 0.0
    rows = 0
    it = batches(
        corpus, args.n, chunk_schema=store.chunks.schema, doc_schema=store.documents.schema,
        embedder=store.embedder, docs_per_batch=args.docs_per_batch, seed=args.seed,
    )  # fmt: skip
    while True:
        t = time.perf_counter()
        try:
            chunks, docs = next(it)
        except StopIteration:
            break
        gen_s += time.perf_counter() - t
        t = time.perf_counter()
        store.chunks.add(chunks)
        store.documents.add(docs)
        write_s += time.perf_counter() - t
        rows += chunks.num_rows
        print(f"  {rows:>9,} chunks  gen {gen_s:6.1f}s  write {write_s:6.1f}s", flush=True)
    return {
        "generate_s": round(gen_s, 1), "write_s": round(write_s, 1), "load_after_write": load(),
        "disk_after_write": disk(Path(args.db)),
    }  # fmt: skip


def index(args: argparse.Namespace, store: LanceChunkStore) -> dict[str, Any]:
    """``store.ensure_indexes()``, timing each index-building call it makes on the chunks table
    (the calls are wrapped on the table instance; the store's code is unchanged)."""
    out: dict[str, Any] = {}
    steps: list[dict[str, Any]] = []
    methods = ("create_index", "create_scalar_index", "create_fts_index", "optimize")
    originals = {
        (name, m): getattr(table, m)
        for name, table in (("chunks", store.chunks), ("documents", store.documents))
        for m in methods
        if hasattr(table, m)
    }

    def wrap(name: str, method: str) -> Callable[..., Any]:
        def call(*a: Any, **kw: Any) -> Any:
            t = time.perf_counter()
            result = originals[name, method](*a, **kw)
            column = kw.get("column") or kw.get("vector_column_name") or (a[0] if a else "")
            config = kw.get("config") or kw.get("index_type") or ""
            kind = config if isinstance(config, str) else type(config).__name__
            steps.append({"table": name, "call": method, "column": str(column), "kind": kind,
                          "s": round(time.perf_counter() - t, 1)})  # fmt: skip
            print(f"  {steps[-1]}", flush=True)
            return result

        return call

    tables = {"chunks": store.chunks, "documents": store.documents}
    for name, m in originals:
        setattr(tables[name], m, wrap(name, m))
    t = time.perf_counter()
    try:
        out["done"] = store.ensure_indexes()
    finally:
        for (name, m), fn in originals.items():
            setattr(tables[name], m, fn)
    out["ensure_indexes_s"] = round(time.perf_counter() - t, 1)
    if not args.no_compact:  # as maintain and periodic compaction leave a served index
        t = time.perf_counter()
        store.compact()
        out["compact_s"] = round(time.perf_counter() - t, 1)
    out["index_steps"] = steps
    out["indices"] = [
        {"name": ix.name, "type": str(ix.index_type), "columns": list(ix.columns)}
        for ix in store.chunks.list_indices()
    ]
    out["disk"] = disk(Path(args.db))
    out["index_sizes"] = index_sizes(Path(args.db))
    out["load_after_index"] = load()
    return out


def store_options(args: argparse.Namespace) -> StoreOptions:
    """The store's defaults, with the vector settings given on the command line."""
    flags = {
        "vector_index_min_rows": args.vector_min_rows,
        "vector_nprobes": args.nprobes,
        "vector_refine_rows": args.refine_rows,
        "vector_index_kind": args.index_kind,
    }
    return StoreOptions(uri=args.db, **{k: v for k, v in flags.items() if v is not None})


def measure_recall(
    args: argparse.Namespace, store: LanceChunkStore, vectors: np.ndarray
) -> dict[str, Any]:
    sample = vectors[: min(args.recall_sample, len(vectors))]
    layouts = list(LAYOUTS) if args.layouts == ["all"] else args.layouts
    out = recall(store, sample, layouts=layouts, target=args.recall_target,
                 index_bytes=lambda: vector_index_bytes(Path(args.db)))  # fmt: skip
    return out | {"load": load()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=100_000, help="chunks to generate")
    p.add_argument("--db", default="/tmp/archivist-scale/100k", help="index folder (big!)")
    p.add_argument("--cache", default="/tmp/archivist-scale/cache", help="centre embeddings")
    p.add_argument("--out", default=str(REPO / "bench" / "results"))
    p.add_argument("--docs-per-batch", type=int, default=2000, help="~10 chunks per document")
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--recall-sample", type=int, default=200)
    p.add_argument("--recall-target", type=float, default=0.95)
    p.add_argument("--layouts", nargs="*", default=[], metavar="LAYOUT",
                   help=f"index layouts to sweep too: all, or {'; '.join(LAYOUTS)}")  # fmt: skip
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--vector-min-rows", type=int, help="StoreOptions.vector_index_min_rows")
    p.add_argument("--index-kind", choices=("ivf_rq", "ivf_pq"), help="vector_index_kind")
    p.add_argument("--nprobes", type=int, help="StoreOptions.vector_nprobes")
    p.add_argument("--refine-rows", type=int, help="StoreOptions.vector_refine_rows")
    p.add_argument("--recall-only", action="store_true",
                   help="with --reuse: redo recall (and the sweep) into a result")  # fmt: skip
    p.add_argument("--no-compact", action="store_true", help="leave the bulk load's fragments")
    p.add_argument("--skip-recall", action="store_true", help="latency only (a quiet moment)")
    p.add_argument("--load-only", action="store_true", help="write the rows, then stop")
    p.add_argument("--index-only", action="store_true", help="build the indexes, then stop")
    p.add_argument("--tag", default="", help="suffix of the result file (scale-N-TAG.json)")
    p.add_argument("--reuse", action="store_true", help="keep an existing --db: index + query only")
    args = p.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    db = Path(args.db)
    result: dict[str, Any] = {
        "n_chunks": args.n, "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(), "load_at_start": load()},
        "command": " ".join(["python", *sys.argv]),
    }  # fmt: skip
    real = make_embedder(EmbedOptions())
    corpus = load_corpus(Path(args.cache), real)
    result["centres"] = {lang: len(v) for lang, v in corpus.vectors.items()}
    if not args.reuse and db.exists():
        shutil.rmtree(db)
    opts = store_options(args)
    result["store_options"] = opts.model_dump(mode="json", exclude={"storage_options", "api_key"})
    store = LanceChunkStore(opts, embedder=real.name, dim=real.dim)
    load_record = db / "bench-load.json"  # the load's timings, for a later --reuse run
    if not args.reuse:
        result["load"] = bulk_load(args, store, corpus)
        load_record.write_text(json.dumps(result["load"]))
    elif load_record.exists():
        result["load"] = json.loads(load_record.read_text())
    if args.load_only:
        return
    index_record = db / "bench-index.json"  # the build's timings, for a later --reuse run
    if not args.recall_only:
        result["index"] = index(args, store)
        if result["index"]["index_steps"] or not index_record.exists():
            index_record.write_text(json.dumps(result["index"]))
        else:  # nothing was left to build: keep the timings of the run that built them
            result["index"] = json.loads(index_record.read_text()) | {"reused": True}
    if args.index_only:
        return
    result["tag"] = args.tag
    result["rows"] = {
        "chunks": store.chunks.count_rows(),
        "documents": store.documents.count_rows(),
    }
    qs = queries(corpus, args.queries)
    texts = [q.strip() for q, _ in qs]
    vectors = real.embed_documents(texts)
    one = []
    for text in texts[:20]:  # what a live query adds: one embedding, unbatched
        t = time.perf_counter()
        real.embed_query(text)
        one.append((time.perf_counter() - t) * 1000)
    result["embed_query_ms"] = round(float(np.median(one)), 1)
    emb = QueryVectors(real.name, real.dim, dict(zip(texts, vectors, strict=True)))
    result["queries"] = {"n": len(texts), "en": sum(lang == "en" for _, lang in qs),
                         "date_window_years": 3}  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"scale-{args.n}{'-' + args.tag if args.tag else ''}.json"
    if args.recall_only:  # measure recall again into an earlier result of this --db
        earlier = json.loads(path.read_text()) if path.exists() else {**result, "index": {}}
        earlier["recall"] = measure_recall(args, store, vectors)
        path.write_text(json.dumps(earlier, indent=2, ensure_ascii=False))
        print(f"updated {path}")
        return
    print("latency", flush=True)
    result["latency"] = latency(store, emb, texts, args.concurrency)
    result["hybrid_over_fts"] = ratios(result["latency"])
    for r in result["hybrid_over_fts"]:
        print(f"  hybrid / full-text p50: {r}", flush=True)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False))  # kept should recall fail
    result["vector_index"] = has_vector_index(store)
    if not args.skip_recall:
        print("recall", flush=True)
        result["recall"] = measure_recall(args, store, vectors)
    result["max_rss_mb"] = rss_mb()
    result["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"wrote {path}")
    write_projection(out, args.tag)


if __name__ == "__main__":
    main()
