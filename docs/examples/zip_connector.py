"""Documents inside a zip archive: ``archivist sync press.zip --kind zip``.

The worked example of docs/architecture.md: a connector is this one file plus one entry-point
line (``zip = "archivist_zip:ZipConnector"`` in the group ``archivist.connectors``).
tests/connectors/test_plugin.py installs it as a plugin package and ingests through it.
"""

from __future__ import annotations

import fnmatch
import zipfile

from connectors.base import ConnectorSpec, Listing, SourceRef
from pipeline.errors import DocumentLoadError
from pipeline.models import SourceDocument, SourceMetadata


class ZipConnector:
    """Every member of the archive whose name matches the patterns, as one document each."""

    def __init__(self, spec: ConnectorSpec) -> None:
        self.spec = spec
        self.prefix = f"zip://{spec.source}!/"  # the uri prefix this source owns in the index

    def list(self) -> Listing:
        with zipfile.ZipFile(self.spec.source) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/")]
        taken = [n for n in names if any(fnmatch.fnmatch(n, p) for p in self.spec.patterns)]
        meta = SourceMetadata(collection=self.spec.collection)
        refs = [SourceRef(uri=self.prefix + n, metadata=meta) for n in taken]
        return Listing(refs, sorted(set(names) - set(taken)), [])

    def fetch(self, ref: SourceRef) -> SourceDocument:
        name = ref.uri.removeprefix(self.prefix)
        try:
            with zipfile.ZipFile(self.spec.source) as archive:
                data = archive.read(name)
        except KeyError as e:
            raise DocumentLoadError(f"{name}: not in {self.spec.source}") from e
        return SourceDocument(uri=ref.uri, data=data, metadata=ref.metadata)

    def prune_scope(self) -> str | None:
        return self.prefix
