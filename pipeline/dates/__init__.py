"""Dates, French and English: the period a question is about (``question``), the date of a
document (``document``), and the expression patterns both read (``rules``).

Questions and documents are dated apart on purpose: a question's "en 1987" becomes a search
filter over a span, a document's dateline becomes its one date; both share ``rules``.
"""

from __future__ import annotations

from pipeline.dates.document import document_date, fill_document_date, parse_date
from pipeline.dates.question import (
    ScopedFilters,
    is_time_question,
    question_date_range,
    scope_filters,
)
from pipeline.dates.rules import fold, parse_point

__all__ = [
    "ScopedFilters",
    "document_date",
    "fill_document_date",
    "fold",
    "is_time_question",
    "parse_date",
    "parse_point",
    "question_date_range",
    "scope_filters",
]
