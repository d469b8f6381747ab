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
import logging
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from concurrent.futures import Future
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

import numpy as np

from pipeline.errors import ConfigError
from pipeline.models import Chunk, StoreOptions, Variant
from pipeline.store import visibility
from pipeline.store.candidates import (
    CHUNK_COLUMNS,
    NO_CANDIDATES,
    Candidates,
    chunk_from_row,
    nearest,
    row_ids_of,
)
from pipeline.store.schema import sql_str
from pipeline.store.versions import (
    MEMBER_COLUMNS,
    VERSION_COLUMNS,
    Member,
    members_of,
    members_where,
    stories_where,
    versions_by_story,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
U = TypeVar("U")

WIDEN = 64  # a search looks this many times deeper at most to fill k with visible chunks


class Winners(Protocol):
    """What a search's ``choose`` returns: the ids whose rows are wanted, best first."""

    @property
    def ids(self) -> Sequence[str]: ...


W = TypeVar("W", bound=Winners)
Top = Callable[[int], Coroutine[Any, Any, Candidates]]  # a ranker's best ``limit`` candidates


Choose = Callable[[Candidates, Candidates, Mapping[str, Member]], W]  # fusion (and grouping)


class Searched(NamedTuple, Generic[W]):
    """A search's outcome: both rankers' visible candidates, what ``choose`` made of them, and
    the complete rows of its ids (in its order; a chunk deleted meanwhile is left out). A
    grouped search also has the candidates' documents (``members``) and every version of the
    stories shown that hold more than one document (``versions``, by group, oldest first)."""

    fts: Candidates
    vector: Candidates
    chosen: W
    chunks: list[Chunk]
    members: Mapping[str, Member] = {}
    versions: Mapping[str, list[Variant]] = {}

    def versions_of(self, doc_id: str) -> list[Variant]:
        """The other versions of ``doc_id``'s story (none when the search was not grouped)."""
        member = self.members.get(doc_id)
        if member is None:
            return []
        return [v for v in self.versions.get(member.cluster_id, []) if v.doc_id != doc_id]


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

    def search(
        self,
        *,
        text: str | None,
        fts_column: str | None,
        vector: Callable[[], np.ndarray] | None,
        k: int,
        where: str | None,
        choose: Choose[W],
        group: bool = False,
    ) -> Searched[W]:
        """Both rankers' ``k`` candidates (as ``candidates``), ``choose(fts, vector, members)``
        (fusion, run in this thread), then the chosen ids' rows, with the fewest waits in a row.

        Ungrouped (``members`` is empty): the candidates' visibility and the chosen rows are
        read at the same time, both queries sent once the rankers have answered. When every
        candidate's document is committed (always, but in the moments a crash's leftovers or a
        deletion in progress exist), that is the answer; otherwise the rows are dropped, the
        candidates checked as ``candidates`` checks them, ``choose`` run again on those and
        their rows read: the same result as checking first, one lookup less on the way of
        every other query.

        Grouped (``group``): choosing needs each candidate's story, so the candidates'
        documents are read (their visibility and ``Member`` in one read) while the rows a
        search without groups would choose are read; grouping then chooses, and only what it
        chose beyond those, and the versions of the stories shown that hold other documents,
        are read after (``_grouped``).
        """
        fts_top, vec_top, fts, vec = self._rankers(text, fts_column, vector, k, where)
        if group:
            return self._grouped(fts_top, vec_top, k, fts, vec, choose)
        docs = set(fts.doc_ids) | set(vec.doc_ids)
        shown, chosen, rows_job = self._beside_rows(self._shown(docs), fts, vec, choose)
        if docs <= shown:
            return Searched(fts, vec, chosen, self._in_order(rows_job.result(), chosen.ids))
        rows_job.cancel()
        _not_committed(docs - shown)
        fts, vec = self._run(self._checked(fts_top, vec_top, k, fts, vec, shown))
        chosen = choose(fts, vec, {})
        chunks = self.take(row_ids_of(chosen.ids, fts, vec), chosen.ids)
        return Searched(fts, vec, chosen, chunks)

    def _grouped(
        self,
        fts_top: Top | None,
        vec_top: Top | None,
        k: int,
        fts: Candidates,
        vec: Candidates,
        choose: Choose[W],
    ) -> Searched[W]:
        """A grouped search's reads after the rankers': the candidates' documents (visibility
        and ``Member``, ``_members``) while the rows of the best candidates are read as if
        every document were its own story (as most are); then, together, the rows grouping
        chose beyond those and the versions of the shown stories that hold other documents
        (none when every story shown is one document alone)."""
        docs = set(fts.doc_ids) | set(vec.doc_ids)
        members, _, rows_job = self._beside_rows(self._members(docs), fts, vec, choose)
        rows: list[dict[str, Any]] = []
        if docs <= members.keys():
            rows = rows_job.result()
        else:
            rows_job.cancel()
            _not_committed(docs - members.keys())
            fts, vec = self._run(self._checked(fts_top, vec_top, k, fts, vec, set(members)))
            more = (set(fts.doc_ids) | set(vec.doc_ids)) - members.keys()
            if more:  # found by asking a ranker for more
                members = {**members, **self._run(self._members(more))}
        chosen = choose(fts, vec, members)
        doc_of = dict(zip(fts.chunk_ids + vec.chunk_ids, fts.doc_ids + vec.doc_ids, strict=True))
        have = {r["chunk_id"] for r in rows}
        missing = [c for c in chosen.ids if c not in have]
        shown = (members[doc_of[c]] for c in chosen.ids)
        stories = {m.cluster_id for m in shown if not m.alone}
        versions: dict[str, list[Variant]] = {}
        if missing or stories:
            more_rows, versions = self._run(
                _both(self._take(row_ids_of(missing, fts, vec)), self._versions(stories))
            )
            rows += more_rows
        chunks = self._in_order(rows, chosen.ids)
        return Searched(fts, vec, chosen, chunks, members, versions)

    def _beside_rows(
        self,
        check: Coroutine[Any, Any, T],
        fts: Candidates,
        vec: Candidates,
        choose: Choose[W],
    ) -> tuple[T, W, Future[list[dict[str, Any]]]]:
        """``check`` (a read of the candidates' documents) sent, then ``choose`` run as if no
        document had another version and the rows it chose sent: ``check``'s answer, that
        choice and the rows' read, still running (cancel it if ``check`` says the choice does
        not stand). Either read is cancelled when the other step fails."""
        check_job = self._start(check)
        try:
            chosen = choose(fts, vec, {})
            rows_job = self._start(self._take(row_ids_of(chosen.ids, fts, vec)))
        except BaseException:
            check_job.cancel()
            raise
        try:
            return check_job.result(), chosen, rows_job
        except BaseException:
            rows_job.cancel()
            raise

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
        A ranker left out (``text`` or ``fts_column`` None, ``vector`` None) gives none.
        Only candidates of committed documents count: when others took places, the ranker is
        asked for more (up to ``WIDEN`` × ``k``)."""
        fts_top, vec_top, fts, vec = self._rankers(text, fts_column, vector, k, where)
        return self._run(self._checked(fts_top, vec_top, k, fts, vec, None))

    def take(self, row_ids: Sequence[int], chunk_ids: Sequence[str]) -> list[Chunk]:
        """The chunks ``chunk_ids`` (in that order), read by their ``row_ids`` in one read.

        Row ids are positions in the table version that was searched; should a compaction have
        moved rows in between, the rows that no longer match are read again by id, and a chunk
        deleted meanwhile is left out.
        """
        if not chunk_ids:
            return []
        return self._in_order(self._run(self._take(list(row_ids))), chunk_ids)

    def _in_order(self, rows: list[dict[str, Any]], chunk_ids: Sequence[str]) -> list[Chunk]:
        by_id = {r["chunk_id"]: r for r in rows}
        missing = [c for c in chunk_ids if c not in by_id]
        if missing:
            log.debug("%d of %d rows moved since the search; reading them by id", len(missing),
                      len(chunk_ids))  # fmt: skip
            by_id |= {r["chunk_id"]: r for r in self._run(self._by_id(missing))}
        return [chunk_from_row(by_id[c]) for c in chunk_ids if c in by_id]

    def _rankers(
        self,
        text: str | None,
        fts_column: str | None,
        vector: Callable[[], np.ndarray] | None,
        k: int,
        where: str | None,
    ) -> tuple[Top | None, Top | None, Candidates, Candidates]:
        """Both rankers' best ``k``, unchecked, queried at once (the full-text query first, the
        question embedded while it runs), with the rankers themselves for asking again."""
        fts_top = self._fts(text, fts_column, where) if text and fts_column else None
        fts_job = self._start(fts_top(k)) if fts_top is not None else None
        try:
            vec_top = self._vector(vector(), where) if vector is not None else None
            vec = self._run(vec_top(k)) if vec_top is not None else NO_CANDIDATES
        except BaseException:
            if fts_job is not None:
                fts_job.cancel()
            raise
        fts = fts_job.result() if fts_job is not None else NO_CANDIDATES
        return fts_top, vec_top, fts, vec

    # --- the queries, on LanceDB's event loop ---

    def _fts(self, text: str, column: str, where: str | None) -> Top:
        async def top(limit: int) -> Candidates:
            q = self._table.query().nearest_to_text(text, columns=column)
            if where:
                q = q.where(where)
            q = q.select(["chunk_id", "doc_id", "_score"]).with_row_id().limit(limit)
            return Candidates.from_arrow(await q.to_arrow(), "_score")

        return top

    def _vector(self, vector: np.ndarray, where: str | None) -> Top:
        async def top(limit: int) -> Candidates:
            found = await nearest(self._table, vector, self._opts, limit=limit, where=where,
                                  columns=["chunk_id", "doc_id", "_distance"])  # fmt: skip
            return Candidates.from_arrow(found, "_distance")

        return top

    async def _checked(
        self,
        fts_top: Top | None,
        vec_top: Top | None,
        k: int,
        fts: Candidates,
        vec: Candidates,
        shown: set[str] | None,
    ) -> tuple[Candidates, Candidates]:
        """Both rankers' candidates with those of uncommitted documents left out."""

        async def one(top: Top | None, found: Candidates) -> Candidates:
            return NO_CANDIDATES if top is None else await self._visible(top, k, found, shown)

        checked = await asyncio.gather(one(fts_top, fts), one(vec_top, vec))
        return checked[0], checked[1]

    async def _visible(
        self, top: Top, k: int, found: Candidates, shown: set[str] | None
    ) -> Candidates:
        """The best ``k`` of ``top`` whose document is committed, from ``found`` (its best
        ``k``) and ``shown`` (which of their documents are, when known); asks for more when
        leftovers of a crash took places, up to ``WIDEN`` times ``k``."""
        limit = k
        while True:
            if shown is None:
                shown = await self._shown(found.doc_ids)
            keep = [i for i, doc in enumerate(found.doc_ids) if doc in shown]
            if len(keep) >= k or len(found.chunk_ids) < limit or limit >= WIDEN * k:
                return found.subset(keep[:k])
            limit *= 4
            found, shown = await top(limit), None

    async def _shown(self, doc_ids: Iterable[str]) -> set[str]:
        shown: set[str] = set()
        for where in visibility.visible_where(doc_ids):
            rows = await self._documents.query().where(where).select(["doc_id"]).to_arrow()
            shown.update(rows.column("doc_id").to_pylist())
        return shown

    async def _members(self, doc_ids: Iterable[str]) -> dict[str, Member]:
        """The committed documents among ``doc_ids``, each with its story: their visibility and
        ``Member`` in one read."""
        members: dict[str, Member] = {}
        for where in members_where(doc_ids):
            rows = await self._documents.query().where(where).select(MEMBER_COLUMNS).to_arrow()
            members |= members_of(rows, visibility.VISIBLE_STATUSES)
        return members

    async def _versions(self, stories: Iterable[str]) -> dict[str, list[Variant]]:
        where = stories_where(stories)
        if where is None:
            return {}
        rows = await self._documents.query().where(where).select(VERSION_COLUMNS).to_arrow()
        return versions_by_story(rows.to_pylist())

    async def _take(self, row_ids: list[int]) -> list[dict[str, Any]]:
        if not row_ids:
            return []
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


async def _both(a: Coroutine[Any, Any, T], b: Coroutine[Any, Any, U]) -> tuple[T, U]:
    """Two reads at once."""
    first, second = await asyncio.gather(a, b)
    return first, second


def _not_committed(docs: set[str]) -> None:
    log.debug("%d candidate documents not committed; searching again without them", len(docs))


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
