"""Dates of documents: the date a connector or a file's metadata gives, else the first date
written in the document's first lines (the dateline of a dispatch: "PORT-AURÈLE, 12 mai 1983
(Meridien) –").

>>> document_date("# Grève\\n\\nPORT-AURÈLE, 12 mai 1983 (Meridien) – Le port est paralysé.")
datetime.date(1983, 5, 12)
>>> parse_date("1987-03")
datetime.date(1987, 3, 1)
"""

from __future__ import annotations

import datetime as dt
import re

from pipeline.dates.rules import FULL, ISO, MONTH_YEAR, fold, parse_point
from pipeline.models import ParsedDocument

DOCUMENT_DATE_LINES = 15
DOCUMENT_DATE_CHARS = 2000
_METADATA_DATE = re.compile(r"^\s*(\d{4})(?:[-/.]?(\d{1,2})(?:[-/.]?(\d{1,2}))?)?")


def parse_date(value: object) -> dt.date | None:
    """A date from a date, a year, or a string that starts ``YYYY[-MM[-DD]]`` (else ``None``):
    what metadata (a feed's manifest, front matter, a PDF's creation date) says.

    Lenient on purpose: archives often know only the year, which becomes 1 January.

    >>> parse_date("1987")
    datetime.date(1987, 1, 1)
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int) and 1000 <= value <= 9999:
        return dt.date(value, 1, 1)
    if not isinstance(value, str):
        return None
    match = _METADATA_DATE.match(value)
    if not match:
        return None
    year, month, day = (int(g) if g else 1 for g in match.groups())
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_FULL_DATE = re.compile(rf"(?<![\w-]){FULL}(?![\w-]|t\d)|(?<![\w-]){ISO}(?=t\d)")
_MONTH_YEAR_DATE = re.compile(rf"(?<![\w-]){MONTH_YEAR}(?![\w-])")


def document_date(markdown: str) -> dt.date | None:
    """The first full date in the first lines of a document (its dateline), else its first
    month and year; None when neither is there.

    >>> document_date("TARVIK, September 7, 1994 (Meridien) – The probe lifted off.")
    datetime.date(1994, 9, 7)
    """
    lines = [ln for ln in _COMMENT.sub("\n", markdown).splitlines() if ln.strip()]
    head = fold("\n".join(lines[:DOCUMENT_DATE_LINES])[:DOCUMENT_DATE_CHARS])
    for pattern in (_FULL_DATE, _MONTH_YEAR_DATE):
        for m in pattern.finditer(head):
            span = parse_point(m.group(0))
            if span is not None:
                return span.start
    return None


def fill_document_date(parsed: ParsedDocument) -> ParsedDocument:
    """``parsed`` with its date taken from its first lines when its metadata has none.

    Metadata wins (the connector's, the front matter, the PDF's): the text is the last resort.
    """
    if parsed.metadata.date is not None:
        return parsed
    found = document_date(parsed.markdown)
    if found is None:
        return parsed
    metadata = parsed.metadata.model_copy(update={"date": found})
    return parsed.model_copy(update={"metadata": metadata})
