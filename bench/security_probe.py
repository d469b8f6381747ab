"""Throw bad inputs at a running server and at the press-feed connector, and count what happened.

A real server on a loopback port over a fresh index holding two collections (``press``:
the French sample dispatches, ``wire``: the English ones), with one writer key per collection.
Then, as an attacker holding the wire key (and as no one), it sends bounded lists of hostile
requests: huge offsets and limits, control characters in paths, forged collection names, file
names that climb out of the uploads folder, files that lie about their type, a compressed-stream
bomb, other collections' document ids, bytes already indexed in the other collection; and a
press feed whose lines point at the host's files, loopback URLs and chained fsspec URLs.

It counts: bad inputs tried, answers by status, 500s, documents lost (a document indexed at the
start that a search or a listing no longer finds at the end), cross-collection leaks (a wire
answer naming a press document id or quoting press text), feed lines that reached anything.

    python bench/security_probe.py            # prints Markdown, exit 1 on any 500/loss/leak

Only addresses on this machine are contacted; every loop is bounded.
"""

from __future__ import annotations

import json
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pymupdf
import uvicorn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from api import create_app  # noqa: E402
from api.auth import KeyRing  # noqa: E402
from api.settings import ApiSettings  # noqa: E402
from connectors.base import ConnectorSpec, make_connector  # noqa: E402
from pipeline.archive import Archive  # noqa: E402
from pipeline.errors import ArchivistError  # noqa: E402
from pipeline.models import SourceDocument, SourceMetadata  # noqa: E402
from pipeline.settings import Settings  # noqa: E402

PRESS_KEY, WIRE_KEY = "press-writer-0123456789", "wire-writer-0123456789"
PRESS = ["1983-05-12_greve-port-aurele_fr.pdf", "2003-08-11_canicule-lorvennes_fr.pdf"]
WIRE = ["2011-04-19_brennach-flood_en.pdf"]
PRESS_WORDS = ["Port-Aurèle", "Lorvennes"]


@contextmanager
def serving(app: object) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(600):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def bomb_pdf(pages: int = 120) -> bytes:
    doc = pymupdf.open()
    text = "The harbour ledger lists crates, tides and mills. " * 60
    for _ in range(pages):
        doc.new_page().insert_textbox(pymupdf.Rect(20, 20, 590, 820), text, fontsize=4)
    return doc.tobytes(deflate=True, garbage=4)


def api_probes(press_ids: list[str]) -> list[tuple[str, str, dict[str, object]]]:
    """(method, path, httpx keyword arguments) of every hostile request, sent with the wire key."""
    probes: list[tuple[str, str, dict[str, object]]] = []
    for offset in (-1, 10**9 + 1, 2**31, 2**63 - 1, 2**64, "1e99", "x"):
        probes.append(("GET", "/v1/documents", {"params": {"offset": offset}}))
    for limit in (0, -5, 501, 10**12, "all"):
        probes.append(("GET", "/v1/documents", {"params": {"limit": limit}}))
    for name in ("..", ".", "-rf", "a/b", "a\nb", "x" * 200, "press' OR '1'='1", "%00"):
        probes.append(("GET", "/v1/documents", {"params": {"collection": name}}))
        note = {"files": ("n.md", b"# N\n\nText.", "text/markdown")}
        probes.append(("POST", "/v1/ingest", {"files": note, "data": {"collection": name}}))
    paths = ["/v1/documents%0a127.0.0.1 GET /admin 200", "/v1/%2e%2e/%2e%2e/etc/passwd",
             "/v1/documents/..%2f..%2fetc", "/v1/documents/" + "a" * 5000, "/\u2028x"]  # fmt: skip
    for path in paths:
        probes.append(("GET", path, {}))
    for doc_id in press_ids:  # another collection's documents: must be 404, as if absent
        probes.append(("GET", f"/v1/documents/{doc_id}", {}))
        probes.append(("DELETE", f"/v1/documents/{doc_id}", {}))
    for body in ({"query": "x" * 5000}, {"query": ""}, {"query": "a", "k": 10**9},
                 {"query": "a", "filters": {"collection": "press"}},
                 {"query": "a", "filters": {"date_from": "1990-13-45"}}, {"qestion": "a"},
                 {"query": "Port-Aurèle", "filters": {"collections": ["press"]}}):  # fmt: skip
        probes.append(("POST", "/v1/search", {"json": body}))
        probes.append(("POST", "/v1/ask", {"json": {**body, "question": body.get("query")}}))
    uploads = [
        ("../../../etc/cron.d/x.md", b"# X\n\nx.", "text/markdown"),
        ("report.pdf", b"<html>%PDF-1.7</html>", "application/pdf"),
        ("report.pdf", b"%PDF-1.7\nbroken", "application/pdf"),
        ("notes.txt", "café".encode("latin-1"), "text/plain"),
        ("nul.md", b"# a\x00b", "text/markdown"),
        ("photo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image/png"),
        ("bomb.pdf", bomb_pdf(), "application/pdf"),
        ("press.pdf", (REPO / "sample_docs" / PRESS[0]).read_bytes(), "application/pdf"),
    ]
    for name, data, kind in uploads:
        probes.append(("POST", "/v1/ingest", {"files": {"files": (name, data, kind)}}))
    probes.append(("POST", "/v1/search", {"content": b"{not json", "headers": {
        "content-type": "application/json"}}))  # fmt: skip
    probes.append(("POST", "/v1/search", {"json": {"query": "a", "pad": "y" * 400_000}}))
    return probes


