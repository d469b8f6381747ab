"""The index on LanceDB: a ``documents`` table (one row per input, failures too) and a ``chunks``
table (text, vector, metadata, one full-text index per language).

- ``tables``: ``LanceChunkStore``, reads and idempotent writes of both tables;
- ``candidates``: what each ranker returns (ids, scores, row ids) and the vector query;
- ``query``: the read path of searches: both rankers' candidates at once, then the winners' rows
  read while the candidates' visibility is checked (grouped: after their stories are read, and
  beside the versions of the stories shown);
- ``variants``: the story groups of near-duplicate documents, kept at ingest; ``versions``: what
  searches read of them;
- ``schema``: the tables' Arrow schemas and the SQL of search filters;
- ``upkeep``: connecting, commit-conflict retries, indexes as the tables grow, maintenance;
- ``errors``: storage errors as ``StorageError`` with their OS error code.
"""

from __future__ import annotations

from pipeline.errors import StorageError
from pipeline.store.candidates import Candidates
from pipeline.store.errors import as_storage_error, os_error_code, storage_reason
from pipeline.store.query import Searched
from pipeline.store.tables import DocumentWrite, LanceChunkStore, check_location

__all__ = [
    "Candidates",
    "DocumentWrite",
    "LanceChunkStore",
    "Searched",
    "StorageError",
    "as_storage_error",
    "check_location",
    "os_error_code",
    "storage_reason",
]
