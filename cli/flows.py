"""``archivist sync``, ``watch``, ``deploy`` and ``maintain``: the orchestrated ways in.

Prefect is imported inside the commands, so the other commands start without it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.app import (
    EXIT_USAGE,
    DbOpt,
    ExcludeOpt,
    JsonOpt,
    WriteCollOpt,
    app,
    fail,
    require_index,
    settings_for,
)
from cli.render import console, err_console, ingest_line, json_line
from pipeline.errors import ArchivistError

CollectionOpt = WriteCollOpt
PatternOpt = Annotated[
    list[str] | None,
    typer.Option("--pattern", "-p", help="Glob of files to take (repeatable; default pdf/md/txt)."),
]
PruneOpt = Annotated[
    bool, typer.Option("--prune", help="Remove from the index what left the source.")
]
AllowCollOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-collection",
        help="A collection a feed's lines may name besides --collection (repeatable).",
    ),
]
AllowPrefixOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-prefix",
        help="An object-storage prefix (s3://bucket/dir/) a feed's lines may read (repeatable).",
    ),
]


def _quiet_prefect() -> None:
    """Prefect's own chatter off the terminal, while the run's log (UI, API) keeps every line.

    Prefect's client and engine loggers stay at warnings; the run loggers (``get_run_logger``)
    and archivist's own (``PREFECT_LOGGING_EXTRA_LOGGERS``, see ``flows``) emit their info
    lines, which reach the run's log; the terminal shows them with ``-v`` (``cli.logs``).
    """
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_LOGGING_LOGGERS_PREFECT_FLOW_RUNS_LEVEL", "INFO")
    os.environ.setdefault("PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL", "INFO")


def run_url(flow_run_id: str | None) -> str | None:
    """The flow run's page in the Prefect UI, when a server is configured (``PREFECT_API_URL``,
    ``PREFECT_UI_URL``); None for a temporary server, gone once the command ends."""
    from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL
    from prefect.utilities.urls import url_for

    if not flow_run_id or not (PREFECT_API_URL.value() or PREFECT_UI_URL.value()):
        return None
    return url_for("flow-run", obj_id=flow_run_id)


def _storage_options(pairs: list[str] | None) -> dict[str, str]:
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"expected key=value, got {pair!r}", param_hint="--option")
        out[key.strip()] = value
    return out


@app.command()
def sync(
    source: Annotated[str, typer.Argument(help="Folder, s3://bucket/prefix, URL list or feed.")],
    db: DbOpt = None,
    collection: CollectionOpt = "default",
    kind: Annotated[str, typer.Option(help="auto, local, objectstore, urls or feed.")] = "auto",
    pattern: PatternOpt = None,
    exclude: ExcludeOpt = None,
    prune: PruneOpt = False,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Documents in flight.")] = 2,
    allow_private: Annotated[
        bool, typer.Option(help="Let URLs reach loopback/private addresses (intranet).")
    ] = False,
    max_mb: Annotated[float, typer.Option(help="Largest document to fetch, in MB.")] = 200.0,
    timeout: Annotated[float, typer.Option(help="Seconds before a fetch gives up.")] = 60.0,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option", "-o", help="Storage option key=value (endpoint_url=…; not secrets)."
        ),
    ] = None,
    allow_collection: AllowCollOpt = None,
    allow_prefix: AllowPrefixOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Sync a folder, bucket, URL list or press feed into the index (a Prefect flow run).

    New documents are added, changed ones replaced, unchanged ones skipped without conversion,
    removed ones reported (or pruned with --prune).
    """
    _quiet_prefect()
    from flows.ingest import run_ingest

    try:
        report = run_ingest(
            source=source,
            collection=collection,
            db=db,
            kind=kind,
            patterns=pattern,
            exclude=exclude,
            prune=prune,
            concurrency=concurrency,
            allow_private=allow_private,
            max_bytes=int(max_mb * 1024 * 1024),
            timeout_s=timeout,
            storage_options=_storage_options(option),
            allow_collections=allow_collection,
            allow_prefixes=allow_prefix,
        )
    except ValueError as e:  # a bad --allow-prefix (configuration errors: ArchivistGroup)
        fail(str(e), EXIT_USAGE, e)
    url = run_url(report.flow_run_id)
    if as_json:
        data = report.model_dump(mode="json")
        data["counts"] = report.counts
        data["run_url"] = url
        print(json.dumps(data, ensure_ascii=False))
    else:
        for result in report.results:
            if result.action != "unchanged" or result.status == "failed":
                console.print(ingest_line(result))
        for problem in report.problems:
            console.print(f"[red]UNUSABLE[/] {problem.where}: {problem.reason}")
        for uri in report.pruned:
            console.print(f"[yellow]pruned[/]   {uri}")
        if report.prune_note:
            console.print(f"[yellow]prune skipped:[/] {report.prune_note}")
        console.print(report.summary_line())
        if url:
            console.print(f"Prefect run: {url}", soft_wrap=True)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def watch(
    drop_dir: Annotated[Path, typer.Argument(help="Folder to watch (created if missing).")],
    db: DbOpt = None,
    collection: CollectionOpt = "default",
    settle: Annotated[
        float, typer.Option(min=0.0, help="Seconds a file must stay unchanged before it is taken.")
    ] = 2.0,
    rescan: Annotated[
        float, typer.Option(min=0.5, help="Seconds between full rescans (events get lost).")
    ] = 30.0,
    hold: Annotated[
        float,
        typer.Option(min=0.0, help="Seconds a file that failed (truncated?) may still change."),
    ] = 30.0,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="One JSON line per file handled (messages go to stderr)."),
    ] = False,
) -> None:
    """Watch a drop folder and ingest every file that lands in it.

    Successes move to processed/, failures to failed/ with <name>.error.txt beside them.
    Stops cleanly on Ctrl-C or SIGTERM.
    """
    from flows.runtime import archive_for, resolve_db
    from flows.watch import DropFolderWatcher, WatchOptions, WatchOutcome

    drop_dir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        err_console.print(
            f"{signal.Signals(signum).name}: finishing the current file, then stopping"
        )
        stop.set()
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # a second Ctrl-C stops at once

    def show(outcome: WatchOutcome) -> None:
        if as_json:
            json_line({**outcome.result.model_dump(mode="json"), "moved_to": str(outcome.moved_to)})
        else:
            console.print(f"{ingest_line(outcome.result)} → {outcome.moved_to.parent.name}/")

    say = err_console if as_json else console

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    opts = WatchOptions(settle_s=settle, rescan_s=rescan, collection=collection, hold_s=hold)
    require_index(settings_for(resolve_db(db)), create=True)
    watcher = DropFolderWatcher(drop_dir, archive_for(resolve_db(db)), opts, on_outcome=show)
    ready = lambda: say.print(f"watching {drop_dir.resolve()} (Ctrl-C to stop)")  # noqa: E731
    watcher.run(stop, ready=ready)
    done = watcher.outcomes
    failed = sum(o.result.status == "failed" for o in done)
    say.print(f"stopped: {len(done)} files handled, {failed} failed")


