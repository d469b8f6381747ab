"""Object storage through fsspec: ``s3://bucket/prefix/`` (s3fs), and any other fsspec protocol
whose package is installed (``gs://``, ``az://``, ``memory://``…).

Credentials and endpoints come the usual way for each protocol (for S3: ``AWS_*`` environment
variables, ``~/.aws``), or as storage options (``endpoint_url=http://127.0.0.1:9000`` for MinIO or
another S3-compatible server). The listing reads each object's ETag, so a sync can tell an
unchanged object without downloading it.

>>> spec = ConnectorSpec(kind="objectstore", source="s3://press/1987/",
...                      storage_options=(("endpoint_url", "http://127.0.0.1:9000"),))
>>> make_connector(spec).list().refs[0].uri                        # doctest: +SKIP
's3://press/1987/1987-03-16_elections.pdf'
"""

from __future__ import annotations

import functools
from pathlib import PurePosixPath
from typing import Any

from connectors.base import ConnectorSpec, Listing, SourceRef
from connectors.local import matches_any
from pipeline.errors import ConfigError, DocumentLoadError, EngineError
from pipeline.models import SourceDocument, SourceMetadata


def storage_options(pairs: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """``key=value`` strings as fsspec options: ``true``/``false``/``none`` and numbers typed.

    >>> storage_options((("anon", "true"), ("endpoint_url", "http://127.0.0.1:9000")))
    {'anon': True, 'endpoint_url': 'http://127.0.0.1:9000'}
    """
    out: dict[str, Any] = {}
    for key, value in pairs:
        low = value.strip().lower()
        if low in ("true", "false"):
            out[key] = low == "true"
        elif low in ("none", "null"):
            out[key] = None
        elif low.isdigit():
            out[key] = int(low)
        else:
            out[key] = value
    return out


@functools.lru_cache(maxsize=16)
def filesystem(url: str, options: tuple[tuple[str, str], ...]) -> tuple[Any, str]:
    """The fsspec filesystem for ``url`` and the path inside it (cached per process)."""
    try:
        from fsspec.core import url_to_fs
    except ImportError as e:  # pragma: no cover - a core dependency
        raise ConfigError("object storage needs fsspec: pip install fsspec s3fs") from e
    try:
        return url_to_fs(url, **storage_options(options))
    except (ImportError, ValueError) as e:
        hint = "is the fsspec package for this protocol installed?"
        raise ConfigError(f"cannot open {url}: {e} ({hint})") from e


def read_object(
    url: str, options: tuple[tuple[str, str], ...], *, max_bytes: int
) -> tuple[bytes, int | None]:
    """An object's bytes (refused over ``max_bytes``) and its size."""
    fs, path = filesystem(url, options)
    try:
        size = fs.size(path)
        if size is not None and size > max_bytes:
            raise DocumentLoadError(f"{url}: {size} bytes is over the {max_bytes}-byte limit")
        return fs.cat_file(path), size
    except FileNotFoundError as e:
        raise DocumentLoadError(f"{url}: gone since it was listed") from e
    except PermissionError as e:
        raise DocumentLoadError(f"{url}: access denied ({e})") from e
    except OSError as e:  # connection reset, throttled, endpoint down: worth another try
        raise EngineError(f"{url}: {type(e).__name__}: {e}", retryable=True) from e


class ObjectStoreConnector:
    """Every object under a prefix whose key matches the patterns (hidden keys skipped)."""

    def __init__(self, spec: ConnectorSpec) -> None:
        self.spec = spec
        self.fs, self.root = filesystem(spec.source, spec.storage_options)
        self.root = self.root.rstrip("/")

    def _uri(self, path: str) -> str:
        return str(self.fs.unstrip_protocol(path))

    def list(self) -> Listing:
        self.fs.invalidate_cache()  # a long-lived process must see today's objects
        try:
            if self.fs.isfile(self.root):
                found = {self.root: self.fs.info(self.root)}
            else:
                found = self.fs.find(self.root, detail=True)
        except FileNotFoundError as e:
            raise ConfigError(f"no such bucket or prefix: {self.spec.source}") from e
        except OSError as e:
            raise EngineError(f"cannot list {self.spec.source}: {e}", retryable=True) from e
        refs: list[SourceRef] = []
        skipped: list[str] = []
        for path, info in sorted(found.items()):
            if info.get("type") == "directory":
                continue
            rel = path[len(self.root) :].lstrip("/") or path.rsplit("/", 1)[-1]
            if any(part.startswith(".") for part in rel.split("/")):
                continue
            rel_path = PurePosixPath(rel)
            if not matches_any(rel_path, self.spec.patterns) or matches_any(
                rel_path, self.spec.exclude
            ):
                skipped.append(self._uri(path))
                continue
            refs.append(
                SourceRef(
                    uri=self._uri(path),
                    fingerprint=_fingerprint(info),
                    size=info.get("size"),
                    metadata=SourceMetadata(collection=self.spec.collection),
                )
            )
        return Listing(refs, skipped, [])

    def fetch(self, ref: SourceRef) -> SourceDocument:
        data, _ = read_object(ref.uri, self.spec.storage_options, max_bytes=self.spec.max_bytes)
        return SourceDocument(uri=ref.uri, data=data, metadata=ref.metadata)

    def fingerprint(self, uri: str) -> str | None:
        """The object's version marker now (one metadata request, no download)."""
        fs, path = filesystem(uri, self.spec.storage_options)
        try:
            return _fingerprint(fs.info(path, refresh=True))
        except FileNotFoundError:
            return None
        except OSError as e:
            raise EngineError(f"{uri}: {type(e).__name__}: {e}", retryable=True) from e

    def prune_scope(self) -> str | None:
        return self._uri(self.root) + "/" if not self.fs.isfile(self.root) else self._uri(self.root)


def _fingerprint(info: dict[str, Any]) -> str | None:
    """The object's version marker: its ETag (S3, GCS), else size and modification time."""
    for key in ("ETag", "etag", "md5Hash", "content_md5"):
        if info.get(key):
            return f"{key}:{str(info[key]).strip(chr(34))}"
    modified = info.get("LastModified") or info.get("mtime") or info.get("last_modified")
    if modified is not None and info.get("size") is not None:
        return f"size-mtime:{info['size']}:{modified}"
    return None
