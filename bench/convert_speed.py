"""Conversion speed: digital pages/s against pymupdf4llm, routing cost, scanned pages/s, memory.

    .venv/bin/python bench/convert_speed.py
        [--sections digital,routing,scanned,stages,memory,engines]
        [--scanned-pages 6] [--dpi 150 200] [--precision fp32 int8]
        [--engines rapidocr fast routed] [--repeat 2] [--out bench/results/convert_speed.json]

Digital: every page of ../shared/data/pdf/docling/pdf and sample_docs/, converted by archivist
(text layer only, then the default ``--ocr auto``) and by ``pymupdf4llm.to_markdown``.
Routing: ``route_page`` alone on the same pages (what "auto" adds to a digital page).
Scanned: pages of those PDFs rendered to 150 dpi images and stored as image-only PDFs, read by
RapidOCR with 2 threads (1 worker) and with 2 workers of 1 thread, with the float recogniser
and the 8-bit one (``ocr_precision="int8"``; quantised on first use, outside the timing).
Stages: where a scanned page's time goes, in CPU seconds per page with one thread (render,
text detection, orientation check, line recognition; the rest of ``convert_document`` is
layout): the same pages plus the image-only edgar page from ../shared/data/pdf/olmocr-labelled.
Engines: the OCR engines side by side in one run (``--engines``: rapidocr, fast, fast-small,
routed, routed-small), each run ``--repeat`` times, on the noisy French scans of
``bench/noisy_scans.py`` (made on first use under bench/results/noisy_fr) and on the shared
scanned pages with a truth (docling's ocr_test at four angles, olmOCR's edgar_image): pages/s and
CPU-s per page converting the pages as one document with 2 workers × 1 thread, char accuracy and
accent recall (``bench/scan_quality.py``), and for ``routed`` the lines read a second time. The
closing Markdown table keeps each engine's least disturbed attempt (lowest CPU-s per page).
Memory: peak resident memory of converting generated PDFs, 500 digital pages against 50, and 16
scanned pages against 4 (flat memory: pages stream through; the peak is reset before each run).
Numbers depend on the machine and on what else runs on it: the script prints the CPU count and
the load average with every run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import pymupdf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.convert import convert_document  # noqa: E402
from pipeline.convert.pdf_lines import TEXT_FLAGS, read_text_layer  # noqa: E402
from pipeline.convert.route import route_page  # noqa: E402
from pipeline.models import ConvertOptions, SourceDocument  # noqa: E402

DOCLING = REPO.parent / "shared" / "data" / "pdf" / "docling" / "pdf"
SAMPLES = REPO / "sample_docs"
EDGAR_SCAN = REPO.parent / "shared" / "data" / "pdf" / "olmocr-labelled" / "edgar_image.pdf"


def digital_pdfs() -> list[Path]:
    return sorted(DOCLING.glob("*.pdf")) + sorted(SAMPLES.glob("*.pdf"))


def _pages(paths: list[Path]) -> int:
    return sum(pymupdf.open(p).page_count for p in paths)


def _timed(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench_digital(paths: list[Path]) -> dict[str, float]:
    pages = _pages(paths)

    def ours(opts: ConvertOptions) -> None:
        for p in paths:
            convert_document(SourceDocument(uri=p.as_uri(), path=p), opts)

    def p4llm() -> None:
        import pymupdf4llm

        with contextlib.redirect_stdout(io.StringIO()):
            for p in paths:
                pymupdf4llm.to_markdown(str(p), show_progress=False)

    ours(ConvertOptions(ocr="auto"))  # warm caches and the OCR model for picture regions
    text_only = _timed(lambda: ours(ConvertOptions(ocr="never")))
    auto = _timed(lambda: ours(ConvertOptions()), repeat=1)
    baseline = _timed(p4llm, repeat=1)
    return {
        "pages": pages,
        "archivist_text_pages_per_s": pages / text_only,
        "archivist_text_ms_per_page": 1000 * text_only / pages,
        "archivist_auto_pages_per_s": pages / auto,
        "pymupdf4llm_pages_per_s": pages / baseline,
    }


def bench_routing(paths: list[Path]) -> dict[str, float]:
    opts = ConvertOptions()
    pages = []
    for p in paths:
        doc = pymupdf.open(p)
        pages += [
            (page, read_text_layer(page, page.get_textpage(flags=TEXT_FLAGS))) for page in doc
        ]
    digital = [
        (page, layer) for page, layer in pages if route_page(page, layer, opts).method == "text"
    ]

    def run() -> None:
        for page, layer in digital:
            route_page(page, layer, opts)

    seconds = _timed(run, repeat=5)
    return {
        "digital_pages": len(digital),
        "routing_ms_per_digital_page": 1000 * seconds / len(digital),
    }


def scanned_pdf(paths: list[Path], count: int, dpi: int = 150) -> bytes:
    """Image-only copies of the first ``count`` pages with text, rendered at ``dpi``."""
    out = pymupdf.open()
    for p in paths:
        for page in pymupdf.open(p):
            if len(out) >= count:
                return out.tobytes()
            if len(page.get_text().strip()) < 200:
                continue
            pix = page.get_pixmap(dpi=dpi)
            new = out.new_page(width=page.rect.width, height=page.rect.height)
            new.insert_image(new.rect, pixmap=pix)
    return out.tobytes()


def bench_scanned(
    paths: list[Path], count: int, dpis: list[int], precisions: list[str]
) -> dict[str, float]:
    data = scanned_pdf(paths, count)
    src = SourceDocument(uri="mem://scanned.pdf", data=data)
    n = pymupdf.open("pdf", data).page_count
    result: dict[str, float] = {"pages": n}
    for precision in precisions:
        for workers, threads in ((1, 2), (2, 1)):  # load (or quantise) the models first
            warm = ConvertOptions(
                ocr="always",
                engine="rapidocr",
                workers=workers,
                ocr_threads=threads,
                ocr_precision=precision,
            )
            convert_document(src, warm)
    configs = [(dpi, w, t, p) for p in precisions for dpi in dpis for w, t in ((1, 2), (2, 1))]
    for dpi, workers, threads, precision in configs:
        opts = ConvertOptions(
            engine="rapidocr",
            dpi=dpi,
            workers=workers,
            ocr_threads=threads,
            ocr_precision=precision,
        )
        cpu = time.process_time()
        seconds = _timed(lambda opts=opts: convert_document(src, opts), repeat=1)
        cpu = time.process_time() - cpu
        key = f"{dpi}dpi_{workers}w{threads}t" + ("" if precision == "fp32" else f"_{precision}")
        result[f"pages_per_s_{key}"] = n / seconds
        # CPU seconds per page: what an idle machine's cores would each spend
        result[f"cpu_s_per_page_{key}"] = cpu / n
    return result


def bench_stages(paths: list[Path], count: int, dpi: int, precision: str) -> dict[str, float]:
    """CPU seconds per scanned page in each OCR stage, one thread (what each core must spend)."""
    import numpy as np

    from pipeline.convert.pdf_ocr import render_page
    from pipeline.ocr.rapid import RapidOcrEngine, _detect, _orientation

    docs = [pymupdf.open("pdf", scanned_pdf(paths, count, dpi))]
    if EDGAR_SCAN.exists():
        docs.append(pymupdf.open(EDGAR_SCAN))
    engine = RapidOcrEngine(threads=1, device="cpu", precision=precision)
    det, cls, rec = engine._models()
    totals = dict.fromkeys(("render", "detect", "orientation", "recognise", "whole_page"), 0.0)
    lines = 0
    pages = [page for doc in docs for page in doc]
    engine.predict_batch([render_page(pages[0], dpi)])  # warm the sessions
    for page in pages:
        marks = [time.process_time()]
        image = render_page(page, dpi)
        pixels = np.ascontiguousarray(image.pixels[:, :, :3])
        marks.append(time.process_time())
        boxes = _detect(det, pixels)
        marks.append(time.process_time())
        _orientation(pixels, boxes, cls, rec)
        marks.append(time.process_time())
        lines += len(engine._recognise(rec, pixels, boxes))
        marks.append(time.process_time())
        for key, start, end in zip(totals, marks, marks[1:], strict=False):
            totals[key] += end - start
    for page in pages:  # the whole conversion, layout included, for the remainder
        single = pymupdf.open()
        single.insert_pdf(page.parent, from_page=page.number, to_page=page.number)
        data = single.tobytes()
        start = time.process_time()
        convert_document(
            SourceDocument(uri="mem://page.pdf", data=data),
            ConvertOptions(
                ocr="always",
                engine="rapidocr",
                dpi=dpi,
                workers=1,
                ocr_threads=1,
                ocr_precision=precision,
            ),
        )
        totals["whole_page"] += time.process_time() - start
    n = len(pages)
    result = {f"cpu_s_per_page_{key}": value / n for key, value in totals.items()}
    return {"pages": n, "dpi": dpi, "precision": precision, "lines_per_page": lines / n, **result}


_CHILD = """
import sys, pymupdf
sys.path.insert(0, {repo!r})
from pipeline.convert import convert_document
from pipeline.models import SourceDocument, ConvertOptions


