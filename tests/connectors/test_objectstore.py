"""The object-storage connector (fsspec/s3fs) against moto's S3 server on 127.0.0.1."""

from __future__ import annotations

import pytest

from connectors.base import ConnectorSpec, make_connector
from connectors.objectstore import filesystem
from pipeline.errors import ConfigError, DocumentLoadError
from tests.connectors.s3_server import put_objects, s3_server

pytestmark = pytest.mark.integration


def test_list_filter_fetch_and_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    with s3_server(monkeypatch) as endpoint:
        put_objects(
            endpoint,
            "press",
            {
                "1987/vote.md": b"# Vote\n\nHaute-Varenne.",
                "1987/scan.pdf": b"%PDF-1.7 fake",
                "1987/photo.jpg": b"\xff\xd8",
                "1987/.hidden.md": b"# no",
                "2003/heat.txt": b"41,7 degrees in Lorvennes.",
                "other/elsewhere.md": b"# not under the prefix",
            },
        )
        options = (("endpoint_url", endpoint),)
        filesystem.cache_clear()
        spec = ConnectorSpec(source="s3://press/", storage_options=options, collection="presse")
        connector = make_connector(spec)
        listing = connector.list()
        uris = [r.uri for r in listing.refs]
        assert uris == [
            "s3://press/1987/scan.pdf",
            "s3://press/1987/vote.md",
            "s3://press/2003/heat.txt",
            "s3://press/other/elsewhere.md",
        ]
        assert listing.skipped == ["s3://press/1987/photo.jpg"]
        assert all(r.fingerprint and r.fingerprint.startswith("ETag:") for r in listing.refs)
        assert connector.prune_scope() == "s3://press/"
        doc = connector.fetch(listing.refs[1])
        assert doc.read_bytes() == b"# Vote\n\nHaute-Varenne."
        assert doc.metadata.collection == "presse"

        update = {"source": "s3://press/1987", "max_bytes": 5}
        narrow = make_connector(spec.model_copy(update=update))
        assert [r.uri for r in narrow.list().refs] == uris[:2]
        with pytest.raises(DocumentLoadError, match="over the 5-byte limit"):
            narrow.fetch(listing.refs[1])
        put_objects(endpoint, "press", {"1987/vote.md": b"# Vote\n\nRecount."})
        assert make_connector(spec).list().refs[1].fingerprint != listing.refs[1].fingerprint

        with pytest.raises(ConfigError, match="no such bucket or prefix"):
            make_connector(spec.model_copy(update={"source": "s3://no-such-bucket/x"})).list()
