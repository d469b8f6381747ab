"""Short answers: the answer type a question wants, the spans of a sentence, and the pick."""

from __future__ import annotations

import pytest

from pipeline.answer.entities import date_spans, find_spans, models_available, number_spans
from pipeline.answer.qtype import answer_type
from pipeline.answer.short import pick_short_answer


@pytest.mark.parametrize(
    ("question", "kind", "unit"),
    [
        ("Who won the Port Kellan mayoral election?", "person", None),
        ("After whom was the new species named?", "person", None),
        ("When will the new mayor be sworn in?", "date", None),
        ("In which year was the company founded?", "date", None),
        ("How many homes were flooded?", "number", "count"),
        ("How much did the tunnel cost?", "number", "money"),
        ("How long is the road tunnel?", "number", "length"),
        ("How long did the trial last?", "number", "duration"),
        ("What share of the vote did she receive?", "number", "percent"),
        ("Where was the painting found?", "place", None),
        ("Which company built the satellite?", "org", None),
        ("Which rocket launched the satellite?", "entity", None),
        ("What did the nurses strike over?", "thing", None),
        ("Qui a inauguré le pont ?", "person", None),
        ("Quand la laiterie a-t-elle été fondée ?", "date", None),
        ("Combien a coûté le nouveau pont ?", "number", "money"),
        ("Combien de pompiers sont mobilisés ?", "number", "count"),
        ("Quelle est la longueur du pont ?", "number", "length"),
        ("Quelle a été la participation ?", "number", "percent"),
        ("Où le feu a-t-il pris ?", "place", None),
    ],
)
def test_answer_type_from_the_question_word(question: str, kind: str, unit: str | None) -> None:
    expected = answer_type(question)
    assert (expected.kind, expected.unit) == (kind, unit)


def test_focus_is_the_noun_asked_about_not_the_verb() -> None:
    assert answer_type("How many rail workers went on strike?").focus[:2] == ("rail", "work")
    assert answer_type("How many runners started the race?").focus == ("runn",)


def test_numbers_keep_modifier_currency_scale_and_unit() -> None:
    text = (
        "About 2,300 residents left; it cost $2.3 billion, 96 millions d'euros and 52,7 % voted; "
        "the train ran at 112 km/h, she won in 2:21:37 and Redhaven won 3-1; Twenty-three hurt."
    )
    got = {(s.text, s.unit) for s in number_spans(text)}
    assert {
        ("About 2,300", "count"),
        ("Twenty-three", "count"),
        ("$2.3 billion", "money"),
        ("96 millions d'euros", "money"),
        ("52,7 %", "percent"),
        ("112 km/h", "speed"),
        ("2:21:37", "duration"),
        ("3-1", "score"),
        ("Twenty-three", "count"),
    } <= got


def test_a_number_inside_a_name_is_not_a_quantity() -> None:
    assert [s.text for s in number_spans("An Aldane-4 rocket carried Meridian-7.")] == []


def test_dates_in_french_and_english() -> None:
    got = [s.text for s in date_spans("Founded in 1908, sworn in on January 2, open 21 mars 2025.")]
    assert got == ["1908", "January 2", "21 mars 2025"]


def test_parts_of_a_date_are_not_numbers() -> None:
    spans = find_spans("The river peaked on March 14, 2019.", "en")
    assert not [s for s in spans if s.kind == "number"]


def test_pick_prefers_the_kind_asked_for_and_skips_the_dateline() -> None:
    sentences = [
        (
            0.6,
            "WELLCOMBE, September 5, 2019 (Northwire) - A detectorist told the county museum "
            "on Thursday he had found a hoard of coins.",
            "en",
        ),
        (0.4, "The finder, retired postman Geoffrey Hale, searched the field for years.", "en"),
    ]
    short = pick_short_answer("Who found the Wellcombe coin hoard?", sentences)
    assert short is not None and short.text == "Geoffrey Hale" and short.sentence == 1
    when = pick_short_answer("When was the hoard found?", sentences[:1])
    assert when is None or "September" not in when.text


def test_pick_keeps_the_focus_noun_and_never_repeats_the_question() -> None:
    sentences = [(0.9, "About 12,000 rail workers began a 48-hour strike in Kingsmere.", "en")]
    short = pick_short_answer("How many rail workers went on strike in Kingsmere?", sentences)
    assert short is not None and short.text == "About 12,000 rail workers"
    assert pick_short_answer("Where is Kingsmere?", [(0.9, "Kingsmere is.", "en")]) is None


@pytest.mark.skipif(not models_available(), reason="the spaCy packages (archivist[ner]) are absent")
def test_french_person_from_the_trained_model() -> None:
    sentences = [
        (
            0.8,
            "Le nouveau pont, long de 720 mètres, a été inauguré samedi par la ministre des "
            "Transports, Hélène Dussart.",
            "fr",
        ),
    ]
    assert pick_short_answer("Qui a inauguré le pont ?", sentences).text == "Hélène Dussart"  # type: ignore[union-attr]
    length = pick_short_answer("Quelle est la longueur du pont ?", sentences)
    assert length is not None and length.text == "720 mètres"


NON_FACTOID = [
    "What did the nurses strike over?",
    "Qu'est-ce que la médiation familiale ?",
    "Comment fonctionne la franchise d'assurance auto ?",
]


@pytest.mark.parametrize("question", NON_FACTOID)
def test_no_short_answer_for_questions_that_ask_for_no_entity(question: str) -> None:
    sentences = [(0.9, "Nurses in Ellsworth, 3,400 of them, struck over staffing levels.", "en")]
    assert pick_short_answer(question, sentences) is None
