"""The press feed connector: a JSONL manifest whose metadata is kept, whose bad lines are named."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from connectors.base import ConnectorSpec, make_connector


def test_manifest_entries_and_problems(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A\n\nText.")
    lines = [
        json.dumps({"path": "docs/a.md", "title": "Grève", "date": "1983-05-12",
                    "language": "fr", "source": "Le Courrier", "collection": "presse"}),
        json.dumps({"uri": "https://example.org/b.pdf", "date": 1994}),
        "",
        "{not json",
        json.dumps({"title": "no uri"}),
        json.dumps({"path": "docs/c.md", "date": "le 3 mars"}),
        json.dumps({"path": "docs/d.md", "author": "X"}),
        json.dumps({"path": "docs/a.md"}),
    ]  # fmt: skip
    manifest = tmp_path / "feed.jsonl"
    manifest.write_text("\n".join(lines) + "\n")
    spec = ConnectorSpec(source=str(manifest), collection="agence", allow_collections=("presse",))
    listing = make_connector(spec).list()
    a, b = listing.refs
    assert a.uri == str((tmp_path / "docs" / "a.md").resolve())
    assert a.metadata.title == "Grève" and a.metadata.date == dt.date(1983, 5, 12)
    assert (a.metadata.language, a.metadata.source) == ("fr", "Le Courrier")
    assert a.metadata.collection == "presse"  # the line's own (allowed) collection wins
    assert b.metadata.date == dt.date(1994, 1, 1) and b.metadata.collection == "agence"
    problems = {p.where.rsplit(":", 1)[1]: p.reason for p in listing.problems}
    assert sorted(problems, key=int) == ["4", "5", "6", "7", "8"]
    assert "Expecting property name" in problems["4"]
    assert "exactly one of 'uri' and 'path'" in problems["5"]
    assert "unreadable date 'le 3 mars'" in problems["6"]
    assert "unknown field(s) author" in problems["7"]
    assert "already listed" in problems["8"]


def test_fetch_keeps_manifest_metadata(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# Title in the file\n\nBody.")
    manifest = tmp_path / "feed.jsonl"
    manifest.write_text(json.dumps({"path": "a.md", "title": "Title from the feed"}) + "\n")
    connector = make_connector(ConnectorSpec(source=str(manifest)))
    doc = connector.fetch(connector.list().refs[0])
    assert doc.metadata.title == "Title from the feed" and doc.read_bytes().startswith(b"# Title")
    assert connector.prune_scope() is None
