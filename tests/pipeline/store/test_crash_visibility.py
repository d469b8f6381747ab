"""A writer killed between the chunks' commit and the document row's: nothing of that document is
visible (CLI search, the API's search, list and delete), the next writer repairs the leftovers,
and the document goes in whole when ingested again."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import lancedb
import pytest

from api import create_app
from api.auth import KeyRing
from api.settings import ApiSettings
from pipeline.archive import Archive
from pipeline.models import SourceDocument, SourceMetadata
from pipeline.settings import Settings
from tests.api.server import running
from tests.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.integration]

KEY = "crash-test-key-0123456789"
PHRASE = "Orlesse dam sluice gates"
# The real ingest, in its own process, killed by the kernel (SIGKILL, nothing flushed or undone)
# when it reaches the documents row's commit: the chunks' commit has just returned.
CRASH = """
import os, signal, sys
from pathlib import Path
from pipeline.archive import Archive
from pipeline.models import SourceDocument, SourceMetadata
from pipeline.settings import Settings
from pipeline.store import tables

real_commit = tables.LanceChunkStore._commit

def commit(self, what, op, table=None):
    if what == "write documents":
        os.kill(os.getpid(), signal.SIGKILL)
    return real_commit(self, what, op, table)

tables.LanceChunkStore._commit = commit
archive = Archive(Settings(db=sys.argv[1]).options())
path = Path(sys.argv[2])
meta = SourceMetadata(collection="wire")
archive.ingest([SourceDocument(uri=str(path), path=path, metadata=meta)])
"""


def _raw_chunks(db: Path, doc_id: str) -> int:
    table = lancedb.connect(str(db)).open_table("chunks")
    return int(table.count_rows(f"doc_id = '{doc_id}'"))


def _cli_search(db: Path, query: str) -> list[object]:
    out = subprocess.run(
        [sys.executable, "-m", "cli.main", "search", query, "--db", str(db), "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    hits: list[object] = json.loads(out.stdout)["hits"]
    return hits


def test_killed_between_commits_nothing_is_visible_then_repaired(
    tmp_path: Path, embedder: object
) -> None:
    db = tmp_path / "index"
    note = tmp_path / "dispatch.md"
    paragraphs = [f"Paragraph {i}: the {PHRASE} were opened at dawn, report {i}." for i in range(6)]
    note.write_text("# Orlesse\n\n" + "\n\n".join(p * 12 for p in paragraphs) + "\n")
    doc_id = SourceDocument(
        uri=str(note), path=note, metadata=SourceMetadata(collection="wire")
    ).doc_id
    crashed = subprocess.run(
        [sys.executable, "-c", CRASH, str(db), str(note)],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    left = _raw_chunks(db, doc_id)
    assert left > 1  # the crash came after the chunks' commit: they are on disk

    assert _cli_search(db, PHRASE) == []  # `archivist search` shows none of them

    archive = Archive(Settings(db=str(db)).options())
    archive.__dict__["embedder"] = embedder
    keys = ApiSettings(api_keys=KEY)
    app = create_app(
        Settings(db=str(db)), archive=archive, api_settings=keys, keys=KeyRing.from_settings(keys)
    )
    with (
        running(app) as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=120) as c,
    ):
        assert c.post("/v1/search", json={"query": PHRASE}).json()["hits"] == []
        assert c.get("/v1/documents").json()["total"] == 0
        assert c.delete(f"/v1/documents/{doc_id}").status_code == 404

        assert archive.store.repair(older_than=dt.timedelta(0)) == {doc_id: left}
        assert _raw_chunks(db, doc_id) == 0

        src = SourceDocument(uri=str(note), path=note, metadata=SourceMetadata(collection="wire"))
        (again,) = archive.ingest([src])
        assert again.action == "added" and again.chunks == left
        hits = c.post("/v1/search", json={"query": PHRASE}).json()["hits"]
        assert hits and {h["doc_id"] for h in hits} == {doc_id}
        assert c.delete(f"/v1/documents/{doc_id}").status_code == 200
        assert c.post("/v1/search", json={"query": PHRASE}).json()["hits"] == []
    assert _raw_chunks(db, doc_id) == 0
