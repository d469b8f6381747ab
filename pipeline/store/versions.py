"""What a search reads of the story groups that ingest keeps (``pipeline.store.variants``): the
group, language, date and arrival of each document it found (``Member``), then the versions of
the groups it shows (``Variant``).

The search path (``pipeline.store.query``) reads both at once: the rows of the candidates'
documents *and* of the groups named after them (``candidate_stories_where``). A group is named
after its first document, and an ungrouped document is its own group, so that one read lists
every version of most stories a search shows; only a group named after a document the search
did not find is read again (``stories_where``), beside the winners' rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, NamedTuple

from pipeline.models import Variant
from pipeline.store.schema import sql_str

CLUSTER = "cluster_id"
VERSION_COLUMNS = ["doc_id", CLUSTER, "title", "date", "language", "uri", "ingested_at"]
STORY_COLUMNS = [*VERSION_COLUMNS, "status"]  # both, and what a search's visibility rule reads
_IN_BATCH = 500  # ids per ``IN (...)`` list


class Member(NamedTuple):
    """What a search needs of a document it found: its group, language, date and arrival."""

    cluster_id: str
    language: str | None
    date: dt.date | None
    ingested_at: dt.datetime | None


def member_of(row: dict[str, Any]) -> Member:
    """A ``documents`` row (``STORY_COLUMNS``) as a ``Member``: a document with no group is
    its own."""
    return Member(row[CLUSTER] or row["doc_id"], row["language"], row["date"], row["ingested_at"])


def stories_where(cluster_ids: Iterable[str]) -> str | None:
    """The filter of every document of the groups ``cluster_ids`` (an ungrouped document's
    group is its own id); None for no group."""
    ids = list(dict.fromkeys(cluster_ids))
    if not ids:
        return None
    listed = ", ".join(sql_str(c) for c in ids)
    return f"{CLUSTER} IN ({listed}) OR ({CLUSTER} IS NULL AND doc_id IN ({listed}))"


def candidate_stories_where(doc_ids: Iterable[str]) -> list[str]:
    """The filters (one per batch of ids) of the rows of ``doc_ids`` and of every document of
    the groups named after one of them."""
    wanted = sorted(set(doc_ids))
    found = []
    for i in range(0, len(wanted), _IN_BATCH):
        listed = ", ".join(sql_str(d) for d in wanted[i : i + _IN_BATCH])
        found.append(f"doc_id IN ({listed}) OR {CLUSTER} IN ({listed})")
    return found


def versions_by_story(rows: Iterable[dict[str, Any]]) -> dict[str, list[Variant]]:
    """``documents`` rows (``VERSION_COLUMNS``) as each group's versions, oldest first."""
    found: dict[str, list[Variant]] = {}
    for r in sorted(rows, key=oldest_first):
        found.setdefault(r[CLUSTER] or r["doc_id"], []).append(
            Variant(
                doc_id=r["doc_id"],
                title=r["title"],
                date=r["date"],
                language=r["language"],
                uri=r["uri"] or "",
            )
        )
    return found


def oldest_first(row: dict[str, Any]) -> tuple[dt.date, dt.datetime]:
    """Sort key of a group's rows: by date, then arrival (undated and unknown first)."""
    return (row["date"] or dt.date.min, row["ingested_at"] or _EPOCH)


_EPOCH = dt.datetime.min.replace(tzinfo=dt.UTC)
