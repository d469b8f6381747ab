"""Versions of one story through the command line, each command its own process: a story's
urgent ingested by one run and its lead by the next are one story; ``search`` shows it once with
the other version under it (``--all-variants``: both); ``documents show`` and
``/v1/documents/{id}`` list the versions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.collection import document_bytes
from tests.cli.test_cli import run
from tests.pipeline.store.test_variants import _rows

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _write(folder: Path, ident: str) -> Path:
    row = _rows()[ident]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{ident}.txt"
    path.write_bytes(document_bytes(row["title"], row["text"], row["metadata"]))
    return path


def _json(*args: str):  # type: ignore[no-untyped-def]
    done = run(*args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_versions_across_runs_in_search_and_documents_show(tmp_path: Path) -> None:
    db = str(tmp_path / "idx")
    urgent = _write(tmp_path / "monday", "merger-urgent")
    lead, other = _write(tmp_path / "later", "merger-lead1"), _write(tmp_path / "later", "ncb-june")
    first = _json("ingest", str(urgent), "--db", db, "--json")
    second = _json("ingest", str(tmp_path / "later"), "--db", db, "--json")  # a new process
    urgent_id = first[0]["doc_id"]
    lead_id = next(r["doc_id"] for r in second if r["uri"].endswith(lead.name))
    other_id = next(r["doc_id"] for r in second if r["uri"].endswith(other.name))

    shown = _json("documents", "show", urgent_id[:12], "--db", db, "--json")
    assert [v["doc_id"] for v in shown["variants"]] == [lead_id]
    assert shown["cluster_id"] == urgent_id == shown["variants"][0]["cluster_id"]
    text = run("documents", "show", lead_id[:12], "--db", db)
    assert f"variant      {urgent_id[:12]}" in text.stdout
    alone = _json("documents", "show", other_id[:12], "--db", db, "--json")
    assert alone["variants"] == [] and alone["cluster_id"] == other_id

    query = "Halden Foods to buy Brisk Dairies"
    hits = _json("search", query, "--db", db, "--json")["hits"]
    merger = [h for h in hits if h["doc_id"] in (urgent_id, lead_id)]
    assert len({h["doc_id"] for h in merger}) == 1
    assert [v["doc_id"] for v in merger[0]["variants"]] == [urgent_id if merger[0]["doc_id"]
                                                           == lead_id else lead_id]  # fmt: skip
    every = _json("search", query, "--db", db, "--all-variants", "--json")["hits"]
    assert {urgent_id, lead_id} <= {h["doc_id"] for h in every}
    assert all(h["variants"] == [] for h in every)


def test_the_api_lists_versions_and_their_story(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.auth import KeyRing
    from api.settings import ApiSettings
    from pipeline.archive import Archive
    from pipeline.models import SourceDocument
    from pipeline.settings import Settings

    archive = Archive(Settings(db=str(tmp_path / "idx")).options())
    archive.__dict__["embedder"] = embedder  # the session's, already loaded
    sources = [
        SourceDocument(uri=str(_write(tmp_path, i)), path=_write(tmp_path, i))
        for i in ("fire-lead1", "fire-corrected", "fire-probe")
    ]
    lead, corrected, probe = (r.doc_id for r in archive.ingest(sources))
    key = "variants-test-key-0123456789"
    api_settings = ApiSettings(api_keys=key, api_refresh_s=0)
    app = create_app(
        archive=archive, api_settings=api_settings, keys=KeyRing.from_settings(api_settings)
    )
    client = TestClient(app)
    client.headers["Authorization"] = f"Bearer {key}"

    detail = client.get(f"/v1/documents/{corrected}").json()
    assert [v["doc_id"] for v in detail["variants"]] == [lead]
    listed = {d["doc_id"]: d["cluster_id"] for d in client.get("/v1/documents").json()["items"]}
    assert listed[lead] == listed[corrected] != listed[probe]
    body = {"query": "How many firefighters fought the Calvane chemical plant fire?", "k": 5}
    hits = client.post("/v1/search", json=body).json()["hits"]
    fire = [h for h in hits if h["doc_id"] in (lead, corrected)]
    assert len({h["doc_id"] for h in fire}) == 1 and len(fire[0]["variants"]) == 1
    every = client.post("/v1/search", json={**body, "all_variants": True}).json()["hits"]
    assert {lead, corrected} <= {h["doc_id"] for h in every}
