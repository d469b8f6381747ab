"""Languages: short questions are read by Lingua among the archive's languages; documents keep
the stop-word profile."""

from __future__ import annotations

import pytest

from pipeline.lang import detect_language, question_language
from pipeline.question import parse_question

ARCHIVE = ("French", "English")

SHORT = [
    ("Grève des dockers", "fr"),
    ("Bonjour", "fr"),
    ("canicule Lorvennes", "fr"),
    ("Quelle température ?", "fr"),
    ("record de chaleur", "fr"),
    ("inondation à Ashwick", "fr"),
    ("Hello", "en"),
    ("dockers strike", "en"),
    ("Kestrel probe launch", "en"),
    ("bridge opening", "en"),
    ("vaccine trial results", "en"),
    ("Who won?", "en"),
]


@pytest.mark.parametrize(("question", "language"), SHORT)
def test_short_questions_get_their_language(question: str, language: str) -> None:
    assert question_language(question, ARCHIVE) == language
    assert parse_question(question).language == language


def test_stop_words_alone_cannot_tell_short_questions() -> None:
    """Why the detector is needed: most of these have one stop word or none."""
    unknown = [q for q, _ in SHORT if detect_language(q) is None]
    assert len(unknown) >= len(SHORT) // 2


def test_only_the_archive_languages_are_answered() -> None:
    german = "Wann wurde die Raumsonde gestartet?"
    assert question_language(german, ARCHIVE) in ("fr", "en")  # an index the archive has
    assert question_language(german, ("French", "English", "German")) == "de"
    assert parse_question(german, languages=("English", "German")).language == "de"
    assert question_language("Bonjour", ("fr", "en")) == "fr"  # codes work as well as names


def test_nothing_to_read_is_no_language() -> None:
    assert question_language("1987", ARCHIVE) is None
    assert question_language("  ", ARCHIVE) is None


def test_documents_keep_the_stop_word_profile() -> None:
    text = "Le port de Port-Aurèle est paralysé depuis onze jours par la grève des dockers."
    assert detect_language(text) == "fr"
    assert detect_language("Der Hafen ist seit elf Tagen durch den Streik gelähmt.") == "de"
