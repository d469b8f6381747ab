"""Every ground-truth set under a folder, scored in one run, converters side by side.

A change to the converter is judged on all the material at once, never on one page:
``archivist eval convert --suite ../shared/data/pdf --suite sample_docs`` finds each set under the
given folders by its shape and scores every converter on every set.

- **tests**: a folder holding olmOCR-Bench JSONL (``*.jsonl``) and the PDFs (``pdfs/``):
  pass rate over the non-math tests, per category.
- **labels**: full-page Markdown labels beside their PDFs (``edgar.md`` for ``edgar*.pdf``):
  normalised edit distance per page.
- **documents**: whole-document references in ``groundtruth/`` or ``reference/`` (``NAME.md``
  or ``NAME.<anything>.md`` for ``NAME.pdf``) with the PDFs beside them or in ``pdf/``:
  normalised edit distance on the whole text, the same with tables set apart
  (``text_distance``), and tables scored apart by neighbour-relation F1 (``table_score``).

Converters are functions from a PDF path to its pages' Markdown; ours runs with any
``ConvertOptions`` (so variants run side by side in one run) and pymupdf4llm is the usual baseline.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from evals.convert.checks import BenchTest, load_tests
from evals.convert.runner import (
    TestRow,
    checked_row,
    edit_distance,
    label_text,
    labelled_pdfs,
    summarize,
    without_tables,
)
from evals.convert.table_score import score_headings, score_tables
from pipeline.models import ConvertOptions

DocConverter = Callable[[Path], list[str]]  # a PDF → each page's Markdown
SetKind = Literal["tests", "labels", "documents"]
_REFERENCE_DIRS = ("groundtruth", "reference")
_MIN_TEXT = 200  # characters of text outside tables for a text-only distance to mean something


class EvalSet(BaseModel):
    """One set of ground truth: its name (folder relative to the suite root) and its items."""

    name: str
    kind: SetKind
    tests: list[Path] = Field(default_factory=list)  # JSONL files (kind "tests")
    pdfs: Path | None = None  # where the tests' pdf paths start
    pairs: list[tuple[Path, Path]] = Field(default_factory=list)  # (pdf, reference Markdown)


class DocRow(BaseModel):
    """One PDF against its reference: 0 is identical, 1 unrelated; tables apart."""

    pdf: str
    reference: str
    distance: float
    text_distance: float | None = None
    table_score: float | None = None
    heading_score: float | None = None


class SetScore(BaseModel):
    """What one converter scored on one set."""

    set: str
    kind: SetKind
    converter: str
    passed: int = 0
    total: int = 0
    categories: dict[str, tuple[int, int]] = Field(default_factory=dict)
    tests: list[TestRow] = Field(default_factory=list)
    documents: list[DocRow] = Field(default_factory=list)
    pages: int = 0
    seconds: float = 0.0
    errors: list[str] = Field(default_factory=list)

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.total if self.total else None

    def mean(
        self, field: Literal["distance", "text_distance", "table_score", "heading_score"]
    ) -> float | None:
        values = [getattr(d, field) for d in self.documents if getattr(d, field) is not None]
        return round(statistics.fmean(values), 4) if values else None


class SuiteEval(BaseModel):
    """One run of the suite: converters × sets."""

    kind: str = "convert-suite"
    created_at: dt.datetime
    roots: list[str]
    converters: list[str]
    settings: dict[str, dict[str, object]] = Field(default_factory=dict)
    scores: list[SetScore]

    def score(self, set_name: str, converter: str) -> SetScore | None:
        return next(
            (s for s in self.scores if s.set == set_name and s.converter == converter), None
        )

    @property
    def set_names(self) -> list[str]:
        return list(dict.fromkeys(s.set for s in self.scores))


def _references(folder: Path, pdfs: Sequence[Path]) -> list[tuple[Path, Path]]:
    """(pdf, reference) pairs: ``NAME.md`` or ``NAME.<tool>.md`` serves ``NAME.pdf``."""
    pairs = []
    for ref in sorted(folder.glob("*.md")):
        for pdf in pdfs:
            if ref.stem == pdf.stem or ref.name.startswith(pdf.stem + "."):
                pairs.append((pdf, ref))
                break
    return pairs


def _set_name(folder: Path, root: Path) -> str:
    rel = folder.relative_to(root) if folder != root else Path()
    return root.name if str(rel) == "." else f"{root.name}/{rel.as_posix()}"


def discover(root: Path) -> list[EvalSet]:
    """The ground-truth sets under ``root`` (itself included), in path order."""
    root = root.resolve()
    found: list[EvalSet] = []
    for folder in sorted([root, *(p for p in root.rglob("*") if p.is_dir())]):
        if folder.name in (*_REFERENCE_DIRS, "pdf", "pdfs") or "pdfs" in folder.parts[:-1]:
            continue
        name = _set_name(folder, root)
        jsonl = sorted(folder.glob("*.jsonl"))
        if jsonl and (folder / "pdfs").is_dir():
            found.append(EvalSet(name=name, kind="tests", tests=jsonl, pdfs=folder / "pdfs"))
            continue
        pdfs = sorted(folder.glob("*.pdf")) or sorted((folder / "pdf").glob("*.pdf"))
        refs = next((folder / d for d in _REFERENCE_DIRS if (folder / d).is_dir()), None)
        if refs is not None and pdfs:
            found.append(EvalSet(name=name, kind="documents", pairs=_references(refs, pdfs)))
        elif pdfs and list(folder.glob("*.md")):
            pairs = labelled_pdfs(folder, folder)
            if pairs:
                found.append(EvalSet(name=name, kind="labels", pairs=pairs))
    return found


# --- converters ---


def archivist_pages(opts: ConvertOptions) -> DocConverter:
    """Our converter with ``opts``: each page's Markdown."""
    from pipeline.convert import convert_document
    from pipeline.models import SourceDocument

    def convert(path: Path) -> list[str]:
        path = path.resolve()
        doc = convert_document(SourceDocument(uri=path.as_uri(), path=path), opts)
        return [p.markdown for p in doc.pages]

    return convert


