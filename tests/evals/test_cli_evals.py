"""``archivist eval retrieval | answers | history`` as a user runs them (Typer's runner)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()


def _args(tiny_beir, cache: Path, history: Path, *extra: str) -> list[str]:
    return [
        "--corpus", str(tiny_beir.corpus), "--queries", str(tiny_beir.queries),
        "--distractors", str(tiny_beir.distractors_zip),
        "--cache", str(cache), "--history", str(history), *extra,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def retrieval_run(tiny_beir, eval_cache, tmp_path_factory, embedder):
    out = tmp_path_factory.mktemp("cli-eval")
    history = out / "history.jsonl"
    args = _args(tiny_beir, eval_cache, history, "--qrels", str(tiny_beir.qrels))
    args += ["--modes", "fts,vector,hybrid", "--report", str(out / "report"), "--json"]
    result = runner.invoke(app, ["eval", "retrieval", *args])
    return result, out, history


def test_retrieval_json_has_every_mode_and_metric(retrieval_run):
    result, _, _ = retrieval_run
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data["modes"]) == {"fts", "vector", "hybrid"}
    for metrics in data["modes"].values():
        assert {"ndcg@10", "mrr@10", "recall@1", "recall@5", "recall@10", "recall@20"} <= set(
            metrics
        )
    assert data["modes"]["hybrid"]["mrr@10"] == 1.0
    assert data["default_mode"] == "hybrid" and data["queries"] == 5
    assert data["gate"] == {"passed": True, "failures": []}
    assert data["table_version"] > 0


def test_report_has_markdown_html_with_plots_and_per_query_rows(retrieval_run):
    _, out, _ = retrieval_run
    report = out / "report"
    names = {p.name for p in report.iterdir()}
    assert {"report.md", "report.html", "results.json", "metrics_by_mode.png",
            "recall_at_k.png"} <= names  # fmt: skip
    assert (report / "metrics_by_mode.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (report / "report.md").read_text(encoding="utf-8")
    assert re.search(r"^\| hybrid \| [01]\.\d{3} \| 1\.000 \|", md, re.MULTILINE)  # ndcg, mrr
    assert "q1: Pourquoi les dockers" in md
    page = (report / "report.html").read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == 2 and "<table>" in page
    rows = json.loads((report / "results.json").read_text(encoding="utf-8"))
    q1 = next(q for q in rows["modes"]["fts"]["queries"] if q["query_id"] == "q1")
    assert q1["first_relevant_rank"] == 1 and q1["relevant"] == ["D1", "D6"]


def test_each_run_is_recorded_with_its_table_version(retrieval_run):
    result, _, history = retrieval_run
    runs = [json.loads(line) for line in history.read_text(encoding="utf-8").splitlines()]
    assert len(runs) == 1
    assert runs[0]["table_version"] == json.loads(result.stdout)["table_version"]
    assert runs[0]["settings"]["embedder"]["kind"] == "use-multilingual"
    assert runs[0]["scores"]["hybrid"]["mrr@10"] == 1.0


def test_gate_fails_the_command_under_the_bar(tiny_beir, eval_cache, tmp_path):
    base = _args(tiny_beir, eval_cache, tmp_path / "h.jsonl", "--qrels", str(tiny_beir.qrels))
    base += ["--modes", "fts,hybrid", "--json"]
    passed = runner.invoke(app, ["eval", "retrieval", *base, "--fail-below", "hybrid:mrr@10=0.9"])
    assert passed.exit_code == 0, passed.output
    failed = runner.invoke(
        app, ["eval", "retrieval", *base, "--fail-below", "ndcg@10=0.5,fts:recall@1=0.95"]
    )
    assert failed.exit_code == 1
    gate = json.loads(failed.stdout)["gate"]
    # recall@1 of fts is at most 0.9: q1 has two relevant documents, only one can be first
    assert gate["passed"] is False and gate["failures"][0].startswith("fts recall@1 = ")


@pytest.mark.slow  # builds the tiny index before it reads the bad options
def test_usage_errors_exit_2(tiny_beir, eval_cache, tmp_path):
    base = _args(tiny_beir, eval_cache, tmp_path / "h.jsonl", "--qrels", str(tiny_beir.qrels))
    bad_mode = runner.invoke(app, ["eval", "retrieval", *base, "--modes", "bm25"])
    assert bad_mode.exit_code == 2 and "valid: fts, vector" in bad_mode.output
    bad_gate = runner.invoke(app, ["eval", "retrieval", *base, "--fail-below", "ndcg@10"])
    assert bad_gate.exit_code == 2
    broken = tmp_path / "queries.jsonl"
    broken.write_text("{oops\n", encoding="utf-8")
    args = [a if a != str(tiny_beir.queries) else str(broken) for a in base]
    assert runner.invoke(app, ["eval", "retrieval", *args]).exit_code == 2


def test_answers_json(tiny_beir, eval_cache, tmp_path):
    args = _args(tiny_beir, eval_cache, tmp_path / "h.jsonl", "--qrels", str(tiny_beir.qrels))
    result = runner.invoke(
        app, ["eval", "answers", *args, "--json", "--report", str(tmp_path / "ans")]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["backend"] == "offline" and data["questions"] == 5
    assert 0.0 <= data["accuracy"] <= 1.0 and 0.0 <= data["f1"] <= 1.0
    assert data["citation_precision"] is not None
    assert (tmp_path / "ans" / "report.html").is_file()


def test_history_prints_and_plots_the_trend(retrieval_run, tmp_path):
    _, _, history = retrieval_run
    shown = runner.invoke(app, ["eval", "history", "--history", str(history)])
    assert shown.exit_code == 0 and "ndcg@10 across 1 runs" in shown.stdout
    assert "tiny" in shown.stdout and "hybrid" in shown.stdout
    plotted = runner.invoke(
        app, ["eval", "history", "--history", str(history), "--report", str(tmp_path / "h")]
    )
    assert plotted.exit_code == 0
    assert (tmp_path / "h" / "history_trend.png").is_file()
    assert "| tiny |" in (tmp_path / "h" / "report.md").read_text(encoding="utf-8")
    as_json = runner.invoke(app, ["eval", "history", "--history", str(history), "--json"])
    assert json.loads(as_json.stdout)[0]["kind"] == "retrieval"


def test_retrieval_settings_flags_reuse_the_index_ingest_flags_do_not(
    tiny_beir, eval_cache, tmp_path, retrieval_run
):
    first = json.loads(retrieval_run[0].stdout)
    base = _args(tiny_beir, eval_cache, tmp_path / "h.jsonl", "--qrels", str(tiny_beir.qrels))
    base += ["--modes", "hybrid", "--json"]
    rrf = runner.invoke(app, ["eval", "retrieval", *base, "--fusion", "rrf", "--candidates", "20"])
    assert rrf.exit_code == 0, rrf.output
    assert json.loads(rrf.stdout)["index"] == first["index"]
    run = json.loads((tmp_path / "h.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert run["settings"]["fusion"]["fusion"] == "rrf"
    assert run["settings"]["fusion"]["candidates"] == 20
    small = runner.invoke(app, ["eval", "retrieval", *base, "--chunk-tokens", "64"])
    assert small.exit_code == 0, small.output
    assert json.loads(small.stdout)["index"] != first["index"]  # another chunking, another index
    bad = runner.invoke(app, ["eval", "retrieval", *base, "--fusion", "max"])
    assert bad.exit_code == 2
