"""API keys: who may call the server, on which collections, to read or also to write.

Keys come from ``ARCHIVIST_API_KEYS`` (comma-separated; ``KEY:collA|collB`` scopes a key to
collections) and from a TOML keys file (``ARCHIVIST_API_KEYS_FILE``) that may hold only each key's
sha256, so the file is no secret::

    [[keys]]
    name = "open-webui"                 # shown in logs instead of the key
    sha256 = "9f86d08..."               # or: key = "..."
    collections = ["press"]             # optional: every collection when absent
    scopes = ["read"]                   # optional: ["read", "write"] when absent

A presented key is hashed and compared with every configured digest in constant time
(``hmac.compare_digest``, no early exit), so neither the key nor its position leaks by timing.
With no key configured the server is open, and then answers loopback clients only unless the
operator says ``--insecure``.

>>> ring = KeyRing.parse_env("0123456789abcdef:press|wire")
>>> sorted(ring.authenticate("0123456789abcdef").collections)
['press', 'wire']
>>> ring.authenticate("wrong-key-0000000") is None
True
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
import threading
import time
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from api.errors import ApiError
from api.settings import ApiSettings
from pipeline.errors import ConfigError
from pipeline.models import COLLECTION_PATTERN

SCOPES = frozenset({"read", "write"})
MIN_KEY_CHARS = 16
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_COLLECTION = re.compile(COLLECTION_PATTERN)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's name, the collections it may see (None: all), its scopes."""

    name: str
    collections: frozenset[str] | None = None
    scopes: frozenset[str] = SCOPES

    def can_see(self, collection: str) -> bool:
        return self.collections is None or collection in self.collections


ANONYMOUS = Principal(name="anonymous")


@dataclass(frozen=True)
class ApiKey:
    """One configured key, kept only as its sha256 digest."""

    digest: bytes
    principal: Principal


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def new_key() -> str:
    """A fresh random key (256 bits, URL-safe): what ``archivist api-key`` prints."""
    return "ak_" + secrets.token_urlsafe(32)