def pymupdf4llm_pages() -> DocConverter:
    """pymupdf4llm with its defaults, one chunk per page."""
    import pymupdf4llm

    def convert(path: Path) -> list[str]:
        with contextlib.redirect_stdout(io.StringIO()):  # it prints its parser's messages
            chunks = pymupdf4llm.to_markdown(str(path), page_chunks=True, show_progress=False)
        return [str(c["text"]) for c in chunks]

    return convert


_WORKER = """
import json, sys
from pathlib import Path
from pipeline.convert import convert_document
from pipeline.models import SourceDocument
for line in sys.stdin:
    path = Path(line.strip())
    try:
        doc = convert_document(SourceDocument(uri=path.as_uri(), path=path))
        print(json.dumps({"pages": [p.markdown for p in doc.pages]}), flush=True)
    except Exception as e:
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)
"""


def checkout_pages(checkout: Path) -> DocConverter:
    """The converter of another checkout of this project (an earlier commit, say) with its
    defaults, in a worker process of the same Python: before and after in one run."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(checkout.resolve())}
    worker = subprocess.Popen(
        [sys.executable, "-c", _WORKER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=checkout,
        env=env,
    )

    def convert(path: Path) -> list[str]:
        assert worker.stdin is not None and worker.stdout is not None
        worker.stdin.write(f"{path.resolve()}\n")
        worker.stdin.flush()
        reply = json.loads(worker.stdout.readline() or '{"error": "worker exited"}')
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return list(reply["pages"])

    return convert


class _Pages:
    """Converts each PDF once, keeping time, page count and errors for the set."""

    def __init__(self, convert: DocConverter) -> None:
        self.convert = convert
        self.cache: dict[Path, list[str]] = {}
        self.seconds = 0.0
        self.errors: list[str] = []

    def pages(self, pdf: Path) -> list[str]:
        if pdf not in self.cache:
            started = time.perf_counter()
            try:
                self.cache[pdf] = self.convert(pdf)
            except Exception as e:  # a crash on one file is a score of zero there, not a lost run
                self.errors.append(f"{pdf.name}: {type(e).__name__}: {e}")
                self.cache[pdf] = []
            self.seconds += time.perf_counter() - started
        return self.cache[pdf]

    def page(self, pdf: Path, number: int) -> str:
        pages = self.pages(pdf)
        return pages[number - 1] if 0 < number <= len(pages) else ""

    @property
    def page_count(self) -> int:
        return sum(len(p) for p in self.cache.values())


def _score_tests(item: EvalSet, name: str, pages: _Pages) -> SetScore:
    assert item.pdfs is not None
    tests: list[BenchTest] = [t for path in item.tests for t in load_tests(path)]
    rows = [checked_row(t, pages.page(item.pdfs / t.pdf, t.page)) for t in tests]
    summary = summarize(name, rows)
    return SetScore(
        set=item.name,
        kind="tests",
        converter=name,
        passed=summary.passed,
        total=summary.total,
        categories=summary.categories,
        tests=rows,
    )


def _score_documents(item: EvalSet, name: str, pages: _Pages) -> SetScore:
    rows = []
    for pdf, ref in item.pairs:
        converted = pages.pages(pdf)
        predicted = "\n\n".join(converted[:1] if item.kind == "labels" else converted)
        truth = ref.read_text(encoding="utf-8")
        text_only = None
        if len(label_text(without_tables(truth))) >= _MIN_TEXT:  # a table-only page has no text
            text_only = round(edit_distance(without_tables(predicted), without_tables(truth)), 4)
        rows.append(
            DocRow(
                pdf=pdf.name,
                reference=ref.name,
                distance=round(edit_distance(predicted, truth), 4),
                text_distance=text_only,
                table_score=score_tables(predicted, truth),
                heading_score=score_headings(predicted, truth),
            )
        )
    return SetScore(set=item.name, kind=item.kind, converter=name, documents=rows)


def score_set(item: EvalSet, name: str, convert: DocConverter) -> SetScore:
    """One converter on one set (each PDF converted once)."""
    pages = _Pages(convert)
    scored = _score_tests(item, name, pages) if item.kind == "tests" else None
    scored = scored or _score_documents(item, name, pages)
    scored.pages, scored.seconds, scored.errors = pages.page_count, pages.seconds, pages.errors
    return scored


def run_suite(
    roots: Sequence[Path],
    converters: Sequence[tuple[str, DocConverter]],
    *,
    settings: dict[str, dict[str, object]] | None = None,
    on_set: Callable[[str, str], None] | None = None,
) -> SuiteEval:
    """Every converter on every set found under ``roots``."""
    sets = [s for root in roots for s in discover(root)]
    scores = []
    for item in sets:
        for name, convert in converters:
            if on_set is not None:
                on_set(item.name, name)
            scores.append(score_set(item, name, convert))
    return SuiteEval(
        created_at=dt.datetime.now(dt.UTC),
        roots=[str(r) for r in roots],
        converters=[name for name, _ in converters],
        settings=settings or {},
        scores=scores,
    )
