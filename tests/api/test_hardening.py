"""Hostile requests: answered with a 4xx that says why, never a 500, never a forged log line."""

from __future__ import annotations

import logging
import time

import pytest

from api.schemas import MAX_OFFSET
from pipeline.models import SourceMetadata
from pipeline.settings import Settings
from tests.api.conftest import STRIKE, WIRE_KEY, Api
from tests.conftest import SAMPLE_DOCS


@pytest.mark.parametrize("offset", [MAX_OFFSET + 1, 2**62, 9223372036854775807, 10**30])
def test_huge_offsets_are_422(api: Api, offset: int) -> None:
    with api.client() as c:
        r = c.get("/v1/documents", params={"offset": offset})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["param"] == "offset"


def test_largest_offset_allowed_is_an_empty_page(api: Api) -> None:
    with api.client() as c:
        r = c.get("/v1/documents", params={"offset": MAX_OFFSET})
    assert r.status_code == 200 and r.json()["items"] == []


def test_access_log_cannot_be_forged(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="api.access")
    forged = "127.0.0.1 GET /v1/admin 200 0.1ms key=admin"
    with api.client() as c:
        r = c.get("/v1/documents%0a" + forged.replace(" ", "%20") + "%E2%80%A8%5C")
    assert r.status_code == 404
    # This request's line: an earlier test's GET /v1/documents may be logged after it ends.
    line = _access_line(caplog, "/v1/documents\\x0a")
    assert "\n" not in line and "\u2028" not in line
    assert "/v1/documents\\x0a127.0.0.1" in line and line.endswith("key=key-" + line[-8:])
    assert "\\u2028\\x5c" in line  # the separator and the backslash, escaped


@pytest.mark.parametrize(
    "data",
    [b"<html>\n%PDF-1.7\n</html>", b"\n%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", b" %PDF-"],
)
def test_pdf_marker_must_start_the_file(api: Api, data: bytes) -> None:
    with api.client() as c:
        r = c.post(
            "/v1/ingest",
            files={"files": ("report.pdf", data, "application/pdf")},
            data={"collection": "refused"},
        )
    assert r.status_code == 415, r.text
    assert "does not start with %PDF-" in r.json()["error"]["message"]


@pytest.mark.parametrize("name", ["..", ".", ".hidden", "-rf", "a/b", "x" * 101, "a\nb"])
def test_bad_collection_names_are_refused_everywhere(api: Api, name: str) -> None:
    with api.client() as c:
        up = c.post(
            "/v1/ingest",
            files={"files": ("n.md", b"# Note\n\nText.", "text/markdown")},
            data={"collection": name},
        )
        listed = c.get("/v1/documents", params={"collection": name})
    assert up.status_code == 422, up.text
    assert listed.status_code == 422
    with pytest.raises(ValueError, match="collection"):
        SourceMetadata(collection=name)
    with pytest.raises(ValueError, match="collection"):
        Settings(collection=name)


@pytest.mark.parametrize("name", ["press", "presse-écrite", "wire_2024", "v1.2", "_archive"])
def test_good_collection_names_pass(name: str) -> None:
    assert SourceMetadata(collection=name).collection == name


def _access_line(caplog: pytest.LogCaptureFixture, path: str) -> str:
    """The access log line for ``path`` (written just after the response is sent)."""
    for _ in range(100):
        lines = [r.getMessage() for r in caplog.records if r.name == "api.access"]
        found = [m for m in lines if path in m]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no access log line for {path}")


def test_dedup_stays_inside_a_collection(api: Api) -> None:
    """Bytes indexed in ``press`` uploaded with a ``wire`` key: indexed for wire, and the answer
    names no press document (no existence oracle)."""
    data = (SAMPLE_DOCS / STRIKE).read_bytes()
    press_id = api.doc_ids[STRIKE]
    with api.client(WIRE_KEY) as c:
        r = c.post("/v1/ingest", files={"files": ("strike.pdf", data, "application/pdf")})
        assert r.status_code == 200, r.text
        (result,) = r.json()["files"]
        assert result["action"] == "added" and result["doc_id"] != press_id
        assert press_id not in r.text
        hits = c.post("/v1/search", json={"query": "grève dockers Port-Aurèle"}).json()["hits"]
        found = {h["doc_id"] for h in hits}
        assert result["doc_id"] in found and press_id not in found
        again = c.post("/v1/ingest", files={"files": ("copy.pdf", data, "application/pdf")})
        assert again.json()["files"][0]["action"] == "duplicate"  # within wire: deduplicated
        assert again.json()["files"][0]["doc_id"] == result["doc_id"]
    with api.client() as c:
        assert c.get(f"/v1/documents/{press_id}").json()["collection"] == "press"
        assert c.delete(f"/v1/documents/{result['doc_id']}").status_code == 200
        assert c.get(f"/v1/documents/{press_id}").status_code == 200
