"""What each ranker of a search returns, and how a chunk's row is read back.

- ``Candidates``: one ranker's candidates, ids, scores and row ids only (no text), best first;
- ``nearest``: the vector query of every search (and of the scale bench's recall sweep);
- ``chunk_from_row``: a ``Chunk`` from a row of the chunks table (``CHUNK_COLUMNS``).

The read path that runs both rankers and reads the winners is ``pipeline.store.query``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa

from pipeline.models import Chunk, PageRegion, StoreOptions
from pipeline.spans import spans_from_json

CHUNK_COLUMNS = [
    "chunk_id", "doc_id", "ordinal", "text", "heading_path", "page_start", "page_end",
    "title", "source", "date", "language", "collection", "regions", "spans", "furniture",
]  # fmt: skip


class Candidates(NamedTuple):
    """One ranker's candidates, best first: what fusion reads. ``scores`` are BM25 scores
    (higher is better) or cosine distances (lower is better); ``row_ids`` address the rows for
    ``ChunkReader.take``."""

    chunk_ids: list[str]
    doc_ids: list[str]
    scores: np.ndarray
    row_ids: np.ndarray

    @classmethod
    def from_arrow(cls, table: pa.Table, score: str) -> Candidates:
        return cls(
            chunk_ids=table.column("chunk_id").to_pylist(),
            doc_ids=table.column("doc_id").to_pylist(),
            scores=table.column(score).to_numpy().astype(np.float64),
            row_ids=table.column("_rowid").to_numpy(),
        )

    def subset(self, keep: Sequence[int]) -> Candidates:
        """The candidates at positions ``keep``, in that order."""
        if len(keep) == len(self.chunk_ids):
            return self
        at = np.asarray(keep, dtype=np.intp)
        return Candidates(
            [self.chunk_ids[i] for i in keep], [self.doc_ids[i] for i in keep],
            self.scores[at], self.row_ids[at],
        )  # fmt: skip


NO_CANDIDATES = Candidates([], [], np.zeros(0), np.zeros(0, dtype=np.uint64))


async def nearest(
    table: Any,
    vector: np.ndarray,
    opts: StoreOptions,
    *,
    limit: int,
    where: str | None,
    columns: list[str],
) -> pa.Table:
    """The ``limit`` nearest rows to ``vector`` under ``where`` (a prefilter) in the async
    ``table``: ``columns`` and the row id, nearest first; the vector query of every search, and
    of the scale bench's sweep.

    With an IVF index, exactly ``vector_nprobes`` partitions are searched: LanceDB, left free
    to search more (``maximum_nprobes(0)``), searched more on every query, filter or not (at 1M
    chunks: 24 ms instead of 13 unfiltered, 91 instead of 33 with a 3-year filter, for a
    recall@10 of 0.953 instead of 0.947). Only when a filter leaves fewer than ``limit`` rows in
    those partitions is the query run again without that bound. The best
    ``vector_refine_rows`` are re-ranked on their full vectors (``refine_factor``).
    """
    query = np.asarray(vector, dtype=np.float32)

    async def run(bounded: bool) -> pa.Table:
        q = table.query().nearest_to(query).column("vector").distance_type("cosine")
        q = q.nprobes(opts.vector_nprobes) if bounded else q.maximum_nprobes(0)
        q = q.refine_factor(refine_factor(opts.vector_refine_rows, limit))
        if where:
            q = q.where(where)  # a prefilter: the filter applies before the nearest are chosen
        return await q.select(columns).with_row_id().limit(limit).to_arrow()

    found = await run(bounded=True)
    if where and found.num_rows < limit:  # a selective filter: look beyond those partitions
        found = await run(bounded=False)
    return found


def refine_factor(refine_rows: int, limit: int) -> int:
    """Lance's ``refine_factor`` (a multiple of the limit) that re-ranks about ``refine_rows``
    index candidates on their full vectors whatever the limit, at least the limit itself (so
    the distances returned are exact).

    >>> refine_factor(500, 10), refine_factor(500, 50), refine_factor(500, 800)
    (50, 10, 1)
    """
    return max(1, -(-refine_rows // max(1, limit)))


def row_ids_of(ids: Sequence[str], *rankings: Candidates) -> list[int]:
    """The row ids of ``ids``, found among the rankings' candidates."""
    row_of: dict[str, int] = {}
    for found in rankings:
        row_of |= dict(zip(found.chunk_ids, found.row_ids.tolist(), strict=True))
    return [row_of[i] for i in ids]


def chunk_from_row(row: dict[str, Any]) -> Chunk:
    """A ``Chunk`` from a row of the chunks table (``CHUNK_COLUMNS``)."""
    data = {k: row.get(k) for k in CHUNK_COLUMNS}
    data["heading_path"] = list(row.get("heading_path") or [])
    data["collection"] = data["collection"] or "default"
    data["source"] = data["source"] or ""
    data["regions"] = [PageRegion(**r) for r in json.loads(row.get("regions") or "[]")]
    data["spans"] = spans_from_json(row.get("spans"))
    data["furniture"] = row.get("furniture") or ""
    return Chunk(**data)
