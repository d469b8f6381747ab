"""``archivist deploy`` against a real local ``prefect server start``, then a worker runs it."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
import zoneinfo
from collections.abc import Iterator
from pathlib import Path

import httpx
import lancedb
import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.integration]

PREFECT = str(Path(sys.executable).with_name("prefect"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A Prefect server on 127.0.0.1 with its own home; yields the env that points at it."""
    home = tmp_path_factory.mktemp("prefect-server")
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "HF_HUB_OFFLINE": "1",
    }
    log = (home / "server.log").open("w")
    args = [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui"]
    proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((home / "server.log").read_text())
            time.sleep(0.5)
        yield {**env, "PREFECT_API_URL": api}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _archivist(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=REPO,
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_deploy_creates_a_scheduled_deployment_a_worker_runs(
    server: dict[str, str], tmp_path: Path
) -> None:
    api = server["PREFECT_API_URL"]
    source = tmp_path / "incoming"
    source.mkdir()
    (source / "brief.md").write_text("# Brief\n\nThe Meridien archive went digital in 2025.\n")
    db = tmp_path / "index"
    proc = _archivist(
        server, "deploy", "--source", str(source), "--cron", "0 2 * * *", "--db", str(db),
        "--collection", "press", "--prune", "--name", "nightly", "--timezone", "Europe/Paris",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (
        "deployment ingest/nightly" in proc.stdout
        and "pool      archivist (created)" in proc.stdout
    )

    again = _archivist(
        server, "deploy", "--source", str(source), "--cron", "0 2 * * *", "--db", str(db),
        "--collection", "press", "--prune", "--name", "nightly", "--timezone", "Europe/Paris",
        "--json",
    )  # fmt: skip
    shown = json.loads(again.stdout)  # the same deployment, updated: one JSON object
    assert shown["name"] == "ingest/nightly" and shown["pool"] == "archivist"
    assert shown["parameters"]["source"] == str(source.resolve()) and not shown["pool_created"]

    deployment = httpx.get(f"{api}/deployments/name/ingest/nightly").json()
    (schedule,) = deployment["schedules"]
    assert schedule["schedule"]["cron"] == "0 2 * * *"
    assert schedule["schedule"]["timezone"] == "Europe/Paris" and schedule["active"]
    assert deployment["parameters"] == {
        "source": str(source.resolve()),
        "db": str(db.resolve()),
        "collection": "press",
        "prune": True,
    }
    assert deployment["work_pool_name"] == "archivist"
    assert deployment["entrypoint"] == "flows.ingest.ingest_flow"
    assert httpx.get(f"{api}/work_pools/archivist").json()["type"] == "process"

    # Run it now, as the schedule would at 02:00: a process worker picks it up and runs the flow.
    run = httpx.post(f"{api}/deployments/{deployment['id']}/create_flow_run", json={}).json()
    worker = subprocess.run(
        [PREFECT, "worker", "start", "--pool", "archivist", "--run-once"],
        env=server,
        capture_output=True,
        text=True,
        timeout=300,
    )
    state = httpx.get(f"{api}/flow_runs/{run['id']}").json()["state"]
    assert state["type"] == "COMPLETED", worker.stdout[-3000:] + worker.stderr[-3000:]
    documents = lancedb.connect(str(db)).open_table("documents").to_arrow().to_pylist()
    assert [(Path(d["uri"]).name, d["collection"], d["status"]) for d in documents] == [
        ("brief.md", "press", "ok")
    ]

    # The scheduler plans the next runs at 02:00 Paris time.
    flows = _scheduled_runs(api, deployment["id"])
    starts = [dt.datetime.fromisoformat(f["expected_start_time"]) for f in flows]
    paris = [s.astimezone(zoneinfo.ZoneInfo("Europe/Paris")) for s in starts]
    assert paris and all((p.hour, p.minute) == (2, 0) for p in paris)


def _scheduled_runs(api: str, deployment_id: str, timeout_s: float = 90.0) -> list[dict]:
    """The deployment's SCHEDULED runs, once the server has planned some.

    The scheduler service runs on its own clock, and on a busy machine the SQLite-backed server
    answers 503 while it is writing; so ask it to plan runs, and poll until they are there.
    """
    query = {
        "deployments": {"id": {"any_": [deployment_id]}},
        "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}},
    }
    deadline = time.monotonic() + timeout_s
    while True:
        httpx.post(f"{api}/deployments/{deployment_id}/schedule", json={"min_runs": 3})
        found = httpx.post(f"{api}/flow_runs/filter", json=query)
        if found.status_code == 200 and found.json():
            return list(found.json())
        if time.monotonic() > deadline:
            return []
        time.sleep(1.0)


def test_invalid_cron_is_refused_before_anything_is_registered() -> None:
    from flows.deploy import check_cron
    from pipeline.errors import ConfigError

    with pytest.raises(ConfigError, match=r"invalid cron expression '0 2 \* \*'"):
        check_cron("0 2 * *")
