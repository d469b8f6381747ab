"""The ingest flow's tasks: fetch a document (in the flow's process), prepare it (anywhere).

Both wrap the ingest engine's steps (``pipeline.ingest``) and add what Prefect is for: retries,
caching, placement. ``prepare_document`` is the part that may run on another machine (a Dask or
Ray worker): it takes small values (a path, a content hash, the steps' recipe), needs no access
to the index, and returns a ``PreparedDocument`` through Prefect's persisted results, cached by
content hash. ``fetch_document`` and every write stay in the flow's process (``flows.ingest``).
Failures follow the engine's one rule (``pipeline.ingest.failures``).

A document that fails makes its task run Failed, with the reason as the state's message: bad
input returns a ``Failed`` state carrying what the flow needs (``Rejected``, a ``DocOutcome``), so
Prefect shows it failed without retrying it (``_retryable`` retries only engine errors that say
so) and without a traceback; an engine error that outlasts its retries fails the task as raised.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any, NamedTuple

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.states import Failed, State

from connectors.base import ConnectorSpec, Listing, SourceRef, make_connector
from flows.report import Work
from flows.runners import RunnerSettings
from flows.runtime import archive_for, stages_for, work_dir
from flows.sync import fail
from pipeline.errors import ConfigError, DocumentLoadError, EngineError
from pipeline.ingest import Ingestor, PreparedDocument, failure_of, prepare
from pipeline.models import IngestResult, SourceDocument, StageError

TASK_TAG = "archivist-ingest"
RETRIES = 2


class Rejected(NamedTuple):
    """Input the converter refused: what its task's Failed state carries to the flow."""

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


def _name(uri: str) -> str:
    """A document's name in run names: its file name (the end of a URL)."""
    return uri.rstrip("/").rsplit("/", 1)[-1][:80] or uri[:80]


def _prepare_run_name() -> str:
    from prefect.runtime import task_run

    return f"prepare {_name(task_run.parameters['uri'])}"


def _fetch_run_name() -> str:
    from prefect.runtime import task_run

    return f"fetch {_name(task_run.parameters['ref'].uri)}"


def _failed(errors: list[StageError], data: Any) -> State[Any]:
    """A task's Failed state for a document that failed, with ``data`` for the flow."""
    return Failed(message="; ".join(str(e) for e in errors), data=data)


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
    task_run_name=_prepare_run_name,
    cache_key_fn=_prepare_key,
    persist_result=True,
    cache_result_in_memory=False,
    retries=RETRIES,
    retry_delay_seconds=[2, 15],
    retry_condition_fn=_retryable,
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
) -> PreparedDocument | State[Any]:
    """Convert, chunk and embed one document, on whichever runner the flow uses (a thread, a
    Dask or Ray worker). Cached by content hash (with the uri, metadata and ``recipe``, which
    also decide the output), results persisted where the flow process reads them back.

    Bad input ends the task Failed, carrying ``Rejected`` (never retried: it would fail again).
    """
    from pipeline.models import SourceMetadata

    stages = stages_for(db).stages
    if stages.recipe() != recipe:
        raise ConfigError(
            "this worker's settings (converter, chunking or embedder) differ from the flow's: "
            "give every worker the same ARCHIVIST_* settings and package version"
        )
    meta = SourceMetadata.model_validate_json(metadata_json)
    src = SourceDocument(uri=uri, path=Path(path), media_type=media_type, metadata=meta)
    if src.doc_id != content_hash:  # being written right now: the retry reads it again
        raise EngineError(f"{src.name}: changed while being read", retryable=True)
    try:
        return prepare(src, stages)
    except DocumentLoadError as e:
        errors = failure_of(e).errors
        return _failed(errors, Rejected(errors))


class Fetched(NamedTuple):
    """A document to prepare: where its bytes lie for the workers, and its listing entry."""

    ref: SourceRef
    src: SourceDocument
    doc_id: str
    path: Path
    staged: bool  # a copy under the work folder, removed once prepared


@task(
    name="fetch-document",
    task_run_name=_fetch_run_name,
    retries=RETRIES,
    retry_delay_seconds=[2, 15],
    retry_condition_fn=_retryable,
    cache_policy=NO_CACHE,
    persist_result=False,
)
def fetch_document(
    spec: ConnectorSpec, ref: SourceRef, db: str
) -> Fetched | DocOutcome | State[Any]:
    """Fetch one document in the flow's process: its result when nothing needs doing (known
    bytes), else where a worker finds its bytes; unreadable input ends the task Failed,
    carrying the document's failed result."""
    ingestor = archive_for(db).ingestor
    try:
        src = make_connector(spec).fetch(ref)
        doc_id = src.doc_id
    except (DocumentLoadError, OSError) as e:
        errors = failure_of(e, stage="fetch").errors
        return _failed(errors, DocOutcome(fail(ingestor, ref, errors), "none"))
    known = ingestor.known(src, doc_id)
    if known:
        return DocOutcome(known, "none")
    staging = RunnerSettings().staging_dir  # shared with the workers on a real cluster
    path, staged = _stage(src, doc_id, Path(staging) if staging else work_dir(db) / "staging")
    lean = src.model_copy(update={"data": None, "path": path})  # in flight: not its bytes
    return Fetched(ref, lean, doc_id, path, staged)


def _stage(src: SourceDocument, doc_id: str, staging: Path) -> tuple[Path, bool]:
    """A local path holding the document's bytes (the file itself when it is local)."""
    if src.path is not None:
        return src.path, False
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


def prepared_result(
    future: PrefectFuture[Any],
) -> tuple[PreparedDocument | list[StageError], Work]:
    """The prepared document, or why there is none (a task that failed for good included)."""
    try:
        value = future.result(raise_on_failure=False)
    except Exception as e:  # the result could not be read back (lost worker, storage)
        value = e
    if isinstance(value, BaseException):
        return failure_of(value, attempts=RETRIES + 1).errors, "none"
    if isinstance(value, Rejected):
        return value.errors, "converted"
    return value, "cached" if future.state.name == "Cached" else "converted"


def fetch_or_fail(
    spec: ConnectorSpec, ref: SourceRef, db: str, ingestor: Ingestor
) -> Fetched | DocOutcome:
    """``fetch_document`` in this thread; a fetch that failed for good still gives a result."""
    try:
        value = fetch_document(spec, ref, db, return_state=True).result(raise_on_failure=False)
    except Exception as e:
        value = e
    if isinstance(value, BaseException):
        return DocOutcome(
            fail(ingestor, ref, failure_of(value, attempts=RETRIES + 1).errors), "none"
        )
    return value
