"""The index on object storage: moto's S3 server on 127.0.0.1 stands in for AWS or MinIO.

The endpoint fixture clears the AWS_* variables, so LanceDB can only reach the server through the
storage options archivist passes it (endpoint, keys, region, allow_http); one test sets AWS_*
on purpose, to check LanceDB's own fallback to them.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.archive import Archive
from pipeline.models import SearchFilters, SourceDocument
from pipeline.settings import Settings
from pipeline.store import LanceChunkStore
from tests.conftest import REPO, SAMPLE_DOCS

pytestmark = [pytest.mark.slow, pytest.mark.integration]

BUCKET = "archive-index"
KEYS = {"storage_access_key_id": "testing", "storage_secret_access_key": "moto-secret-42"}
PDFS = [
    SAMPLE_DOCS / "1994-09-07_kestrel-probe-launch_en.pdf",
    SAMPLE_DOCS / "2003-08-11_canicule-lorvennes_fr.pdf",
]


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's S3 server on a free loopback port, with an empty bucket; no AWS_* in the env."""
    import boto3
    from moto.server import ThreadedMotoServer

    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        boto3.client(
            "s3",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="moto-secret-42",
        ).create_bucket(Bucket=BUCKET)
        yield url
    finally:
        server.stop()


def _objects(endpoint: str, prefix: str) -> list[str]:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="moto-secret-42",
    )
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def _settings(endpoint: str, db: str) -> Settings:
    return Settings(
        db=db,
        storage_endpoint=endpoint,
        storage_region="us-east-1",
        storage_allow_http=True,
        **KEYS,  # type: ignore[arg-type]
    )


def test_ingest_search_delete_reopen_on_s3(endpoint: str) -> None:
    db = f"s3://{BUCKET}/archives/main"
    settings = _settings(endpoint, db)
    assert "moto-secret-42" not in repr(settings.options().store)  # secrets stay hidden
    archive = Archive(settings.options())
    sources = [SourceDocument(uri=str(p), path=p) for p in PDFS]
    results = archive.ingest(sources)
    assert [r.status for r in results] == ["ok", "ok"]
    keys = _objects(endpoint, "archives/main/")
    assert any(k.startswith("archives/main/chunks.lance/") for k in keys)
    assert any(k.startswith("archives/main/documents.lance/") for k in keys)

    hit = archive.search("Kestrel probe launch rocket", k=1)[0]
    assert "kestrel" in hit.chunk.source.lower() or "Kestrel" in hit.chunk.text
    kestrel = hit.chunk.doc_id
    french = archive.search("canicule", k=3, mode="fts")
    assert french and french[0].chunk.doc_id != kestrel

    archive.store.delete_document(kestrel)
    assert all(h.chunk.doc_id != kestrel for h in archive.search("Kestrel probe", k=5))

    reopened = Archive(_settings(endpoint, db).options())
    assert reopened.store.count_documents() == 1
    assert reopened.store.get_document(kestrel) is None
    assert reopened.store.count_documents(SearchFilters(language="fr")) == 1
    result = reopened.store.maintain()
    assert result.rows["documents"] == 1


def test_store_options_reach_lancedb_and_open_reads_the_embedder(endpoint: str) -> None:
    """Without the endpoint LanceDB would go to AWS: the tables on moto prove the options
    are used; ``open`` finds the embedder in the index, with no model loaded."""
    good = _settings(endpoint, f"s3://{BUCKET}/idx").options().store
    LanceChunkStore(good, embedder="toy", dim=4)
    assert _objects(endpoint, "idx/")  # the tables were created on the local server
    opened = LanceChunkStore.open(good)
    assert (opened.embedder, opened.dim) == ("toy", 4)


def test_cli_ingest_to_s3_from_env_settings(endpoint: str, tmp_path: Path) -> None:
    db = f"s3://{BUCKET}/cli/index"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "HF_HUB_OFFLINE": "1",
        "COLUMNS": "200",
        "ARCHIVIST_STORAGE_ENDPOINT": endpoint,
        "ARCHIVIST_STORAGE_REGION": "us-east-1",
        "ARCHIVIST_STORAGE_ALLOW_HTTP": "true",
        "ARCHIVIST_STORAGE_ACCESS_KEY_ID": "testing",
        "ARCHIVIST_STORAGE_SECRET_ACCESS_KEY": "moto-secret-42",
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli.main", *args],
            cwd=tmp_path,  # no archivist.toml here
            env={**env, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            timeout=300,
        )

    proc = run("ingest", str(PDFS[0]), "--db", db)
    assert proc.returncode == 0, proc.stderr
    assert "moto-secret-42" not in proc.stdout + proc.stderr
    proc = run("search", "Kestrel probe", "--db", db, "--json")
    assert proc.returncode == 0, proc.stderr
    hits = json.loads(proc.stdout)
    assert hits and "Kestrel" in json.dumps(hits)
    assert any(k.startswith("cli/index/chunks.lance/") for k in _objects(endpoint, "cli/"))


def test_two_processes_write_one_s3_index_every_row_once(
    endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Concurrent writers on object storage, configured by the standard AWS_* variables alone
    (what LanceDB falls back to when no storage option is set)."""
    import multiprocessing as mp
    from collections import Counter

    from pipeline.models import StoreOptions
    from tests.pipeline.store.test_concurrency import _writer

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "moto-secret-42",
        "AWS_ENDPOINT": endpoint,
        "AWS_ALLOW_HTTP": "true",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    uri = f"s3://{BUCKET}/shared"
    LanceChunkStore(StoreOptions(uri=uri), embedder="toy", dim=8)
    with mp.get_context("spawn").Pool(2) as pool:
        assert pool.starmap(_writer, [(uri, 0, 12), (uri, 1, 12)]) == [12, 12]
    store = LanceChunkStore(StoreOptions(uri=uri), embedder="toy", dim=8)
    ids = store.chunks.to_arrow().column("chunk_id").to_pylist()
    assert len(ids) == 2 * 12 * 4 and max(Counter(ids).values()) == 1
    assert store.count_documents() == 24
