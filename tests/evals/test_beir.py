"""Loading BEIR files: corpus, queries with answers, qrels (BEIR and TREC layouts), distractors."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.beir import load_beir, load_distractors, load_qrels, load_queries
from evals.collection import document_bytes
from pipeline.errors import DocumentLoadError


def test_tiny_set_loads_with_graded_qrels_and_answers(tiny_beir):
    ds = load_beir(tiny_beir.corpus, tiny_beir.queries, tiny_beir.qrels)
    assert ds.name == "tiny"
    assert len(ds.corpus) == 6 and ds.corpus["D3"].title == "Kestrel probe launch"
    assert ds.qrels["q1"] == {"D1": 2, "D6": 1}
    assert ds.queries["q2"].answers == ("41,2 degrés",)
    assert [q.id for q in ds.judged_queries()] == ["q1", "q2", "q3", "q4", "q5"]


def test_fingerprint_follows_corpus_and_distractors_not_queries(tiny_beir, tmp_path):
    base = load_beir(tiny_beir.corpus, tiny_beir.queries, tiny_beir.qrels)
    other_queries = tmp_path / "q.jsonl"
    other_queries.write_text('{"_id": "x", "text": "autre chose"}\n', encoding="utf-8")
    same = load_beir(tiny_beir.corpus, other_queries)
    extra = load_beir(tiny_beir.corpus, tiny_beir.queries, distractors=tiny_beir.distractors_dir)
    assert base.fingerprint == same.fingerprint
    assert extra.fingerprint != base.fingerprint


def test_distractors_from_a_folder_or_a_zip(tiny_beir):
    folder = load_distractors(tiny_beir.distractors_dir)
    zipped = load_distractors(tiny_beir.distractors_zip)
    assert [d.name for d in folder] == ["sport/rugby.txt", "weather/orages.txt", "weather/snow.txt"]
    assert sorted(d.data for d in folder) == sorted(d.data for d in zipped)
    with pytest.raises(DocumentLoadError, match="neither a folder nor a zip"):
        load_distractors(tiny_beir.qrels)


def test_qrels_without_header_and_in_trec_layout(tmp_path: Path):
    path = tmp_path / "qrels.txt"
    path.write_text("q1 0 D1 1\nq1 0 D2 0\nq2 0 D3 2\n", encoding="utf-8")
    assert load_qrels(path) == {"q1": {"D1": 1, "D2": 0}, "q2": {"D3": 2}}


def test_malformed_files_name_the_line(tmp_path: Path):
    bad = tmp_path / "queries.jsonl"
    bad.write_text('{"_id": "q1", "text": "a"}\nnot json\n', encoding="utf-8")
    with pytest.raises(DocumentLoadError, match=r"queries.jsonl:2"):
        load_queries(bad)
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text("query-id\tcorpus-id\tscore\nq1\tD1\tyes\n", encoding="utf-8")
    with pytest.raises(DocumentLoadError, match=r"qrels.tsv:2: score 'yes'"):
        load_qrels(qrels)


def test_duplicate_corpus_ids_are_refused(tmp_path: Path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"_id": "a", "text": "x"}\n{"_id": "a", "text": "y"}\n', encoding="utf-8")
    queries = tmp_path / "queries.jsonl"
    queries.write_text('{"_id": "q", "text": "x"}\n', encoding="utf-8")
    with pytest.raises(DocumentLoadError, match="appears twice"):
        load_beir(corpus, queries)


def test_a_single_answer_string_is_a_list_of_one(tmp_path: Path):
    path = tmp_path / "queries.jsonl"
    path.write_text('{"_id": "q", "text": "?", "metadata": {"answers": "Oui"}}\n', "utf-8")
    assert load_queries(path)["q"].answers == ("Oui",)


def test_titles_become_front_matter_that_survives_yaml_specials():
    data = document_bytes('Dockers: "suite" du conflit', "Texte.").decode()
    from pipeline.convert.text import split_front_matter

    front, body = split_front_matter(data)
    assert front == {"title": 'Dockers: "suite" du conflit'}
    assert body.strip() == "Texte."
    assert document_bytes("", "Texte seul.") == b"Texte seul.\n"
