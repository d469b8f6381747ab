"""Readiness, picking up other processes' writes, and ``archivist serve`` as a user starts it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import httpx
import pytest

from api import create_app
from api.auth import KeyRing
from api.settings import ApiSettings
from pipeline.archive import Archive
from pipeline.models import SourceDocument, SourceMetadata
from pipeline.settings import Settings
from tests.api.conftest import ADMIN_KEY, Api
from tests.api.server import running
from tests.conftest import REPO

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_readyz_reports_an_index_that_cannot_load(tmp_path: Path) -> None:
    settings = Settings(db=str(tmp_path / "idx"), embedder="no-such-embedder")
    app = create_app(settings, keys=KeyRing(), api_settings=ApiSettings(api_ready_wait_s=10))
    with running(app) as url:
        assert httpx.get(url + "/healthz").status_code == 200
        deadline = time.monotonic() + 10
        while (r := httpx.get(url + "/readyz")).json()["detail"].startswith("loading"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert r.status_code == 503 and "unknown embedder kind" in r.json()["detail"]
        search = httpx.post(url + "/v1/search", json={"query": "x"})
    assert search.status_code == 503 and "could not be loaded" in search.json()["error"]["message"]


def test_writes_by_another_process_are_picked_up(api: Api, embedder: object) -> None:
    app = create_app(
        Settings(db=str(api.db)),
        archive=api.archive,
        keys=KeyRing.parse_env(ADMIN_KEY),
        api_settings=ApiSettings(api_refresh_s=0),
    )
    # A second Archive opens its own table handles, as `archivist ingest` in another process does.
    other = Archive(Settings(db=str(api.db)).options())
    other.__dict__["embedder"] = embedder
    note = b"# Night shift\n\nThe Tollmere signal box closed on 30 September 1987.\n"
    with running(app) as url:
        client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        query = {"query": "Tollmere signal box closed", "filters": {"collection": "night"}}
        assert client.post("/v1/search", json=query).json()["hits"] == []
        meta = SourceMetadata(collection="night")
        [result] = other.ingest([SourceDocument(uri="mem://night.md", data=note, metadata=meta)])
        hits = client.post("/v1/search", json=query).json()["hits"]
        assert hits and hits[0]["doc_id"] == result.doc_id
        assert client.delete(f"/v1/documents/{result.doc_id}").status_code == 200
        client.close()


def test_serve_command_end_to_end(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cli.main import app as cli

    runner = CliRunner(env={"ARCHIVIST_API_KEYS": "", "ARCHIVIST_API_KEYS_FILE": None})
    refused = runner.invoke(cli, ["serve", "--host", "0.0.0.0", "--db", str(tmp_path)])
    assert refused.exit_code == 2 and "--insecure" in refused.output

    made = runner.invoke(cli, ["api-key", "--name", "ci", "--collection", "press"])
    key = made.stdout.split("give it to the client): ", 1)[1].split()[0]
    entry = made.stdout.split("\n\n", 2)[2]
    (tmp_path / "keys.toml").write_text(entry, encoding="utf-8")
    assert tomllib.loads(entry)["keys"][0]["collections"] == ["press"]
    assert key not in entry  # the keys file holds only the hash

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ARCHIVIST_API_KEYS": ""}
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--port", str(port), "--create-index",
         "--db", str(tmp_path / "idx"), "--keys-file", str(tmp_path / "keys.toml")],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, server)
        auth = {"Authorization": f"Bearer {key}"}
        assert httpx.get(url + "/v1/documents", headers=auth).json()["total"] == 0
        assert httpx.get(url + "/v1/documents").status_code == 401
        docs = httpx.get(url + "/docs")
        assert docs.status_code == 200 and "/docs-assets/swagger-ui-bundle.js" in docs.text
        assert httpx.get(url + "/docs-assets/swagger-ui-bundle.js").status_code == 200
        page = httpx.get(url + "/")  # the web page: public, it asks for the key itself
        assert page.status_code == 200 and 'src="ui/app.js"' in page.text
        spec = httpx.get(url + "/openapi.json").json()
        assert {"/v1/ask", "/v1/chat/completions", "/v1/ingest"} <= set(spec["paths"])
    finally:
        server.send_signal(signal.SIGINT)
        output = server.communicate(timeout=30)[0]
    assert "1 API key(s)" in output
    assert f"Open http://127.0.0.1:{port}/ in a browser" in output
    assert "GET /v1/documents 200" in output and "key=ci" in output  # the access log, by name


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[str], timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[0]
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("server did not become ready")
