"""A connector from a plugin package: the worked example of docs/architecture.md (one module,
one entry-point line), installed on the path and used to ingest."""

from __future__ import annotations

import shutil
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.base import CONNECTORS, ConnectorSpec, make_connector
from pipeline.archive import Archive
from pipeline.settings import Settings
from tests.conftest import REPO


@pytest.fixture
def zip_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(REPO / "docs" / "examples" / "zip_connector.py", site / "archivist_zip.py")
    info = site / "archivist_zip-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: archivist-zip\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[archivist.connectors]\nzip = archivist_zip:ZipConnector\n"
    )
    monkeypatch.syspath_prepend(str(site))
    CONNECTORS.refresh()
    make_connector.cache_clear()
    yield "zip"
    monkeypatch.undo()
    sys.modules.pop("archivist_zip", None)
    CONNECTORS.refresh()
    make_connector.cache_clear()


def test_a_plugin_connector_lists_fetches_and_feeds_ingest(zip_plugin: str, tmp_path: Path) -> None:
    press = tmp_path / "press.zip"
    with zipfile.ZipFile(press, "w") as archive:
        archive.writestr("1987/strike.md", "# Strike\n\nThe dockers of Port-Aurèle stopped work.\n")
        archive.writestr("photo.jpg", b"\xff\xd8 not a document")
    assert zip_plugin in CONNECTORS.kinds()
    spec = ConnectorSpec(kind=zip_plugin, source=str(press), patterns=("*.md",))
    connector = make_connector(spec)
    listing = connector.list()
    assert [r.uri for r in listing.refs] == [f"zip://{press}!/1987/strike.md"]
    assert listing.skipped == ["photo.jpg"]
    archive = Archive(Settings(db=str(tmp_path / "idx")).options())
    (result,) = archive.ingest([connector.fetch(ref) for ref in listing.refs])
    assert result.action == "added"
    assert archive.search("dockers stopped work", k=1)[0].chunk.source == listing.refs[0].uri
