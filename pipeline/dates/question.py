"""Dates in questions, French and English: the period a question is about.

A question's dates become a search filter: "en 1987", "entre 1983 et 1990", "between May 1990 and
1995", "in the 1980s", "dans les années 80", "depuis 2015", "last year", "il y a dix ans" (relative
expressions count from a reference date, today by default). Only dates that scope the question are
read: they follow a preposition ("en", "in", "pendant", "since"...). A date that names a thing
("the 1987 elections", "les dépêches des années 1990") is part of the subject, not a period to
search, and is left alone. A single day widens to the week after it, since the press reports an
event in the days that follow it.

>>> question_date_range("Qui a gagné les élections en 1987 ?").label
'1987-01-01..1987-12-31'
>>> question_date_range("How did coverage change between 1983 and 1990?").label
'1983-01-01..1990-12-31'
"""

from __future__ import annotations

import datetime as dt
import re
from typing import NamedTuple

from pipeline.dates.rules import RULES, fold
from pipeline.models import DateRange, SearchFilters

_TIME_CUES = re.compile(
    r"(?<!\w)(?:evolv\w*|evolu\w*|chang\w*|trend\w*|tendance\w*|timeline|chronolog\w*|histor\w*"
    r"|over\s+(?:time|the\s+(?:years|decades))|au\s+fil\s+d\w+|year\s+(?:by|after|on)\s+year"
    r"|d'annee\s+en\s+annee|since|depuis|progress\w*|success\w*|when|quand|a\s+quelle\s+date"
    r"|first|last|premier\w*|dernier\w*|compar\w*)(?!\w)"
)


def question_date_range(question: str, *, today: dt.date | None = None) -> DateRange | None:
    """The period ``question`` is about, or None when it names none.

    Several periods in one question are joined into the span that covers them all. Relative
    expressions ("last year", "l'an dernier") count from ``today`` (default: the current date).

    >>> question_date_range("Et l'an dernier ?", today=dt.date(2025, 6, 1)).label
    '2024-01-01..2024-12-31'
    >>> question_date_range("Combien de dépêches des années 1990 ?") is None
    True
    """
    today = today or dt.date.today()
    folded = fold(question)
    taken: list[tuple[int, int]] = []
    starts: list[dt.date | None] = []
    ends: list[dt.date | None] = []
    texts: list[tuple[int, str]] = []
    for rule in RULES:
        for m in rule.pattern.finditer(folded):
            if any(m.start() < end and start < m.end() for start, end in taken):
                continue
            got = rule.build(m, today)
            if got is None:
                continue
            taken.append((m.start(), m.end()))
            starts.append(got[0])
            ends.append(got[1])
            texts.append((m.start(), question[m.start() : m.end()].strip()))
    if not taken:
        return None
    start = None if None in starts else min(d for d in starts if d is not None)
    end = None if None in ends else max(d for d in ends if d is not None)
    if start and end and start > end:
        start, end = end, start
    text = " … ".join(t for _, t in sorted(texts))
    return DateRange(start=start, end=end, text=text, origin="question")


def is_time_question(question: str, date_range: DateRange | None = None) -> bool:
    """Whether the answer should read the evidence in date order.

    True when the question spans more than a year or has no end ("since 1990"), or asks about
    change, history, order or dates ("comment a évolué", "when", "depuis", "first").

    >>> is_time_question("Comment la couverture des grèves a-t-elle évolué ?")
    True
    >>> is_time_question("Quel est le budget du programme ?")
    False
    """
    if date_range is not None:
        if date_range.start is None or date_range.end is None:
            return True
        if (date_range.end - date_range.start).days > 366:
            return True
    return bool(_TIME_CUES.search(fold(question)))


class ScopedFilters(NamedTuple):
    """The filters to search with, and the date range they hold (None: no date restriction)."""

    filters: SearchFilters | None
    date_range: DateRange | None

    @property
    def inferred(self) -> bool:
        """The dates come from the question's words rather than from the caller."""
        return self.date_range is not None and self.date_range.origin == "question"


def scope_filters(
    question: str, filters: SearchFilters | None, *, today: dt.date | None = None
) -> ScopedFilters:
    """``filters`` with the question's dates added, unless the caller already set dates.

    The caller's other filters (language, collections...) are kept as they are.

    >>> scope_filters("Et en 1987 ?", SearchFilters(language="fr")).filters.date_to
    datetime.date(1987, 12, 31)
    """
    if filters is not None and (filters.date_from or filters.date_to):
        explicit = DateRange(start=filters.date_from, end=filters.date_to, origin="filters")
        return ScopedFilters(filters, explicit)
    found = question_date_range(question, today=today)
    if found is None:
        return ScopedFilters(filters, None)
    base = filters or SearchFilters()
    scoped = base.model_copy(update={"date_from": found.start, "date_to": found.end})
    return ScopedFilters(scoped, found)
