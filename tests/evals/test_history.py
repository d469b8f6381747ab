"""Eval history (JSONL, one run a line) and the quality gate."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from evals.history import EvalRun, Gate, append_run, check_gates, load_runs, parse_gates


def _run(day: int, ndcg: float, *, dataset: str = "piaf", kind: str = "retrieval") -> EvalRun:
    return EvalRun(
        run_id=f"r{day}",
        kind=kind,
        dataset=dataset,
        created_at=dt.datetime(2026, 1, day, tzinfo=dt.UTC),
        table_version=10 + day,
        index_path="/idx",
        index_key="k" * 64,
        settings={"embedder": {"kind": "use-multilingual"}, "chunker": {"max_tokens": 256}},
        scores={"hybrid": {"ndcg@10": ndcg}, "fts": {"ndcg@10": ndcg - 0.1}},
        default_mode="hybrid",
    )


def test_runs_come_back_oldest_first_and_filtered(tmp_path: Path):
    path = tmp_path / "sub" / "history.jsonl"
    append_run(path, _run(3, 0.9))
    append_run(path, _run(1, 0.8))
    append_run(path, _run(2, 0.7, dataset="other"))
    with path.open("a", encoding="utf-8") as f:
        f.write("{not json\n\n")  # a damaged line must not hide the others
    assert [r.run_id for r in load_runs(path)] == ["r1", "r2", "r3"]
    assert [r.table_version for r in load_runs(path, dataset="piaf")] == [11, 13]
    assert load_runs(path, kind="answers") == []
    assert load_runs(tmp_path / "missing.jsonl") == []


def test_gates_parse_modes_metrics_and_lists():
    assert parse_gates(["ndcg@10=0.85,fts:recall@10=0.9", "hybrid+rerank:mrr@10=0.8"]) == [
        Gate(None, "ndcg@10", 0.85),
        Gate("fts", "recall@10", 0.9),
        Gate("hybrid+rerank", "mrr@10", 0.8),
    ]
    for bad in ("ndcg@10", "ndcg@10=high"):
        with pytest.raises(ValueError, match="gate"):
            parse_gates([bad])


def test_gates_compare_with_the_default_mode_unless_told():
    scores = {"hybrid": {"ndcg@10": 0.84}, "fts": {"ndcg@10": 0.9}}
    failures = check_gates(scores, parse_gates(["ndcg@10=0.85", "fts:ndcg@10=0.85"]), "hybrid")
    assert [str(f) for f in failures] == ["hybrid ndcg@10 = 0.840 < 0.85"]
    assert check_gates(scores, parse_gates(["ndcg@10=0.84"]), "hybrid") == []  # at the bar passes
    missing = check_gates(scores, parse_gates(["vector:ndcg@10=0.1"]), "hybrid")
    assert [str(f) for f in missing] == ["vector ndcg@10 = missing < 0.1"]
