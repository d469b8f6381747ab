"""Dates in questions (French and English, relative to a reference date) and in documents."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.convert import convert_document
from pipeline.dates import (
    document_date,
    fold,
    is_time_question,
    question_date_range,
    scope_filters,
)
from pipeline.models import SearchFilters, SourceDocument, SourceMetadata

TODAY = dt.date(2025, 6, 15)  # a Sunday


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("Qui a gagné les élections régionales en 1987 ?", "1987-01-01", "1987-12-31"),
        ("Que disait la presse en mai 1983 ?", "1983-05-01", "1983-05-31"),
        ("How high did the river rise in April 2011?", "2011-04-01", "2011-04-30"),
        ("Comment la couverture a-t-elle évolué entre 1983 et 1990 ?", "1983-01-01", "1990-12-31"),
        ("What changed between 1990 and 1995?", "1990-01-01", "1995-12-31"),
        ("Entre mars 1987 et juin 1988, qui dirigeait la région ?", "1987-03-01", "1988-06-30"),
        ("Quelles grèves de 1983 à 1986 ?", "1983-01-01", "1986-12-31"),
        ("Strikes from 1983 to 1986?", "1983-01-01", "1986-12-31"),
        ("Floods in 2009-11?", "2009-01-01", "2011-12-31"),
        ("What happened in the 1980s?", "1980-01-01", "1989-12-31"),
        ("What happened in the '90s?", "1990-01-01", "1999-12-31"),
        ("Les grèves dans les années 80 ?", "1980-01-01", "1989-12-31"),
        ("Et au début des années 1990 ?", "1990-01-01", "1993-12-31"),
        ("Et à la fin des années 1990 ?", "1996-01-01", "1999-12-31"),
        ("Bridges built in the late 1990s?", "1996-01-01", "1999-12-31"),
        ("Que s'est-il passé au XXe siècle ?", "1901-01-01", "2000-12-31"),
        ("Que s'est-il passé depuis 2015 ?", "2015-01-01", "2025-06-15"),
        ("What was built since March 2020?", "2020-03-01", "2025-06-15"),
        ("Les inondations avant 1990 ?", None, "1989-12-31"),
        ("Floods after 2001?", "2002-01-01", None),
        ("Jusqu'en 1990, qui dirigeait le port ?", None, "1990-12-31"),
        ("À partir de 2010, qui dirigeait le port ?", "2010-01-01", None),
        ("Que s'est-il passé le 12 mai 1983 ?", "1983-05-12", "1983-05-19"),
        ("What happened on September 7, 1994?", "1994-09-07", "1994-09-14"),
        ("Qu'a-t-on publié l'an dernier ?", "2024-01-01", "2024-12-31"),
        ("What did we publish last year?", "2024-01-01", "2024-12-31"),
        ("Et cette année ?", "2025-01-01", "2025-06-15"),
        ("Et le mois dernier ?", "2025-05-01", "2025-05-31"),
        ("What happened last week?", "2025-06-02", "2025-06-08"),
        ("Que s'est-il passé il y a dix ans ?", "2015-01-01", "2015-12-31"),
        ("What happened 40 years ago?", "1985-01-01", "1985-12-31"),
        ("Floods in the last 5 years?", "2020-06-15", "2025-06-15"),
        ("Les crues au cours des trois dernières années ?", "2022-06-15", "2025-06-15"),
        ("Les crues depuis 10 ans ?", "2015-06-15", "2025-06-15"),
    ],
)
def test_question_dates_become_a_range(question: str, start: str | None, end: str | None) -> None:
    found = question_date_range(question, today=TODAY)
    assert found is not None, question
    assert (found.start, found.end) == (start and d(start), end and d(end))
    assert found.origin == "question" and found.text and found.text in question


@pytest.mark.parametrize(
    "question",
    [
        "Combien de dépêches des années 1990 l'Agence a-t-elle numérisées ?",  # a subject
        "Quel score aux élections régionales de 1987 en Haute-Varenne ?",
        "Who won the 1987 elections?",
        "Quelle température pendant la canicule d'août 2003 ?",
        "How long is the main span of the bridge?",
        "Le record datait de 1947 : qui l'a battu ?",
        "Combien de sièges sur les 71 ?",
        "Les 2 340 dockers ont-ils repris le travail ?",
    ],
)
def test_dates_that_name_a_thing_are_not_filters(question: str) -> None:
    assert question_date_range(question, today=TODAY) is None


def test_several_periods_join_into_one_span() -> None:
    found = question_date_range("Et entre 1983 et 1985, puis en 1990 ?", today=TODAY)
    assert found is not None and found.label == "1983-01-01..1990-12-31"
    assert found.text == "entre 1983 et 1985 … en 1990"
    opened = question_date_range("Depuis 2015, et en 2010 ?", today=TODAY)
    assert opened is not None and opened.label == "2010-01-01..2025-06-15"


def test_relative_dates_follow_the_reference_date() -> None:
    a = question_date_range("last year", today=dt.date(2001, 3, 1))
    b = question_date_range("last year", today=dt.date(2011, 3, 1))
    assert a is not None and b is not None
    assert (a.start, b.start) == (dt.date(2000, 1, 1), dt.date(2010, 1, 1))
    january = question_date_range("le mois dernier", today=dt.date(2025, 1, 10))
    assert january is not None and january.label == "2024-12-01..2024-12-31"


def test_time_questions() -> None:
    assert is_time_question("How did coverage of strikes change?")
    assert is_time_question("Comment la couverture a-t-elle évolué ?")
    assert is_time_question("Quand le pont a-t-il ouvert ?")
    span = question_date_range("Et entre 1983 et 1990 ?", today=TODAY)
    assert is_time_question("Et entre 1983 et 1990 ?", span)  # several years: read in date order
    year = question_date_range("Qui a gagné en 1987 ?", today=TODAY)
    assert not is_time_question("Qui a gagné en 1987 ?", year)
    assert not is_time_question("What is the budget of the programme?")


def test_scope_filters_keep_explicit_dates_and_other_filters() -> None:
    explicit = SearchFilters(date_from=d("2000-01-01"), language="fr")
    kept = scope_filters("Et en 1987 ?", explicit, today=TODAY)
    assert kept.filters == explicit and not kept.inferred
    assert kept.date_range is not None and kept.date_range.origin == "filters"
    scoped = scope_filters("Et en 1987 ?", SearchFilters(collections=("press",)), today=TODAY)
    assert scoped.inferred and scoped.filters is not None
    assert scoped.filters.collections == ("press",)
    assert (scoped.filters.date_from, scoped.filters.date_to) == (d("1987-01-01"), d("1987-12-31"))
    assert scope_filters("Who won?", None) == (None, None)


def test_fold_keeps_offsets() -> None:
    text = "Entre l’été 1983 et AOÛT 1990 — ﬁn"
    assert len(fold(text)) == len(text)
    assert fold(text).startswith("entre l'ete 1983 et aout 1990")


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("# Grève\n\nPORT-AURÈLE, 12 mai 1983 (Meridien) – Le port est paralysé.", "1983-05-12"),
        ("Kestrel\nTARVIK, September 7, 1994 (Meridien) – The probe lifted off.", "1994-09-07"),
        ("<!-- page 1 -->\nLe 1er février 2025, à Paris.", "2025-02-01"),
        ("Dépêche du 03/04/1991 : inondations", "1991-04-03"),
        ("Published 1999-12-31T23:00", "1999-12-31"),
        ("LE MONDE — Mars 1987\n\nUn mois de grèves.", "1987-03-01"),
        ("The record, set in 1947, fell.", None),  # a bare year is not a dateline
        ("No date here at all.", None),
    ],
)
def test_document_date_from_first_lines(markdown: str, expected: str | None) -> None:
    assert document_date(markdown) == (expected and d(expected))


def test_document_date_reads_only_the_first_lines() -> None:
    body = "\n".join(f"Paragraph {i} without any date." for i in range(40))
    assert document_date(body + "\nSigned 12 May 1983.") is None


def test_converted_documents_get_their_dateline_when_metadata_has_none(
    write_pdf: Callable[..., Path], tmp_path: Path
) -> None:
    dated = write_pdf(
        "dispatch.pdf",
        ["<h1>Floods</h1><p>ASHWICK, April 19, 2011 (Meridien) – The river burst its banks.</p>"],
    )
    doc = convert_document(SourceDocument(uri=str(dated), path=dated))
    assert doc.metadata.date == d("2011-04-19")
    # the PDF's own metadata wins over its text
    stamped = write_pdf(
        "stamped.pdf",
        ["<p>ASHWICK, April 19, 2011 (Meridien) – The river burst its banks.</p>"],
        date="2011-04-20",
    )
    assert convert_document(SourceDocument(uri="s.pdf", path=stamped)).metadata.date == d(
        "2011-04-20"
    )
    # and the connector's (a feed manifest) over both
    src = SourceDocument(
        uri="feed://1", path=stamped, metadata=SourceMetadata(date=d("2011-04-21"))
    )
    assert convert_document(src).metadata.date == d("2011-04-21")
    text = SourceDocument(uri="a.md", data="---\ntitle: A\n---\nParis, 2 mai 1990 – Text.".encode())
    assert convert_document(text).metadata.date == d("1990-05-02")
    front = SourceDocument(uri="b.md", data=b"---\ndate: 1991-01-01\n---\nParis, 2 mai 1990.")
    assert convert_document(front).metadata.date == d("1991-01-01")
