"""What a grouped search reads of its candidates' documents: ``members_of`` (a column at a time)
makes the ``Member``s that ``member_of`` makes of each row, and keeps the visible ones."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from pipeline.store.versions import MEMBER_COLUMNS, member_of, members_of

ARRIVED = dt.datetime(2024, 3, 5, 6, 7, 8, 901234, tzinfo=dt.UTC)


@pytest.mark.parametrize("zone", ["UTC", None], ids=["stored-in-utc", "zone-less"])
def test_members_of_matches_member_of_row_by_row(zone: str | None) -> None:
    rows = [
        {"doc_id": "a", "cluster_id": "s1", "status": "ok", "language": "fr",
         "date": dt.date(1983, 5, 2), "ingested_at": ARRIVED, "grouped": True},
        {"doc_id": "b", "cluster_id": None, "status": "partial", "language": None,
         "date": None, "ingested_at": None, "grouped": False},
        {"doc_id": "c", "cluster_id": "s1", "status": "failed", "language": "en",
         "date": dt.date(2001, 9, 11), "ingested_at": ARRIVED, "grouped": None},
        {"doc_id": "d", "cluster_id": "s2", "status": "ok", "language": "en",
         "date": dt.date(1969, 12, 31), "ingested_at": dt.datetime(1969, 7, 20, tzinfo=dt.UTC),
         "grouped": None},
    ]  # fmt: skip
    schema = pa.schema([
        ("doc_id", pa.string()), ("cluster_id", pa.string()), ("status", pa.string()),
        ("language", pa.string()), ("date", pa.date32()),
        ("ingested_at", pa.timestamp("us", tz=zone)), ("grouped", pa.bool_()),
    ])  # fmt: skip
    stored = [r | {"ingested_at": r["ingested_at"] and r["ingested_at"].replace(
        tzinfo=None if zone is None else dt.UTC)} for r in rows]  # fmt: skip
    table = pa.Table.from_pylist(stored, schema=schema)
    assert table.column_names == MEMBER_COLUMNS
    got = members_of(table, ("ok", "partial"))
    assert got == {r["doc_id"]: member_of(r) for r in rows if r["status"] != "failed"}
    assert got["a"].ingested_at == ARRIVED and got["a"].ingested_at.tzinfo is not None
    assert got["b"] == ("b", None, None, None, True)  # its own story, alone
    assert got["d"].date == dt.date(1969, 12, 31)  # before 1970: negative days
