"""The ingest flow: a source (folder, bucket, URL list, press feed) made searchable, incrementally.

One run lists the source, then gives every document one task (fetch → convert → chunk → embed →
store) and ends with one ``IngestResult`` per document and a Markdown artifact summing it up.

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

>>> report = ingest_flow("sample_docs", db="/tmp/idx")               # doctest: +SKIP
>>> report.counts                                                    # doctest: +SKIP
{'added': 8}
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from pathlib import Path
from typing import Any, NamedTuple

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture, as_completed
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
from flows.report import SyncProblem, SyncReport, Work
from flows.runtime import CONVERT_LOCK, STORE_LOCK, archive_for, recipe, resolve_db, work_dir
from flows.sync import fail, known_result, quick_unchanged, reconcile_removed, remember
from pipeline.convert import convert_document
from pipeline.errors import DocumentLoadError, EngineError
from pipeline.ingest import Ingestor, PreparedDocument
from pipeline.models import DEFAULT_COLLECTION, IngestResult, SourceDocument, StageError

TASK_TAG = "archivist-ingest"
RETRIES = 2


class Rejected(NamedTuple):
    """Input the converter refused. As deterministic as a success, so it is cached too."""

    errors: list[StageError]


class DocOutcome(NamedTuple):
    """A document's result and the work it took (none, cached stage output, or a conversion)."""

    result: IngestResult
    work: Work


def _retryable(task: Any, task_run: Any, state: Any) -> bool:
    """Retry engine errors that say they are worth retrying; never bad input or bugs."""
    try:
        state.result()
    except EngineError as e:
        return e.retryable
    except Exception:
        return False
    return False


def _prepare_key(context: Any, parameters: dict[str, Any]) -> str:
    parts = [
        parameters["content_hash"],
        parameters["uri"],
        parameters["metadata_json"],
        parameters.get("media_type") or "",
        parameters["recipe"],
    ]
    return "prepare-" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@task(
    name="prepare-document",
    cache_key_fn=_prepare_key,
    persist_result=True,
    cache_result_in_memory=False,
    tags=[TASK_TAG],
)
def prepare_document(
    uri: str,
    content_hash: str,
    path: str,
    metadata_json: str,
    media_type: str | None,
    recipe: str,
    db: str,
) -> PreparedDocument | Rejected:
    """Convert, chunk and embed one document. Cached by content hash (with the uri, metadata and
    ``recipe``, which also decide the output), results persisted under the index's work folder.

    Bad input comes back as ``Rejected`` rather than raised: it is an outcome, not a task error.
    """
    from pipeline.models import SourceMetadata

    archive = archive_for(db)
    meta = SourceMetadata.model_validate_json(metadata_json)
    src = SourceDocument(uri=uri, path=Path(path), media_type=media_type, metadata=meta)
    if src.doc_id != content_hash:  # being written right now: the retry reads it again
        raise EngineError(f"{src.name}: changed while being read", retryable=True)
    try:
        with CONVERT_LOCK:  # PyMuPDF is not thread-safe
            parsed = convert_document(src, archive.options.convert)
    except DocumentLoadError as e:
        return Rejected([_error("convert", e)])
    return archive.ingestor.prepare(src, parsed)


@task(
    name="ingest-document",
    task_run_name="ingest {ref.uri}",
    retries=RETRIES,
    retry_delay_seconds=[2, 15],
    retry_condition_fn=_retryable,
    cache_policy=NO_CACHE,
    persist_result=False,
    tags=[TASK_TAG],
)
def ingest_document(spec: ConnectorSpec, ref: SourceRef, db: str) -> DocOutcome:
    """Fetch one document and bring the index up to date with it."""
    archive = archive_for(db)
    ingestor = archive.ingestor
    try:
        src = make_connector(spec).fetch(ref)
        doc_id = src.doc_id
    except DocumentLoadError as e:
        return DocOutcome(fail(ingestor, ref, None, "fetch", str(e)), "none")
    except OSError as e:
        return DocOutcome(fail(ingestor, ref, None, "read", str(e)), "none")
    known = known_result(ingestor, src, doc_id)
    if known:
        return DocOutcome(known, "none")
    path, staged = _stage(src, doc_id, work_dir(db))
    try:
        state = prepare_document.with_options(result_storage=work_dir(db) / "results")(
            uri=src.uri,
            content_hash=doc_id,
            path=str(path),
            metadata_json=src.metadata.model_dump_json(),
            media_type=src.media_type,
            recipe=recipe(archive),
            db=db,
            return_state=True,
        )
        prepared: PreparedDocument | Rejected = state.result()
        work: Work = "cached" if state.name == "Cached" else "converted"
    finally:
        if staged:
            path.unlink(missing_ok=True)
    if isinstance(prepared, Rejected):
        errors = prepared.errors
    elif prepared.parsed.status == "failed":  # no page converted: a failure, not a success
        errors = prepared.parsed.errors or [_error("convert", "no page could be converted")]
    else:
        with STORE_LOCK:
            return DocOutcome(ingestor.commit(src, prepared), work)
    with STORE_LOCK:
        return DocOutcome(ingestor.fail(src, doc_id, errors), work)


