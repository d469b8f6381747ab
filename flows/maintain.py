"""Scheduled index upkeep: the ``maintain`` flow.

Every ingest commit adds table versions and small fragments; searches slow down and old versions
keep their files until they are cleaned up. This flow runs ``LanceChunkStore.maintain`` on a
schedule: missing indexes are created (the vector index once the table is large enough),
fragments compacted, new rows folded into every index, and versions older than
``older_than_days`` (Settings ``maintain_cleanup_days``, 7 by default) deleted.

It opens the index with the embedder recorded in it, so no model is loaded::

    archivist maintain --db s3://bucket/index                     # once, now
    archivist maintain --db s3://bucket/index --cron "0 3 * * 0"  # a weekly deployment

>>> maintain_flow(db="/srv/archivist/index")                       # doctest: +SKIP
{'db': '/srv/archivist/index', 'versions_before': {'chunks': 412, ...}, ...}
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow, get_run_logger

from flows.runtime import STORE_LOCK, resolve_db
from pipeline.settings import Settings
from pipeline.store import LanceChunkStore


@flow(name="maintain", retries=1, retry_delay_seconds=60)
def maintain_flow(db: str | None = None, older_than_days: float | None = None) -> dict[str, Any]:
    """Compact index ``db``, refresh its indexes and delete versions older than
    ``older_than_days``; returns what it did (table versions before and after, rows, indexes).

    Retried once after a minute: a run that keeps meeting commit conflicts (another process
    compacting at the same moment) gives up with a retryable error rather than spin.
    """
    db = resolve_db(db)
    store = LanceChunkStore.open(Settings(db=db).options().store)
    older_than = None if older_than_days is None else dt.timedelta(days=older_than_days)
    with STORE_LOCK:  # not while this process's own ingest is committing
        result = store.maintain(older_than=older_than)
    log = get_run_logger()
    for name, before in result.versions_before.items():
        after = result.versions_after[name]
        log.info("%s: %d rows, %d versions -> %d", name, result.rows[name], before, after)
    for step in result.indexes:
        log.info("index: %s", step)
    return {
        "db": db,
        "versions_before": result.versions_before,
        "versions_after": result.versions_after,
        "rows": result.rows,
        "indexes": result.indexes,
        "older_than_days": result.older_than.total_seconds() / 86400,
    }