@app.command()
def deploy(
    source: Annotated[str, typer.Option("--source", help="What to ingest (as for sync).")],
    cron: Annotated[str, typer.Option("--cron", help='Schedule, e.g. "0 2 * * *".')],
    db: DbOpt = None,
    collection: CollectionOpt = "default",
    name: Annotated[
        str | None, typer.Option(help="Deployment name (default: from source).")
    ] = None,
    pool: Annotated[
        str, typer.Option(help="Process work pool (created if missing).")
    ] = "archivist",
    timezone: Annotated[str | None, typer.Option(help="IANA zone for the cron.")] = None,
    pattern: PatternOpt = None,
    exclude: ExcludeOpt = None,
    prune: PruneOpt = False,
    serve: Annotated[
        bool, typer.Option("--serve", help="Run the schedule in this process (no worker).")
    ] = False,
    allow_collection: AllowCollOpt = None,
    allow_prefix: AllowPrefixOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Schedule ingestion of a source with a cron (a Prefect deployment).

    A worker runs the scheduled runs: `prefect worker start --pool POOL`; or run the schedule
    in this process with --serve.
    """
    from flows.deploy import deploy_ingest, serve_ingest

    params = {
        "db": db,
        "collection": collection,
        "patterns": pattern,
        "exclude": exclude,
        "prune": prune,
        "allow_collections": allow_collection,
        "allow_prefixes": allow_prefix,
    }
    try:
        if serve:
            serve_ingest(source=source, cron=cron, name=name, timezone=timezone, parameters=params)
            return
        deployed = deploy_ingest(
            source=source, cron=cron, name=name, pool=pool, timezone=timezone, parameters=params
        )
    except ArchivistError as e:
        err_console.print(f"[red]error:[/] {e}")
        raise typer.Exit(2) from e
    if as_json:
        json_line(deployed._asdict())
        return
    zone = f" ({deployed.timezone})" if deployed.timezone else " (UTC)"
    console.print(f"deployment {deployed.name} ({deployed.id})")
    console.print(f"  schedule  {deployed.cron}{zone}")
    console.print(f"  source    {deployed.parameters['source']}")
    console.print(f"  index     {deployed.parameters['db']}")
    created = " (created)" if deployed.pool_created else ""
    console.print(f"  pool      {deployed.pool}{created}")
    console.print(f"start a worker:  prefect worker start --pool {deployed.pool}")
    console.print(f"run it now:      prefect deployment run '{deployed.name}'")


@app.command()
def maintain(
    db: DbOpt = None,
    older_than_days: Annotated[
        float | None,
        typer.Option(help="Delete table versions older than this (default 7, Settings)."),
    ] = None,
    cron: Annotated[
        str | None, typer.Option("--cron", help="Schedule it (a deployment) instead of now.")
    ] = None,
    pool: Annotated[str, typer.Option(help="Work pool for --cron.")] = "archivist",
    timezone: Annotated[str | None, typer.Option(help="IANA zone for the cron.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Compact the index, bring its indexes up to date and delete old table versions.

    Runs now, or with --cron registers a Prefect deployment of the maintain flow (docs/storage.md).
    """
    from flows.runtime import resolve_db
    from pipeline.settings import Settings
    from pipeline.store import LanceChunkStore

    if cron:
        from flows.deploy import deploy_maintain

        deployed = deploy_maintain(
            db=db, cron=cron, pool=pool, timezone=timezone, older_than_days=older_than_days
        )
        if as_json:
            json_line(deployed._asdict())
            return
        console.print(f"deployment {deployed.name} ({deployed.id}), schedule {deployed.cron}")
        console.print(f"start a worker:  prefect worker start --pool {deployed.pool}")
        return
    store = LanceChunkStore.open(Settings(db=resolve_db(db)).options().store)
    days = None if older_than_days is None else dt.timedelta(days=older_than_days)
    result = store.maintain(older_than=days)
    if as_json:
        json_line({**result._asdict(), "older_than": result.older_than.total_seconds()})
        return
    if result.leftovers:
        chunks, docs = sum(result.leftovers.values()), len(result.leftovers)
        console.print(f"repaired  {chunks} chunks of {docs} unfinished writes removed")
    for step in result.indexes:
        console.print(f"index     {step}")
    for name, before in result.versions_before.items():
        rows, after = result.rows[name], result.versions_after[name]
        console.print(f"{name:<9} {rows} rows, {before} versions -> {after}")
