"""Scheduled ingestion: a Prefect deployment of the ingest flow with a cron schedule.

``deploy_ingest`` registers the deployment with the Prefect API in ``PREFECT_API_URL`` (a local
``prefect server start``, or Prefect Cloud) in a *process* work pool, created when missing. A
worker on a machine where archivist is installed runs the scheduled runs::

    archivist deploy --source /archives/incoming --cron "0 2 * * *" --db /srv/archivist/index
    prefect worker start --pool archivist

The entrypoint is the installed module (``flows.ingest.ingest_flow``), not a file path, so the
worker needs no copy of the source tree, only the package. Local paths (source, index) are made
absolute, because the worker starts runs from its own working folder.

>>> deploy_ingest(source="sample_docs", cron="0 2 * * *")          # doctest: +SKIP
DeployedIngest(id=UUID('…'), name='ingest/sample-docs', pool='archivist', cron='0 2 * * *', …)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NamedTuple
from uuid import UUID

from pipeline.errors import ConfigError

DEFAULT_POOL = "archivist"


class DeployedIngest(NamedTuple):
    """What was registered: ``name`` is ``flow/deployment``, as ``prefect deployment run`` wants."""

    id: UUID
    name: str
    pool: str
    cron: str
    timezone: str | None
    parameters: dict[str, Any]
    pool_created: bool


def check_cron(cron: str) -> None:
    """Refuse a malformed cron expression here, with the expression in the message."""
    from prefect.client.schemas.schedules import CronSchedule

    try:
        CronSchedule(cron=cron)
    except ValueError as e:
        raise ConfigError(f"invalid cron expression {cron!r}: {e}") from e


def deployment_name(source: str) -> str:
    """A readable default name from the source (``/data/press/incoming`` → ``press-incoming``)."""
    tail = "-".join(Path(source.rstrip("/").split("://")[-1]).parts[-2:])
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", tail).strip("-").lower() or "ingest"


def ensure_process_pool(name: str) -> bool:
    """Create a process work pool called ``name`` unless one exists; True when created."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    with get_client(sync_client=True) as client:
        try:
            pool = client.read_work_pool(name)
        except ObjectNotFound:
            template = ProcessWorker.get_default_base_job_template()
            client.create_work_pool(
                WorkPoolCreate(name=name, type="process", base_job_template=template)
            )
            return True
        if pool.type != "process":
            raise ConfigError(f"work pool {name!r} is a {pool.type!r} pool, not a process pool")
        return False


def deploy_ingest(
    *,
    source: str,
    cron: str,
    name: str | None = None,
    pool: str = DEFAULT_POOL,
    timezone: str | None = None,
    parameters: dict[str, Any] | None = None,
) -> DeployedIngest:
    """Register (or update) a scheduled deployment of the ingest flow for ``source``.

    ``parameters`` are the ingest flow's (``db``, ``collection``, ``prune``, ``patterns``…);
    running the same command again updates the deployment in place.
    """

    from flows.ingest import ingest_flow
    from flows.runtime import resolve_db

    check_cron(cron)
    params = {k: v for k, v in (parameters or {}).items() if v is not None}
    params["source"] = _absolute(source)
    params["db"] = resolve_db(params.get("db"))
    return _apply(
        ingest_flow,
        name=name or deployment_name(source),
        pool=pool,
        cron=cron,
        timezone=timezone,
        parameters=params,
        description=f"Scheduled ingestion of {params['source']} into {params['db']}.",
    )


def serve_ingest(
    *,
    source: str,
    cron: str,
    name: str | None = None,
    timezone: str | None = None,
    parameters: dict[str, Any] | None = None,
) -> None:
    """Register the deployment and run its schedule in this process until stopped (no worker
    or work pool needed: the simplest way to schedule ingestion on one machine)."""
    from prefect.schedules import Cron

    from flows.ingest import ingest_flow
    from flows.runtime import resolve_db

    check_cron(cron)
    params = {k: v for k, v in (parameters or {}).items() if v is not None}
    params["source"] = _absolute(source)
    params["db"] = resolve_db(params.get("db"))
    ingest_flow.serve(
        name=name or deployment_name(source),
        schedules=[Cron(cron, timezone=timezone)],
        parameters=params,
        tags=["archivist"],
    )


def deploy_maintain(
    *,
    db: str | None = None,
    cron: str = "0 3 * * 0",
    name: str | None = None,
    pool: str = DEFAULT_POOL,
    timezone: str | None = None,
    older_than_days: float | None = None,
) -> DeployedIngest:
    """Register (or update) a scheduled deployment of the maintain flow for index ``db``:
    compaction, index refresh and old-version cleanup, weekly by default (Sunday 03:00)."""

    from flows.maintain import maintain_flow
    from flows.runtime import resolve_db

    check_cron(cron)
    params: dict[str, Any] = {"db": resolve_db(db)}
    if older_than_days is not None:
        params["older_than_days"] = older_than_days
    return _apply(
        maintain_flow,
        name=name or deployment_name(params["db"]),
        pool=pool,
        cron=cron,
        timezone=timezone,
        parameters=params,
        description=f"Scheduled upkeep (compaction, indexes, cleanup) of {params['db']}.",
    )


def _absolute(source: str) -> str:
    if "://" in source:
        return source
    return str(Path(source).expanduser().resolve())


def _apply(
    flow: Any,
    *,
    name: str,
    pool: str,
    cron: str,
    timezone: str | None,
    parameters: dict[str, Any],
    description: str,
) -> DeployedIngest:
    """Register (or update) ``flow`` as a cron deployment in the process pool ``pool``."""
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    created = ensure_process_pool(pool)
    deployment = flow.to_deployment(
        name=name,
        schedules=[Cron(cron, timezone=timezone)],
        parameters=parameters,
        description=description,
        tags=["archivist"],
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    # Prefect's sync/async dual API types these as "value or coroutine"; called here, sync.
    deployment_id: UUID = deployment.apply(work_pool_name=pool)
    return DeployedIngest(
        id=deployment_id,
        name=f"{flow.name}/{name}",
        pool=pool,
        cron=cron,
        timezone=timezone,
        parameters=parameters,
        pool_created=created,
    )
