"""Run converters over a benchmark's PDFs and score them: the shape of ``archivist eval convert``.

A converter is any callable ``(pdf_path, page) -> Markdown``; ``archivist`` (ours, with the given
``ConvertOptions``) and ``pymupdf4llm`` (the usual baseline) are built in, so one run puts them side
by side on the same tests. Scores follow STYLE.md: one number (pass rate over the non-math tests,
as olmOCR-Bench reports), per-category and per-test rows, and ``math`` kept apart because it
needs a LaTeX renderer to judge fairly.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import re
import time
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel, Field
from rapidfuzz.distance import Levenshtein

from evals.convert.checks import KINDS, BenchTest, check
from pipeline.errors import ArchivistError
from pipeline.models import ConvertOptions

PageConverter = Callable[[Path, int], str]


class TestRow(BaseModel):
    """One test's outcome for one converter."""

    id: str
    pdf: str
    page: int
    type: str
    checked: str | None = None
    passed: bool
    explanation: str = ""


class LabelRow(BaseModel):
    """A PDF against its full-page Markdown label: normalised edit distance (0 is identical).

    ``text_distance`` sets tables apart on both sides first, as OmniDocBench scores text and
    tables separately: a label that leaves out a table (an infobox) then no longer charges its
    cells as insertions. Both are reported; ``distance`` stays the headline. ``None`` when the
    label has tables of its own (they need a table metric).
    """

    pdf: str
    label: str
    distance: float
    text_distance: float | None = None


class ConverterResult(BaseModel):
    """Everything one converter scored on one benchmark."""

    converter: str
    score: float = Field(description="pass rate over the non-math tests")
    passed: int
    total: int
    verified_score: float | None = None
    verified: tuple[int, int] = (0, 0)
    categories: dict[str, tuple[int, int]] = Field(default_factory=dict)
    tests: list[TestRow] = Field(default_factory=list)
    labels: list[LabelRow] = Field(default_factory=list)
    pages: int = 0
    seconds: float = 0.0
    errors: list[str] = Field(default_factory=list)

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


class ConvertEval(BaseModel):
    """``archivist eval convert``: the converters side by side on one set of tests."""

    kind: str = "convert"
    dataset: str
    created_at: dt.datetime
    settings: dict[str, object] = Field(default_factory=dict)
    results: list[ConverterResult]


def archivist_converter(opts: ConvertOptions) -> PageConverter:
    """Our converter: the Markdown of page ``page`` (1-based) of the PDF, converted once."""
    from pipeline.convert import convert_document
    from pipeline.models import SourceDocument

    cache: dict[Path, list[str]] = {}

    def convert(path: Path, page: int) -> str:
        path = path.resolve()  # a relative path has no file URI
        if path not in cache:
            doc = convert_document(SourceDocument(uri=path.as_uri(), path=path), opts)
            cache[path] = [p.markdown for p in doc.pages]
        pages = cache[path]
        return pages[page - 1] if 0 < page <= len(pages) else ""

    return convert


def pymupdf4llm_converter() -> PageConverter:
    """The pymupdf4llm baseline (``to_markdown`` on one page), with its defaults."""
    import pymupdf4llm

    def convert(path: Path, page: int) -> str:
        with contextlib.redirect_stdout(io.StringIO()):  # it prints its parser's messages
            return str(pymupdf4llm.to_markdown(str(path), pages=[page - 1], show_progress=False))

    return convert


def _category(test: BenchTest) -> str:
    return test.type


def score_tests(
    name: str, convert: PageConverter, tests: Sequence[BenchTest], pdf_dir: Path
) -> ConverterResult:
    """Convert every page the tests name (once each) and run the tests on it."""
    pages: dict[tuple[str, int], str] = {}
    errors: list[str] = []
    started = time.perf_counter()
    for test in tests:
        key = (test.pdf, test.page)
        if key in pages:
            continue
        try:
            pages[key] = convert(pdf_dir / test.pdf, test.page)
        except (ArchivistError, OSError, RuntimeError, ValueError) as e:
            errors.append(f"{test.pdf} page {test.page}: {e}")
            pages[key] = ""
    seconds = time.perf_counter() - started
    rows = [checked_row(test, pages[(test.pdf, test.page)]) for test in tests]
    return summarize(name, rows, pages=len(pages), seconds=seconds, errors=errors)


def checked_row(test: BenchTest, markdown: str) -> TestRow:
    """``test`` run on a page's Markdown, as a row of the report."""
    passed, why = check(test, markdown)
    return TestRow(
        id=test.id,
        pdf=test.pdf,
        page=test.page,
        type=test.type,
        checked=test.checked,
        passed=passed,
        explanation=why,
    )


