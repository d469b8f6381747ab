"""A question, read once: its language, the period it is about, whether it asks about change
over time. ``Archive.ask`` builds one and hands it to retrieval and to the answerer, so they
agree (``today`` included) instead of each reading the text again.

>>> q = parse_question("Qui a gagné les élections l'an dernier ?", today=dt.date(2025, 6, 1))
>>> q.language, q.period.label
('fr', '2024-01-01..2024-12-31')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pipeline.dates import is_time_question, question_date_range, scope_filters
from pipeline.lang import question_language
from pipeline.models import Question, SearchFilters, StoreOptions


def parse_question(
    text: str,
    *,
    filters: SearchFilters | None = None,
    today: dt.date | None = None,
    languages: Sequence[str] | None = None,
) -> Question:
    """``text`` read once: its dates (counted from ``today``), language (among ``languages``,
    the archive's full-text languages; default French and English) and time cues.

    The caller's date filters win over the question's words for the period; whether the answer
    reads the evidence in date order depends on the question's own words.
    """
    today = today or dt.date.today()
    scoped = scope_filters(text, filters, today=today)
    own = scoped.date_range if scoped.inferred else question_date_range(text, today=today)
    return Question(
        text=text,
        language=question_language(text, languages or StoreOptions().fts_languages),
        period=scoped.date_range,
        filters=filters,
        chronological=is_time_question(text, own),
        today=today,
    )


def as_question(question: Question | str) -> Question:
    """``question`` as a ``Question`` (a plain string is read now, dated from today)."""
    return question if isinstance(question, Question) else parse_question(question)
