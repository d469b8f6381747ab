"""Latency and throughput of the REST API on loopback: ``/v1/search`` and ``/v1/ask`` (offline).

Starts ``archivist serve`` as a separate process on the sample index (built into a temporary
folder unless ``--db`` is given), waits for ``/readyz``, then for each endpoint and concurrency
runs that many client threads in a closed loop for ``--duration`` seconds, cycling through the
sample questions. Reports p50/p99 latency, requests per second and errors (any non-200 or
transport error), prints a Markdown table and writes JSON + Markdown to ``bench/results/``.

Client and server share the machine: on a small box the numbers include that contention.

    python bench/api_latency.py                      # 30 s per cell, concurrency 1 and 8
    python bench/api_latency.py --duration 5 --concurrency 1 2 4
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_docs"
KEY = "bench-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_index(db: Path) -> None:
    pdfs = [str(p) for p in sorted(SAMPLES.glob("*.pdf"))]
    subprocess.run(
        [sys.executable, "-m", "cli.main", "ingest", *pdfs, "--db", str(db), "--json"],
        cwd=REPO, check=True, capture_output=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip


def start_server(db: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ARCHIVIST_API_KEYS": KEY}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--db", str(db), "--port", str(port),
         "--log-level", "warning"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the server exited while starting")
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not become ready in 120 s")


def request_body(endpoint: str, question: str) -> dict[str, Any]:
    if endpoint == "search":
        return {"query": question, "k": 8}
    return {"question": question, "backend": "offline"}


def run_cell(
    url: str, endpoint: str, concurrency: int, duration: float, questions: list[str]
) -> dict[str, Any]:
    """``concurrency`` closed-loop clients on ``endpoint`` for ``duration`` seconds."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + duration

    def client(worker: int) -> None:
        headers = {"Authorization": f"Bearer {KEY}"}
        with httpx.Client(base_url=url, headers=headers, timeout=60) as c:
            i = worker
            while time.monotonic() < stop_at:
                body = request_body(endpoint, questions[i % len(questions)])
                i += concurrency
                started = time.perf_counter()
                try:
                    r = c.post(f"/v1/{endpoint}", json=body)
                    error = None if r.status_code == 200 else f"HTTP {r.status_code}"
                except httpx.HTTPError as e:
                    error = f"{type(e).__name__}: {e}"
                elapsed = time.perf_counter() - started
                with lock:
                    if error:
                        errors.append(error)
                    else:
                        latencies.append(elapsed)

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(w,)) for w in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    return summarise(endpoint, concurrency, wall, latencies, errors)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), math.ceil(q / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


def summarise(
    endpoint: str, concurrency: int, wall: float, latencies: list[float], errors: list[str]
) -> dict[str, Any]:
    ordered = sorted(latencies)
    return {
        "endpoint": f"/v1/{endpoint}",
        "concurrency": concurrency,
        "seconds": round(wall, 1),
        "requests": len(ordered) + len(errors),
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
        "rps": round(len(ordered) / wall, 2) if wall else 0.0,
        "p50_ms": round(percentile(ordered, 50) * 1000, 1),
        "p99_ms": round(percentile(ordered, 99) * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1) if ordered else None,
    }


def markdown(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        f"# API latency — {meta['date']}",
        "",
        f"Machine: {meta['machine']}; {meta['cpus']} CPUs; index: {meta['documents']} sample "
        f"documents; {meta['duration']} s per cell; client and server on the same machine.",
        "",
        "| endpoint | concurrency | requests | req/s | p50 ms | p99 ms | max ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['endpoint']} | {r['concurrency']} | {r['requests']} | {r['rps']} | "
            f"{r['p50_ms']} | {r['p99_ms']} | {r['max_ms']} | {r['errors']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, help="an existing index (default: sample docs)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per cell")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--endpoints", nargs="+", default=["search", "ask"])
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()

    questions = [q["question"] for q in json.loads((SAMPLES / "questions.json").read_text())]
    with tempfile.TemporaryDirectory(prefix="archivist-bench-") as tmp:
        db = args.db
        if db is None:
            db = Path(tmp) / "index"
            print("building the sample index...", file=sys.stderr)
            build_index(db)
        port = free_port()
        server = start_server(db, port)
        url = f"http://127.0.0.1:{port}"
        try:
            auth = {"Authorization": f"Bearer {KEY}"}
            documents = httpx.get(url + "/v1/documents", headers=auth).json()["total"]
            rows = []
            for endpoint in args.endpoints:
                run_cell(url, endpoint, 1, 2.0, questions)  # warm caches and code paths
                for concurrency in args.concurrency:
                    row = run_cell(url, endpoint, concurrency, args.duration, questions)
                    print(json.dumps(row), file=sys.stderr)
                    rows.append(row)
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)

    meta = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "documents": documents,
        "duration": args.duration,
    }
    report = markdown(rows, meta)
    print(report)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (args.out / f"api_latency-{stamp}.json").write_text(
        json.dumps({"meta": meta, "rows": rows}, indent=2), encoding="utf-8"
    )
    (args.out / f"api_latency-{stamp}.md").write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
