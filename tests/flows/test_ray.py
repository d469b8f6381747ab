"""Distributed ingestion on Ray: a local Ray instance prepares, this process writes; the index
ends the same as with the thread runner. Skipped where ``prefect-ray`` is not installed (CI)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flows.ingest import run_ingest
from flows.runners import RunnerSettings, inflight_limit, runner_plan
from tests.flows.runner_checks import assert_same_as_threads, sample_folder

pytest.importorskip("prefect_ray")


def test_ray_setting_builds_a_small_local_instance(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "unset")  # so that teardown restores it
    monkeypatch.delenv("RAY_USAGE_STATS_ENABLED")
    monkeypatch.setenv("ARCHIVIST_CHUNK_MAX_TOKENS", "321")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("UNRELATED_SECRET", "x")
    monkeypatch.setenv("ARCHIVIST_RAY_CPUS", "3")
    assert RunnerSettings().ray_cpus == 3

    local = runner_plan("ray", ray_cpus=3)
    init = local.runner.init_kwargs
    assert (local.kind, local.runner.address) == ("ray", None)
    assert (init["num_cpus"], init["include_dashboard"]) == (3, False)
    env = init["runtime_env"]["env_vars"]
    assert env["ARCHIVIST_CHUNK_MAX_TOKENS"] == "321" and env["HF_HUB_OFFLINE"] == "1"
    assert "UNRELATED_SECRET" not in env
    assert os.environ["RAY_USAGE_STATS_ENABLED"] == "0"

    remote = runner_plan("ray://head:10001")
    assert (
        remote.runner.address == "ray://head:10001" and "num_cpus" not in remote.runner.init_kwargs
    )
    assert remote.runner.init_kwargs["runtime_env"]["env_vars"] == env
    assert inflight_limit(remote, 3) == 3  # not connected: the flow's own figure


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_local_ray_ingests_like_the_thread_runner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHIVIST_RAY_CPUS", "2")
    folder = sample_folder(tmp_path, 3)

    threads = run_ingest(str(folder), db=str(tmp_path / "threads"), task_runner="threads")
    # From here on, prepared documents go to one folder, shared by the next two indexes.
    monkeypatch.setenv("ARCHIVIST_RESULT_STORAGE", str(tmp_path / "results"))
    ray = run_ingest(str(folder), db=str(tmp_path / "ray"), task_runner="ray")

    assert ray.counts == threads.counts == {"added": 3, "failed": 1}
    assert ray.converted == 4 and ray.cached == 0
    assert_same_as_threads(
        threads, ray, folder=folder, dbs=(tmp_path / "threads", tmp_path / "ray")
    )

    again = run_ingest(str(folder), db=str(tmp_path / "ray"), task_runner="ray")
    assert again.counts == {"unchanged": 4} and again.converted == 0
    # A new index over the same result storage: every document comes from the workers' cache.
    cached = run_ingest(str(folder), db=str(tmp_path / "ray-cached"), task_runner="ray")
    assert cached.counts == threads.counts and (cached.converted, cached.cached) == (0, 4)
