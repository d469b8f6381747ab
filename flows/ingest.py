"""The ingest flow: a source (folder, bucket, URL list, press feed) made searchable, incrementally.

One run lists the source, fetches each document in this process, has it prepared (convert →
chunk → embed) by a task on the chosen runner (threads, a Dask or Ray cluster: see
``flows.runners`` and docs/distributed.md), and writes the prepared documents to the index from
this process only, in batches (``flows.writer``). It ends with one ``IngestResult`` per document
and a Markdown artifact summing it up. A run is named after its source and start time; it ends
Completed when every document went in, else Failed with the failures in its state message and
artifact (a failed document's task is Failed too); ``run_ingest`` returns the report either way.

- **new** bytes are ingested; **changed** bytes at a known uri replace the old version;
- **unchanged** bytes cost a read and a hash (an object in a bucket: not even a download, when
  its ETag is the one recorded), no conversion and no embedding; a document that failed for its
  own content stays failed without reconverting, until its bytes or the converter change;
- documents **gone** from the source are reported, and removed from the index with ``prune``;
- engine errors (an endpoint down, a timeout) are retried by Prefect; bad input fails at once
  with its reason, recorded in the ``documents`` table;
- the stage output (converted, chunked, embedded document) is cached by content hash with
  persisted results, so a retried run, a re-added document or a rebuilt index reuses it.

Runs with no Prefect server (a temporary local one is started) or against ``PREFECT_API_URL``.

>>> report = run_ingest("sample_docs", db="/tmp/idx")         # doctest: +SKIP
>>> report.counts                                                    # doctest: +SKIP
{'added': 8}
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import queue
import re
import time
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.futures import PrefectFuture
from prefect.states import Failed, State
from prefect.task_runners import ThreadPoolTaskRunner

from connectors.base import (
    DEFAULT_MAX_BYTES,
    DEFAULT_PATTERNS,
    ConnectorSpec,
    Listing,
    SourceRef,
    make_connector,
)
from flows.ledger import FingerprintLedger
from flows.report import DocumentsFailed, SyncProblem, SyncReport, Work
from flows.runners import (
    RunnerPlan,
    RunnerSettings,
    inflight_limit,
    result_storage,
    runner_plan,
)
from flows.runtime import archive_for, note_full_disk, refresh_indexes, resolve_db, work_dir
from flows.sync import quick_unchanged, reconcile_removed, remember
from flows.tasks import (
    DocOutcome,
    Fetched,
    fetch_or_fail,
    list_source,
    prepare_document,
    prepared_result,
)
from flows.writer import BatchWriter
from pipeline.ingest import PreparedDocument
from pipeline.models import DEFAULT_COLLECTION, IngestResult


def make_spec(
    source: str,
    *,
    collection: str = DEFAULT_COLLECTION,
    kind: str = "auto",
    patterns: list[str] | None = None,
    exclude: list[str] | None = None,
    allow_private: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout_s: float = 60.0,
    storage_options: dict[str, str] | None = None,
    allow_collections: list[str] | None = None,
    allow_prefixes: list[str] | None = None,
) -> ConnectorSpec:
    """A ``ConnectorSpec`` from flow parameters (local paths made absolute)."""
    if "://" not in source and kind in ("auto", "local", "feed", "urls"):
        source = str(Path(source).expanduser().resolve())
    return ConnectorSpec(
        kind=kind,
        source=source,
        collection=collection,
        patterns=tuple(patterns or DEFAULT_PATTERNS),
        exclude=tuple(exclude or ()),
        allow_private=allow_private,
        max_bytes=max_bytes,
        timeout_s=timeout_s,
        storage_options=tuple(sorted((storage_options or {}).items())),
        allow_collections=tuple(allow_collections or ()),
        allow_prefixes=tuple(allow_prefixes or ()),
    )


def run_name(source: str, collection: str, started: dt.datetime) -> str:
    """A flow run's name: what it syncs, into which collection, when (UTC).

    >>> run_name("/data/press/", "wire", dt.datetime(2026, 5, 1, 9, 30))
    'press → wire, 2026-05-01 09:30'
    """
    name = source.rstrip("/").rsplit("/", 1)[-1] or source
    if "://" in source and len(source) <= 60:
        name = source
    return f"{name} → {collection}, {started:%Y-%m-%d %H:%M}"


def _flow_run_name() -> str:
    from prefect.runtime import flow_run

    params = flow_run.parameters
    started = flow_run.scheduled_start_time or dt.datetime.now(dt.UTC)
    collection = str(params.get("collection") or DEFAULT_COLLECTION)
    return run_name(str(params["source"]), collection, started)


@flow(
    name="ingest",  # the name other flows (evals) trigger on
    flow_run_name=_flow_run_name,
    # The flow's own runner; documents are prepared on the one ``task_runner`` names, entered
    # at run time (flows.runners), so a deployment changes it by setting, not by code.
    task_runner=ThreadPoolTaskRunner(max_workers=8),  # type: ignore[arg-type]
    validate_parameters=True,
)
def ingest_flow(
    source: str,
    collection: str = DEFAULT_COLLECTION,
    db: str | None = None,
    kind: str = "auto",
    patterns: list[str] | None = None,
    exclude: list[str] | None = None,
    prune: bool = False,
    concurrency: int = 2,
    allow_private: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout_s: float = 60.0,
    storage_options: dict[str, str] | None = None,
    task_runner: str | None = None,
    allow_collections: list[str] | None = None,
    allow_prefixes: list[str] | None = None,
) -> SyncReport | State[Any]:
    """Sync ``source`` into the index ``db``: one result per document, a summary artifact.

    Returns the report when every document went in; else the run ends Failed and a Python
    caller gets ``DocumentsFailed`` (its ``report``; ``run_ingest`` returns it instead).

    ``concurrency`` documents are in flight at once on threads (at least two per worker thread
    on Dask). ``task_runner`` (default: ``ARCHIVIST_TASK_RUNNER``, else ``threads``) says where
    documents are prepared: ``threads``, ``dask``, ``dask://host:port``, ``ray``, ``ray://…``
    (see ``flows.runners``); the index is written from this process only, in batches.
    ``prune`` removes from the index the documents that left the source.
    ``allow_collections`` and ``allow_prefixes`` are what a press feed's lines may name
    besides ``collection`` and the manifest's folder (``ConnectorSpec``; docs/security.md).
    """
    started = time.monotonic()
    db = resolve_db(db)
    spec = make_spec(
        source,
        collection=collection,
        kind=kind,
        patterns=patterns,
        exclude=exclude,
        allow_private=allow_private,
        max_bytes=max_bytes,
        timeout_s=timeout_s,
        storage_options=storage_options,
        allow_collections=allow_collections,
        allow_prefixes=allow_prefixes,
    )
    archive_for(db)  # load the embedder and open the tables once, before the tasks start
    listing: Listing = list_source(spec)
    report = SyncReport(
        source=spec.source,
        kind=spec.resolved_kind(),
        db=db,
        collection=collection,
        started_at=dt.datetime.now(dt.UTC),
        problems=[SyncProblem(where=p.where, reason=p.reason) for p in listing.problems],
        flow_run_id=_current_run_id(),
    )
    reconcile_removed(report, spec, listing, db, prune=prune)
    for outcome in _run_documents(spec, listing.refs, db, max(1, concurrency), task_runner):
        report.results.append(outcome.result)
        report.converted += outcome.work == "converted"
        report.cached += outcome.work == "cached"
    refresh_indexes(db)  # (no lock object named here: Dask pickles this function's globals)
    report.seconds = time.monotonic() - started
    create_markdown_artifact(
        markdown=report.to_markdown(),
        key=artifact_key(spec.source),
        description=report.summary_line(),
    )
    get_run_logger().info(report.summary_line())
    if not report.ok:
        return Failed(message=report.failure_line(), data=DocumentsFailed(report))
    return report


def run_ingest(source: str, **parameters: Any) -> SyncReport:
    """Run ``ingest_flow`` and return its report, whether or not every document went in (the
    flow run itself ends Failed when one did not, as ``report.ok`` says)."""
    try:
        result = ingest_flow(source, **parameters)
    except DocumentsFailed as e:
        return e.report
    assert isinstance(result, SyncReport)
    return result


def _current_run_id() -> str | None:
    from prefect.runtime import flow_run

    return str(flow_run.id) if flow_run.id else None


def _run_documents(
    spec: ConnectorSpec, refs: list[SourceRef], db: str, concurrency: int, task_runner: str | None
) -> list[DocOutcome]:
    """Fetch here, prepare on the task runner, write here in batches: one outcome per ref."""
    settings = RunnerSettings()
    plan = runner_plan(
        task_runner or settings.task_runner,
        workers=settings.dask_workers,
        threads=settings.dask_threads_per_worker,
        concurrency=concurrency,
        ray_cpus=settings.ray_cpus,
    )
    archive = archive_for(db)
    connector = make_connector(spec)
    ledger = FingerprintLedger(work_dir(db) / "fingerprints.json")
    storage = result_storage(settings.result_storage, work_dir(db) / "results")
    prepare = prepare_document.with_options(result_storage=storage)
    writer: BatchWriter[tuple[Fetched, Work]] = BatchWriter(
        archive.ingestor,
        max_docs=settings.ingest_batch_docs,
        max_wait_s=settings.ingest_batch_seconds,
    )
    outcomes: list[DocOutcome] = []

    def finish(ref: SourceRef, outcome: DocOutcome) -> None:
        remember(ledger, connector, ref, outcome.result)
        outcomes.append(outcome)

    def write(flushed: list[tuple[tuple[Fetched, Work], IngestResult]]) -> None:
        for (item, work), result in flushed:
            finish(item.ref, DocOutcome(result, work))

    with _Inflight(plan, prepare, concurrency, db, archive.stages.recipe()) as pool:
        for ref in refs:
            quick = quick_unchanged(archive.ingestor, connector, ref, ledger)
            if quick is not None:
                finish(ref, DocOutcome(quick, "none"))
                continue
            fetched = fetch_or_fail(spec, ref, db, archive.ingestor)
            if isinstance(fetched, DocOutcome):
                finish(ref, fetched)
                continue
            while pool.full():
                _take(pool, writer, finish, write)
            pool.submit(fetched)
        while pool:
            _take(pool, writer, finish, write)
        write(writer.flush())
    ledger.save()
    note_full_disk(db, (o.result for o in outcomes))
    return outcomes


class _Inflight(contextlib.ExitStack):
    """Prepare tasks submitted to the runner, handed back as they finish. The runner (a local
    Dask cluster, a connection to a remote one) starts with the first document that needs it,
    so a run over an unchanged source starts none."""

    def __init__(
        self, plan: RunnerPlan, prepare: Any, concurrency: int, db: str, recipe: str
    ) -> None:
        super().__init__()
        self.plan, self.prepare, self.concurrency = plan, prepare, concurrency
        self.db, self.recipe = db, recipe
        self.runner: Any = None
        self.limit = max(1, concurrency)
        self.items: dict[PrefectFuture[Any], Fetched] = {}
        self.done: queue.SimpleQueue[PrefectFuture[Any]] = queue.SimpleQueue()

    def __len__(self) -> int:
        return len(self.items)

    def full(self) -> bool:
        return len(self.items) >= self.limit

    def submit(self, item: Fetched) -> None:
        if self.runner is None:
            get_run_logger().info("preparing documents on %s", self.plan.label)
            self.runner = self.enter_context(self.plan.runner)
            self.limit = inflight_limit(self.plan, self.concurrency)
        parameters = {
            "uri": item.src.uri,
            "content_hash": item.doc_id,
            "path": str(item.path),
            "metadata_json": item.src.metadata.model_dump_json(),
            "media_type": item.src.media_type,
            "recipe": self.recipe,
            "db": self.db,
        }
        future = self.runner.submit(self.prepare, parameters=parameters)
        self.items[future] = item
        future.add_done_callback(self.done.put)

    def next(self, timeout: float | None) -> tuple[PrefectFuture[Any], Fetched] | None:
        try:
            future = self.done.get(timeout=timeout)
        except queue.Empty:
            return None
        return future, self.items.pop(future)


def _take(
    pool: _Inflight, writer: BatchWriter[tuple[Fetched, Work]], finish: Any, write: Any
) -> None:
    """Wait for one prepared document (or the batch's deadline); queue it, write when due."""
    got = pool.next(writer.seconds_left())
    if got is not None:
        future, item = got
        if item.staged:
            item.path.unlink(missing_ok=True)
        prepared, work = prepared_result(future)
        if isinstance(prepared, PreparedDocument):
            writer.add((item, work), item.src, prepared)
        else:
            result = writer.fail(item.src, item.doc_id, prepared)
            finish(item.ref, DocOutcome(result, work))
    if writer.due():
        write(writer.flush())


def artifact_key(source: str) -> str:
    """A Prefect artifact key (lowercase letters, digits, dashes) stable for one source."""
    slug = re.sub(r"[^a-z0-9]+", "-", source.lower()).strip("-")[-40:].strip("-")
    digest = hashlib.sha256(source.encode()).hexdigest()[:8]
    return f"archivist-ingest-{slug}-{digest}"
