"""The local folder connector: glob patterns, exclusions, hidden files, uris, prune scope."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.base import ConnectorSpec, guess_kind, make_connector
from pipeline.errors import ConfigError, DocumentLoadError


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    for rel in ["1987/a.pdf", "1987/b.md", "1994/c.pdf", "drafts/d.pdf", ".git/e.md", "f.docx"]:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rel.encode())
    return root


def _names(spec: ConnectorSpec) -> list[str]:
    return [
        Path(r.uri).relative_to(spec.source).as_posix() for r in make_connector(spec).list().refs
    ]


def test_patterns_and_exclusions(tree: Path) -> None:
    default = ConnectorSpec(source=str(tree))
    assert _names(default) == ["1987/a.pdf", "1987/b.md", "1994/c.pdf", "drafts/d.pdf"]
    listing = make_connector(default).list()
    assert [Path(s).name for s in listing.skipped] == ["f.docx"]  # .git/ is hidden, not skipped
    pdfs = ConnectorSpec(source=str(tree), patterns=("*.pdf",), exclude=("drafts/**",))
    assert _names(pdfs) == ["1987/a.pdf", "1994/c.pdf"]
    assert _names(ConnectorSpec(source=str(tree), patterns=("1987/*",))) == [
        "1987/a.pdf",
        "1987/b.md",
    ]


def test_uris_metadata_fetch_and_scope(tree: Path) -> None:
    connector = make_connector(ConnectorSpec(source=str(tree), collection="presse"))
    ref = connector.list().refs[0]
    assert Path(ref.uri).is_absolute() and ref.size == len(b"1987/a.pdf")
    assert ref.metadata.collection == "presse"
    doc = connector.fetch(ref)
    assert doc.read_bytes() == b"1987/a.pdf" and doc.metadata.collection == "presse"
    assert connector.prune_scope() == str(tree.resolve()) + "/"
    Path(ref.uri).unlink()
    with pytest.raises(DocumentLoadError, match="gone since it was listed"):
        connector.fetch(ref)


def test_missing_folder_and_unknown_kind(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file or folder"):
        make_connector(ConnectorSpec(source=str(tmp_path / "nope"))).list()
    valid = "valid: auto, feed, local, objectstore, urls"
    with pytest.raises(ConfigError, match=f"unknown connector kind 'ftp'; {valid}"):
        make_connector(ConnectorSpec(kind="ftp", source="x"))


def test_kind_is_guessed_from_the_source(tmp_path: Path) -> None:
    urls = tmp_path / "list.txt"
    urls.write_text("# press\nhttps://example.org/a.pdf\n")
    notes = tmp_path / "notes.txt"
    notes.write_text("just a note")
    assert guess_kind(str(urls)) == "urls" and guess_kind(str(notes)) == "local"
    assert guess_kind("feed.jsonl") == "feed" and guess_kind("s3://b/p/") == "objectstore"
    assert guess_kind(str(tmp_path)) == "local" and guess_kind("http://x/a.pdf") == "urls"