def feed_probe(root: Path) -> tuple[int, int, int]:
    """(lines tried, lines listed, requests the loopback server saw) for a hostile feed."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"root:x:0:0")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    feed = root / "feed"
    feed.mkdir()
    (feed / "link.txt").symlink_to("/etc/passwd")
    lines = [
        {"uri": "file:///etc/passwd"}, {"uri": "/etc/passwd"}, {"path": "../../../../etc/passwd"},
        {"path": "/etc/passwd"}, {"path": "link.txt"}, {"uri": f"simplecache::{base}/x"},
        {"uri": f"blockcache::{base}/x"}, {"uri": "memory://x/y"}, {"uri": "s3://other/x.pdf"},
        {"uri": f"{base}/x"}, {"uri": "http://[::1]/x"}, {"uri": "http://169.254.169.254/x"},
        {"uri": "http://2130706433/x"}, {"uri": "http://localhost:1/x"},
        {"path": "ok.md", "collection": "press"}, {"path": "ok.md", "collection": ".."},
    ]  # fmt: skip
    (feed / "feed.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    connector = make_connector(ConnectorSpec(source=str(feed / "feed.jsonl"), collection="wire"))
    listing = connector.list()
    reached = 0
    for ref in listing.refs:
        try:
            connector.fetch(ref)
            reached += 1
        except (ArchivistError, OSError):
            pass
    server.shutdown()
    return len(lines), reached, len(seen)


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="archivist-probe-"))
    settings = Settings(db=str(root / "index"))
    archive = Archive(settings.options())
    sources = [
        SourceDocument(uri=f"/archive/{name}", path=REPO / "sample_docs" / name,
                       metadata=SourceMetadata(collection=coll))
        for coll, names in (("press", PRESS), ("wire", WIRE)) for name in names
    ]  # fmt: skip
    start = archive.ingest(sources)
    press_ids = [r.doc_id or "" for r in start[: len(PRESS)]]
    keys = ApiSettings(api_keys=f"{PRESS_KEY}:press, {WIRE_KEY}:wire", api_max_upload_mb=2)
    app = create_app(settings, archive=archive, api_settings=keys,
                     keys=KeyRing.from_settings(keys))  # fmt: skip
    statuses: Counter[int] = Counter()
    leaks: list[str] = []
    uploads: list[str] = []
    with serving(app) as url:
        wire = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {WIRE_KEY}"},
                            timeout=300)  # fmt: skip
        anonymous = httpx.Client(base_url=url, timeout=60)
        probes = api_probes(press_ids)
        for method, path, kwargs in probes:
            r = wire.request(method, path, **kwargs)  # type: ignore[arg-type]
            statuses[r.status_code] += 1
            sent = path + json.dumps(kwargs.get("json") or kwargs.get("params") or {})
            named = [d for d in press_ids if d in r.text and d not in sent]  # not just echoed
            quoted = [w for w in PRESS_WORDS if w in r.text and w not in sent]
            if named or quoted:
                leaks.append(f"{method} {path} -> {r.status_code}")
            if path == "/v1/ingest" and r.status_code == 200:
                for f in r.json()["files"]:
                    stage = f["errors"][0]["stage"] if f["errors"] else ""
                    uploads.append(f"{f['filename']}: {f['action']} {stage}".strip())
        for method, path, kwargs in probes[:20]:  # the same without a key
            statuses[anonymous.request(method, path, **kwargs).status_code] += 1  # type: ignore[arg-type]
        lost = 0
        for name, result in zip([*PRESS, *WIRE], start, strict=True):
            key = PRESS_KEY if name in PRESS else WIRE_KEY
            got = wire.get(f"/v1/documents/{result.doc_id}", headers={
                "Authorization": f"Bearer {key}"})  # fmt: skip
            lost += got.status_code != 200
    tried = len(probes) + 20
    lines, reached, seen = feed_probe(root)
    print("| figure | value |\n|---|---|")
    print(f"| bad API requests tried | {tried} |")
    print(f"| answers by status | {dict(sorted(statuses.items()))} |")
    print(f"| 500s | {statuses[500]} |")
    print(f"| documents lost | {lost} of {len(start)} |")
    print(f"| cross-collection leaks | {len(leaks)} {leaks or ''} |")
    print(f"| hostile feed lines tried | {lines} |")
    print(f"| feed lines that reached a file or address | {reached} |")
    print(f"| requests the loopback server saw | {seen} |")
    print(f"| uploads accepted (wire key) | {'; '.join(uploads)} |")
    return 1 if statuses[500] or lost or leaks or reached or seen else 0


if __name__ == "__main__":
    raise SystemExit(main())
