"""What OCR read against the truth, and at what cost: char accuracy, accent recall, CPU per page.

    .venv/bin/python bench/scan_quality.py [--engines rapidocr fast routed] [--workers 2]

Used by ``bench/convert_speed.py`` (section ``engines``); run alone, it prints one row per engine
on the noisy French set of ``bench/noisy_scans.py`` and the shared scanned pages.

- **char accuracy**: 1 − (Levenshtein distance / truth length) between the page's Markdown and
  its truth, both reduced to their words (``evals.convert.runner.label_text``), floored at 0;
- **accent recall**: of the truth's words holding a letter outside ASCII (é, ç, œ, ï…), the share
  found in the output, counted as multisets (a word twice in the truth must be read twice);
- **lost-letter recall**: the same for words with œ, æ, ï, ë, ü or ÿ alone;
- **CPU-s per page**: process time (every thread) of converting the pages as one document,
  which depends less on other jobs sharing the machine than wall time does.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pymupdf
from rapidfuzz.distance import Levenshtein

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.noisy_scans import LOST, ScanCase, build  # noqa: E402
from evals.convert.runner import label_text  # noqa: E402
from pipeline.convert import convert_document  # noqa: E402
from pipeline.models import ConvertOptions, SourceDocument  # noqa: E402

NOISY = REPO / "bench" / "results" / "noisy_fr"
SHARED = REPO.parent / "shared" / "data" / "pdf"
_WORD = re.compile(r"\w+")


def char_accuracy(prediction: str, truth: str) -> float:
    """1 − character error rate of ``prediction`` against ``truth`` (Markdown, markup ignored).

    >>> char_accuracy("Le cœur", "Le cœur"), round(char_accuracy("Le coeur", "Le cœur"), 3)
    (1.0, 0.714)
    """
    a, b = _plain(prediction), _plain(truth)
    if not b:
        return 1.0 if not a else 0.0
    return max(0.0, 1.0 - Levenshtein.distance(a, b) / len(b))


def has_table(markdown: str) -> bool:
    """Whether a page's Markdown holds a table (pipe rows or HTML): its reading order is the
    layout's business more than OCR's, so such pages are scored apart."""
    return "<table" in markdown or bool(re.search(r"^\s*\|.*\|\s*$", markdown, re.M))


def _plain(markdown: str) -> str:
    """The words of a page's Markdown; entities (``&#x27;`` in HTML tables) read as characters."""
    return label_text(html.unescape(markdown))


def _words(text: str, keep: str | None) -> Counter[str]:
    words = _WORD.findall(_plain(text))
    if keep is None:
        return Counter(w for w in words if any(not c.isascii() and c.isalpha() for c in w))
    return Counter(w for w in words if any(c in keep for c in w))


def accent_hits(prediction: str, truth: str, letters: str | None = None) -> tuple[int, int]:
    """(found, total) truth words with a non-ASCII letter (or one of ``letters``) found again.

    >>> accent_hits("mais le coeur", "maïs et cœur, le cœur")
    (0, 3)
    """
    wanted, got = _words(truth, letters), _words(prediction, letters)
    return sum(min(n, got[w]) for w, n in wanted.items()), sum(wanted.values())


@dataclass
class EngineRun:
    """One engine over a set of pages: totals, then one entry per page."""

    engine: str
    pages: int
    wall_s: float
    cpu_s: float
    char_accuracy: float | None
    char_accuracy_text_pages: float | None
    char_accuracy_table_pages: float | None
    accent_recall: float | None
    lost_recall: float | None
    per_page: list[dict[str, object]]
    markdown: list[str]
    second_pass_lines: int | None = None
    lines: int | None = None

    def row(self) -> dict[str, object]:
        """The summary, without the per-page detail."""
        out = {k: v for k, v in vars(self).items() if k not in ("per_page", "markdown")}
        out["pages_per_s"] = self.pages / self.wall_s if self.wall_s else 0.0
        out["cpu_s_per_page"] = self.cpu_s / self.pages if self.pages else 0.0
        return out


def _weighted(scores: list[float], truths: Sequence[str], keep: list[bool]) -> float | None:
    """Mean of the kept pages' scores, weighted by the length of their truth (None: no page)."""
    sizes = [len(_plain(t)) if k else 0 for t, k in zip(truths, keep, strict=True)]
    if not sum(sizes):
        return None
    return sum(s * n for s, n in zip(scores, sizes, strict=True)) / sum(sizes)


