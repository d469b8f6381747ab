"""A question is read once, with the caller's ``today``, and passed down as a ``Question``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

import pipeline.dates.question as question_dates
from pipeline.answer import ANSWERERS
from pipeline.answer.longcontext import LongContextAnswerer
from pipeline.archive import Archive
from pipeline.models import Answer, LLMOptions, Question, SearchFilters, SourceDocument
from pipeline.question import parse_question
from pipeline.settings import Settings
from tests.llm_server import LLMServer


def test_parse_question_dates_from_today_and_keeps_caller_filters_apart() -> None:
    today = dt.date(2012, 6, 1)
    q = parse_question("What happened at the harbour last year?", today=today)
    assert q.period is not None and q.period.label == "2011-01-01..2011-12-31"
    assert q.language == "en" and q.today == today and q.filters is None
    assert q.search_filters == SearchFilters(
        date_from=dt.date(2011, 1, 1), date_to=dt.date(2011, 12, 31)
    )
    caller = SearchFilters(language="fr", date_from=dt.date(1980, 1, 1))
    explicit = parse_question("Et l'an dernier ?", filters=caller, today=today)
    assert explicit.period is not None and explicit.period.origin == "filters"
    assert explicit.search_filters == caller  # the caller's dates win, untouched


def test_archive_reads_the_question_once_and_the_answerer_gets_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []
    real = question_dates.question_date_range

    def counted(text: str, **kwargs: Any):  # type: ignore[no-untyped-def]
        reads.append(text)
        return real(text, **kwargs)

    monkeypatch.setattr(question_dates, "question_date_range", counted)
    got: list[Question | str] = []

    class Spy:
        name = "spy"
        retrieve_k = 3

        def answer(self, question: Question | str, hits: list[Any]) -> Answer:
            got.append(question)
            return Answer(text=f"{len(hits)} hits", backend=self.name)

    archive = Archive(Settings(db=str(tmp_path / "idx")).options())
    note = b"# Harbour\n\nON 4 May 2011 the harbour of Port-Aurele closed for a strike.\n"
    archive.ingest([SourceDocument(uri="mem://harbour.md", data=note)])
    today = dt.date(2012, 6, 1)
    with ANSWERERS.overridden("spy", lambda opts, deps: Spy()):
        answer = archive.ask("What happened at the harbour last year?", backend="spy", today=today)
    (asked,) = got
    assert isinstance(asked, Question) and asked.today == today
    assert asked.period == answer.date_filter and answer.date_filter is not None
    assert answer.date_filter.label == "2011-01-01..2011-12-31" and answer.text == "1 hits"
    assert reads == ["What happened at the harbour last year?"]  # parsed once, not again
    # The LLM answerer takes the period and time cues from the Question: no second reading.
    reads.clear()
    asked = parse_question("How did the harbour change since 2010?", today=today)
    hits = archive.search(asked.text, k=2)
    opts = LLMOptions(base_url="", tokenizer="estimate")
    with LLMServer(reply=lambda request: "It closed [1].") as server:
        llm = LongContextAnswerer(opts.model_copy(update={"base_url": server.url}))
        reply = llm.answer(asked, hits)
    assert reply.found and reply.context is not None and reply.context.chronological
    assert reads == ["How did the harbour change since 2010?"]
