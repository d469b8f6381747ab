"""Ingestion pages/min on this machine: the thread runner, a local Dask cluster of 1 worker and
of 2 workers, over the same folder (the sample PDFs copied until ``--docs`` documents, each copy
with distinct bytes so every one is converted and embedded).

Each configuration ingests into a fresh index with an empty result cache; the figures are the
flow's own seconds (cluster start and model loading in the workers included) and pages/min.

    python bench/ingest_dask.py --docs 40 --out bench/results

Runs against a temporary local Prefect API unless PREFECT_API_URL is set. Prints one JSON object
and writes it to ``--out/ingest_dask.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_docs"


def make_folder(root: Path, docs: int) -> None:
    """``docs`` PDFs: the samples in turn, each copy made unique by a trailing PDF comment."""
    pdfs = sorted(SAMPLES.glob("*.pdf"))
    root.mkdir(parents=True)
    for i in range(docs):
        src = pdfs[i % len(pdfs)]
        data = src.read_bytes() + f"\n% archivist bench copy {i}\n".encode()
        (root / f"{i:03d}-{src.name}").write_bytes(data)


def run(folder: Path, work: Path, runner: str, workers: int, concurrency: int) -> dict[str, object]:
    from flows.ingest import run_ingest

    os.environ["ARCHIVIST_DASK_WORKERS"] = str(workers)
    db = work / f"index-{runner}-{workers}"
    t0 = time.monotonic()
    report = run_ingest(str(folder), db=str(db), task_runner=runner, concurrency=concurrency)
    wall = time.monotonic() - t0
    return {
        "runner": runner if runner == "threads" else f"dask, {workers} worker(s)",
        "counts": report.counts,
        "pages": report.pages,
        "flow_seconds": round(report.seconds, 1),
        "wall_seconds": round(wall, 1),
        "pages_per_min": round(report.pages / report.seconds * 60, 1),
        "load_average_1m_after": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=40)
    ap.add_argument("--concurrency", type=int, default=2, help="documents in flight on threads")
    ap.add_argument("--out", type=Path, default=Path("bench/results"))
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work = Path(tempfile.mkdtemp(prefix="archivist-bench-dask-"))
    if "PREFECT_API_URL" not in os.environ:
        os.environ.setdefault("PREFECT_HOME", str(work / "prefect"))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    folder = work / "docs"
    make_folder(folder, args.docs)
    load_before = os.getloadavg()
    runs = [
        run(folder, work, "threads", 0, args.concurrency),
        run(folder, work, "dask", 1, args.concurrency),
        run(folder, work, "dask", 2, args.concurrency),
    ]
    result = {
        "machine": f"{platform.node()} ({os.cpu_count()} cores), {platform.python_version()}",
        "load_average_before": [round(x, 2) for x in load_before],
        "documents": args.docs,
        "runs": runs,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ingest_dask.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
