"""Settings: environment and archivist.toml reach the stage options."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.settings import Settings


def test_env_and_toml_reach_stage_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "archivist.toml").write_text('db = "from-toml"\nocr = "never"\nocr_dpi = 200\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ARCHIVIST_DB", "from-env")
    monkeypatch.setenv("ARCHIVIST_LLM_CONTEXT_WINDOW", "32768")
    opts = Settings().options()
    assert opts.store.uri == "from-env"  # the environment wins over the file
    assert (opts.convert.ocr, opts.convert.dpi) == ("never", 200)
    assert opts.answer.llm.context_window == 32768
    assert Settings(db="flag").options().store.uri == "flag"  # flags win over both


def test_storage_settings_reach_store_options_and_stay_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "archivist.toml").write_text(
        'db = "s3://bucket/index"\nstorage_allow_http = true\n'
        'storage_endpoint = "http://minio:9000"\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ARCHIVIST_STORAGE_SECRET_ACCESS_KEY", "s3cr3t-value")
    monkeypatch.setenv("ARCHIVIST_STORAGE_OPTIONS", '{"timeout": "60s", "aws_region": "eu"}')
    monkeypatch.setenv("ARCHIVIST_STORAGE_REGION", "us-east-1")
    monkeypatch.setenv("ARCHIVIST_DB_API_KEY", "ldb_key")
    store = Settings().options().store
    plain = {k: v.get_secret_value() for k, v in store.storage_options.items()}
    assert plain == {
        "timeout": "60s",
        "aws_region": "us-east-1",  # the named setting wins over the JSON
        "aws_endpoint": "http://minio:9000",
        "aws_secret_access_key": "s3cr3t-value",
        "allow_http": "true",
    }
    assert store.api_key is not None and store.api_key.get_secret_value() == "ldb_key"
    shown = repr(store) + store.model_dump_json() + repr(Settings())
    assert "s3cr3t-value" not in shown and "ldb_key" not in shown
