"""Settings: one tree of stage options from the environment, archivist.toml and flags."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal, get_args, get_origin

import pytest
from pydantic.fields import FieldInfo

from pipeline.models import ConvertOptions, VlmOptions
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


def test_tree_names_mirror_the_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVIST_CONVERT__VLM__BASE_URL", "http://gpu:8000/v1")
    monkeypatch.setenv("ARCHIVIST_CONVERT__OCR_PRECISION", "int8")
    monkeypatch.setenv("ARCHIVIST_ANSWER__LLM__RETRIEVE_K", "40")
    monkeypatch.setenv("ARCHIVIST_RETRIEVE__FUSION", "rrf")
    monkeypatch.setenv("ARCHIVIST_STORE__FTS_LANGUAGES", '["French"]')
    settings = Settings()
    assert settings.convert.vlm is not None
    assert settings.convert.vlm.base_url == "http://gpu:8000/v1"
    assert settings.convert.ocr_precision == "int8"
    assert settings.answer.llm.retrieve_k == 40
    assert settings.retrieve.fusion == "rrf"
    assert settings.store.fts_languages == ("French",)


def test_documented_flat_names_are_aliases_and_the_tree_name_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ARCHIVIST_OCR_ENGINE", "tesseract")
    monkeypatch.setenv("ARCHIVIST_VLM_MODEL", "flat-model")
    monkeypatch.setenv("ARCHIVIST_CONVERT__VLM__MODEL", "tree-model")
    monkeypatch.setenv("ARCHIVIST_EMBEDDER", "minilm")
    monkeypatch.setenv("ARCHIVIST_SEARCH_K", "5")
    monkeypatch.setenv("ARCHIVIST_API_KEYS", "belongs-to-the-api-settings")
    settings = Settings()
    assert settings.convert.engine == "tesseract"
    assert settings.convert.vlm is not None and settings.convert.vlm.model == "tree-model"
    assert (settings.embed.kind, settings.retrieve.k) == ("minilm", 5)
    assert Settings(ocr_engine="vlm").convert.engine == "vlm"  # explicit values win over env


def test_toml_takes_flat_names_and_tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "archivist.toml").write_text(
        'ocr_engine = "vlm"\nvlm_base_url = "http://flat/v1"\n'
        '[convert.vlm]\nmodel = "from-table"\nconcurrency = 2\n'
        "[answer.llm]\ncontext_window = 8192\n"
    )
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.convert.engine == "vlm" and settings.convert.vlm is not None
    vlm = settings.convert.vlm
    assert (vlm.base_url, vlm.model, vlm.concurrency) == ("http://flat/v1", "from-table", 2)
    assert settings.answer.llm.context_window == 8192


def test_invalid_values_fail_when_settings_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    monkeypatch.setenv("ARCHIVIST_OCR_DPI", "5000")
    with pytest.raises(ValidationError, match=r"convert\.dpi"):
        Settings()


def _another_value(field: FieldInfo) -> object | None:
    """A valid value different from ``field``'s default, for simple field types."""
    default, annotation = field.default, field.annotation
    if get_origin(annotation) is Literal:
        return next(v for v in get_args(annotation) if v != default)
    if annotation is bool:
        return not default
    if annotation is int:
        return default + 1
    if annotation is float:
        return default / 2
    if annotation is str:
        return f"{default}-other"
    if annotation == tuple[str, ...]:
        return [*default, "de"]
    if annotation == str | None:
        return "/some/where"
    return None


def test_every_convert_option_reaches_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """A field added to ConvertOptions (or VlmOptions) is settable with no code in settings."""
    checked = []
    for model, prefix, read in (
        (ConvertOptions, "ARCHIVIST_CONVERT__", lambda s: s.convert),
        (VlmOptions, "ARCHIVIST_CONVERT__VLM__", lambda s: s.convert.vlm),
    ):
        for name, field in model.model_fields.items():
            value = _another_value(field)
            if value is None:
                continue
            raw = json.dumps(value) if isinstance(value, list) else str(value)
            with monkeypatch.context() as env:
                env.setenv(prefix + name.upper(), raw)
                got = getattr(read(Settings()), name)
            assert got == (tuple(value) if isinstance(value, list) else value), name
            checked.append(name)
    assert {"dpi", "engine", "ocr_languages", "base_url", "concurrency"} <= set(checked)


def test_ocr_engine_and_model_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The OCR engine and the fast engine's model reach every entry point through the settings
    (CLI, flows and the API all read ``settings.convert``)."""
    assert (Settings().convert.engine, Settings().convert.ocr_model) == ("routed", "tiny")
    monkeypatch.setenv("ARCHIVIST_OCR_ENGINE", "fast")
    monkeypatch.setenv("ARCHIVIST_OCR_MODEL", "small")
    assert (Settings().convert.engine, Settings().convert.ocr_model) == ("fast", "small")
    monkeypatch.setenv("ARCHIVIST_CONVERT__OCR_MODEL", "tiny")  # the tree name wins
    assert Settings().convert.ocr_model == "tiny"


def test_the_vision_model_reaches_the_stage_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """``ARCHIVIST_OCR_ENGINE=vlm`` with ``ARCHIVIST_VLM_BASE_URL`` reaches ``options().convert``,
    which ingest, the flows, the watcher and the API all build their archive from."""
    monkeypatch.setenv("ARCHIVIST_OCR_ENGINE", "vlm")
    monkeypatch.setenv("ARCHIVIST_VLM_BASE_URL", "http://gpu:8000/v1")
    convert = Settings(db="/tmp/x").options().convert
    assert convert.engine == "vlm" and convert.vlm is not None
    assert convert.vlm.base_url == "http://gpu:8000/v1"
