"""Figures for the ingest flow and the drop-folder watcher on this machine.

- first run of the ingest flow over a 200-page mixed folder (the sample PDFs, generated
  multi-page PDFs, Markdown and text files): pages/min, inside the flow and wall-clock;
- second run over the unchanged folder: seconds, and how many conversions and embeddings ran
  (counted by wrapping the real functions: both must be 0);
- drop-to-searchable latency for one PDF: from the moment it appears in the drop folder
  (an atomic rename) to the moment a full-text search finds it, with the default settle time.

    python bench/ingest_flow.py --out bench/results

Runs against a temporary local Prefect API unless PREFECT_API_URL is set. Prints one JSON
object and writes it to ``--out/ingest_flow.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pymupdf

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_docs"


def _paragraphs() -> list[str]:
    """Paragraphs of the sample corpus (realistic French and English press prose)."""
    sys.path.insert(0, str(SAMPLES))
    import articles  # the sample corpus texts (CC0)

    out = []
    for value in vars(articles).values():
        if isinstance(value, articles.Article):
            for block in value.body.split("\n\n"):
                text = " ".join(block.split())
                if len(text) > 120 and not text.startswith(("|", "-", "#", "===")):
                    out.append(text)
    return out


def _write_pdf(path: Path, pages: int, rng: random.Random, paragraphs: list[str]) -> None:
    doc = pymupdf.open()
    for n in range(1, pages + 1):
        body = "".join(f"<p>{p}</p>" for p in rng.sample(paragraphs, 4))
        page = doc.new_page()
        page.insert_htmlbox(pymupdf.Rect(56, 56, 540, 790), f"<h2>{path.stem}, part {n}</h2>{body}")
    doc.save(path)
    doc.close()


def make_folder(root: Path, target_pages: int = 200) -> int:
    """The mixed folder: sample PDFs + generated PDFs + Markdown/text; returns its page count."""
    rng = random.Random(1983)
    paragraphs = _paragraphs()
    root.mkdir(parents=True)
    pages = 0
    for pdf in sorted(SAMPLES.glob("*.pdf")):
        shutil.copy(pdf, root / pdf.name)
        with pymupdf.open(pdf) as doc:
            pages += doc.page_count
    for i in range(9):  # one page each
        suffix = ".md" if i % 2 else ".txt"
        heading = f"# Note {i}\n\n" if suffix == ".md" else ""
        text = heading + "\n\n".join(rng.sample(paragraphs, 3)) + "\n"
        (root / f"note-{i}{suffix}").write_text(text, encoding="utf-8")
        pages += 1
    i = 0
    while pages < target_pages:
        n = min(15, target_pages - pages)
        _write_pdf(root / f"dossier-{i:02d}.pdf", n, rng, paragraphs)
        pages += n
        i += 1
    return pages


def count_work(db: str) -> Counter[str]:
    """Wrap conversion and embedding so every call is counted."""
    import pipeline.ingest.steps as ingest_module  # where the engine's step finds it
    from flows.runtime import archive_for

    calls: Counter[str] = Counter()
    convert = ingest_module.convert_document
    embedder = archive_for(db).embedder
    embed = embedder.embed_documents

    def counted_convert(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["conversions"] += 1
        return convert(*args, **kwargs)

    def counted_embed(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["embedding_calls"] += 1
        return embed(*args, **kwargs)

    ingest_module.convert_document = counted_convert  # type: ignore[assignment]
    embedder.embed_documents = counted_embed  # type: ignore[method-assign]
    return calls


def drop_latency(db: str, work: Path, runs: int, settle_s: float) -> list[float]:
    """Seconds from a PDF appearing in the drop folder to a full-text hit on it."""
    from flows.runtime import archive_for
    from flows.watch import DropFolderWatcher, WatchOptions

    archive = archive_for(db)
    drop = work / "drop"
    drop.mkdir()
    stop = threading.Event()
    watcher = DropFolderWatcher(drop, archive, WatchOptions(settle_s=settle_s))
    thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
    thread.start()
    latencies = []
    try:
        for i in range(runs):
            word = f"zorglub{i}quartz"
            tmp = work / f"incoming-{i}.pdf"
            doc = pymupdf.open()
            doc.new_page().insert_htmlbox(
                pymupdf.Rect(56, 56, 540, 790),
                f"<h1>Late dispatch {i}</h1><p>The {word} committee met on Tuesday.</p>",
            )
            doc.save(tmp)
            doc.close()
            start = time.monotonic()
            os.replace(tmp, drop / tmp.name)
            while not any(word in h.chunk.text for h in archive.search(word, k=1, mode="fts")):
                if time.monotonic() - start > 120:
                    raise RuntimeError("the dropped PDF never became searchable")
                time.sleep(0.05)
            latencies.append(time.monotonic() - start)
    finally:
        stop.set()
        thread.join(timeout=30)
    return latencies


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("bench/results"))
    ap.add_argument("--pages", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--drops", type=int, default=3, help="PDFs dropped for the latency figure")
    ap.add_argument("--settle", type=float, default=2.0, help="watcher settle time (default 2s)")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work = Path(tempfile.mkdtemp(prefix="archivist-bench-"))
    if "PREFECT_API_URL" not in os.environ:
        os.environ.setdefault("PREFECT_HOME", str(work / "prefect"))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from flows.ingest import run_ingest

    folder, db = work / "mixed", str(work / "index")
    pages = make_folder(folder, args.pages)
    calls = count_work(db)

    t0 = time.monotonic()
    first = run_ingest(str(folder), db=db, concurrency=args.concurrency)
    first_wall = time.monotonic() - t0
    first_calls = dict(calls)
    calls.clear()
    t0 = time.monotonic()
    second = run_ingest(str(folder), db=db, concurrency=args.concurrency)
    second_wall = time.monotonic() - t0
    second_calls = Counter(calls)  # before the latency runs, whose searches embed queries
    latencies = drop_latency(db, work, args.drops, args.settle)

    result = {
        "machine": f"{platform.node()} ({os.cpu_count()} cores), {platform.python_version()}",
        "load_average_1m": os.getloadavg()[0],
        "folder": {"documents": len(first.results), "pages": pages, "indexed_pages": first.pages},
        "first_run": {
            "counts": first.counts,
            "flow_seconds": round(first.seconds, 1),
            "wall_seconds_with_prefect_start": round(first_wall, 1),
            "pages_per_min": round(first.pages / first.seconds * 60, 1),
            **first_calls,
        },
        "second_run": {
            "counts": second.counts,
            "flow_seconds": round(second.seconds, 2),
            "wall_seconds": round(second_wall, 2),
            "conversions": second_calls["conversions"],
            "embedding_calls": second_calls["embedding_calls"],
        },
        "drop_to_searchable_s": {
            "settle_s": args.settle,
            "runs": [round(x, 2) for x in latencies],
            "median": round(statistics.median(latencies), 2),
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ingest_flow.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
