"""Where the ingest flow prepares documents: threads here, a Dask cluster, or a Ray cluster.

Conversion, chunking and embedding (``prepare_document``) are the CPU-heavy part of ingestion and
run on the task runner chosen here; fetching, the index checks and the writes stay in the flow's
process, so an index has one writer whatever the runner. The choice is a setting, read when a run
starts (so a deployment changes it with an environment variable or a flow parameter, no code):

- ``threads`` (default): a thread pool in the flow's process;
- ``dask``: a temporary local Dask cluster of ``ARCHIVIST_DASK_WORKERS`` processes, one thread
  each (PyMuPDF and most embedders want one thread per process), closed with the run;
- ``dask://host:8786`` or ``tcp://host:8786``: an existing Dask scheduler and its workers;
- ``ray``: a temporary local Ray instance of ``ARCHIVIST_RAY_CPUS`` CPUs (one task, so one
  worker process, per CPU), no dashboard, no usage statistics, closed with the run;
- ``ray://host:10001``: an existing Ray cluster, through Ray Client.

Ray workers get the flow process's ``ARCHIVIST_*`` settings and Hugging Face offline switches
through Ray's ``runtime_env`` (a local Ray's workers inherit the environment anyway; a cluster's
do not), so the settings check in ``prepare_document`` compares like with like.

Prepared documents travel back through Prefect's persisted results, written to
``ARCHIVIST_RESULT_STORAGE`` (default: the index's work folder): on a real cluster that must be
a place every worker and the flow process reach (a shared mount, or ``s3://…``).

>>> plan = runner_plan("dask", workers=2)                            # doctest: +SKIP
>>> plan.label
'dask (local, 2 workers)'
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, NamedTuple

from pipeline.errors import ConfigError
from pipeline.settings import ArchivistSettings

RUNNER_KINDS = ("threads", "dask", "dask://host:port", "tcp://host:port", "ray", "ray://host:port")
# Environment that decides what a worker produces: sent to Ray workers with each run.
WORKER_ENV = ("ARCHIVIST_", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


class RunnerSettings(ArchivistSettings):
    """Distributed-ingestion settings: ``ARCHIVIST_TASK_RUNNER``, ``ARCHIVIST_DASK_WORKERS``…"""

    task_runner: str = "threads"
    dask_workers: int = 2
    dask_threads_per_worker: int = 1
    ray_cpus: int = 2  # CPUs of a local ``ray`` instance: as many worker processes
    result_storage: str | None = None
    # Where downloaded documents (S3, HTTP, feeds) wait for a worker: a shared folder on a cluster.
    staging_dir: str | None = None
    # The writer commits when this many documents are prepared, or this many seconds passed.
    ingest_batch_docs: int = 8
    ingest_batch_seconds: float = 5.0


class RunnerPlan(NamedTuple):
    """A task runner to enter, a readable label, and how many documents to keep in flight."""

    runner: Any  # a prefect TaskRunner
    label: str
    kind: str  # threads | dask | ray


def runner_plan(
    value: str, *, workers: int = 2, threads: int = 1, concurrency: int = 2, ray_cpus: int = 2
) -> RunnerPlan:
    """The task runner that ``value`` names; an unknown value lists the valid ones."""
    value = value.strip()
    if value == "threads":
        from prefect.task_runners import ThreadPoolTaskRunner

        runner = ThreadPoolTaskRunner(max_workers=max(1, concurrency))  # type: ignore[var-annotated]
        return RunnerPlan(runner, f"threads ({concurrency})", "threads")
    if value == "dask" or value.startswith(("dask://", "tcp://", "tls://")):
        DaskTaskRunner = _import("prefect_dask", "DaskTaskRunner", "distributed")
        if value == "dask":
            kwargs = {
                "n_workers": max(1, workers),
                "threads_per_worker": max(1, threads),
                "processes": True,
                "dashboard_address": None,
            }
            label = f"dask (local, {workers} worker{'s' * (workers != 1)})"
            return RunnerPlan(DaskTaskRunner(cluster_kwargs=kwargs), label, "dask")
        address = "tcp://" + value.removeprefix("dask://") if value.startswith("dask://") else value
        return RunnerPlan(DaskTaskRunner(address=address), f"dask ({address})", "dask")
    if value == "ray" or value.startswith("ray://"):
        RayTaskRunner = _import("prefect_ray", "RayTaskRunner", "ray")
        init: dict[str, Any] = {"runtime_env": {"env_vars": worker_env()}}
        if value == "ray":
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # read by ray.init; no report
            init |= {"num_cpus": max(1, ray_cpus), "include_dashboard": False}
            label = f"ray (local, {ray_cpus} CPU{'s' * (ray_cpus != 1)})"
            return RunnerPlan(RayTaskRunner(init_kwargs=init), label, "ray")
        return RunnerPlan(RayTaskRunner(address=value, init_kwargs=init), f"ray ({value})", "ray")
    raise ConfigError(f"unknown task runner {value!r}; valid: {', '.join(RUNNER_KINDS)}")


def inflight_limit(plan: RunnerPlan, concurrency: int) -> int:
    """How many documents to keep submitted: ``concurrency`` on threads; on Dask (Ray) at least
    two per worker thread (CPU), so no worker waits while the flow process fetches or writes."""
    if plan.kind == "threads":
        return max(1, concurrency)
    try:
        if plan.kind == "ray":
            import ray

            threads = int(ray.cluster_resources().get("CPU", 0))
        else:
            threads = sum(plan.runner.client.nthreads().values())
    except Exception:  # a scheduler with no worker yet (adaptive): the flow's own figure
        threads = 0
    return max(1, concurrency, 2 * threads)


def worker_env() -> dict[str, str]:
    """The flow process's variables that Ray workers need to prepare documents alike: the
    ``ARCHIVIST_*`` settings (``archivist.toml`` stays on this machine) and the offline
    switches of the model hub (a worker must not try to download a model the flow has)."""
    return {k: v for k, v in os.environ.items() if k.startswith(WORKER_ENV)}


def result_storage(value: str | None, default: Path) -> Any:
    """Where persisted prepare results go: ``default`` (the index's work folder), a path, an
    fsspec URL (``s3://bucket/prefix``) that every worker and the flow process can reach, or the
    slug of a storage block saved in Prefect (``s3-bucket/archive-results``).

    An URL becomes a ``RemoteFileSystem`` block saved under a name derived from it: Prefect
    wants result storage saved server-side, so that workers load the same block by its id.
    """
    if not value:
        return default
    if "://" in value:
        from prefect.filesystems import RemoteFileSystem

        basepath = value.rstrip("/")
        block = RemoteFileSystem(basepath=basepath)
        digest = hashlib.sha256(basepath.encode()).hexdigest()[:12]
        block.save(f"archivist-results-{digest}", overwrite=True)
        return block
    if value.startswith(("/", ".", "~")):
        return Path(value).expanduser().resolve()
    return value  # a saved block, loaded by Prefect


def _import(module: str, name: str, extra: str) -> Any:
    import importlib

    try:
        return getattr(importlib.import_module(module), name)
    except ImportError as e:
        package = module.replace("_", "-")
        raise ConfigError(
            f"this task runner needs {package}: pip install 'archivist[{extra}]' "
            f"(or pip install {package})"
        ) from e