def peak_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024


doc = pymupdf.open()
for i in range({pages}):
    page = doc.new_page()
    page.insert_text((72, 72), f"Page {{i}} heading", fontsize=16)
    page.insert_textbox(pymupdf.Rect(72, 100, 540, 720), ("Body text of the page. " * 150))
    if {scanned}:
        pix = page.get_pixmap(dpi=150)
        page.clean_contents()
        page.add_redact_annot(page.rect)
        page.apply_redactions()
        page.insert_image(page.rect, pixmap=pix)
data = doc.tobytes(); doc.close()
convert_document(SourceDocument(uri="mem://warm.pdf", data=data[:]), ConvertOptions(), )
with open("/proc/self/clear_refs", "w") as f:  # reset the peak: measure conversion alone
    f.write("5")
convert_document(SourceDocument(uri="mem://long.pdf", data=data), ConvertOptions())
print(peak_mib())
"""


def _peak(pages: int, scanned: bool) -> float:
    code = _CHILD.format(repo=str(REPO), pages=pages, scanned=scanned)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def bench_memory() -> dict[str, float]:
    """Peak resident memory of one conversion (the process's peak reset just before it)."""
    return {
        "peak_mib_digital_50_pages": _peak(50, False),
        "peak_mib_digital_500_pages": _peak(500, False),
        "peak_mib_scanned_4_pages": _peak(4, True),
        "peak_mib_scanned_16_pages": _peak(16, True),
    }


ENGINES = {  # name in the report: (engine kind, fast model)
    "rapidocr": ("rapidocr", "tiny"),
    "fast": ("fast", "tiny"),
    "fast-small": ("fast", "small"),
    "routed": ("routed", "tiny"),
    "routed-small": ("routed", "small"),
}


def bench_engines(names: list[str], repeat: int) -> dict[str, object]:
    """Each OCR engine side by side, ``repeat`` times, on the noisy French scans and the shared
    scanned pages: pages/s, CPU-s per page, char accuracy, accent recall, second-pass lines."""
    from bench.scan_quality import noisy_set, run_engine, shared_set

    sets = {"noisy_fr": noisy_set(), "shared_scans": shared_set()}
    runs: list[dict[str, object]] = []
    for attempt in range(repeat):
        for name in names:
            kind, model = ENGINES[name]
            opts = ConvertOptions(engine=kind, ocr_model=model, workers=2, ocr_threads=1)
            for set_name, (pdfs, truths) in sets.items():
                load = os.getloadavg()[0]
                row = run_engine(name, opts, pdfs, truths).row()
                row.update({"set": set_name, "attempt": attempt + 1, "load_1min": load})
                runs.append(row)
                print(_engine_line(row), flush=True)
    return {"runs": runs, "table": engine_table(runs)}


def _engine_line(row: dict[str, object]) -> str:
    return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())


