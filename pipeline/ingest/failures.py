"""The one failure rule and the one id rule of ingestion.

Every way in (the CLI, the API, the flows, the watcher) turns an error into a result here, so a
document fails the same way wherever it was ingested:

- the bytes could not be had (``OSError``; a connector's ``DocumentLoadError`` when fetching):
  stage ``read`` / ``fetch``; tried again next run;
- the converter refused the document, or no page could be converted (``NothingConverted``):
  stage ``convert``; never retried, and **remembered**;
- a backend failed (``EngineError``: a model server, a commit conflict): stage ``engine``;
  retried by the scheduler when ``retryable`` (Prefect task retries, the watcher's attempts),
  then recorded; tried again next run;
- the index could not be written (``StorageError``: a full or read-only disk): stage ``store``;
  the partial write is undone; tried again next run;
- anything else (a bug): stage ``ingest``, ``internal error: …`` with the traceback logged;
  tried again next run.

"Remembered" is why the rule exists: a content failure is deterministic (the same bytes and the
same converter fail the same way), so those bytes at that uri are not converted again until they
or the converter change; they are reported ``unchanged`` with status ``failed`` and their reason.
Everything else says nothing about the document, so the next run tries again.

The one id rule: a document is its bytes' sha256 within its collection
(``pipeline.models.document_id``: the same bytes in two collections are two documents). A
document whose bytes could not be read at all gets ``placeholder_id(uri)``; a failure is
recorded under ``failure_id(uri, doc_id)``, its source and its bytes, so two files that fail
with the same bytes keep a record each (and each is replaced once its file goes in).
"""

from __future__ import annotations

import hashlib
import logging
from typing import NamedTuple

from pipeline.errors import ArchivistError, DocumentLoadError, EngineError, StorageError
from pipeline.models import StageError

log = logging.getLogger(__name__)

PLACEHOLDER_PREFIX = "unreadable-"
FAILURE_PREFIX = "failed-"
CONTENT_STAGE = "convert"


class NothingConverted(DocumentLoadError):
    """A document converted with no page readable: a failure of its content, with each page's
    reason (``errors``)."""

    def __init__(self, errors: list[StageError]) -> None:
        self.errors = errors or [StageError(stage="convert", message="no page could be converted")]
        super().__init__("; ".join(str(e) for e in self.errors))


class OverLimit(DocumentLoadError):
    """A document over one of ``LimitOptions``: failed with the limit named (stage ``limits``),
    not remembered, so a raised limit lets it in on the next run."""


class Failure(NamedTuple):
    """Why a document failed, and whether trying again soon may help."""

    errors: list[StageError]
    retryable: bool = False

    @property
    def reason(self) -> str:
        return "; ".join(str(e) for e in self.errors)


def failure_of(error: BaseException, *, stage: str = "convert", attempts: int = 1) -> Failure:
    """The failure ``error`` stands for, under the rule above.

    ``stage`` names what was being done when the input itself was refused (``convert``, or
    ``fetch`` for a connector); ``attempts`` > 1 is said in the reason of an engine failure
    that outlasted its retries.

    >>> failure_of(DocumentLoadError("not a PDF")).errors[0].stage
    'convert'
    >>> failure_of(EngineError("server down", retryable=True)).retryable
    True
    """
    if isinstance(error, NothingConverted):
        return Failure(list(error.errors))
    if isinstance(error, OverLimit):
        return Failure([StageError(stage="limits", message=str(error))])
    if isinstance(error, DocumentLoadError):
        return Failure([StageError(stage=stage, message=str(error))])
    if isinstance(error, EngineError):
        tries = f" (after {attempts} attempts)" if attempts > 1 and error.retryable else ""
        message = f"{error}{tries}"
        if isinstance(error, StorageError):
            stored = StageError(stage="store", message=message, errno=error.errno)
            return Failure([stored], error.retryable)
        return Failure([StageError(stage="engine", message=message)], error.retryable)
    if isinstance(error, OSError):
        return Failure([StageError(stage="read", message=str(error))])
    if isinstance(error, ArchivistError):
        return Failure([StageError(stage="ingest", message=str(error))])
    log.error("unexpected error while ingesting", exc_info=error)
    message = f"internal error: {type(error).__name__}: {error}"
    return Failure([StageError(stage="ingest", message=message)])


def is_content_failure(errors: list[StageError]) -> bool:
    """True when every error is the document's own (its conversion): worth remembering."""
    return bool(errors) and all(e.stage == CONTENT_STAGE for e in errors)


def placeholder_id(uri: str) -> str:
    """The id of a document whose bytes could not be read: its uri's hash, marked as such.

    >>> placeholder_id("s3://press/a.pdf")[:16]
    'unreadable-b4b20'
    """
    return PLACEHOLDER_PREFIX + hashlib.sha256(uri.encode()).hexdigest()[:48]


def failure_id(uri: str, doc_id: str) -> str:
    """The id of the failure record of ``doc_id``'s bytes at ``uri`` (one per source).

    >>> failure_id("a.pdf", "0" * 64)[:7]
    'failed-'
    """
    digest = hashlib.sha256(f"{uri}\0{doc_id}".encode()).hexdigest()[:48]
    return FAILURE_PREFIX + digest


def is_placeholder_id(doc_id: str) -> bool:
    """True for an id made by ``placeholder_id`` (no bytes behind it)."""
    return doc_id.startswith(PLACEHOLDER_PREFIX)
