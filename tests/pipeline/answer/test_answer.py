"""The answer stage without an LLM: sentence splitting, citations, the offline answerer and the
backend registry (the LLM side is in test_answer_llm.py)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from pipeline.answer import ANSWERERS, make_answerer
from pipeline.answer.citations import (
    NOT_FOUND,
    number_sources,
    parse_marks,
    reply_language,
    resolve_citations,
)
from pipeline.answer.offline import OfflineAnswerer, sentence_relevance
from pipeline.answer.openai_chat import OpenAIChatAnswerer
from pipeline.answer.sentences import content_terms, split_sentences
from pipeline.embed import Embedder, make_embedder
from pipeline.errors import ConfigError
from pipeline.models import AnswerOptions, EmbedOptions, Hit, LLMOptions
from tests.pipeline.answer.answer_fixtures import (
    DOC_BANK,
    DOC_HEAT,
    DOC_LYON,
    DOC_PORT_EN,
    DOC_PORT_FR,
    KNOWN_MISS,
    RELEVANT,
    UNRELATED,
    chunk_of,
    corpus_chunks,
    hits_for,
)


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return make_embedder(EmbedOptions())


@pytest.fixture(scope="module")
def offline(embedder: Embedder) -> OfflineAnswerer:
    return OfflineAnswerer(AnswerOptions(), embedder=embedder)


def _retrieve(question: str, embedder: Embedder) -> list[Hit]:
    """Every fixture chunk, ordered by vector similarity to the question (a stand-in retriever)."""
    chunks = corpus_chunks()
    sims = embedder.embed_documents([c.text for c in chunks]) @ embedder.embed_query(question)
    return hits_for([chunks[i] for i in np.argsort(-sims)])


# --- sentences ----------------------------------------------------------------------------------


def test_sentences_survive_french_and_english_abbreviations() -> None:
    text = (
        "M. Dupont a parlé au Dr. Martin (p. 12) du n° 5 de la revue. Le taux est passé à 3.5 % "
        "cette année. J. R. R. Tolkien was quoted by Mr. Smith on page 4. It ended there."
    )
    got = [s.text for s in split_sentences(text)]
    assert got == [
        "M. Dupont a parlé au Dr. Martin (p. 12) du n° 5 de la revue.",
        "Le taux est passé à 3.5 % cette année.",
        "J. R. R. Tolkien was quoted by Mr. Smith on page 4.",
    ]  # "It ended there." is too short to be evidence


def test_sentences_drop_markdown_syntax_footers_and_follow_page_anchors() -> None:
    text = (
        "# Trafic du port\n\nLe trafic a baissé **nettement** cette année-là.\n\n"
        "| Année | Tonnage |\n|---|---:|\n| 2023 | 1 200 000 t |\n\n"
        "<!-- page 9 -->\n- Les [dockers](http://x) ont repris le travail samedi.\n\n"
        "Agence Meridien – dépêche du 12 mai 1983 – page 2/3"
    )
    got = split_sentences(text, first_page=8)
    assert [(s.text, s.page) for s in got] == [
        ("Le trafic a baissé nettement cette année-là.", 8),
        ("Année: 2023; Tonnage: 1 200 000 t.", 8),
        ("Les dockers ont repris le travail samedi.", 9),
    ]


def test_content_terms_fold_accents_stem_and_canonicalise_numbers() -> None:
    assert content_terms("Les Grèves du port") == content_terms("la grève, des ports")
    assert "1500" in content_terms("1 500 euros") & content_terms("1,500 euros")
    assert not content_terms("Qui a fait ce que ?")  # stop words only


# --- citations ----------------------------------------------------------------------------------


def test_parse_marks_reads_every_form_in_order_of_first_appearance() -> None:
    assert parse_marks("A [2]. B [1, 3]. C [3][4] D [5-6] and [2] again.") == [2, 1, 3, 4, 5, 6]


def test_resolve_citations_drops_and_flags_unknown_numbers() -> None:
    sources = number_sources(hits_for([chunk_of(DOC_BANK), chunk_of(DOC_HEAT)]))
    text = "Rates rose to 4.25% [1]. It was 41,2 °C [2]. Pigs fly [7]."
    resolved = resolve_citations(text, sources)
    assert [(c.n, c.chunk_id) for c in resolved.citations] == [
        (1, chunk_of(DOC_BANK).chunk_id),
        (2, chunk_of(DOC_HEAT).chunk_id),
    ]
    assert resolved.flagged == ["unknown citation [7]"]
    assert "4.25%" in resolved.citations[0].quote  # the sentence the answer talks about
    assert "41,2 °C" in resolved.citations[1].quote


def test_number_sources_counts_each_chunk_once() -> None:
    c = chunk_of(DOC_LYON)
    assert [s.n for s in number_sources(hits_for([c, chunk_of(DOC_BANK), c]))] == [1, 2]


@pytest.mark.parametrize(
    ("question", "lang"),
    [("Qui a gagné ?", "fr"), ("Combien de morts ?", "fr"), ("Who won?", "en"), ("La grève", "fr")],
)
def test_reply_language(question: str, lang: str) -> None:
    assert reply_language(question) == lang


# --- offline answerer ---------------------------------------------------------------------------


def test_offline_cites_the_answering_sentence_with_its_own_page(offline: OfflineAnswerer) -> None:
    hits = hits_for([chunk_of(DOC_PORT_EN, 0), chunk_of(DOC_PORT_EN, 1), chunk_of(DOC_BANK)])
    answer = offline.answer("How much money did exporters lose?", hits)
    assert answer.found and answer.backend == "offline"
    assert answer.text.startswith("Exporters of wine and olive oil said they lost about 12 million")
    first = answer.citations[0]
    assert (first.n, first.chunk_id) == (2, chunk_of(DOC_PORT_EN, 1).chunk_id)
    # the chunk spans pages 3-4; the quoted sentence sits after the page-4 anchor
    assert (first.page_start, first.page_end) == (4, 4)
    assert "12 million euros" in first.quote
    assert first.title == "Dockers walk out in Marseille" and first.source == "The Coastal Herald"


def test_offline_answers_in_french_from_french_passages(offline: OfflineAnswerer) -> None:
    hits = hits_for([chunk_of(DOC_HEAT), chunk_of(DOC_PORT_FR), chunk_of(DOC_LYON)])
    answer = offline.answer("Quelle chaleur a-t-on mesurée à Carpentras ?", hits)
    assert answer.found
    assert "41,2 °C à Carpentras" in answer.text
    cited = {c.chunk_id: (c.page_start, c.page_end) for c in answer.citations}
    assert cited == {chunk_of(DOC_HEAT).chunk_id: (5, 5)}


def test_offline_marks_match_citations(offline: OfflineAnswerer, embedder: Embedder) -> None:
    question = "Why did the harbour workers in Marseille stop working?"
    answer = offline.answer(question, _retrieve(question, embedder))
    assert [c.n for c in answer.citations] == parse_marks(answer.text)
    numbered = {s.n: s.chunk.chunk_id for s in number_sources(_retrieve(question, embedder))}
    assert all(numbered[c.n] == c.chunk_id for c in answer.citations)
    plain = " ".join(re.sub(r"\[\d+\]", " ", answer.text).split())
    assert all(c.quote and c.quote in plain for c in answer.citations)  # quotes are verbatim
    assert "planned automation" in answer.citations[0].quote


def test_offline_limits_sentences_overall_and_per_chunk(embedder: Embedder) -> None:
    answerer = OfflineAnswerer(AnswerOptions(max_sentences=4), embedder=embedder)
    question = "What happened during the dock strike in Marseille and what did it cost?"
    answer = answerer.answer(question, _retrieve(question, embedder))
    sentences = answer.text.split("\n\n", 1)[-1] if answer.short else answer.text
    marks = [int(m) for m in re.findall(r"\[(\d+)\]", sentences)]
    assert 1 <= len(marks) <= 4
    assert max(marks.count(n) for n in set(marks)) <= 2


def test_offline_quotes_a_sentence_repeated_by_overlapping_chunks_once(
    offline: OfflineAnswerer,
) -> None:
    first = chunk_of(DOC_PORT_EN, 1)
    overlap = first.model_copy(update={"chunk_id": "overlap-00002", "ordinal": 2})
    answer = offline.answer("How much money did exporters lose?", hits_for([first, overlap]))
    assert answer.text.count("12 million euros") == 1


@pytest.mark.parametrize(
    ("question", "gold"),
    [
        pytest.param(q, g, marks=pytest.mark.xfail(strict=True, reason="known miss"))
        if q == KNOWN_MISS
        else (q, g)
        for q, g in RELEVANT
    ],
)
def test_offline_finds_paraphrased_questions(
    offline: OfflineAnswerer, embedder: Embedder, question: str, gold: str
) -> None:
    answer = offline.answer(question, _retrieve(question, embedder))
    assert answer.found, f"relevant question rejected: {question}"
    assert answer.citations


def test_offline_quotes_the_gold_sentence_for_most_questions(
    offline: OfflineAnswerer, embedder: Embedder
) -> None:
    quoted = [
        any(gold in c.quote for c in offline.answer(q, _retrieve(q, embedder)).citations)
        for q, gold in RELEVANT
    ]
    assert sum(quoted) >= len(RELEVANT) - 3, quoted


@pytest.mark.parametrize("question", UNRELATED)
def test_offline_says_nothing_found_for_unrelated_questions(
    offline: OfflineAnswerer, embedder: Embedder, question: str
) -> None:
    answer = offline.answer(question, _retrieve(question, embedder))
    assert not answer.found and answer.citations == []
    assert answer.text == NOT_FOUND[reply_language(question)]


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("What is the boiling point of mercury?", "en"),
        ("Quel est le point d'ébullition du mercure ?", "fr"),
    ],
)
def test_offline_mercury_over_harbour_strike_news_is_not_found(
    offline: OfflineAnswerer, question: str, lang: str
) -> None:
    hits = hits_for([chunk_of(DOC_PORT_EN, 0), chunk_of(DOC_PORT_EN, 1), chunk_of(DOC_PORT_FR)])
    answer = offline.answer(question, hits)
    assert not answer.found
    assert answer.text == NOT_FOUND[lang]


def test_relevance_separates_related_from_unrelated(embedder: Embedder) -> None:
    """The calibration behind ``AnswerOptions.min_relevance``: best sentence of related questions
    vs best sentence of unrelated ones, over the same French and English passages."""
    rows = [(c, s.text) for c in corpus_chunks() for s in split_sentences(c.text)]
    passages = [f"{c.title}\n{c.text}" for c, _ in rows]
    sentences = [t for _, t in rows]

    def best(q: str) -> float:
        return float(sentence_relevance(q, sentences, passages, embedder).max())

    floor = AnswerOptions().min_relevance
    related = sorted(best(q) for q, _ in RELEVANT if q != KNOWN_MISS)
    unrelated = sorted(best(q) for q in UNRELATED)
    assert related[0] > floor, related[:3]
    assert unrelated[-1] < floor, unrelated[-3:]
    assert np.median(related) - np.median(unrelated) > 0.2


@pytest.mark.parametrize(
    ("question", "text"),
    [("Qui a gagné la finale ?", NOT_FOUND["fr"]), ("Who won the final?", NOT_FOUND["en"])],
)
def test_offline_without_hits(offline: OfflineAnswerer, question: str, text: str) -> None:
    answer = offline.answer(question, [])
    assert (answer.found, answer.text, answer.citations) == (False, text, [])


def test_offline_works_without_an_embedder() -> None:
    answerer = OfflineAnswerer(AnswerOptions())
    hits = hits_for([chunk_of(DOC_BANK), chunk_of(DOC_PORT_EN, 1)])
    answer = answerer.answer("How many ships were waiting at anchor?", hits)
    assert answer.found
    assert answer.short == "35 ships"
    assert answer.text.startswith("35 ships [2]\n\nThe walkout lasted four days and left 35 ships")
    assert answer.citations[0].chunk_id == chunk_of(DOC_PORT_EN, 1).chunk_id
    assert not answerer.answer("Who painted the Mona Lisa?", hits).found


# --- registry -----------------------------------------------------------------------------------


def test_make_answerer_picks_backends_and_lists_valid_ones() -> None:
    assert make_answerer(AnswerOptions()).name == "offline"
    opts = AnswerOptions(backend="openai", llm=LLMOptions(base_url="http://127.0.0.1:9/v1"))
    assert isinstance(make_answerer(opts), OpenAIChatAnswerer)
    with pytest.raises(ConfigError, match="valid: offline, openai"):
        make_answerer(AnswerOptions(backend="gpt-9"))
    assert set(ANSWERERS) >= {"offline", "openai"}


def test_openai_backend_needs_a_base_url() -> None:
    with pytest.raises(ConfigError, match="ARCHIVIST_LLM_BASE_URL"):
        make_answerer(AnswerOptions(backend="openai"))
