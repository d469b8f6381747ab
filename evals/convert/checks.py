"""olmOCR-Bench unit tests, read from JSONL and checked against a page's Markdown.

The format is the public benchmark's (``olmocr/bench`` in the olmOCR repository): each line is one
fact about one PDF page. ``present``/``absent`` look for a text (fuzzy, ``max_diffs`` edits,
optionally in the first or last N characters), ``order`` wants one text before another,
``table`` asks about a cell's neighbours, ``baseline`` checks the output is not blank, looping or
in the wrong script (or, with ``max_length``, that a blank page stays blank), and ``math`` wants a
LaTeX formula. The rules follow the reference scorer so numbers are comparable with published
ones; ``math`` is matched on normalised LaTeX (no renderer here) and reported as its own category.

>>> t = BenchTest.model_validate({"pdf": "a.pdf", "page": 1, "id": "t1", "type": "present",
...                               "text": "Hello"})
>>> check(t, "# Hello world").passed
True
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict
from rapidfuzz import fuzz

from evals.convert.tables import TableGrid, parse_html_tables, parse_markdown_tables

TestKind = Literal["present", "absent", "order", "table", "baseline", "math"]
KINDS: tuple[str, ...] = ("present", "absent", "order", "table", "baseline", "math")

_REPLACE = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "＿": "_",
        "–": "-",
        "—": "-",
        "‑": "-",
        "‒": "-",
        "−": "-",
        "\u00b5": "\u03bc",
    }
)
_DISALLOWED = re.compile(
    "[\u4e00-\u9fff\u3040-\u309f\u30a0-\u30ff"
    "\U0001f600-\U0001f64f\U0001f300-\U0001f5ff\U0001f680-\U0001f6ff\U0001f1e0-\U0001f1ff]"
)


class BenchTest(BaseModel):
    """One test line. Unknown keys are kept out; the ones the scorer reads are typed."""

    model_config = ConfigDict(extra="ignore")

    pdf: str
    page: int = 1
    id: str
    type: TestKind
    checked: str | None = None
    max_diffs: int = 0
    text: str = ""
    case_sensitive: bool = True
    first_n: int | None = None
    last_n: int | None = None
    before: str = ""
    after: str = ""
    cell: str = ""
    up: str = ""
    down: str = ""
    left: str = ""
    right: str = ""
    top_heading: str = ""
    left_heading: str = ""
    max_length: int | None = None
    max_repeats: int = 30
    math: str = ""


class CheckResult(NamedTuple):
    passed: bool
    explanation: str = ""


def load_tests(path: Path) -> list[BenchTest]:
    """The tests of a JSONL file, in file order (blank lines skipped)."""
    tests = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                tests.append(BenchTest.model_validate(json.loads(line)))
            except ValueError as e:
                raise ValueError(f"{path}:{n}: not a valid test ({e})") from e
    return tests


def normalize(text: str) -> str:
    """The reference scorer's normalisation: no emphasis marks, one space, NFC, ASCII quotes."""
    text = re.sub(r"<br/?>", " ", text)
    text = re.sub(r"\*\*(.*?)\*\*", r"\1", text)
    text = re.sub(r"__(.*?)__", r"\1", text)
    text = re.sub(r"</?[bi]>", "", text)
    text = re.sub(r"(\*\*|__)(.*?)\1", r"\2", text)
    text = re.sub(r"(\*|_)(.*?)\1", r"\2", text)
    text = re.sub(r"\s+", " ", text)
    return unicodedata.normalize("NFC", text).translate(_REPLACE)


def _presence(test: BenchTest, markdown: str) -> CheckResult:
    query = normalize(test.text)
    content = normalize(markdown)
    if not test.case_sensitive:
        query, content = query.lower(), content.lower()
    if test.first_n and test.last_n:
        content = content[: test.first_n] + content[-test.last_n :]
    elif test.first_n:
        content = content[: test.first_n]
    elif test.last_n:
        content = content[-test.last_n :]
    present = test.type == "present"
    if len(content) < len(query) - test.max_diffs:  # too short to hold the text at all
        return CheckResult(not present, "" if not present else "output too short")
    threshold = 1.0 - test.max_diffs / max(len(query), 1)
    ratio = fuzz.partial_ratio(query, content) / 100.0
    found = ratio >= threshold
    if found == present:
        return CheckResult(True)
    verb = "missing" if present else "found"
    return CheckResult(False, f"{verb}: {query[:60]!r} (best match {ratio:.2f} < {threshold:.2f})")


def near_matches(pattern: str, text: str, max_dist: int) -> list[int]:
    """End positions in ``text`` where ``pattern`` matches with at most ``max_dist`` edits.

    Sellers' algorithm (approximate substring search); exact search when ``max_dist`` is 0.

    >>> near_matches("abc", "xxabdxx", 1)
    [3, 4, 5]
    """
    if max_dist == 0:
        out, start = [], text.find(pattern)
        while start >= 0:
            out.append(start + len(pattern) - 1)
            start = text.find(pattern, start + 1)
        return out
    m = len(pattern)
    column = list(range(m + 1))
    ends = []
    for j, ch in enumerate(text):
        prev_diag, column[0] = column[0], 0
        for i in range(1, m + 1):
            cost = 0 if pattern[i - 1] == ch else 1
            prev_diag, column[i] = (
                column[i],
                min(column[i] + 1, column[i - 1] + 1, prev_diag + cost),
            )
        if column[m] <= max_dist:
            ends.append(j)
    return ends


