"""Figures for the vertical slice: embedding and search speed on this machine.

- embedding chunks/s with the default embedder over the chunks of the given PDFs;
- ``search`` (hybrid) latency over 100 queries against an index of those files.

Conversion speed (ours against ``pymupdf4llm.to_markdown``) is ``bench/convert_speed.py``.

    python bench/slice.py --pdfs ../shared/data/pdf/docling/pdf sample_docs --out bench/results

Prints one JSON object and writes it to ``--out/slice.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from pipeline.archive import Archive
from pipeline.chunk import chunk_markdown
from pipeline.convert import convert_document
from pipeline.models import SourceDocument
from pipeline.settings import Settings


def _pdfs(folders: list[Path]) -> list[Path]:
    return sorted(p for f in folders for p in (f.rglob("*.pdf") if f.is_dir() else [f]))


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench_embed(archive: Archive, pdfs: list[Path]) -> dict[str, float]:
    texts = []
    for p in pdfs:
        doc = convert_document(SourceDocument(uri=str(p), path=p))
        texts += [c.text for c in chunk_markdown(doc)]
    archive.embedder.embed_documents(texts[:4])  # warm-up
    seconds = _timed(lambda: archive.embedder.embed_documents(texts))
    return {"chunks": len(texts), "chunks_per_s": round(len(texts) / seconds, 1)}


def bench_search(archive: Archive, pdfs: list[Path], n: int = 100) -> dict[str, float]:
    archive.ingest(SourceDocument(uri=str(p), path=p) for p in pdfs)
    rows = archive.store.chunks.search().select(["text"]).limit(n).to_list()
    queries = [" ".join(r["text"].split()[:8]) for r in rows]
    while len(queries) < n:
        queries += queries[: n - len(queries)]
    archive.search(queries[0])  # warm-up: model and tables loaded
    latencies = []
    for q in queries[:n]:
        t0 = time.perf_counter()
        archive.search(q)
        latencies.append(1000 * (time.perf_counter() - t0))
    latencies.sort()
    return {
        "queries": n,
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(latencies[int(0.95 * n) - 1], 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--pdfs", type=Path, nargs="+", required=True)
    ap.add_argument("--out", type=Path, default=Path("bench/results"))
    args = ap.parse_args()
    pdfs = _pdfs(args.pdfs)
    with tempfile.TemporaryDirectory() as db:
        archive = Archive(Settings(db=db).options())
        result = {
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
            "files": len(pdfs),
            "embed": bench_embed(archive, pdfs),
            "search": bench_search(archive, pdfs),
        }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "slice.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