class KeyRing:
    """The configured keys. Empty means the server runs without authentication."""

    def __init__(self, keys: Iterable[ApiKey] = ()) -> None:
        self.keys = list(keys)
        seen: set[bytes] = set()
        for key in self.keys:
            if key.digest in seen:
                raise ConfigError(f"API key {key.principal.name!r} is configured twice")
            seen.add(key.digest)

    def __bool__(self) -> bool:
        return bool(self.keys)

    def __len__(self) -> int:
        return len(self.keys)

    def authenticate(self, presented: str) -> Principal | None:
        """The principal of ``presented``, or None. Compares against every key, always."""
        candidate = digest(presented)
        found: Principal | None = None
        for key in self.keys:
            if hmac.compare_digest(candidate, key.digest):
                found = key.principal
        return found

    @classmethod
    def parse_env(cls, value: str) -> KeyRing:
        """Keys from ``ARCHIVIST_API_KEYS``: ``KEY`` or ``KEY:coll1|coll2``, comma-separated."""
        keys = []
        for i, entry in enumerate(e.strip() for e in value.split(",")):
            if not entry:
                continue
            key, _, scope = entry.partition(":")
            _check_key(key.strip(), f"ARCHIVIST_API_KEYS entry {i + 1}")
            collections = _collections(scope.split("|"), f"entry {i + 1}") if scope else None
            name = "key-" + hashlib.sha256(key.strip().encode()).hexdigest()[:8]
            keys.append(ApiKey(digest(key.strip()), Principal(name, collections)))
        return cls(keys)

    @classmethod
    def parse_file(cls, path: Path) -> KeyRing:
        """Keys from a TOML file of ``[[keys]]`` tables (see the module docstring)."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ConfigError(f"cannot read API keys file {path}: {e}") from e
        entries = data.get("keys", [])
        if not isinstance(entries, list):
            raise ConfigError(f"{path}: 'keys' must be an array of tables ([[keys]])")
        return cls(_file_key(entry, i, path) for i, entry in enumerate(entries, start=1))

    @classmethod
    def from_settings(cls, settings: ApiSettings) -> KeyRing:
        """Every key of the env variable and of the keys file."""
        keys = cls.parse_env(settings.api_keys).keys
        if settings.api_keys_file:
            keys += cls.parse_file(settings.api_keys_file).keys
        return cls(keys)


def _file_key(entry: object, i: int, path: Path) -> ApiKey:
    where = f"{path}, key {i}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a table")
    unknown = set(entry) - {"name", "key", "sha256", "collections", "scopes"}
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    if ("key" in entry) == ("sha256" in entry):
        raise ConfigError(f"{where}: give exactly one of 'key' and 'sha256'")
    if "key" in entry:
        _check_key(str(entry["key"]), where)
        key_digest = digest(str(entry["key"]))
    else:
        hex_digest = str(entry["sha256"]).lower()
        if not _HEX64.match(hex_digest):
            raise ConfigError(f"{where}: sha256 must be 64 hex digits")
        key_digest = bytes.fromhex(hex_digest)
    name = str(entry.get("name") or f"key-{key_digest.hex()[:8]}")
    collections = entry.get("collections")
    scopes = frozenset(entry.get("scopes", SCOPES))
    if not scopes or not scopes <= SCOPES:
        raise ConfigError(f"{where}: scopes must be a non-empty subset of {sorted(SCOPES)}")
    allowed = _collections(collections, where) if collections is not None else None
    return ApiKey(key_digest, Principal(name, allowed, scopes))


def _check_key(key: str, where: str) -> None:
    if len(key) < MIN_KEY_CHARS:
        raise ConfigError(
            f"{where}: API keys need at least {MIN_KEY_CHARS} characters "
            "(`archivist api-key` makes a good one)"
        )


def _collections(names: Iterable[str], where: str) -> frozenset[str]:
    cleaned = frozenset(n.strip() for n in names if n.strip())
    bad = [n for n in cleaned if not _COLLECTION.match(n)]
    if not cleaned or bad:
        raise ConfigError(f"{where}: bad collection list {sorted(bad) or '(empty)'}")
    return cleaned


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``: addresses no other machine can reach."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, keys: KeyRing, *, insecure: bool) -> None:
    """Refuse to listen beyond loopback with no key configured, unless told ``insecure``."""
    if keys or insecure or is_loopback(host):
        return
    raise ConfigError(
        f"refusing to serve on {host} without API keys: anyone who can reach it could read "
        "and change the archive. Set ARCHIVIST_API_KEYS or --keys-file, or pass --insecure "
        "if a gateway in front of it authenticates callers."
    )


PUBLIC_PATHS = frozenset(
    {"/", "/healthz", "/readyz", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}
)
# The web page's scripts and styles and the API docs' (no data: the page asks for a key).
PUBLIC_PREFIXES = ("/ui/", "/docs-assets/")
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="archivist"'}


class Gate:
    """Who may come in: run by the middleware before a request body is read.

    Authentication comes first, so a caller without a valid key gets 401 whatever its body holds
    (never a 422 that parsed it, never a 413 that counted it). Then the per-key rate limit.
    Scopes (read, write) and collections are checked by the routes' dependencies.
    """

    def __init__(self, keys: KeyRing, *, insecure: bool = False, rate_per_minute: int = 0) -> None:
        self.keys = keys
        self.insecure = insecure
        self.limiter = RateLimiter(rate_per_minute) if rate_per_minute > 0 else None

    def admit(self, path: str, authorization: str | None, client: str | None) -> Principal | None:
        """The caller's principal (None on a public path); raises ``ApiError`` 401/403/429."""
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            return None
        principal = self._identify(authorization, client)
        if self.limiter is not None:
            self.limiter.take(principal.name)
        return principal

    def _identify(self, authorization: str | None, client: str | None) -> Principal:
        if not self.keys:
            if not self.insecure and not is_loopback(client):
                raise ApiError(
                    403, "this server has no API keys configured and only answers loopback clients"
                )
            return ANONYMOUS
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(
                401, "missing API key: send 'Authorization: Bearer KEY'", headers=_CHALLENGE
            )
        found = self.keys.authenticate(token.strip())
        if found is None:
            raise ApiError(401, "invalid API key", headers=_CHALLENGE)
        return found


class RateLimiter:
    """A token bucket per key: ``per_minute`` requests a minute, in bursts of up to that many."""

    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, name: str) -> None:
        """Spend one token of ``name``'s bucket, or raise a 429 saying when to come back."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(name, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[name] = (tokens, now)
                wait = max(1, int((1.0 - tokens) / self.rate + 0.999))
                raise ApiError(
                    429,
                    f"rate limit of {int(self.capacity)} requests a minute reached for this key",
                    headers={"Retry-After": str(wait)},
                )
            self._buckets[name] = (tokens - 1.0, now)