def one_document(paths: Sequence[Path]) -> bytes:
    """The first page of each PDF, in order, as one document (pages run on parallel workers)."""
    out = pymupdf.open()
    for path in paths:
        out.insert_pdf(pymupdf.open(path), from_page=0, to_page=0)
    return out.tobytes()


def run_engine(
    name: str, opts: ConvertOptions, pdfs: Sequence[Path], truths: Sequence[str]
) -> EngineRun:
    """Convert ``pdfs`` as one document with ``opts`` and score each page against its truth."""
    data = one_document(pdfs)
    warm = one_document(pdfs[:1])  # load the models outside the timing
    convert_document(SourceDocument(uri="mem://warm.pdf", data=warm), opts)
    stats = _second_pass_stats(opts)
    before = stats.snapshot() if stats else None
    cpu, wall = time.process_time(), time.perf_counter()
    doc = convert_document(SourceDocument(uri="mem://scans.pdf", data=data), opts)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    per_page: list[dict[str, object]] = []
    found = total = lost_found = lost_total = 0
    for path, page, truth in zip(pdfs, doc.pages, truths, strict=True):
        hits = accent_hits(page.markdown, truth)
        lost = accent_hits(page.markdown, truth, LOST)
        found, total = found + hits[0], total + hits[1]
        lost_found, lost_total = lost_found + lost[0], lost_total + lost[1]
        per_page.append(
            {
                "page": path.name,
                "rotation": page.rotation,
                "char_accuracy": round(char_accuracy(page.markdown, truth), 4),
                "accents": f"{hits[0]}/{hits[1]}",
                "lost": f"{lost[0]}/{lost[1]}",
            }
        )
    scores = [char_accuracy(p.markdown, t) for p, t in zip(doc.pages, truths, strict=True)]
    tables = [has_table(t) for t in truths]
    run = EngineRun(
        name,
        len(pdfs),
        wall,
        cpu,
        _weighted(scores, truths, [True] * len(truths)),
        _weighted(scores, truths, [not t for t in tables]),
        _weighted(scores, truths, tables),
        found / total if total else None,
        lost_found / lost_total if lost_total else None,
        per_page,
        [p.markdown for p in doc.pages],
    )
    if stats is not None and before is not None:
        run.second_pass_lines, run.lines = stats.since(before)
    return run


def _second_pass_stats(opts: ConvertOptions):  # type: ignore[no-untyped-def]
    """The routed engine's counters (lines read, lines read again), when it is the engine."""
    from pipeline.ocr import make_ocr_engine

    engine = make_ocr_engine(opts)
    return getattr(engine, "stats", None)


def noisy_set(rotated: bool = True) -> tuple[list[Path], list[str]]:
    """The noisy French pages (made on first use) and their truth Markdown."""
    cases: list[ScanCase] = build(NOISY, rotated=rotated)
    pdfs = [NOISY / c.pdf for c in cases]
    truths = [(NOISY / c.truth).read_text(encoding="utf-8") for c in cases]
    return pdfs, truths


def shared_set() -> tuple[list[Path], list[str]]:
    """The shared scanned pages with a truth: docling's one-sentence scan at four angles, and
    olmOCR's edgar_image (its label leaves out the page's infobox, so no engine reaches 1)."""
    ocr = SHARED / "docling" / "ocr"
    pairs = [
        (ocr / f"{name}.pdf", ocr / "groundtruth" / f"{name}.tesseract.full_page.md")
        for name in (
            "ocr_test",
            "ocr_test_rotated_90",
            "ocr_test_rotated_180",
            "ocr_test_rotated_270",
        )
    ]
    labelled = SHARED / "olmocr-labelled"
    pairs.append((labelled / "edgar_image.pdf", labelled / "edgar.md"))
    pairs = [(pdf, truth) for pdf, truth in pairs if pdf.exists() and truth.exists()]
    return [p for p, _ in pairs], [t.read_text(encoding="utf-8") for _, t in pairs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engines", nargs="+", default=["rapidocr", "fast", "routed"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--model", default="tiny", help="the fast engine's model: tiny or small")
    args = parser.parse_args()
    pdfs, truths = noisy_set()
    rows = []
    print(f"load average before: {os.getloadavg()}", flush=True)
    for engine in args.engines:
        opts = ConvertOptions(engine=engine, workers=args.workers, ocr_model=args.model)
        run = run_engine(engine, opts, pdfs, truths)
        rows.append(run.row())
        print(json.dumps(run.row()), flush=True)
        for page in run.per_page:
            print("   ", json.dumps(page, ensure_ascii=False))
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