def _order(test: BenchTest, markdown: str) -> CheckResult:
    content = normalize(markdown)
    before, after = normalize(test.before), normalize(test.after)
    b = near_matches(before, content, test.max_diffs)
    a = near_matches(after, content, test.max_diffs)
    if not b:
        return CheckResult(False, f"'before' text not found: {before[:50]!r}")
    if not a:
        return CheckResult(False, f"'after' text not found: {after[:50]!r}")
    # Compare starts: an end position minus the pattern length approximates the start.
    if min(b) - len(before) < max(a) - len(after):
        return CheckResult(True)
    return CheckResult(False, f"{before[:40]!r} does not come before {after[:40]!r}")


def _similar(expected: str, got: str, max_diffs: int) -> bool:
    threshold = max(0.5, 1.0 - max_diffs / max(len(expected), 1))
    return fuzz.ratio(expected, normalize(got)) / 100.0 >= threshold


def _table_in(test: BenchTest, grid: TableGrid, reasons: list[str]) -> bool:
    cell_text = normalize(test.cell)
    relations = {
        "up": (test.up, grid.up.get),
        "down": (test.down, grid.down.get),
        "left": (test.left, grid.left.get),
        "right": (test.right, grid.right.get),
        "top_heading": (test.top_heading, grid.top_headings),
        "left_heading": (test.left_heading, grid.left_headings),
    }
    for cell, text in grid.text.items():
        if not _similar(cell_text, text, test.max_diffs):
            continue
        failed = []
        for name, (want, neighbours) in relations.items():
            if not want:
                continue
            want = normalize(want)
            found = [grid.text[n] for n in neighbours(cell) or ()]
            if not any(_similar(want, t, test.max_diffs) for t in found):
                failed.append(f"{name} of {text!r} is {found[:2]!r}, not {want!r}")
        if not failed:
            return True
        reasons.extend(failed)
    return False


def _table(test: BenchTest, markdown: str) -> CheckResult:
    grids = parse_markdown_tables(markdown) + parse_html_tables(markdown)
    if not grids:
        return CheckResult(False, "no table in the output")
    reasons: list[str] = []
    if any(_table_in(test, grid, reasons) for grid in grids):
        return CheckResult(True)
    if not reasons:
        return CheckResult(False, f"no cell like {test.cell!r} in any table")
    return CheckResult(False, "; ".join(reasons[:3]))


def trailing_repeats(text: str, max_n: int = 5) -> list[int]:
    """For n = 1..max_n, how many times the last n characters repeat back to back at the end."""
    counts = []
    for n in range(1, max_n + 1):
        if len(text) < n:
            counts.append(0)
            continue
        tail, count, pos = text[-n:], 0, len(text)
        while pos >= n and text[pos - n : pos] == tail:
            count += 1
            pos -= n
        counts.append(count)
    return counts


def _baseline(test: BenchTest, markdown: str) -> CheckResult:
    alnum = sum(ch.isalnum() for ch in markdown)
    if test.max_length is not None:
        if alnum > test.max_length:
            return CheckResult(False, f"{alnum} characters on a page expected blank")
        return CheckResult(True)
    if alnum == 0:
        return CheckResult(False, "no alphanumeric character in the output")
    letters = "".join(ch for ch in markdown if not ch.isspace())
    worst = max(trailing_repeats(letters), default=0)
    if worst > test.max_repeats:
        return CheckResult(False, f"output ends with {worst} repeats")
    bad = _DISALLOWED.findall(markdown)
    if bad:
        return CheckResult(False, f"disallowed characters {''.join(bad[:5])!r}")
    return CheckResult(True)


_LATEX_SPACES = re.compile(r"\s+|\\[,;:! ]")
_DELIMITED = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)|\$(.+?)\$", re.DOTALL)


def _latex_key(formula: str) -> str:
    formula = re.sub(r"\\(?:left|right|mathrm|operatorname|mathbf|displaystyle)\b", "", formula)
    return _LATEX_SPACES.sub("", formula).replace("{", "").replace("}", "")


def _math(test: BenchTest, markdown: str) -> CheckResult:
    want = _latex_key(test.math)
    found = [next(g for g in m.groups() if g is not None) for m in _DELIMITED.finditer(markdown)]
    if any(_latex_key(f) == want for f in found):
        return CheckResult(True)
    best = max((fuzz.ratio(want, _latex_key(f)) for f in found), default=0.0)
    return CheckResult(False, f"formula not found (best similarity {best / 100:.2f})")


def check(test: BenchTest, markdown: str) -> CheckResult:
    """Run one test on the Markdown of its page."""
    if test.type in ("present", "absent"):
        return _presence(test, markdown)
    if test.type == "order":
        return _order(test, markdown)
    if test.type == "table":
        return _table(test, markdown)
    if test.type == "baseline":
        return _baseline(test, markdown)
    return _math(test, markdown)
