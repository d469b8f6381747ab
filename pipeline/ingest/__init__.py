"""Ingestion: documents to the index, one result per input, by one engine.

- ``pipeline.ingest.engine``: ``Ingestor``, the per-document state machine (fetched → converted →
  embedded → committed | failed) over one index;
- ``pipeline.ingest.steps``: the steps that need no index (convert, chunk and embed), run by
  the engine here or by a worker elsewhere;
- ``pipeline.ingest.failures``: the one failure rule and the one id rule.

The CLI, the API, the flows and the watcher schedule these; none re-implements them.
"""

from __future__ import annotations

from pipeline.ingest.engine import DocState, DocumentRun, Ingestor
from pipeline.ingest.failures import (
    Failure,
    failure_id,
    failure_of,
    is_placeholder_id,
    placeholder_id,
)
from pipeline.ingest.steps import CONVERT_LOCK, PreparedDocument, Stages, prepare

__all__ = [
    "CONVERT_LOCK",
    "DocState",
    "DocumentRun",
    "Failure",
    "Ingestor",
    "PreparedDocument",
    "Stages",
    "failure_id",
    "failure_of",
    "is_placeholder_id",
    "placeholder_id",
    "prepare",
]
