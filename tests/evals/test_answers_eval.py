"""The answer eval: scoring functions by hand, then whole runs with the offline answerer and with
an OpenAI-compatible server on 127.0.0.1 whose replies are scripted."""

from __future__ import annotations

import re
from typing import Any

import pytest

from evals.answers import contains_answer, evaluate_answers, normalize_answer, token_f1
from evals.collection import build_eval_index
from pipeline.models import AnswerOptions, LLMOptions
from pipeline.settings import Settings
from tests.llm_server import LLMServer, prompt_text


def test_normalisation_drops_case_accents_punctuation_articles_and_marks():
    # "à" folds to "a", which goes with the English articles: the same on both sides
    assert normalize_answer("La Fermeture du Terminal [2], à Aurèle !") == (
        "fermeture terminal aurele"
    )
    assert normalize_answer("The Kestrel  probe [1; 3]") == "kestrel probe"


def test_containment_is_on_whole_words():
    assert contains_answer("Il a fait 41,2 degrés [1].", ["41,2 degrés"])
    assert not contains_answer("Il a fait 141,2 degrés.", ["41,2 degrés"])
    assert not contains_answer("anything", [])


def test_token_f1_by_hand():
    # articles go ("la", and "a" as in English): pred "vente n pas lieu" (4 tokens),
    # gold "vente n pas lieu en ce cas" (7), 4 common: P = 1, R = 4/7, F1 = 8/11
    assert token_f1("La vente n'a pas lieu", ["la vente n'a pas lieu en ce cas"]) == pytest.approx(
        8 / 11
    )
    assert token_f1("Oui", ["non", "oui"]) == 1.0  # the best gold answer counts
    assert token_f1("", ["oui"]) == 0.0


GOLD = {
    "Pourquoi les dockers": ("la fermeture du terminal à conteneurs", "fermeture du terminal"),
    "Quelle température": ("41,2 degrés", "41,2 degrés"),
    "When did the Kestrel": ("7 September", "7 September"),
    "How many homes": ("Two hundred", "Two hundred homes"),
}
_SOURCE = re.compile(r"^\[(\d+)\][^\n]*\n(.*?)(?=^\[\d+\]|\Z)", re.MULTILINE | re.DOTALL)


def scripted_reply(request: dict[str, Any]) -> str:
    """Answer four questions with their gold answer, citing the source that holds it; q4 also
    cites a source about something else; the fifth question gets "I don't know"."""
    prompt = prompt_text(request)
    question = prompt.rsplit("Question:", 1)[-1].strip()
    sources = {int(n): text for n, text in _SOURCE.findall(prompt.split("Question:")[0])}
    for start, (answer, evidence) in GOLD.items():
        if question.startswith(start):
            good = next(n for n, text in sources.items() if evidence in text)
            marks = f"[{good}]"
            if start == "How many homes":
                other = next(n for n, text in sources.items() if "Brennach" not in text)
                marks += f" [{other}]"
            return f"{answer} {marks}."
    return "Je ne sais pas : les sources ne le disent pas."


@pytest.mark.integration
def test_openai_backend_scores_accuracy_f1_and_citation_precision(tiny_beir, eval_cache, embedder):
    from evals.beir import load_beir

    dataset = load_beir(
        tiny_beir.corpus, tiny_beir.queries, tiny_beir.qrels, distractors=tiny_beir.distractors_zip
    )
    with LLMServer(reply=scripted_reply) as server:
        options = Settings().options()
        llm = LLMOptions(base_url=server.url, model="mistral-small", max_retries=0)
        options = options._replace(answer=AnswerOptions(backend="openai", llm=llm))
        index = build_eval_index(dataset, options, cache_root=eval_cache)
        result = evaluate_answers(dataset, index, backend="openai")
    assert len(server.requests) == 4 or len(server.requests) == 5
    rows = {r.query_id: r for r in result.rows}
    assert [rows[q].correct for q in ("q1", "q2", "q3", "q4", "q5")] == [True] * 4 + [False]
    assert result.accuracy == pytest.approx(0.8)
    assert result.f1 == pytest.approx(0.8)  # four exact answers, one "don't know"
    assert result.found_rate == pytest.approx(0.8)
    # five citations, one of them (q4's second) outside the relevant document
    assert (rows["q4"].citations, rows["q4"].relevant_citations) == (2, 1)
    assert result.citation_precision == pytest.approx(4 / 5)
    assert result.settings["answer"]["backend"] == "openai"


def test_offline_backend_rows_are_consistent(tiny_index):
    dataset, index = tiny_index
    result = evaluate_answers(dataset, index, backend="offline")
    assert result.backend == "offline" and len(result.rows) == 5
    for row in result.rows:
        assert row.correct == (row.found and contains_answer(row.answer, row.gold))
        assert row.relevant_citations is not None and row.relevant_citations <= row.citations
    # the extractive answerer quotes the record sentence whole
    assert {r.query_id: r.correct for r in result.rows}["q2"]
    assert result.accuracy == pytest.approx(sum(r.correct for r in result.rows) / 5)


def test_a_failing_backend_is_a_wrong_answer_not_a_crash(tiny_index):
    dataset, index = tiny_index
    result = evaluate_answers(dataset, index, backend="openai")  # no base_url configured
    assert result.accuracy == 0.0
    assert all(r.error for r in result.rows)
