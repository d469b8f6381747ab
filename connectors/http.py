"""HTTP(S) documents: a list of URLs, fetched with a size limit, a timeout and an address check.

A URL list is one URL per line (``#`` starts a comment), or a single ``http(s)://`` URL given as
the source. Fetching is careful because a URL list (or a press feed) is input from elsewhere:

- only the allowed schemes (``https``, ``http``) are fetched: ``file://``, ``ftp://`` … are refused;
- the host is resolved **once per connection** and the socket connects to the address that was
  checked (``ssrfguard``: the address is pinned, TLS is still verified against the host name),
  so a DNS answer that changes between the check and the connection (DNS rebinding) cannot
  reach another address. Loopback, private, link-local, cloud-metadata and other non-public
  addresses are refused, at every redirect too, unless ``allow_private`` (for an intranet, or a
  test server on 127.0.0.1); encoded hosts (``2130706433``, ``0177.0.0.1``) are refused always;
- proxies from the environment are not used for these fetches (a proxy resolves names itself,
  so the pin could not hold);
- bodies larger than ``max_bytes`` are cut off and refused (``Content-Length`` is checked first);
- timeouts, connection errors, 429 and 5xx are ``EngineError(retryable=True)`` (the flow's task
  retries them); 4xx and refusals are ``DocumentLoadError`` (the document fails with its reason).

>>> try:
...     check_url("file:///etc/passwd")
... except DocumentLoadError as e:
...     print(e)
refused file:///etc/passwd: scheme 'file' is not allowed (allowed: https, http)
"""

from __future__ import annotations

import functools
import ipaddress
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urljoin, urlsplit

from connectors.base import ConnectorSpec, Listing, Problem, SourceRef
from pipeline.errors import DocumentLoadError, EngineError
from pipeline.models import SourceDocument, SourceMetadata

if TYPE_CHECKING:
    from ssrfguard import Policy

ALLOWED_SCHEMES = ("https", "http")
MAX_REDIRECTS = 5
USER_AGENT = "archivist (document ingestion)"
_EVERY_PORT = frozenset(range(1, 65536))  # the address is what is guarded, not the port
_EVERYWHERE = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))


class Fetched(NamedTuple):
    data: bytes
    media_type: str | None
    url: str


def check_url(url: str, *, schemes: tuple[str, ...] = ALLOWED_SCHEMES) -> None:
    """Refuse (``DocumentLoadError``) a URL with another scheme, or without a host. Addresses
    are checked when connecting (``fetch_url``), where they cannot change any more."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        allowed = ", ".join(schemes)
        raise DocumentLoadError(
            f"refused {url}: scheme {scheme!r} is not allowed (allowed: {allowed})"
        )
    if not parts.hostname:
        raise DocumentLoadError(f"refused {url}: no host")


@functools.lru_cache(maxsize=2)
def _policy(allow_private: bool) -> Policy:
    """What a fetch may reach: public addresses on any port, or every address when allowed."""
    from ssrfguard import Policy

    networks = _EVERYWHERE if allow_private else ()
    return Policy(allowed_ports=_EVERY_PORT, allowed_networks=networks, max_redirects=MAX_REDIRECTS)


def fetch_url(
    url: str,
    *,
    max_bytes: int,
    timeout_s: float,
    allow_private: bool = False,
    schemes: tuple[str, ...] = ALLOWED_SCHEMES,
) -> Fetched:
    """GET ``url`` with the checks above, following at most ``MAX_REDIRECTS`` redirects."""
    import httpx
    from ssrfguard import SSRFGuardError
    from ssrfguard.httpx import Client

    timeout = httpx.Timeout(timeout_s)
    headers = {"User-Agent": USER_AGENT}
    client = Client(
        policy=_policy(allow_private),
        timeout=timeout,
        headers=headers,
        follow_redirects=False,
        trust_env=False,
    )
    with client:
        for _ in range(MAX_REDIRECTS + 1):
            check_url(url, schemes=schemes)
            try:
                with client.stream("GET", url) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    _check_status(url, response.status_code)
                    data = _read_limited(url, response, max_bytes)
                    media_type = response.headers.get("content-type")
                    return Fetched(data, media_type, url)
            except SSRFGuardError as e:
                raise DocumentLoadError(
                    f"refused {url}: non-public address or host ({e}); "
                    "allow private addresses explicitly to fetch from an intranet"
                ) from e
            except httpx.TimeoutException as e:
                raise EngineError(f"{url}: timed out after {timeout_s:g}s", retryable=True) from e
            except httpx.TransportError as e:
                raise EngineError(f"{url}: {type(e).__name__}: {e}", retryable=True) from e
    raise DocumentLoadError(f"{url}: more than {MAX_REDIRECTS} redirects")


def _check_status(url: str, status: int) -> None:
    if status == 429 or status >= 500:
        raise EngineError(f"{url}: HTTP {status}", retryable=True)
    if status >= 400:
        raise DocumentLoadError(f"{url}: HTTP {status}")


def _read_limited(url: str, response: object, max_bytes: int) -> bytes:
    import httpx

    assert isinstance(response, httpx.Response)
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise DocumentLoadError(f"{url}: {int(declared)} bytes is over the {max_bytes}-byte limit")
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > max_bytes:
            raise DocumentLoadError(f"{url}: body is over the {max_bytes}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def read_url_list(path: Path) -> tuple[list[str], list[Problem]]:
    """URLs from a text file, one a line (blank and ``#`` lines ignored); first seen wins."""
    urls: dict[str, None] = {}
    problems: list[Problem] = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "://" not in line:
            problems.append(Problem(f"{path}:{n}", f"not a URL: {line!r}"))
            continue
        urls.setdefault(line, None)
    return list(urls), problems


class UrlListConnector:
    """Documents at HTTP(S) URLs: ``source`` is one URL or a file listing them."""

    def __init__(self, spec: ConnectorSpec) -> None:
        self.spec = spec

    def list(self) -> Listing:
        source = self.spec.source
        problems: list[Problem] = []
        if source.lower().startswith(("http://", "https://")):
            urls = [source]
        else:
            urls, problems = read_url_list(Path(source).expanduser())
        refs: list[SourceRef] = []
        meta = SourceMetadata(collection=self.spec.collection)
        for url in urls:
            scheme = urlsplit(url).scheme.lower()
            if scheme not in ALLOWED_SCHEMES:
                problems.append(Problem(url, f"scheme {scheme!r} is not allowed"))
                continue
            refs.append(SourceRef(uri=url, metadata=meta))
        return Listing(refs, [], problems)

    def fetch(self, ref: SourceRef) -> SourceDocument:
        got = fetch_url(
            ref.uri,
            max_bytes=self.spec.max_bytes,
            timeout_s=self.spec.timeout_s,
            allow_private=self.spec.allow_private,
        )
        return SourceDocument(
            uri=ref.uri, data=got.data, media_type=_media_type(got), metadata=ref.metadata
        )

    def prune_scope(self) -> str | None:
        return None


def _media_type(got: Fetched) -> str | None:
    """The server's type when it says something useful (not the generic octet-stream)."""
    if not got.media_type:
        return None
    kind = got.media_type.split(";", 1)[0].strip().lower()
    return None if kind in ("application/octet-stream", "binary/octet-stream") else kind
