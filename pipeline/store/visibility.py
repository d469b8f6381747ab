"""What a search may show, and the repair of what a crash leaves: a document is visible all at once
or not at all.

The commit protocol (``tables.LanceChunkStore``): a document's chunks are written first and its
``documents`` row last, so **the row is the commit mark**; a deletion removes the row first and
the chunks after. LanceDB commits each table on its own, so a process killed between the two
commits leaves chunks that no row vouches for. Searches therefore show a chunk only when its
document has a committed row whose status is ``ok`` or ``partial`` (``visible_ids``, one
lookup per search on the rows' ``doc_id`` index), never a leftover.

Leftovers are removed by ``leftover_chunks`` + a delete (``LanceChunkStore.repair``): chunks
written more than ``grace`` ago whose document has no visible row. The grace keeps a repair from
deleting the chunks of a write in progress in another process (between its two commits, which
take well under a second); chunks written before chunks carried ``written_at`` count as old.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from typing import Any

VISIBLE_STATUSES = ("ok", "partial")
_IN_BATCH = 500  # ids per ``IN (...)`` lookup


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def visible_where(doc_ids: Iterable[str]) -> list[str]:
    """The filters (one per batch of ids) that select the rows of ``doc_ids`` whose document is
    committed and searchable; what ``visible_ids`` runs, and the search path's async reader."""
    wanted = sorted(set(doc_ids))
    statuses = ", ".join(_quoted(s) for s in VISIBLE_STATUSES)
    return [
        f"doc_id IN ({', '.join(_quoted(d) for d in wanted[i : i + _IN_BATCH])}) "
        f"AND status IN ({statuses})"
        for i in range(0, len(wanted), _IN_BATCH)
    ]


def visible_ids(documents: Any, doc_ids: Iterable[str]) -> set[str]:
    """The ids among ``doc_ids`` whose document row is committed and searchable."""
    found: set[str] = set()
    for where in visible_where(doc_ids):
        rows = documents.search().where(where).select(["doc_id"]).limit(None).to_arrow()
        found.update(rows.column("doc_id").to_pylist())
    return found


def leftover_chunks(chunks: Any, documents: Any, *, older_than: dt.datetime) -> dict[str, int]:
    """Documents whose chunks were written before ``older_than`` and that have no visible row,
    with how many chunks each left.

    The chunks are read before the rows: a chunk seen here whose row is committed by then is
    seen with its row.
    """
    table = chunks.search().select(["doc_id", "written_at"]).limit(None).to_arrow()
    old: Counter[str] = Counter()
    for doc_id, written in zip(
        table.column("doc_id").to_pylist(), table.column("written_at").to_pylist(), strict=True
    ):
        if written is not None and written.tzinfo is None:  # a column added as plain TIMESTAMP
            written = written.replace(tzinfo=dt.UTC)
        if written is None or written < older_than:
            old[doc_id] += 1
    if not old:
        return {}
    shown = visible_ids(documents, old)
    return {doc_id: n for doc_id, n in sorted(old.items()) if doc_id not in shown}
