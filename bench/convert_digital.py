"""Digital pages, process to process: ``archivist convert`` against a pymupdf4llm script.

    .venv/bin/python bench/convert_digital.py [--runs 3] [--layout pymupdf none imf]
        [--pdfs PDF ...] [--out bench/results/convert_digital.json]

Each command starts a fresh Python process and converts the same PDFs (by default the 26 pages
of the six original docling test PDFs in ../shared/data/pdf/docling/pdf), so start-up and model
loading count as a user sees them. Every command runs ``--runs`` times, interleaved; the
minimum and median wall seconds and the CPU seconds (user + system of the child) are reported,
with the ratio of pymupdf4llm's median to ours. The load average is printed with the figures:
on a shared machine only same-run ratios compare.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCLING = REPO.parent / "shared" / "data" / "pdf" / "docling" / "pdf"
ORIGINAL_SIX = (
    "2305.03393v1-pg9.pdf",
    "amt_handbook_sample.pdf",
    "normal_4pages.pdf",
    "redp5110_sampled.pdf",
    "right_to_left_01.pdf",
    "table_mislabeled_as_picture.pdf",
)
P4LLM = (
    "import sys, pymupdf4llm\n"
    "for path in sys.argv[1:]:\n"
    "    pymupdf4llm.to_markdown(path, show_progress=False)\n"
)


def _run(cmd: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def commands(pdfs: list[Path], layouts: list[str], out: Path) -> dict[str, list[str]]:
    archivist = str(Path(sys.executable).with_name("archivist"))
    cmds = {
        f"archivist ({layout})": [
            archivist,
            "convert",
            *map(str, pdfs),
            "--out",
            str(out / layout),
            "--no-sidecar",
            "--layout",
            layout,
        ]
        for layout in layouts
    }
    cmds["pymupdf4llm"] = [sys.executable, "-c", P4LLM, *map(str, pdfs)]
    return cmds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--layout", nargs="+", default=["pymupdf", "none"])
    parser.add_argument("--pdfs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    pdfs = args.pdfs or [DOCLING / name for name in ORIGINAL_SIX]
    import pymupdf

    pages = sum(pymupdf.open(p).page_count for p in pdfs)
    env_note = f"{platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}"
    with tempfile.TemporaryDirectory() as tmp:
        cmds = commands(pdfs, args.layout, Path(tmp))
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in cmds}
        for _ in range(args.runs):
            for name, cmd in cmds.items():
                times[name].append(_run(cmd))
    rows = {}
    base = statistics.median(w for w, _ in times["pymupdf4llm"])
    for name, runs in times.items():
        walls = [w for w, _ in runs]
        median = statistics.median(walls)
        rows[name] = {
            "wall_min_s": round(min(walls), 2),
            "wall_median_s": round(median, 2),
            "cpu_median_s": round(statistics.median(c for _, c in runs), 2),
            "pages_per_s": round(pages / median, 2),
            "pymupdf4llm_over_this": round(base / median, 2),
        }
    env_note += f" → {os.getloadavg()[0]:.2f}"
    print(f"{len(pdfs)} PDFs, {pages} pages, {args.runs} runs each; {env_note}")
    print("| command | wall min s | wall median s | CPU s | pages/s | pymupdf4llm ÷ this |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, r in rows.items():
        print(
            f"| {name} | {r['wall_min_s']} | {r['wall_median_s']} | {r['cpu_median_s']} "
            f"| {r['pages_per_s']} | {r['pymupdf4llm_over_this']}× |"
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps({"machine": env_note, "pages": pages, "rows": rows}, indent=1)
        )


if __name__ == "__main__":
    main()
