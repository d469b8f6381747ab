"""Request and response shapes of the REST API (the OpenAI facade's are in ``api.openai_schemas``).

Requests forbid unknown fields, so a typo (``"qestion"``) is a 422 naming the field rather than a
silently ignored option. Core models (``Citation``, ``StageError``) are reused as they are: the API
shows what the pipeline produced.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.page_images import citation_page, page_image_url
from pipeline.models import (
    COLLECTION_PATTERN,
    Answer,
    Citation,
    DateRange,
    DocumentRecord,
    DocumentStatus,
    Hit,
    IngestAction,
    PageRegion,
    SearchFilters,
    StageError,
    Variant,
)

MAX_QUESTION_CHARS = 2000
MAX_K = 100
# A page of the document list starts at most this far in (past it LanceDB's offset overflows).
MAX_OFFSET = 1_000_000_000


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FiltersIn(_Request):
    """Metadata filters; every one given must hold. Dates are ISO (``1998-06-30``), inclusive."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}$", examples=["fr"])
    collection: str | None = Field(default=None, pattern=COLLECTION_PATTERN)
    source: str | None = Field(default=None, min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _ordered(self) -> FiltersIn:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError(f"date_from ({self.date_from}) is after date_to ({self.date_to})")
        return self

    def to_core(self) -> SearchFilters:
        return SearchFilters(**self.model_dump())


def _not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


class SearchRequest(_Request):
    """``POST /v1/search``: hybrid (or one ranker's) retrieval of the best passages."""

    query: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS, examples=["grève des dockers"])
    k: int | None = Field(default=None, ge=1, le=MAX_K, description="passages to return")
    filters: FiltersIn | None = None
    mode: Literal["hybrid", "fts", "vector"] = "hybrid"
    all_variants: bool = Field(
        default=False,
        description="every version of a story as its own hit; by default one hit per story, "
        "its other versions in `variants`",
    )

    _query = field_validator("query")(_not_blank)


class AskRequest(_Request):
    """``POST /v1/ask``: a question answered from the archive, with citations."""

    question: str = Field(
        min_length=1,
        max_length=MAX_QUESTION_CHARS,
        examples=["Quelle température record a été relevée à Lorvennes en 2003 ?"],
    )
    k: int | None = Field(default=None, ge=1, le=MAX_K, description="passages to read")
    filters: FiltersIn | None = None
    backend: str | None = Field(
        default=None, description="offline (built-in) or openai; the server's default if absent"
    )
    stream: bool = Field(default=False, description="answer as server-sent events")

    _question = field_validator("question")(_not_blank)


class HitOut(BaseModel):
    """A retrieved passage and where it comes from."""

    chunk_id: str
    doc_id: str
    title: str | None
    source: str
    page_start: int | None
    page_end: int | None
    heading_path: list[str]
    date: dt.date | None
    language: str | None
    collection: str
    score: float
    fts_rank: int | None
    vector_rank: int | None
    text: str
    variants: list[Variant] = Field(
        default_factory=list, description="the other versions of this hit's story"
    )

    @classmethod
    def of(cls, hit: Hit) -> HitOut:
        fields = set(cls.model_fields) - {"score", "fts_rank", "vector_rank", "variants"}
        return cls(
            **hit.chunk.model_dump(include=fields),
            score=hit.score,
            fts_rank=hit.fts_rank,
            vector_rank=hit.vector_rank,
            variants=hit.variants,
        )


class SearchResponse(BaseModel):
    hits: list[HitOut]


class CitationOut(Citation):
    """A citation as the API shows it: the core's, plus the URL of its page as an image."""

    page_image: str | None = Field(
        default=None,
        description="the cited page as PNG (GET, same API key): the PDF page rendered, or a "
        "text view of a Markdown/text source; `regions` are boxes in its points "
        "(X-Page-Width/X-Page-Height)",
    )

    @classmethod
    def of(cls, citation: Citation, *, base_url: str = "") -> CitationOut:
        url = page_image_url(citation.doc_id, citation_page(citation), base_url=base_url)
        return cls(**citation.model_dump(), page_image=url)

    @classmethod
    def all(cls, citations: list[Citation], *, base_url: str = "") -> list[CitationOut]:
        return [cls.of(c, base_url=base_url) for c in citations]


# Citation's own fields name PageRegion, defined after it in pipeline.models: say where it is.
CitationOut.model_rebuild(_types_namespace={"PageRegion": PageRegion})


class AskResponse(BaseModel):
    """The answer text carries ``[n]`` marks; ``citations[n-1]`` says what each points to."""

    answer: str
    backend: str
    found: bool
    short: str | None = Field(
        default=None, description="the short answer the text opens with (offline answerer)"
    )
    citations: list[CitationOut]
    flagged: list[str] = Field(default_factory=list)
    date_filter: DateRange | None = Field(
        default=None, description="the dates the evidence was limited to (from the question)"
    )
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    @classmethod
    def of(cls, answer: Answer, *, base_url: str = "") -> AskResponse:
        """``base_url``: the server's root, which the citations' ``page_image`` URLs start with."""
        return cls(
            answer=answer.text,
            backend=answer.backend,
            found=answer.found,
            short=answer.short,
            citations=CitationOut.all(answer.citations, base_url=base_url),
            flagged=answer.flagged,
            date_filter=answer.date_filter,
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=answer.completion_tokens,
        )


class DocumentOut(BaseModel):
    """A document's metadata and how its ingestion went (no text)."""

    doc_id: str
    uri: str
    title: str | None
    date: dt.date | None
    language: str | None
    collection: str
    source: str | None
    media_type: str | None
    pages: int
    chunks: int
    status: DocumentStatus
    errors: list[StageError]
    page_methods: list[str]
    converter: str
    embedder: str
    ingested_at: dt.datetime | None
    cluster_id: str | None = Field(
        default=None, description="the story this document is a version of (shared by them all)"
    )

    @classmethod
    def of(cls, record: DocumentRecord) -> DocumentOut:
        return cls(**record.model_dump(exclude={"markdown"}))


class DocumentDetail(DocumentOut):
    """A document with its full Markdown (``<!-- page N -->`` anchors mark the pages) and the
    other versions of its story, oldest first."""

    markdown: str
    variants: list[DocumentOut] = Field(default_factory=list)

    @classmethod
    def of(
        cls, record: DocumentRecord, variants: list[DocumentRecord] | None = None
    ) -> DocumentDetail:
        return cls(**record.model_dump(), variants=[DocumentOut.of(v) for v in variants or []])


class DocumentPage(BaseModel):
    """One page of the document list; ``next_offset`` is None on the last page."""

    items: list[DocumentOut]
    total: int
    limit: int
    offset: int
    next_offset: int | None


class DeleteResponse(BaseModel):
    deleted: str
    chunks: int


class IngestFileResult(BaseModel):
    """What became of one uploaded file."""

    filename: str
    stored_as: str | None
    doc_id: str | None
    action: IngestAction
    status: DocumentStatus
    pages: int
    chunks: int
    errors: list[StageError]


class IngestResponse(BaseModel):
    collection: str
    files: list[IngestFileResult]
    counts: dict[str, int] = Field(description="files per action (added, replaced, failed...)")


class Health(BaseModel):
    status: Literal["ok", "ready", "unavailable"]
    detail: str | None = None
