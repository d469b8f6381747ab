"""The word-list repair of the letters the fast recogniser loses, on real word frequencies."""

from __future__ import annotations

import json

import pymupdf
import pytest

from pipeline.ocr.lexicon import lexicon
from tests.conftest import SAMPLE_DOCS, SHARED_DATA

pytest.importorskip("wordfreq")


@pytest.fixture(scope="module")
def words():
    return lexicon(("fr", "en"))


@pytest.mark.parametrize(
    ("read", "meant"),
    [
        ("oeil", "œil"),  # what the tiny model wrote on the noisy scans (bench/scan_quality.py)
        ("eil", "œil"),
        ("cœuvre", "œuvre"),
        ("oœuvre", "œuvre"),
        ("œeuvre", "œuvre"),
        ("CEuvre", "Œuvre"),
        ("Éuvre", "Œuvre"),
        ("soeœurs", "sœurs"),
        ("mancœuvre", "manœuvre"),
        ("coœur", "cœur"),
        ("æil", "œil"),  # the small model's misreading, met on the second pass
        ("EUVRE", "ŒUVRE"),
    ],
)
def test_lost_letters_are_put_back(words, read: str, meant: str) -> None:
    assert words.repair_word(read) == meant


@pytest.mark.parametrize("word", ["mais", "naive", "hair", "coincidence", "does", "Paris"])
def test_words_that_exist_stay_even_when_a_variant_exists(words, word: str) -> None:
    assert words.repair_word(word) == word


def test_repair_keeps_the_line_and_counts_changes(words) -> None:
    text, changed = words.repair("chaque matin au bassin Sainte-CEuvre, l'oeil ouvert")
    assert (text, changed) == ("chaque matin au bassin Sainte-Œuvre, l'œil ouvert", 2)


def test_misses_are_long_words_no_language_knows(words) -> None:
    assert words.misses("Le montant pubfique de 51 744 M$ en 2023") == ["pubfique"]
    assert words.misses("The bridge opened in June") == []


def _correct_texts() -> list[str]:
    texts = [
        "".join(p.get_text() for p in pymupdf.open(path)) for path in SAMPLE_DOCS.glob("*.pdf")
    ]
    piaf = SHARED_DATA / "piaf" / "corpus.jsonl"
    if piaf.exists():
        lines = piaf.read_text(encoding="utf-8").splitlines()[:150]
        texts += [json.loads(line)["text"] for line in lines]
    return texts


def test_repair_changes_nothing_in_correct_text(words) -> None:
    """Printed French and English (the demo dispatches, service-public.fr fiches) stay as they are:
    the repair only turns a reading into a more frequent word. The one kind of change allowed is a
    word set in capitals without its diaeresis (INOUI for INOUÏ), and rarely."""
    changed, total = [], 0
    for text in _correct_texts():
        repaired, count = words.repair(text)
        total += len(text.split())
        if count:
            changed += [
                (a, b) for a, b in zip(text.split(), repaired.split(), strict=True) if a != b
            ]
    assert all(a.isupper() for a, _ in changed), changed
    assert len(changed) <= total / 10_000
