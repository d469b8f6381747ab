"""A press feed's lines reach only what its sync allows: never the host's files, never a private
address, never another collection (issue: a manifest line read /etc/passwd into the index)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.base import ConnectorSpec, make_connector
from connectors.http import fetch_url
from pipeline.errors import DocumentLoadError, EngineError
from tests.connectors.http_server import DOCS, SEEN, serve


@pytest.fixture
def base() -> Iterator[str]:
    with serve() as url:
        SEEN.clear()
        yield url


def _feed(folder: Path, entries: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / "feed.jsonl"
    manifest.write_text("\n".join(json.dumps(e) for e in entries) + "\n")
    return manifest


def _listing(manifest: Path, **spec: Any) -> tuple[list[str], dict[int, str]]:
    listing = make_connector(ConnectorSpec(source=str(manifest), **spec)).list()
    problems = {int(p.where.rsplit(":", 1)[1]): p.reason for p in listing.problems}
    return [r.uri for r in listing.refs], problems


def test_feed_lines_cannot_read_the_host(tmp_path: Path, base: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    feed = tmp_path / "feed"
    feed.mkdir()
    (feed / "ok.md").write_text("# Dépêche\n\nUne dépêche d'agence.\n")
    (feed / "link.txt").symlink_to(secret)
    hostile = [
        {"uri": "file:///etc/passwd"},
        {"uri": "/etc/passwd"},
        {"uri": str(secret)},
        {"path": "../secret.txt"},
        {"path": "../../../../etc/passwd", "media_type": "text/plain"},
        {"path": "/etc/passwd"},
        {"path": "link.txt"},
        {"path": "file:///etc/passwd"},
        {"uri": f"simplecache::{base}/doc.md"},
        {"uri": f"blockcache::{base}/doc.md"},
        {"uri": f"filecache::file://{secret}"},
        {"uri": "memory://secret/x.md"},
        {"uri": "s3://any-bucket/x.pdf"},
    ]
    manifest = _feed(feed, [*hostile, {"path": "ok.md"}])
    refs, problems = _listing(manifest, collection="wire")
    assert refs == [str((feed / "ok.md").resolve())]
    assert sorted(problems) == list(range(1, len(hostile) + 1))
    assert "named with 'path'" in problems[1] and "named with 'path'" in problems[3]
    assert "leads outside the manifest's folder" in problems[4]
    assert "must be relative" in problems[6]
    assert "leads outside the manifest's folder" in problems[7]  # the link points out
    assert "chained URLs are not allowed" in problems[9]
    assert "outside the object-storage prefixes" in problems[12]
    assert SEEN == []  # the loopback server was never asked


def test_fetch_checks_the_line_again(tmp_path: Path) -> None:
    """A file swapped for a link after the listing is refused when read."""
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0\n")
    feed = tmp_path / "feed"
    manifest = _feed(feed, [{"path": "ok.md"}])
    (feed / "ok.md").write_text("# OK\n")
    connector = make_connector(ConnectorSpec(source=str(manifest)))
    (ref,) = connector.list().refs
    (feed / "ok.md").unlink()
    (feed / "ok.md").symlink_to(secret)
    with pytest.raises(DocumentLoadError, match="outside the manifest's folder"):
        connector.fetch(ref)
    forged = ref.model_copy(update={"uri": str(secret)})  # a ref that never came from the list
    with pytest.raises(DocumentLoadError, match="outside the manifest's folder"):
        connector.fetch(forged)


def test_http_lines_pass_the_url_guard(tmp_path: Path, base: str) -> None:
    manifest = _feed(tmp_path / "feed", [{"uri": f"{base}/doc.md"}])
    refused = make_connector(ConnectorSpec(source=str(manifest)))
    (ref,) = refused.list().refs
    with pytest.raises(DocumentLoadError, match="non-public address"):
        refused.fetch(ref)
    assert SEEN == []
    allowed = make_connector(ConnectorSpec(source=str(manifest), allow_private=True))
    assert allowed.fetch(ref).read_bytes() == DOCS["/doc.md"]


def test_a_line_cannot_choose_a_collection_its_sync_may_not_write(tmp_path: Path) -> None:
    (tmp_path / "feed").mkdir()
    (tmp_path / "feed" / "a.md").write_text("# A\n")
    manifest = _feed(tmp_path / "feed", [{"path": "a.md", "collection": "press"}])
    refs, problems = _listing(manifest, collection="wire")
    assert refs == [] and "collection 'press' is not one this feed may write" in problems[1]
    refs, problems = _listing(manifest, collection="wire", allow_collections=("press",))
    assert len(refs) == 1 and problems == {}
    bad = _feed(tmp_path / "other", [{"path": "a.md", "collection": ".."}])
    refs, problems = _listing(bad, collection="wire")
    assert refs == [] and "collection '..'" in problems[1]


def test_object_lines_need_an_allowed_prefix(tmp_path: Path) -> None:
    lines = [
        {"uri": "s3://press/1987/a.pdf"},
        {"uri": "s3://press-secrets/a.pdf"},  # shares the prefix's text, not its folder
        {"uri": "s3://press/1987/../../other/a.pdf"},
        {"uri": "s3://other/a.pdf"},
        {"uri": "simplecache::s3://press/1987/a.pdf"},
    ]
    refs, problems = _listing(_feed(tmp_path, lines), allow_prefixes=("s3://press/1987",))
    assert refs == ["s3://press/1987/a.pdf"]
    assert sorted(problems) == [2, 3, 4, 5]
    assert "'.' and '..' are not allowed" in problems[3]
    with pytest.raises(ValueError, match="not an object-storage prefix"):
        ConnectorSpec(source="f.jsonl", allow_prefixes=("file:///",))


def test_a_name_is_resolved_once_and_the_connection_pinned(
    base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name answers a public address when checked, then the loopback
    server's. The fetch must connect to the address it checked, never ask twice.

    The system resolver cannot be pointed at a test nameserver, so ``getaddrinfo`` answers for
    that one name here; and no connection may leave this machine, so connecting to any
    address but loopback is refused before a packet is sent.
    """
    port = int(base.rsplit(":", 1)[1])
    real_resolve, real_connect = socket.getaddrinfo, socket.socket.connect
    answers = iter(["93.184.215.14"] + ["127.0.0.1"] * 10)
    asked: list[str] = []

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "rebind.example":
            return real_resolve(host, *args, **kwargs)
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    def connect(sock: socket.socket, address: Any) -> Any:
        if not str(address[0]).startswith("127."):
            raise ConnectionRefusedError(f"test: no connection leaves this machine ({address})")
        return real_connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr(socket.socket, "connect", connect)
    with pytest.raises(EngineError):  # the pinned public address is (here) unreachable
        fetch_url(f"http://rebind.example:{port}/doc.md", max_bytes=10_000, timeout_s=2)
    assert SEEN == [] and len(asked) == 1
