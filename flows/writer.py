"""The one writer of an index during an ingest run: prepared documents committed in batches.

Workers (threads, Dask or Ray) only prepare documents; every write to the index goes through one
``BatchWriter`` in the flow's process, so concurrent commits never conflict. Documents are held
until ``max_docs`` are waiting or the oldest has waited ``max_wait_s``, then committed together
(fewer table versions and fragments than one commit per document); a document that cannot be
written is recorded as failed with the store's error, and the others still go in.

A run killed between two flushes loses only the uncommitted batch's *writes*: its prepared
documents are in the persisted results, so the next run commits them without converting again.

>>> writer = BatchWriter(ingestor, max_docs=8, max_wait_s=5)          # doctest: +SKIP
>>> writer.add(item); writer.due()                                   # doctest: +SKIP
False
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

from flows.runtime import STORE_LOCK
from pipeline.ingest import Ingestor, PreparedDocument
from pipeline.models import IngestResult, SourceDocument, StageError

T = TypeVar("T")  # what the caller attaches to a document (its listing entry, the work done)


class BatchWriter(Generic[T]):
    """Collects prepared documents and commits them in batches, under the store lock."""

    def __init__(
        self,
        ingestor: Ingestor,
        *,
        max_docs: int = 8,
        max_wait_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ingestor = ingestor
        self.max_docs = max(1, max_docs)
        self.max_wait_s = max(0.0, max_wait_s)
        self.clock = clock
        self.batches = 0
        self._items: list[tuple[T, SourceDocument, PreparedDocument]] = []
        self._since: float | None = None

    def __len__(self) -> int:
        return len(self._items)

    def add(self, tag: T, src: SourceDocument, prepared: PreparedDocument) -> None:
        """Queue one prepared document for the next commit."""
        if not self._items:
            self._since = self.clock()
        self._items.append((tag, src, prepared))

    def seconds_left(self) -> float | None:
        """Seconds until the waiting batch is due (None: nothing waits)."""
        if self._since is None:
            return None
        return max(0.0, self._since + self.max_wait_s - self.clock())

    def due(self) -> bool:
        """True when the batch is full or its oldest document has waited long enough."""
        left = self.seconds_left()
        return len(self._items) >= self.max_docs or (left is not None and left <= 0)

    def flush(self) -> list[tuple[T, IngestResult]]:
        """Commit everything waiting; one result per document, in the order they were added."""
        items, self._items, self._since = self._items, [], None
        if not items:
            return []
        with STORE_LOCK:
            results = self.ingestor.commit_many([(src, prep) for _, src, prep in items])
        self.batches += 1
        return [(tag, result) for (tag, _, _), result in zip(items, results, strict=True)]

    def fail(self, src: SourceDocument, doc_id: str, errors: list[StageError]) -> IngestResult:
        """Record a document that could not be prepared (written at once: it is small)."""
        with STORE_LOCK:
            return self.ingestor.fail(src, doc_id, errors)