def _num(value: object) -> str:
    return "–" if value is None else f"{value:.3f}"


def engine_table(runs: list[dict[str, object]]) -> str:
    """A Markdown table, one row per engine and set: the best CPU-s of the attempts (the least
    disturbed by other jobs), the pages/s of that attempt, and the accuracy (the same each run)."""
    best: dict[tuple[str, str], dict[str, object]] = {}
    for row in runs:
        key = (str(row["set"]), str(row["engine"]))
        if key not in best or float(row["cpu_s_per_page"]) < float(best[key]["cpu_s_per_page"]):  # type: ignore[arg-type]
            best[key] = row
    lines = [
        "| set | engine | CPU-s/page | pages/s (load) | char acc. all / text / table pages "
        "| accent recall | œæïëü words | 2nd-pass lines |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for (set_name, engine), r in sorted(best.items()):
        second = "" if r["lines"] is None else f"{r['second_pass_lines']}/{r['lines']}"
        lines.append(
            f"| {set_name} | {engine} | {r['cpu_s_per_page']:.2f} | "
            f"{r['pages_per_s']:.2f} ({r['load_1min']:.1f}) | {_num(r['char_accuracy'])} / "
            f"{_num(r['char_accuracy_text_pages'])} / {_num(r['char_accuracy_table_pages'])} | "
            f"{_num(r['accent_recall'])} | {_num(r['lost_recall'])} | {second} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sections", default="digital,routing,scanned,stages,memory,engines")
    parser.add_argument("--engines", nargs="+", default=["rapidocr", "fast", "routed"])
    parser.add_argument("--repeat", type=int, default=2, help="runs of the engines section")
    parser.add_argument("--scanned-pages", type=int, default=6)
    parser.add_argument("--dpi", type=int, nargs="+", default=[150, 200])
    parser.add_argument(
        "--precision",
        nargs="+",
        default=["fp32", "int8"],
        help="OCR recogniser precisions for the scanned and stages sections (int8 needs onnx)",
    )
    parser.add_argument(
        "--out", type=Path, default=REPO / "bench" / "results" / "convert_speed.json"
    )
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    paths = digital_pdfs()
    report: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "load_average_before": os.getloadavg(),
    }
    if "digital" in sections:
        report["digital"] = bench_digital(paths)
    if "routing" in sections:
        report["routing"] = bench_routing(paths)
    if "scanned" in sections:
        report["scanned"] = bench_scanned(paths, args.scanned_pages, args.dpi, args.precision)
    if "stages" in sections:
        report["stages"] = [
            bench_stages(paths, args.scanned_pages, args.dpi[0], precision)
            for precision in args.precision
        ]
    if "memory" in sections:
        report["memory"] = bench_memory()
    if "engines" in sections:
        report["engines"] = bench_engines(args.engines, args.repeat)
    report["load_average_after"] = os.getloadavg()
    report["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(json.dumps(report, indent=2))
    if "engines" in report:
        print(report["engines"]["table"])  # type: ignore[index]


if __name__ == "__main__":
    main()
