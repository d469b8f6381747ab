"""API keys, scopes and collection scoping, against the real server; key parsing and bind rules."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from api import create_app
from api.auth import KeyRing
from api.settings import ApiSettings
from pipeline.settings import Settings
from tests.api.conftest import ADMIN_KEY, FLOOD, HEAT, READER_KEY, STRIKE, WIRE_KEY, Api
from tests.api.server import running

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SEARCH = {"query": "grève des dockers Port-Aurèle", "k": 10}


def test_health_needs_no_key_but_the_api_does(api: Api) -> None:
    with api.client(key=None) as c:
        assert c.get("/healthz").json() == {"status": "ok", "detail": None}
        assert c.get("/readyz").json()["status"] == "ready"
        r = c.post("/v1/search", json=SEARCH)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["error"]["type"] == "authentication_error"
    assert "missing API key" in r.json()["error"]["message"]


@pytest.mark.parametrize(
    "header",
    [
        f"Bearer {ADMIN_KEY}x",
        f"Bearer {ADMIN_KEY[:-1]}",
        f"Basic {ADMIN_KEY}",
        ADMIN_KEY,
        "Bearer",
    ],
)
def test_wrong_or_malformed_key_is_401(api: Api, header: str) -> None:
    with api.client(key=None) as c:
        for method, path in (("POST", "/v1/search"), ("GET", "/v1/models")):
            r = c.request(method, path, headers={"Authorization": header}, json=SEARCH)
            assert r.status_code == 401, (header, path, r.text)


def test_every_key_form_authenticates(api: Api) -> None:
    for key in (ADMIN_KEY, WIRE_KEY, READER_KEY):  # env, env with scope, keys file (hash only)
        with api.client(key) as c:
            assert c.get("/v1/models").status_code == 200, key


def test_scoped_key_never_sees_other_collections(api: Api) -> None:
    with api.client(WIRE_KEY) as c:
        hits = c.post("/v1/search", json=SEARCH).json()["hits"]
        assert hits and {h["collection"] for h in hits} == {"wire"}
        assert {h["doc_id"] for h in hits} == {api.doc_ids[FLOOD]}

        answer = c.post("/v1/ask", json={"question": "Qui conduit la grève des dockers ?"}).json()
        assert {cit["doc_id"] for cit in answer["citations"]} <= {api.doc_ids[FLOOD]}
        assert "Daubigné" not in answer["answer"]

        listing = c.get("/v1/documents").json()
        assert listing["total"] == 1
        assert [d["doc_id"] for d in listing["items"]] == [api.doc_ids[FLOOD]]

        strike = api.doc_ids[STRIKE]
        assert c.get(f"/v1/documents/{strike}").status_code == 404  # as if it did not exist
        assert c.delete(f"/v1/documents/{strike}").status_code == 404
        assert c.get(f"/v1/documents/{api.doc_ids[FLOOD]}").status_code == 200

        asked_press = {**SEARCH, "filters": {"collection": "press"}}
        r = c.post("/v1/search", json=asked_press)
        assert r.status_code == 403 and "press" in r.json()["error"]["message"]
        r = c.get("/v1/documents", params={"collection": "press"})
        assert r.status_code == 403

    with api.client(ADMIN_KEY) as c:  # the strike is still there for a key that may see it
        assert c.get(f"/v1/documents/{strike}").status_code == 200
        hits = c.post("/v1/search", json=SEARCH).json()["hits"]
        assert hits[0]["doc_id"] == strike


def test_scoped_chat_only_cites_its_collection(api: Api) -> None:
    body = {
        "model": "archivist",
        "messages": [{"role": "user", "content": "Quel record de température à Lorvennes ?"}],
    }
    with api.client(WIRE_KEY) as c:
        reply = c.post("/v1/chat/completions", json=body).json()
    assert {cit["doc_id"] for cit in reply["citations"]} <= {api.doc_ids[FLOOD]}
    assert "41,7" not in reply["choices"][0]["message"]["content"]
    with api.client(READER_KEY) as c:
        reply = c.post("/v1/chat/completions", json=body).json()
    assert "41,7" in reply["choices"][0]["message"]["content"]
    assert api.doc_ids[HEAT] in {cit["doc_id"] for cit in reply["citations"]}


def test_read_only_key_cannot_write(api: Api, tmp_path: Path) -> None:
    with api.client(READER_KEY) as c:
        r = c.delete(f"/v1/documents/{api.doc_ids[STRIKE]}")
        assert r.status_code == 403 and "read-only" in r.json()["error"]["message"]
        pdf = (api.db.parent / "keys.toml").read_bytes()
        r = c.post("/v1/ingest", files={"files": ("a.md", pdf, "text/markdown")})
        assert r.status_code == 403
        assert c.get(f"/v1/documents/{api.doc_ids[STRIKE]}").status_code == 200


def test_open_server_answers_loopback_clients_only(api: Api) -> None:
    app = create_app(Settings(db=str(api.db)), archive=api.archive, keys=KeyRing())
    with running(app) as url:  # no key configured: a loopback client needs none
        assert httpx.get(url + "/v1/models").status_code == 200

    async def from_afar(insecure: bool) -> httpx.Response:
        app = create_app(
            Settings(db=str(api.db)),
            archive=api.archive,
            keys=KeyRing(),
            api_settings=ApiSettings(api_insecure=insecure),
        )
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://archive") as c:
            return await c.get("/v1/models")

    refused = asyncio.run(from_afar(insecure=False))
    assert refused.status_code == 403 and "loopback" in refused.json()["error"]["message"]
    assert asyncio.run(from_afar(insecure=True)).status_code == 200


def test_key_is_checked_before_the_body_is_read(api: Api) -> None:
    with api.client(key=None) as c:
        broken = c.post(
            "/v1/search", content=b'{"query": ', headers={"Content-Type": "application/json"}
        )
        huge = c.post("/v1/ingest", content=b"x" * 2_000_000)
        unknown = c.get("/v1/nothing-here")
    assert broken.status_code == huge.status_code == unknown.status_code == 401
    with api.client() as c:
        assert c.get("/v1/nothing-here").status_code == 404


def test_rate_limit_per_key(api: Api) -> None:
    app = create_app(
        Settings(db=str(api.db)),
        archive=api.archive,
        keys=KeyRing.parse_env(f"{ADMIN_KEY},{WIRE_KEY}"),
        api_settings=ApiSettings(api_rate_limit=3),
    )
    with running(app) as url:
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        statuses = [httpx.get(url + "/v1/models", headers=admin).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = httpx.get(url + "/v1/models", headers=admin)
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert limited.json()["error"]["type"] == "rate_limit_error"
        wire = {"Authorization": f"Bearer {WIRE_KEY}"}  # another key has its own budget
        assert httpx.get(url + "/v1/models", headers=wire).status_code == 200
        assert httpx.get(url + "/healthz").status_code == 200  # probes are never limited


def test_cors_preflight_for_allowed_origins(api: Api) -> None:
    app = create_app(
        Settings(db=str(api.db)),
        archive=api.archive,
        keys=KeyRing.parse_env(ADMIN_KEY),
        api_settings=ApiSettings(api_cors_origins="https://news.example.org"),
    )
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    with running(app) as url:
        ok = httpx.options(
            url + "/v1/ask", headers={**preflight, "Origin": "https://news.example.org"}
        )
        other = httpx.options(url + "/v1/ask", headers={**preflight, "Origin": "https://evil.test"})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "https://news.example.org"
    assert "access-control-allow-origin" not in other.headers