def summarize(
    name: str, rows: list[TestRow], *, pages: int = 0, seconds: float = 0.0, errors=()
) -> ConverterResult:  # type: ignore[no-untyped-def]
    """Totals, per category, and over the ``checked: verified`` tests (math kept apart)."""
    categories = {}
    for kind in KINDS:
        mine = [r for r in rows if r.type == kind]
        if mine:
            categories[kind] = (sum(r.passed for r in mine), len(mine))
    scored = [r for r in rows if r.type != "math"]
    verified = [r for r in scored if r.checked == "verified"]
    passed = sum(r.passed for r in scored)
    v_passed = sum(r.passed for r in verified)
    return ConverterResult(
        converter=name,
        score=passed / len(scored) if scored else 0.0,
        passed=passed,
        total=len(scored),
        verified_score=v_passed / len(verified) if verified else None,
        verified=(v_passed, len(verified)),
        categories=categories,
        tests=rows,
        pages=pages,
        seconds=seconds,
        errors=list(errors),
    )


_MD_MARKS = re.compile(r"<[^>]+>|^#{1,6}\s+|^\s*[-*+]\s+|\||^-{3,}$", re.MULTILINE)
_EMPHASIS = re.compile(r"[*_`]")


def label_text(markdown: str) -> str:
    """Markdown reduced to its words for edit distance: no front matter, markup or spacing."""
    if markdown.startswith("---"):
        end = markdown.find("\n---", 3)
        markdown = markdown[end + 4 :] if end > 0 else markdown
    text = _EMPHASIS.sub("", _MD_MARKS.sub(" ", markdown))
    text = unicodedata.normalize("NFC", text).replace("’", "'").replace("“", '"').replace("”", '"')
    return " ".join(text.split())


def edit_distance(prediction: str, label: str, *, tables: bool = True) -> float:
    """Normalised Levenshtein distance between two Markdown texts (0 identical, 1 unrelated).

    ``tables=False`` drops tables (HTML ``<table>`` blocks and Markdown pipe tables) from both
    texts first: the text-only distance, with tables left to a table metric.
    """
    if not tables:
        prediction, label = without_tables(prediction), without_tables(label)
    a, b = label_text(prediction), label_text(label)
    return Levenshtein.normalized_distance(a, b) if a or b else 0.0


_HTML_TABLE = re.compile(r"<table\b.*?</table>", re.DOTALL | re.IGNORECASE)
_PIPE_ROW = re.compile(r"^\s*\|.*\|\s*$", re.MULTILINE)


def without_tables(markdown: str) -> str:
    """Markdown with its tables removed (HTML tables and rows of pipe tables)."""
    return _PIPE_ROW.sub("", _HTML_TABLE.sub("", markdown))


def labelled_pdfs(labels: Path, pdf_dir: Path) -> list[tuple[Path, Path]]:
    """(pdf, label) pairs: a label ``edgar.md`` serves ``edgar.pdf``, ``edgar_image.pdf``,
    ``edgar-rotated90.pdf`` (the PDF's stem starts with the label's, then ``_``, ``-`` or ends)."""
    pairs = []
    for label in sorted(labels.glob("*.md")):
        for pdf in sorted(pdf_dir.rglob("*.pdf")):
            rest = pdf.stem[len(label.stem) :]
            if pdf.stem.startswith(label.stem) and (not rest or rest[0] in "_-"):
                pairs.append((pdf, label))
    return pairs


def score_labels(
    convert: PageConverter, pairs: Sequence[tuple[Path, Path]], pdf_dir: Path
) -> list[LabelRow]:
    rows = []
    for pdf, label in pairs:
        try:
            predicted = convert(pdf, 1)
        except (ArchivistError, OSError, RuntimeError, ValueError):
            predicted = ""
        truth = label.read_text(encoding="utf-8")
        distance = edit_distance(predicted, truth)
        # A label that holds tables itself needs a table metric, not a text one.
        has_tables = without_tables(truth) != truth
        text_only = None if has_tables else round(edit_distance(predicted, truth, tables=False), 4)
        name = str(pdf.relative_to(pdf_dir)) if pdf.is_relative_to(pdf_dir) else pdf.name
        rows.append(
            LabelRow(
                pdf=name,
                label=label.name,
                distance=round(distance, 4),
                text_distance=text_only,
            )
        )
    return rows
