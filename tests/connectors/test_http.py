"""The URL connector against a real HTTP server on 127.0.0.1: limits, refusals, retryable errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.base import ConnectorSpec, make_connector
from connectors.http import check_url, fetch_url
from pipeline.errors import DocumentLoadError, EngineError
from tests.connectors.http_server import DOCS, serve


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with serve() as url:
        yield url


def test_loopback_and_private_addresses_are_refused_by_default(base: str) -> None:
    for url in (f"{base}/doc.md", "http://[::1]/a.pdf", "http://169.254.169.254/latest/",
                "http://10.1.2.3/a.pdf", "http://localhost/a.pdf"):  # fmt: skip
        with pytest.raises(DocumentLoadError, match="non-public address"):
            fetch_url(url, max_bytes=10_000, timeout_s=2)
    for url in ("file:///etc/passwd", "ftp://example.org/a.pdf", "gopher://x/"):
        with pytest.raises(DocumentLoadError, match="is not allowed"):
            check_url(url)  # whatever addresses are allowed


def test_allowed_loopback_fetch_follows_redirects(base: str) -> None:
    got = fetch_url(f"{base}/moved", max_bytes=10_000, timeout_s=5, allow_private=True)
    assert got.data == DOCS["/doc.md"] and got.url == f"{base}/doc.md"
    assert got.media_type and got.media_type.startswith("text/markdown")


def test_size_limit_timeout_and_status_codes(base: str) -> None:
    def get(path: str, **kw: object) -> object:
        args = {"max_bytes": 4096, "timeout_s": 5.0, "allow_private": True, **kw}
        return fetch_url(f"{base}{path}", **args)  # type: ignore[arg-type]

    with pytest.raises(DocumentLoadError, match="5000 bytes is over the 4096-byte limit"):
        get("/big.txt")
    with pytest.raises(DocumentLoadError, match="body is over the 4096-byte limit"):
        get("/chunked-big")
    with pytest.raises(DocumentLoadError, match="HTTP 404"):
        get("/nothing-here")
    with pytest.raises(EngineError, match="HTTP 503") as unavailable:
        get("/unavailable")
    assert unavailable.value.retryable
    with pytest.raises(EngineError, match=r"timed out after 0\.5s") as slow:
        get("/slow", timeout_s=0.5)
    assert slow.value.retryable


def test_url_list_connector(base: str, tmp_path: Path) -> None:
    listing_file = tmp_path / "urls.txt"
    listing_file.write_text(
        f"# nightly press list\n{base}/doc.md\n\n{base}/doc.md\nfile:///etc/passwd\nnot a url\n"
    )
    spec = ConnectorSpec(kind="urls", source=str(listing_file), allow_private=True)
    connector = make_connector(spec)
    listing = connector.list()
    assert [r.uri for r in listing.refs] == [f"{base}/doc.md"]  # the duplicate is listed once
    reasons = sorted(p.reason for p in listing.problems)
    assert reasons == ["not a URL: 'not a url'", "scheme 'file' is not allowed"]
    doc = connector.fetch(listing.refs[0])
    assert doc.read_bytes() == DOCS["/doc.md"] and doc.media_type == "text/markdown"
    refused = make_connector(spec.model_copy(update={"allow_private": False}))
    with pytest.raises(DocumentLoadError, match="non-public"):
        refused.fetch(listing.refs[0])
