"""Tables and headings scored apart from text: do the predicted tables keep the cell structure?

Edit distance on flattened text says little about tables (a table read row by row and one read
column by column hold the same words), and OmniDocBench scores tables on their own for that
reason. Here each table becomes the set of its neighbour relations, ``(cell, cell to its right)``
and ``(cell, cell below)`` on normalised cell text, and the prediction is scored by F1 against
the reference over the whole document. A table read as plain paragraphs has no relations and
scores 0; a table with one column shifted loses only the relations that crossed the shift.

>>> score_tables("| a | b |\\n|---|---|\\n| 1 | 2 |", "| a | b |\\n|---|---|\\n| 1 | 2 |")
1.0
>>> score_tables("a b 1 2", "| a | b |\\n|---|---|\\n| 1 | 2 |")
0.0
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from typing import Any

from evals.convert.tables import TableGrid, parse_html_tables, parse_markdown_tables

Relation = tuple[str, str, str]


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[*_`]|<[^>]+>", "", text)
    return " ".join(text.split())


def relations(grid: TableGrid) -> Counter[Relation]:
    """The table's right and down neighbour pairs on normalised text (empty cells left out)."""
    found: Counter[Relation] = Counter()
    for direction, links in (("right", grid.right), ("down", grid.down)):
        for cell, neighbours in links.items():
            here = _norm(grid.text.get(cell, ""))
            for other in neighbours:
                there = _norm(grid.text.get(other, ""))
                if here and there:
                    found[(direction, here, there)] += 1
    return found


def document_tables(markdown: str) -> list[TableGrid]:
    """Every HTML and pipe table of a Markdown document."""
    return parse_html_tables(markdown) + parse_markdown_tables(markdown)


def table_relations(markdown: str) -> Counter[Relation]:
    total: Counter[Relation] = Counter()
    for grid in document_tables(markdown):
        total.update(relations(grid))
    return total


def score_tables(prediction: str, reference: str) -> float | None:
    """F1 of neighbour relations (0..1); ``None`` when the reference holds no table."""
    return f1(table_relations(prediction), table_relations(reference))


def f1(got: Counter[Any], truth: Counter[Any]) -> float | None:
    """F1 of two multisets (rounded); ``None`` when the reference is empty."""
    if not truth:
        return None
    shared = sum((got & truth).values())
    if not shared:
        return 0.0
    precision, recall = shared / sum(got.values()), shared / sum(truth.values())
    return round(2 * precision * recall / (precision + recall), 4)


_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def headings(markdown: str) -> Counter[str]:
    """The document's headings (``#`` lines), normalised."""
    return Counter(_norm(m) for m in _HEADING.findall(markdown) if _norm(m))


def score_headings(prediction: str, reference: str) -> float | None:
    """F1 of heading texts (which lines are headings, level aside); ``None`` without any."""
    return f1(headings(prediction), headings(reference))