def _error(stage: str, e: object) -> StageError:
    return StageError(stage=stage, message=str(e))


def _stage(src: SourceDocument, doc_id: str, workdir: Path) -> tuple[Path, bool]:
    """A local path holding the document's bytes (the file itself when it is local)."""
    if src.path is not None:
        return src.path, False
    staging = workdir / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    path = staging / doc_id
    tmp = path.with_suffix(f".{time.monotonic_ns()}.part")
    tmp.write_bytes(src.read_bytes())
    tmp.replace(path)
    return path, True


@task(name="list-source", retries=RETRIES, retry_delay_seconds=[5, 30],
      retry_condition_fn=_retryable, cache_policy=NO_CACHE, persist_result=False)  # fmt: skip
def list_source(spec: ConnectorSpec) -> Listing:
    """What the source holds now (retried when the source is unreachable)."""
    return make_connector(spec).list()


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
    )


@flow(
    name="ingest",  # the name other flows (evals) trigger on
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
) -> SyncReport:
    """Sync ``source`` into the index ``db``: one result per document, a summary artifact.

    ``concurrency`` documents are in flight at once (conversion and index writes take turns;
    fetching, hashing and embedding overlap). ``prune`` removes from the index the documents
    that left the source.
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
    )
    reconcile_removed(report, spec, listing, db, prune=prune)
    for outcome in _run_documents(spec, listing.refs, db, max(1, concurrency)):
        report.results.append(outcome.result)
        report.converted += outcome.work == "converted"
        report.cached += outcome.work == "cached"
    with STORE_LOCK:
        archive_for(db).store.ensure_indexes()
    report.seconds = time.monotonic() - started
    create_markdown_artifact(
        markdown=report.to_markdown(),
        key=artifact_key(spec.source),
        description=report.summary_line(),
    )
    get_run_logger().info(report.summary_line())
    return report


def _run_documents(
    spec: ConnectorSpec, refs: list[SourceRef], db: str, concurrency: int
) -> list[DocOutcome]:
    """One task per document not known unchanged up front, at most ``concurrency`` at once."""
    ingestor = archive_for(db).ingestor
    connector = make_connector(spec)
    ledger = FingerprintLedger(work_dir(db) / "fingerprints.json")
    outcomes: list[DocOutcome] = []
    inflight: list[tuple[PrefectFuture[DocOutcome], SourceRef]] = []

    def finish(future: PrefectFuture[DocOutcome], ref: SourceRef) -> None:
        outcome = _collect(future, ref, ingestor)
        remember(ledger, connector, ref, outcome.result)
        outcomes.append(outcome)

    for ref in refs:
        quick = quick_unchanged(ingestor, connector, ref, ledger)
        if quick is not None:
            outcomes.append(DocOutcome(quick, "none"))
            continue
        if len(inflight) >= concurrency:
            done = next(as_completed([f for f, _ in inflight]))
            finish(*inflight.pop(next(i for i, (f, _) in enumerate(inflight) if f is done)))
        inflight.append((ingest_document.submit(spec, ref, db), ref))
    for future, ref in inflight:
        finish(future, ref)
    ledger.save()
    return outcomes


def _collect(future: PrefectFuture[DocOutcome], ref: SourceRef, ingestor: Ingestor) -> DocOutcome:
    """The task's outcome; a task that failed for good still gives the document a result."""
    try:
        return future.result()
    except EngineError as e:
        tries = f" (after {RETRIES + 1} attempts)" if e.retryable else ""
        return DocOutcome(fail(ingestor, ref, None, "engine", f"{e}{tries}"), "none")
    except Exception as e:
        message = f"internal error: {type(e).__name__}: {e}"
        return DocOutcome(fail(ingestor, ref, None, "ingest", message), "none")


def artifact_key(source: str) -> str:
    """A Prefect artifact key (lowercase letters, digits, dashes) stable for one source."""
    slug = re.sub(r"[^a-z0-9]+", "-", source.lower()).strip("-")[-40:].strip("-")
    digest = hashlib.sha256(source.encode()).hexdigest()[:8]
    return f"archivist-ingest-{slug}-{digest}"
