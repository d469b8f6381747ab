"""The news question set: its BEIR files are what make_beir.py writes from its sources."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from evals.beir import load_beir

NEWS = Path(__file__).resolve().parents[2] / "evals" / "data" / "news"


def _builder():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("make_beir", NEWS / "make_beir.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_files_match_the_sources() -> None:
    for name, content in _builder().build(NEWS).items():
        assert (NEWS / name).read_text(encoding="utf-8") == content, f"run make_beir.py: {name}"


def test_set_loads_with_gold_answers_and_one_story_per_question() -> None:
    ds = load_beir(NEWS / "corpus.jsonl", NEWS / "queries.jsonl", NEWS / "qrels.tsv", name="news")
    assert len(ds.queries) >= 100 and all(q.answers for q in ds.queries.values())
    assert all(len(ds.qrels[q]) == 1 for q in ds.queries)
    english = [q for q in ds.queries if q.startswith("en-")]
    assert len(english) >= 100
