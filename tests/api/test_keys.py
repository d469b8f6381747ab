"""API keys from the environment and the keys file; the rule for binding beyond loopback."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from api.auth import KeyRing, check_bind, is_loopback
from pipeline.errors import ConfigError
from tests.api.conftest import ADMIN_KEY


def test_env_keys_parse_with_scopes() -> None:
    ring = KeyRing.parse_env(" key-one-0123456789 , key-two-0123456789:press|wire ,")
    assert len(ring) == 2
    one, two = ring.authenticate("key-one-0123456789"), ring.authenticate("key-two-0123456789")
    assert one is not None and one.collections is None and one.scopes == {"read", "write"}
    assert two is not None and two.collections == {"press", "wire"}
    assert one.name != two.name and ADMIN_KEY not in one.name  # names never hold the key
    assert ring.authenticate("key-one-012345678") is None


@pytest.mark.parametrize(
    "value, message",
    [
        ("short", "at least 16 characters"),
        ("key-one-0123456789,key-one-0123456789", "configured twice"),
        ("key-one-0123456789:bad name!", "bad collection"),
    ],
)
def test_bad_env_keys_are_refused(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        KeyRing.parse_env(value)


def test_keys_file(tmp_path: Path) -> None:
    digest = hashlib.sha256(b"from-file-0123456789").hexdigest()
    path = tmp_path / "keys.toml"
    path.write_text(
        f'[[keys]]\nname = "ui"\nsha256 = "{digest}"\nscopes = ["read"]\n'
        '[[keys]]\nkey = "plain-key-0123456789"\ncollections = ["a", "b"]\n',
        encoding="utf-8",
    )
    ring = KeyRing.parse_file(path)
    ui = ring.authenticate("from-file-0123456789")
    assert ui is not None and ui.name == "ui" and ui.scopes == {"read"}
    plain = ring.authenticate("plain-key-0123456789")
    assert plain is not None and plain.collections == {"a", "b"}
    path.write_text('[[keys]]\nname = "x"\nscopes = ["admin"]\nkey = "k-0123456789abcdef"\n')
    with pytest.raises(ConfigError, match="scopes"):
        KeyRing.parse_file(path)
    path.write_text('[[keys]]\nname = "x"\n')
    with pytest.raises(ConfigError, match="exactly one of 'key' and 'sha256'"):
        KeyRing.parse_file(path)


def test_bind_needs_keys_beyond_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4") and not is_loopback("")
    check_bind("127.0.0.1", KeyRing(), insecure=False)
    check_bind("0.0.0.0", KeyRing.parse_env("key-one-0123456789"), insecure=False)
    check_bind("0.0.0.0", KeyRing(), insecure=True)
    with pytest.raises(ConfigError, match="--insecure"):
        check_bind("0.0.0.0", KeyRing(), insecure=False)
