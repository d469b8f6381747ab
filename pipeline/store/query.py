"""The chunks table's read path for retrieval, shaped for latency (docs/scale.md, "Query path").

A hybrid query needs from each ranker only who its candidates are and how they score; the full
rows (text, spans, regions...) are wanted only for the few hits that survive fusion. Reading them
for every candidate of both rankers cost more than the searches themselves (at 100k chunks, 50
rows of every column took longer than the BM25 search). So:

- ``ChunkReader.candidates`` runs the full-text and the vector query *concurrently* and selects
  only ``chunk_id``, ``doc_id``, the score and the row id of each candidate (``Candidates``);
  the full-text query starts first, so the caller's query embedding is computed while it runs;
- ``ChunkReader.take`` reads the complete rows of the winners, by row id, in one read.

Both run on LanceDB's async table under the synchronous one the store writes with, on LanceDB's
own event loop: one hop from this thread for both queries, no thread per query, and none of the
per-query schema reads of the synchronous query builders (three per query in LanceDB 0.40).
The handle is taken once, when the store opens; it is the same table, so a search sees the
store's own writes at once, as before.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import Future
from typing import Any, NamedTuple, TypeVar

import numpy as np
import pyarrow as pa

from pipeline.errors import ConfigError
from pipeline.models import Chunk, PageRegion, StoreOptions
from pipeline.spans import spans_from_json
from pipeline.store import visibility
from pipeline.store.schema import sql_str

log = logging.getLogger(__name__)

T = TypeVar("T")

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


WIDEN = 64  # a search looks this many times deeper at most to fill k with visible chunks
NO_CANDIDATES = Candidates([], [], np.zeros(0), np.zeros(0, dtype=np.uint64))


class ChunkReader:
    """Queries of one chunks table for retrieval: candidates from both rankers, then full rows.

    ``chunks`` and ``documents`` are the store's synchronous LanceDB tables (local, object
    storage or Cloud); their async twins and LanceDB's event loop are looked up once, here.
    Candidates of documents without a committed row are never returned (``visibility``).
    """

    def __init__(self, chunks: Any, documents: Any, opts: StoreOptions) -> None:
        from lancedb.background_loop import LOOP

        self._table = _async(chunks)
        self._documents = _async(documents)
        self._loop = LOOP
        self._opts = opts

    def candidates(
        self,
        *,
        text: str | None,
        fts_column: str | None,
        vector: Callable[[], np.ndarray] | None,
        k: int,
        where: str | None,
    ) -> tuple[Candidates, Candidates]:
        """The full-text and vector candidates (``k`` each) under ``where``, the two queries
        running at once. The full-text query is sent first; then ``vector()`` (the question's
        embedding) is computed in this thread while it runs, and the vector query is sent.
        A ranker left out (``text`` or ``fts_column`` None, ``vector`` None) gives none."""
        fts_job: Future[Candidates] | None = None
        if text and fts_column:
            fts_job = self._start(self._fts(text, fts_column, k, where))
        try:
            vec = self._run(self._vector(vector(), k, where)) if vector is not None else None
        except BaseException:
            if fts_job is not None:
                fts_job.cancel()
            raise
        fts = fts_job.result() if fts_job is not None else None
        return fts or NO_CANDIDATES, vec or NO_CANDIDATES

    def take(self, row_ids: Sequence[int], chunk_ids: Sequence[str]) -> list[Chunk]:
        """The chunks ``chunk_ids`` (in that order), read by their ``row_ids`` in one read.

        Row ids are positions in the table version that was searched; should a compaction have
        moved rows in between, the rows that no longer match are read again by id, and a chunk
        deleted meanwhile is left out.
        """
        if not chunk_ids:
            return []
        rows = self._run(self._take(list(row_ids)))
        by_id = {r["chunk_id"]: r for r in rows}
        missing = [c for c in chunk_ids if c not in by_id]
        if missing:
            log.debug("%d of %d rows moved since the search; reading them by id", len(missing),
                      len(chunk_ids))  # fmt: skip
            by_id |= {r["chunk_id"]: r for r in self._run(self._by_id(missing))}
        return [chunk_from_row(by_id[c]) for c in chunk_ids if c in by_id]

    # --- the queries, on LanceDB's event loop ---

    async def _fts(self, text: str, column: str, k: int, where: str | None) -> Candidates:
        async def top(limit: int) -> Candidates:
            q = self._table.query().nearest_to_text(text, columns=column)
            if where:
                q = q.where(where)
            q = q.select(["chunk_id", "doc_id", "_score"]).with_row_id().limit(limit)
            return Candidates.from_arrow(await q.to_arrow(), "_score")

        return await self._visible(top, k)

    async def _vector(self, vector: np.ndarray, k: int, where: str | None) -> Candidates:
        opts = self._opts
        query = np.asarray(vector, dtype=np.float32)

        async def top(limit: int) -> Candidates:
            q = self._table.query().nearest_to(query).column("vector").distance_type("cosine")
            q = q.minimum_nprobes(opts.vector_nprobes).maximum_nprobes(0)
            q = q.refine_factor(opts.vector_refine_factor)
            if where:
                q = q.where(where)  # a prefilter: the filter applies before the nearest are chosen
            q = q.select(["chunk_id", "doc_id", "_distance"]).with_row_id().limit(limit)
            return Candidates.from_arrow(await q.to_arrow(), "_distance")

        return await self._visible(top, k)

    async def _visible(
        self, top: Callable[[int], Coroutine[Any, Any, Candidates]], k: int
    ) -> Candidates:
        """The best ``k`` of ``top`` whose document is committed; asks for more when leftovers
        of a crash took places, up to ``WIDEN`` times ``k``."""
        limit = k
        while True:
            found = await top(limit)
            shown = await self._shown(found.doc_ids)
            keep = [i for i, doc in enumerate(found.doc_ids) if doc in shown]
            if len(keep) >= k or len(found.chunk_ids) < limit or limit >= WIDEN * k:
                return found.subset(keep[:k])
            limit *= 4

    async def _shown(self, doc_ids: Sequence[str]) -> set[str]:
        shown: set[str] = set()
        for where in visibility.visible_where(doc_ids):
            rows = await self._documents.query().where(where).select(["doc_id"]).to_arrow()
            shown.update(rows.column("doc_id").to_pylist())
        return shown

    async def _take(self, row_ids: list[int]) -> list[dict[str, Any]]:
        table = await self._table.take_row_ids(row_ids).select(CHUNK_COLUMNS).to_arrow()
        return table.to_pylist()

    async def _by_id(self, chunk_ids: list[str]) -> list[dict[str, Any]]:
        allowed = ", ".join(sql_str(c) for c in chunk_ids)
        q = self._table.query().where(f"chunk_id IN ({allowed})").select(CHUNK_COLUMNS)
        return (await q.to_arrow()).to_pylist()

    def _start(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop.loop)

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._start(coro).result()


def _async(table: Any) -> Any:
    """The async table under a synchronous LanceDB table (LanceDB 0.40 builds every synchronous
    table, local or remote, over one, in ``_table``)."""
    from lancedb.table import AsyncTable

    inner = getattr(table, "_table", None)
    if not isinstance(inner, AsyncTable):
        raise ConfigError(
            f"LanceDB table {type(table).__name__} has no async table to query; "
            "archivist needs lancedb>=0.40, whose synchronous tables run over async ones"
        )
    return inner


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
