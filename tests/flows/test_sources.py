"""The ingest flow over each remote kind of source: S3 (moto), HTTP URL lists, a press feed."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from connectors import objectstore
from connectors.objectstore import filesystem
from flows.ingest import run_ingest
from flows.runtime import archive_for
from pipeline.models import SearchFilters
from tests.connectors.http_server import serve
from tests.connectors.s3_server import delete_object, put_objects, s3_server

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.usefixtures("prefect_harness")]


def test_s3_prefix_sync_with_prune(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = str(tmp_path / "index")
    with s3_server(monkeypatch) as endpoint:
        filesystem.cache_clear()
        put_objects(
            endpoint,
            "archive",
            {
                "press/1987/vote.md": "# Vote\n\nHaute-Varenne élit un maire.\n".encode(),
                "press/2003/heat.txt": b"Lorvennes recorded 41.7 degrees in August 2003.\n",
            },
        )
        opts = {"endpoint_url": endpoint}
        first = run_ingest("s3://archive/press/", db=db, storage_options=opts, prune=True)
        assert first.counts == {"added": 2} and first.kind == "objectstore"
        hit = archive_for(db).search("Lorvennes degrees", k=1)[0]
        assert hit.chunk.source == "s3://archive/press/2003/heat.txt"

        delete_object(endpoint, "archive", "press/1987/vote.md")
        put_objects(endpoint, "archive", {"press/2003/heat.txt": b"Lorvennes: 42 degrees.\n"})
        second = run_ingest("s3://archive/press/", db=db, storage_options=opts, prune=True)
        assert second.counts == {"replaced": 1}
        assert second.pruned == ["s3://archive/press/1987/vote.md"]
        assert not list((Path(db) / ".flows" / "staging").glob("*"))  # downloads cleaned up

        def no_download(*args: object, **kwargs: object) -> None:
            raise AssertionError("an unchanged object was downloaded again")

        monkeypatch.setattr(objectstore, "read_object", no_download)
        third = run_ingest("s3://archive/press/", db=db, storage_options=opts, prune=True)
        assert third.counts == {"unchanged": 1} and third.ok  # known by its ETag
    docs = archive_for(db).store.documents_under("s3://archive/press/")
    assert [d.uri for d in docs] == ["s3://archive/press/2003/heat.txt"]


def test_url_list_refused_by_default_allowed_explicitly(tmp_path: Path) -> None:
    db = str(tmp_path / "index")
    with serve() as base:
        urls = tmp_path / "urls.txt"
        urls.write_text(f"{base}/doc.md\n{base}/missing.pdf\n")
        refused = run_ingest(str(urls), db=db, collection="web")
        assert refused.counts == {"failed": 2}
        reasons = [r.reason for r in refused.results]
        assert all("non-public address" in r and "127.0.0.0/8" in r for r in reasons)
        assert {e.stage for r in refused.results for e in r.errors} == {"fetch"}

        allowed = run_ingest(str(urls), db=db, collection="web", allow_private=True)
    by_uri = {r.uri: r for r in allowed.results}
    assert by_uri[f"{base}/doc.md"].action == "replaced"  # the failure record gives way
    (record,) = archive_for(db).store.documents_at(f"{base}/doc.md")
    assert record.status == "ok" and record.chunks == 1
    assert "HTTP 404" in by_uri[f"{base}/missing.pdf"].reason
    hit = archive_for(db).search("grève Port-Aurèle", k=1)[0]
    assert hit.chunk.source == f"{base}/doc.md" and hit.chunk.collection == "web"


def test_press_feed_metadata_reaches_chunks_and_filters(tmp_path: Path) -> None:
    db = str(tmp_path / "index")
    (tmp_path / "wire").mkdir()
    (tmp_path / "wire" / "a.txt").write_text("Les dockers de Port-Aurèle cessent le travail.\n")
    (tmp_path / "wire" / "b.txt").write_text("Les dockers de Port-Aurèle reprennent le travail.\n")
    entries = [
        {"path": "wire/a.txt", "title": "Grève", "date": "1983-05-12", "language": "fr",
         "source": "Agence Méridien", "collection": "wire"},
        {"path": "wire/b.txt", "title": "Reprise", "date": "1983-06-02", "language": "fr",
         "source": "Agence Méridien", "collection": "wire"},
        {"path": "wire/missing.txt", "date": "1983-07-01"},
        {"uri": "https://example.org/x.pdf", "date": "someday"},
    ]  # fmt: skip
    manifest = tmp_path / "feed.jsonl"
    manifest.write_text("\n".join(json.dumps(e) for e in entries) + "\n")
    report = run_ingest(str(manifest), db=db, collection="wire", prune=True)
    assert report.counts == {"added": 2, "failed": 1} and report.kind == "feed"
    assert "no such file" in report.failed[0].reason
    assert [p.reason for p in report.problems] == ["unreadable date 'someday' (use YYYY, "
                                                   "YYYY-MM or YYYY-MM-DD)"]  # fmt: skip
    assert report.prune_note and "could not be read" in report.prune_note

    archive = archive_for(db)
    june = SearchFilters(date_from=dt.date(1983, 6, 1), date_to=dt.date(1983, 6, 30))
    (hit,) = archive.search("dockers Port-Aurèle travail", k=5, filters=june)
    assert hit.chunk.title == "Reprise" and hit.chunk.date == dt.date(1983, 6, 2)
    assert hit.chunk.source == "Agence Méridien" and hit.chunk.language == "fr"
    assert hit.chunk.collection == "wire"
