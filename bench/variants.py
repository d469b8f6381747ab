"""What grouping versions of one story costs: ingest time with and without it, and search time
with one hit per story and with every version.

    python bench/variants.py [--corpus evals/data/wire/corpus.jsonl] [--repeat 3]
    python bench/variants.py --index .archivist/eval-cache/index-…   # searches only, PIAF-sized

Ingests the corpus into fresh indexes, grouping on then off, ``--repeat`` times (the embedder
is loaded first, so both pay only for ingestion; medians reported), then times each query of
``queries.jsonl`` beside the corpus in both search modes, ``--repeat`` times, and prints
medians. With ``--index``, the searches run on an existing index instead (its own embedder),
and ``recluster`` is timed on it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from evals.beir import load_beir
from evals.collection import eval_sources
from pipeline.archive import Archive
from pipeline.settings import Settings

REPO = Path(__file__).resolve().parents[1]


def _archive(db: str, *, grouping: bool) -> Archive:
    options = Settings(db=db).options()
    variants = options.store.variants.model_copy(update={"enabled": grouping})
    return Archive(options._replace(store=options.store.model_copy(update={"variants": variants})))


def _searches(archive: Archive, queries: list[str], repeat: int) -> dict[str, float]:
    timings: dict[str, list[float]] = {"one per story": [], "every version": []}
    archive.search(queries[0])  # warm: model, tables
    for _ in range(repeat):
        for query in queries:
            for name, every in (("one per story", False), ("every version", True)):
                t0 = time.perf_counter()
                archive.search(query, k=10, all_variants=every)
                timings[name].append(time.perf_counter() - t0)
    return {name: 1000 * statistics.median(values) for name, values in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO / "evals/data/wire/corpus.jsonl")
    parser.add_argument("--index", type=Path, help="time searches and recluster on this index")
    parser.add_argument("--queries", type=Path, help="queries.jsonl (default: beside corpus)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    queries_path = args.queries or args.corpus.parent / "queries.jsonl"
    queries = [json.loads(line)["text"] for line in queries_path.read_text().splitlines()]
    out: dict[str, object] = {}
    if args.index:
        archive = _archive(str(args.index), grouping=True)
        out["search_ms_median"] = _searches(archive, queries, args.repeat)
        t0 = time.perf_counter()
        placed = archive.store.variants.recluster()
        out["recluster"] = {"documents": placed, "seconds": round(time.perf_counter() - t0, 1)}
    else:
        dataset = load_beir(args.corpus, queries_path)
        sources = [src for src, _ in eval_sources(dataset)]
        ingest: dict[str, list[float]] = {"on": [], "off": []}
        with tempfile.TemporaryDirectory() as tmp:
            for run in range(args.repeat):  # on and off in turn: the load changes as they run
                for grouping in (True, False):
                    archive = _archive(f"{tmp}/{run}-{grouping}", grouping=grouping)
                    archive.embedder.embed_query("warm")
                    t0 = time.perf_counter()
                    archive.ingest(sources)
                    ingest["on" if grouping else "off"].append(time.perf_counter() - t0)
                    if grouping and run == 0:
                        out["search_ms_median"] = _searches(archive, queries, args.repeat)
        for name, values in ingest.items():
            out[f"ingest_s_grouping_{name}"] = [round(v, 2) for v in values]
            out[f"ingest_s_grouping_{name}_median"] = round(statistics.median(values), 2)
        out["documents"] = len(sources)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
