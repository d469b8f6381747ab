"""One small index per test module (three sample dispatches in two collections) behind a real
server on a loopback port, plus the keys the tests call it with.

Collections: ``press`` holds the 1983 dockers' strike and the 2003 heatwave (French), ``wire`` the
2011 River Brennach flood (English).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from api import create_app
from api.auth import KeyRing
from api.settings import ApiSettings
from pipeline.archive import Archive
from pipeline.models import SourceDocument, SourceMetadata
from pipeline.settings import Settings
from tests.api.server import running
from tests.conftest import SAMPLE_DOCS
from tests.llm_server import LLMServer

ADMIN_KEY = "admin-key-0123456789"
WIRE_KEY = "wire-key-0123456789"
READER_KEY = "press-reader-0123456789"  # in the keys file, by hash only: read-only, press only

STRIKE = "1983-05-12_greve-port-aurele_fr.pdf"
HEAT = "2003-08-11_canicule-lorvennes_fr.pdf"
FLOOD = "2011-04-19_brennach-flood_en.pdf"
COLLECTIONS = {STRIKE: "press", HEAT: "press", FLOOD: "wire"}

MAX_UPLOAD_BYTES = 400_000  # sample PDFs are 27-65 kB, those the tests write about 120 kB


@dataclass
class Api:
    """A running server and what the tests need to reach it."""

    url: str
    archive: Archive
    db: Path
    llm: LLMServer
    doc_ids: dict[str, str]

    def client(self, key: str | None = ADMIN_KEY, **kw: object) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kw)  # type: ignore[arg-type]


def build_archive(db: Path, embedder: object, llm_url: str) -> tuple[Archive, dict[str, str]]:
    """The three dispatches ingested into ``db``, the session embedder reused."""
    archive = Archive(Settings(db=str(db), llm_base_url=llm_url).options())
    archive.__dict__["embedder"] = embedder  # the session's, already loaded
    sources = [
        SourceDocument(
            uri=str(SAMPLE_DOCS / name),
            path=SAMPLE_DOCS / name,
            metadata=SourceMetadata(collection=collection),
        )
        for name, collection in COLLECTIONS.items()
    ]
    results = archive.ingest(sources)
    assert [r.action for r in results] == ["added"] * 3, results
    return archive, {name: r.doc_id or "" for name, r in zip(COLLECTIONS, results, strict=True)}


def keys_file(path: Path) -> Path:
    digest = hashlib.sha256(READER_KEY.encode()).hexdigest()
    path.write_text(
        f'[[keys]]\nname = "press-reader"\nsha256 = "{digest}"\n'
        'collections = ["press"]\nscopes = ["read"]\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, embedder: object) -> Iterator[Api]:
    root = tmp_path_factory.mktemp("api")
    with LLMServer() as llm:
        archive, doc_ids = build_archive(root / "index", embedder, llm.url)
        api_settings = ApiSettings(
            api_keys=f"{ADMIN_KEY}, {WIRE_KEY}:wire",
            api_keys_file=keys_file(root / "keys.toml"),
            api_max_upload_mb=MAX_UPLOAD_BYTES / 1024 / 1024,
            api_max_files=3,
        )
        app = create_app(
            Settings(db=str(root / "index"), llm_base_url=llm.url),
            archive=archive,
            api_settings=api_settings,
            keys=KeyRing.from_settings(api_settings),
        )
        with running(app) as url:
            httpx.get(url + "/v1/models", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
            yield Api(url, archive, root / "index", llm, doc_ids)
