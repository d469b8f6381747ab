"""How long a cited page image takes to load: the first request (rendered) and the ones after it.

Starts ``archivist serve`` on the sample index (built into a temporary folder unless ``--db`` is
given), asks each sample question once to get its citations' ``page_image`` URLs, then for each
distinct page measures the first GET (PyMuPDF renders it and caches the PNG) and ``--repeat``
GETs after it (from the cache), as a browser would load them: a fresh connection each time, the
API key in the header, no ``If-None-Match``. Prints a Markdown table and writes JSON + Markdown to
``bench/results/``. The client shares the machine with the server.

    python bench/page_images.py                    # sample index, 20 repeats per page
    python bench/page_images.py --db .archivist --repeat 50
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_latency import KEY, REPO, build_index, free_port, start_server

QUESTIONS = REPO / "sample_docs" / "questions.json"


def page_urls(url: str) -> list[str]:
    """The distinct ``page_image`` URLs of the citations of every sample question."""
    questions = [q["question"] for q in json.loads(QUESTIONS.read_text(encoding="utf-8"))]
    headers = {"Authorization": f"Bearer {KEY}"}
    seen: dict[str, None] = {}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        for question in questions:
            body = client.post("/v1/ask", json={"question": question}).json()
            for citation in body["citations"]:
                seen[citation["page_image"]] = None
    return list(seen)


def timed_get(page: str) -> tuple[float, int, int]:
    """(milliseconds, status, bytes) of one GET on a new connection, body read in full."""
    started = time.perf_counter()
    r = httpx.get(page, headers={"Authorization": f"Bearer {KEY}"}, timeout=60)
    return (time.perf_counter() - started) * 1000, r.status_code, len(r.content)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(url: str, repeat: int) -> dict[str, Any]:
    first: list[float] = []
    after: list[float] = []
    sizes: list[int] = []
    errors = 0
    for page in page_urls(url):
        ms, status, size = timed_get(page)
        first.append(ms)
        sizes.append(size)
        errors += status != 200
        for _ in range(repeat):
            ms, status, _size = timed_get(page)
            after.append(ms)
            errors += status != 200
    return {
        "pages": len(first),
        "repeat": repeat,
        "errors": errors,
        "first_ms": {"p50": statistics.median(first), "max": max(first)},
        "after_ms": {
            "p50": statistics.median(after),
            "p95": percentile(after, 0.95),
            "max": max(after),
        },
        "png_kb": {"mean": statistics.mean(sizes) / 1024, "max": max(sizes) / 1024},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, help="an existing index (default: samples, temporary)")
    parser.add_argument("--repeat", type=int, default=20, help="GETs of each page after the first")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="archivist-pages-"))
    db = args.db or tmp / "index"
    if args.db is None:
        build_index(db)
    os.environ["ARCHIVIST_API_PAGE_CACHE_DIR"] = str(tmp / "page-images")  # start cold
    port = free_port()
    proc = start_server(db, port)
    try:
        result = run(f"http://127.0.0.1:{port}", args.repeat)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
    result["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}"
    result["load_average"] = os.getloadavg()
    first, after = result["first_ms"], result["after_ms"]
    table = (
        "| pages | first load p50 / max (ms) | later loads p50 / p95 / max (ms) | PNG kB |\n"
        "|---|---|---|---|\n"
        f"| {result['pages']} | {first['p50']:.0f} / {first['max']:.0f} | "
        f"{after['p50']:.1f} / {after['p95']:.1f} / {after['max']:.1f} | "
        f"{result['png_kb']['mean']:.0f} |\n"
    )
    note = (
        f"\n{result['repeat']} loads after the first per page, {result['errors']} errors; "
        f"{result['machine']}, load average {result['load_average'][0]:.2f}\n"
    )
    print(table + note)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    (args.out / f"page_images-{stamp}.json").write_text(json.dumps(result, indent=2))
    (args.out / f"page_images-{stamp}.md").write_text(table + note)


if __name__ == "__main__":
    main()
