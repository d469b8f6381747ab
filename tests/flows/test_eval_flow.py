"""The eval flow on a temporary Prefect API: report published as an artifact, run recorded,
gate failures fail the flow run; the deployment is triggered by the ingest flow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.evals.conftest import write_tiny_beir

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    return write_tiny_beir(tmp_path_factory.mktemp("flow-beir") / "tiny")


def _params(tiny, tmp_path: Path, **extra: object) -> dict[str, object]:
    return {
        "corpus": str(tiny.corpus),
        "queries": str(tiny.queries),
        "qrels": str(tiny.qrels),
        "distractors": str(tiny.distractors_zip),
        "modes": ["fts", "hybrid"],
        "cache": str(tmp_path / "cache"),
        "history": str(tmp_path / "history.jsonl"),
        **extra,
    }


def test_flow_publishes_the_report_and_records_the_run(prefect_harness, tiny, tmp_path, embedder):
    import asyncio

    from prefect.client.orchestration import get_client

    from flows.eval_flow import eval_flow

    out = eval_flow(**_params(tiny, tmp_path, report_dir=str(tmp_path / "report"), answers=True))
    assert out["scores"]["hybrid"]["mrr@10"] == 1.0
    assert set(out["scores"]) == {"fts", "hybrid", "offline"}  # offline: the answer backend
    assert (tmp_path / "report" / "report.html").is_file()
    assert (tmp_path / "report" / "answers" / "report.md").is_file()
    runs = [json.loads(x) for x in (tmp_path / "history.jsonl").read_text().splitlines()]
    assert [r["kind"] for r in runs] == ["retrieval", "answers"]
    assert runs[0]["table_version"] == out["table_version"]

    async def artifact() -> str:
        async with get_client() as client:
            art = await client.read_latest_artifacts()
            keys = {a.key: a for a in art}
            return str(keys["archivist-eval-retrieval-tiny"].data)

    text = asyncio.run(artifact())
    assert text.startswith("# Retrieval eval — tiny") and "| hybrid |" in text


def test_flow_fails_under_the_bar(prefect_harness, tiny, tmp_path, embedder):
    from flows.eval_flow import GateError, eval_flow

    with pytest.raises(GateError, match=r"hybrid ndcg@10 = .* < 1\.01"):
        eval_flow(**_params(tiny, tmp_path, fail_below=["ndcg@10=1.01"]))


def test_deployment_runs_after_each_ingestion(tiny, tmp_path):
    from flows.eval_flow import eval_deployment

    deployment = eval_deployment(parameters=_params(tiny, tmp_path), cron="0 3 * * *")
    trigger = deployment.triggers[0]
    assert trigger.expect == {"prefect.flow-run.Completed", "prefect.flow-run.Failed"}
    related = trigger.match_related
    related = related[0] if isinstance(related, list) else related
    names = related["prefect.resource.name"]
    assert (names if isinstance(names, list) else [names]) == ["ingest"]  # flows.ingest's name
    assert deployment.parameters["corpus"] == str(tiny.corpus)
    assert deployment.schedules and deployment.schedules[0].schedule.cron == "0 3 * * *"
