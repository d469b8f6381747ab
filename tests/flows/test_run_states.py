"""What Prefect shows of an ingest run, read back through Prefect's client: the final states
(a failed document fails its task and the run, with the artifact), the names, the log lines
(the core's included), and the run's URL printed by ``archivist sync``."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from flows.ingest import artifact_key, ingest_flow, run_ingest
from flows.report import DocumentsFailed
from tests.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    src = tmp_path / "press"
    src.mkdir()
    (src / "bridge.md").write_text("# Bridge\n\nThe Saint-Ferréol bridge opened in June 1998.\n")
    (src / "broken.pdf").write_bytes(b"%PDF-1.7\n this is not really a PDF at all")
    return src


def _client() -> Any:
    from prefect.client.orchestration import get_client

    return get_client(sync_client=True)


def _tasks(client: Any, run_id: str) -> dict[str, Any]:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    runs = client.read_task_runs(
        flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(run_id)]))
    )
    return {t.name: t for t in runs}


def _logs(client: Any, run_id: str) -> list[tuple[str, str]]:
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    logs = client.read_logs(
        log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[UUID(run_id)])), limit=200
    )
    return [(log.name, log.message) for log in logs]


def test_a_failed_document_fails_its_task_and_the_run(folder: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "index")
    report = run_ingest(source=str(folder), db=db, collection="press")
    assert not report.ok and [Path(r.uri).name for r in report.failed] == ["broken.pdf"]
    assert report.flow_run_id
    with _client() as client:
        run = client.read_flow_run(UUID(report.flow_run_id))
        assert run.state.type.value == "FAILED"
        assert run.state.message.startswith("1 of 2 documents failed (first: ")
        assert "broken.pdf" in run.state.message
        today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
        assert run.name.startswith(f"press → press, {today}")
        tasks = _tasks(client, report.flow_run_id)
        broken, good = tasks["prepare broken.pdf"], tasks["prepare bridge.md"]
        assert broken.state.type.value == "FAILED" and broken.run_count == 1  # not retried
        assert "convert" in broken.state.message
        assert good.state.type.value == "COMPLETED"
        assert {"fetch broken.pdf", "fetch bridge.md"} <= set(tasks)
        artifact = client.read_latest_artifacts()  # the summary, linked to the run
        ours = [a for a in artifact if a.key == artifact_key(str(folder))]
        assert ours and ours[0].flow_run_id == run.id
        assert "broken.pdf" in ours[0].data

    # A Python caller of the flow itself gets the failure as an exception with the report.
    with pytest.raises(DocumentsFailed, match="1 of 2 documents failed") as failed:
        ingest_flow(source=str(folder), db=db, collection="press")
    assert [Path(r.uri).name for r in failed.value.report.failed] == ["broken.pdf"]


def test_a_clean_run_completes(folder: Path, tmp_path: Path) -> None:
    (folder / "broken.pdf").unlink()
    report = ingest_flow(source=str(folder), db=str(tmp_path / "index"))
    assert report.ok and report.flow_run_id
    with _client() as client:
        run = client.read_flow_run(UUID(report.flow_run_id))
        assert run.state.type.value == "COMPLETED"
        assert run.name.startswith("press → default, ")


def test_sync_prints_the_run_url_and_the_run_log_has_the_core_lines(
    folder: Path, tmp_path: Path
) -> None:
    """``archivist sync`` as a user runs it, against a configured Prefect server."""
    from prefect.settings import PREFECT_API_URL

    api_url = PREFECT_API_URL.value()
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_LOGGING_LEVEL"}
    env.update(PREFECT_API_URL=api_url, HF_HUB_OFFLINE="1", COLUMNS="200")
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", "sync", str(folder), "--db", str(tmp_path / "idx")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr  # some documents failed
    found = re.search(r"Prefect run: (\S+/runs/flow-run/([0-9a-f-]{36}))", proc.stdout)
    assert found, proc.stdout
    assert found.group(1).startswith(api_url.removesuffix("/api"))
    assert "INFO" not in proc.stderr  # the terminal stays quiet without -v
    run_id = found.group(2)
    with _client() as client:
        assert client.read_flow_run(UUID(run_id)).state.type.value == "FAILED"
        logs = _logs(client, run_id)
    by_logger = {name for name, _ in logs}
    assert "pipeline.ingest.engine" in by_logger, logs
    messages = [m for _, m in logs]
    assert any(
        m.startswith("added ") and m.endswith("bridge.md: 1 pages, 1 chunks") for m in messages
    )
    assert any(m.startswith("failed ") and "broken.pdf: convert" in m for m in messages)
    assert any(m.startswith("2 documents, 1 added, 1 failed") for m in messages)  # the summary
