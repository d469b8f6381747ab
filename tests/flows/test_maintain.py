"""Index upkeep: the maintain flow, its deployment, ``archivist maintain``, and the flows' work
folder for an index on object storage."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from flows.maintain import maintain_flow
from flows.runtime import work_dir
from pipeline.models import Chunk, DocumentRecord, StoreOptions
from pipeline.store import LanceChunkStore


def _index(path: Path, docs: int = 8) -> LanceChunkStore:
    """An index written one document at a time: one table version per commit."""
    store = LanceChunkStore(StoreOptions(uri=str(path)), embedder="toy", dim=8)
    rng = np.random.default_rng(0)
    for n in range(docs):
        doc_id = hashlib.sha256(f"doc{n}".encode()).hexdigest()
        chunks = [
            Chunk(chunk_id=Chunk.make_id(doc_id, i), doc_id=doc_id, ordinal=i, text=f"d{n} c{i}")
            for i in range(3)
        ]
        record = DocumentRecord(doc_id=doc_id, uri=f"/m/{n}.pdf", chunks=3)
        store.write_document(record, chunks, rng.standard_normal((3, 8)).astype(np.float32))
    return store


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.filterwarnings("ignore:optimize.cleanup_older_than=0")
def test_maintain_flow_removes_old_versions(tmp_path: Path) -> None:
    store = _index(tmp_path / "index")
    before = len(store.chunks.list_versions())
    assert before > 8
    kept = maintain_flow(db=str(tmp_path / "index"))  # default: 7 days, all versions are newer
    assert kept["versions_after"]["chunks"] >= before
    assert kept["older_than_days"] == 7.0
    result = maintain_flow(db=str(tmp_path / "index"), older_than_days=0)
    assert result["versions_after"] == {"chunks": 1, "documents": 1}
    assert result["rows"] == {"chunks": 24, "documents": 8}
    reopened = LanceChunkStore(StoreOptions(uri=str(tmp_path / "index")), embedder="toy", dim=8)
    assert len(reopened.chunks.list_versions()) == 1
    assert len(reopened.chunks_of(hashlib.sha256(b"doc3").hexdigest())) == 3


@pytest.mark.filterwarnings("ignore:optimize.cleanup_older_than=0")
def test_cli_maintain_runs_now(tmp_path: Path) -> None:
    from cli.main import app

    _index(tmp_path / "index", docs=4)
    runner = CliRunner()
    out = runner.invoke(
        app, ["maintain", "--db", str(tmp_path / "index"), "--older-than-days", "0"]
    )
    assert out.exit_code == 0, out.output
    assert "chunks    12 rows" in out.output and "-> 1" in out.output
    missing = runner.invoke(app, ["maintain", "--db", str(tmp_path / "nothing-here")])
    assert missing.exit_code == 2 and "no index" in missing.output
    again = runner.invoke(app, ["maintain", "--db", str(tmp_path / "index"), "--json"])
    data = json.loads(again.stdout)
    assert data["rows"] == {"chunks": 12, "documents": 4} and data["older_than"] == 7 * 86400
    assert data["versions_after"]["chunks"] >= 1 and isinstance(data["indexes"], list)


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_deploy_maintain_registers_a_weekly_schedule(tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client

    from cli.main import app
    from flows.deploy import deploy_maintain

    deployed = deploy_maintain(db=str(tmp_path / "index"), older_than_days=3)
    assert deployed.name.startswith("maintain/")
    cli = ["maintain", "--db", str(tmp_path / "index"), "--cron", "0 4 * * *", "--json"]
    out = CliRunner().invoke(app, [*cli, "--older-than-days", "3"])
    shown = json.loads(out.stdout)
    assert shown["name"] == deployed.name and shown["id"] == str(deployed.id)
    assert shown["cron"] == "0 4 * * *" and shown["parameters"]["older_than_days"] == 3
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(deployed.name)
    assert deployment.parameters == {"db": str(tmp_path / "index"), "older_than_days": 3}
    assert deployment.entrypoint == "flows.maintain.maintain_flow"
    (schedule,) = deployment.schedules
    assert schedule.schedule.cron == "0 4 * * *"  # type: ignore[union-attr]


def test_work_dir_for_an_index_on_object_storage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    first = work_dir("s3://bucket/archives/main")
    assert first.is_dir() and first.is_relative_to(tmp_path / "cache" / "archivist")
    assert work_dir("s3://bucket/archives/main") == first  # stable per index
    assert work_dir("s3://bucket/archives/other") != first
    assert work_dir("db://archive-prod") not in (first, work_dir("s3://bucket/archives/other"))
    assert not (tmp_path / "s3:").exists()  # never a folder named after the scheme
