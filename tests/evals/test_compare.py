"""An eval run against earlier ones: per question wins and losses, a paired test, misses first,
and default modes that run offline."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cli.main import app
from evals.compare import compare_runs, paired_randomization_test
from evals.history import EvalRun
from evals.report import answers_markdown, retrieval_markdown
from evals.results import AnswerEval, RetrievalEval

runner = CliRunner()


@pytest.mark.parametrize("n", [6, 12, 40])
def test_the_paired_test_agrees_with_scipy(n: int) -> None:
    from scipy.stats import permutation_test

    rng = np.random.default_rng(n)
    before = rng.random(n)
    after = np.clip(before + rng.normal(0.08, 0.2, n), 0, 1)
    ours = paired_randomization_test(before, after)
    reference = permutation_test(
        (after, before),
        lambda x, y, axis: np.mean(x - y, axis=axis),
        permutation_type="samples",
        n_resamples=np.inf if n <= 16 else 20_000,
        random_state=0,
        vectorized=True,
    ).pvalue
    tolerance = 1e-9 if n <= 16 else 0.02  # exact both ways; else two Monte Carlo estimates
    assert ours == pytest.approx(reference, abs=tolerance)
    assert paired_randomization_test(before, after) == ours  # deterministic


def test_no_difference_is_p_one_and_a_clear_one_is_small() -> None:
    same = [0.1, 0.5, 0.9, 1.0]
    assert paired_randomization_test(same, same) == 1.0
    assert paired_randomization_test([0.0] * 30, [1.0] * 30) < 0.001


def _run(run_id: str, day: int, per_query: dict[str, float] | None, **kw: object) -> EvalRun:
    scores = {"hybrid": {"ndcg@10": float(np.mean(list((per_query or {"x": 0.5}).values())))}}
    return EvalRun(
        run_id=run_id, kind="retrieval", dataset="tiny", created_at=dt.datetime(2026, 1, day),
        table_version=1, index_path="", index_key="", scores=scores,
        per_query={"hybrid": {q: {"ndcg@10": v} for q, v in (per_query or {}).items()}},
        **kw,
    )  # fmt: skip


def test_wins_and_losses_question_by_question() -> None:
    before = _run("old", 1, {"q1": 1.0, "q2": 0.5, "q3": 0.0, "q4": 0.7})
    after = _run("new", 2, {"q1": 0.2, "q2": 0.9, "q3": 1.0, "q4": 0.7, "q5": 1.0})
    (c,) = compare_runs(after, before, against="previous run")
    assert [d.query_id for d in c.wins] == ["q3", "q2"]  # largest gain first
    assert [d.query_id for d in c.losses] == ["q1"] and c.ties == 1 and c.paired == 4
    assert c.p_value is not None and 0 < c.p_value <= 1
    assert "2 better, 1 worse, 1 same" in c.summary()
    legacy = _run("older", 1, None)  # recorded before per-question scores were kept
    (d,) = compare_runs(after, legacy, against="baseline")
    assert d.p_value is None and d.before == 0.5 and "no per-question scores" in d.summary()


def _args(tiny_beir, cache: Path, history: Path, *extra: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        "--corpus", str(tiny_beir.corpus), "--queries", str(tiny_beir.queries),
        "--qrels", str(tiny_beir.qrels), "--distractors", str(tiny_beir.distractors_zip),
        "--cache", str(cache), "--history", str(history), "--json", *extra,
    ]  # fmt: skip


def test_runs_compare_with_the_previous_one_and_a_baseline(
    tiny_beir, eval_cache, tmp_path, embedder
) -> None:  # type: ignore[no-untyped-def]
    history = tmp_path / "history.jsonl"
    first = runner.invoke(app, ["eval", "retrieval", *_args(
        tiny_beir, eval_cache, history, "--label", "before-change"
    )])  # fmt: skip
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    assert set(data["modes"]) == {"fts", "vector", "hybrid"} and not data["skipped"]  # offline
    assert data["comparisons"] == []  # nothing to compare with yet
    assert "skipped" not in first.stderr and "Error" not in first.stderr

    # Pretend the recorded run did worse on q3 and better on q1 than this code does.
    (recorded,) = [json.loads(line) for line in history.read_text().splitlines()]
    hybrid = recorded["per_query"]["hybrid"]
    now_q1, now_q3 = hybrid["q1"]["ndcg@10"], hybrid["q3"]["ndcg@10"]
    hybrid["q3"]["ndcg@10"], hybrid["q1"]["ndcg@10"] = 0.0, now_q1 + 0.5
    history.write_text(json.dumps(recorded) + "\n")

    report = tmp_path / "report"
    second = runner.invoke(app, ["eval", "retrieval", *_args(
        tiny_beir, eval_cache, history, "--baseline", "before-change", "--report", str(report)
    )])  # fmt: skip
    assert second.exit_code == 0, second.output
    comparisons = json.loads(second.stdout)["comparisons"]
    against_previous = {c["mode"]: c for c in comparisons if c["against"] == "previous run"}
    hybrid_cmp = against_previous["hybrid"]
    assert hybrid_cmp["run_id"] == recorded["run_id"] and hybrid_cmp["paired"] == 5
    assert [w["query_id"] for w in hybrid_cmp["wins"]] == ["q3"]
    assert hybrid_cmp["wins"][0] == {"query_id": "q3", "before": 0.0, "after": now_q3}
    assert [w["query_id"] for w in hybrid_cmp["losses"]] == ["q1"]
    assert 0 < hybrid_cmp["p_value"] <= 1
    # the baseline is the previous run here: it is not compared twice
    assert {c["against"] for c in comparisons} == {"previous run"}
    md = (report / "report.md").read_text(encoding="utf-8")
    assert "## Compared with earlier runs" in md
    assert "### Better than the previous run (hybrid, ndcg@10)" in md
    assert "- q3: When did the Kestrel probe lift off?" in md

    third = runner.invoke(app, ["eval", "retrieval", *_args(
        tiny_beir, eval_cache, history, "--baseline", "before-change"
    )])  # fmt: skip
    against = {(c["against"], c["run_id"]) for c in json.loads(third.stdout)["comparisons"]}
    assert ("baseline", recorded["run_id"]) in against and len({a for a, _ in against}) == 2

    unknown = runner.invoke(app, ["eval", "retrieval", *_args(
        tiny_beir, eval_cache, history, "--baseline", "nope"
    )])  # fmt: skip
    assert unknown.exit_code == 2 and "no retrieval run 'nope' on tiny" in unknown.output


def test_reports_show_misses_and_wrong_answers_first(tmp_path: Path) -> None:
    from tests.evals.conftest import QUERIES

    rows = [
        {"query_id": q["_id"], "query": q["text"], "relevant": ["D"], "ranking": ["D"],
         "first_relevant_rank": rank, "metrics": {"ndcg@10": 1.0 / (rank or 100)}}
        for q, rank in zip(QUERIES, [1, None, 3, 1, 7], strict=True)
    ]  # fmt: skip
    index = {"path": "i", "key": "k", "table_version": 1, "documents": 6}
    result = RetrievalEval(
        dataset="tiny", created_at=dt.datetime(2026, 1, 1), default_mode="hybrid",
        modes={"hybrid": {"mode": "hybrid", "metrics": {"ndcg@10": 0.5}, "queries": rows},
               "hybrid+rerank": {"mode": "hybrid+rerank", "skipped": "no model\nat | hub"}},
        index=index, settings={}, queries=5, seconds=1.0,
    )  # fmt: skip
    md = retrieval_markdown(result)
    table = [line for line in md.splitlines() if re.match(r"\| q\d", line)]
    assert [line.split(":")[0] for line in table] == ["| q2", "| q5", "| q3", "| q1", "| q4"]
    assert "| hybrid+rerank | skipped: no model at \\| hub |" in md  # one table row, whole

    answers = AnswerEval(
        dataset="tiny", created_at=dt.datetime(2026, 1, 1), backend="offline", accuracy=0.5,
        f1=0.5, citation_precision=None, found_rate=1.0, index=index, settings={}, seconds=1.0,
        rows=[{"query_id": q, "query": q, "answer": "a", "gold": ["a"], "correct": ok,
               "f1": 1.0 if ok else 0.0, "found": True, "citations": 1}
              for q, ok in [("right", True), ("wrong", False)]],
    )  # fmt: skip
    per_question = answers_markdown(answers).split("## Per question")[1]
    assert per_question.index("| wrong:") < per_question.index("| right:")
