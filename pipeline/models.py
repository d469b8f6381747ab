"""The typed models every stage passes to the next (DESIGN.md, "Core models").

Stages never hand each other ``dict[str, Any]``: a document travels as ``SourceDocument`` →
``ParsedDocument`` → ``list[Chunk]`` → stored rows → ``Hit`` → ``Answer``. Options for each stage
live here too, so that one ingest run can be recorded with exactly the options it used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

DocumentStatus = Literal["ok", "partial", "failed"]
PageMethod = Literal["text", "ocr", "vlm", "none"]
PageStatus = Literal["ok", "needs_ocr", "empty", "failed"]
IngestAction = Literal["added", "replaced", "unchanged", "duplicate", "failed"]

DEFAULT_COLLECTION = "default"
# A collection name: letters, digits, "_", "." and "-", starting with a letter, digit or "_"
# (never ".", "..", a dot file or an option-like "-x"), at most 100 characters.
COLLECTION_PATTERN = r"^\w[\w.-]{0,99}$"
_COLLECTION = re.compile(COLLECTION_PATTERN)


def check_collection(name: str) -> str:
    """``name`` if it is a valid collection name, else ``ValueError`` saying what is allowed.

    >>> check_collection("press-1987")
    'press-1987'
    >>> check_collection("..")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: invalid collection name '..': ...
    """
    if not _COLLECTION.fullmatch(name):
        raise ValueError(
            f"invalid collection name {name!r}: use letters, digits, '_', '.' and '-', "
            "starting with a letter, digit or '_' (at most 100)"
        )
    return name


def document_id(content_sha256: str, collection: str) -> str:
    """The one id rule: a document is its bytes within its collection.

    In the default collection the id is the bytes' sha256 (indexes made before collections
    scoped ids keep theirs); in another it is the sha256 of the collection's name and that
    hash, so the same bytes in two collections are two documents: an upload into one never
    answers "duplicate" with the other's id, and is searchable for its own collection.

    >>> document_id("ab" * 32, "default") == "ab" * 32
    True
    """
    if collection == DEFAULT_COLLECTION:
        return content_sha256
    return hashlib.sha256(f"{collection}\0{content_sha256}".encode()).hexdigest()


class SourceMetadata(BaseModel):
    """What the source says about a document, before conversion looks inside it."""

    title: str | None = None
    date: dt.date | None = None
    language: str | None = None
    source: str | None = None
    collection: str = DEFAULT_COLLECTION

    @field_validator("collection")
    @classmethod
    def _valid_collection(cls, value: str) -> str:
        return check_collection(value)

    def merged(self, other: SourceMetadata) -> SourceMetadata:
        """Fill the fields this one lacks from ``other`` (this one wins where both are set)."""
        data = other.model_dump(exclude_none=True)
        data.update(self.model_dump(exclude_none=True))
        if self.collection == DEFAULT_COLLECTION:
            data["collection"] = other.collection
        return SourceMetadata(**data)


class SourceDocument(BaseModel):
    """One document as a connector hands it over: where it came from and its bytes (or path).

    ``doc_id`` follows ``document_id``: the same bytes in one collection are one document
    wherever they lie.

    >>> SourceDocument(uri="mem://a.txt", data=b"hello").doc_id[:12]
    '2cf24dba5fb0'
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    uri: str
    path: Path | None = None
    data: bytes | None = None
    media_type: str | None = None
    metadata: SourceMetadata = Field(default_factory=SourceMetadata)

    @model_validator(mode="after")
    def _needs_content(self) -> SourceDocument:
        if self.path is None and self.data is None:
            raise ValueError("a SourceDocument needs a path or data")
        return self

    @property
    def name(self) -> str:
        """The file name part of the uri (``report.pdf``)."""
        return self.uri.rstrip("/").rsplit("/", 1)[-1]

    def read_bytes(self) -> bytes:
        """The document's bytes, read once and kept."""
        if self.data is None:
            assert self.path is not None
            self.data = self.path.read_bytes()
        return self.data

    @property
    def content_sha256(self) -> str:
        """The sha256 of the bytes alone."""
        return hashlib.sha256(self.read_bytes()).hexdigest()

    @property
    def doc_id(self) -> str:
        return document_id(self.content_sha256, self.metadata.collection)


class Box(BaseModel):
    """A region of a page in PDF points, origin top-left (PyMuPDF's convention)."""

    x0: float
    y0: float
    x1: float
    y1: float


class StageError(BaseModel):
    """An error recorded against a document: which stage, which page (1-based) if any, and why;
    ``errno`` is the operating system's code when the storage refused (a full disk)."""

    stage: str
    message: str
    page: int | None = None
    errno: int | None = None

    def __str__(self) -> str:
        where = f"{self.stage}, page {self.page}" if self.page else self.stage
        return f"{where}: {self.message}"


class PageResult(BaseModel):
    """One converted page. ``page`` is 1-based; ``method`` says how its text was obtained."""

    page: int
    markdown: str = ""
    method: PageMethod = "text"
    status: PageStatus = "ok"
    reason: str | None = None
    rotation: int = 0
    confidence: float | None = None
    width: float | None = None
    height: float | None = None
    boxes: list[Box] = Field(default_factory=list)
    # Layout blocks in reading order (text, kind, box): the provenance of the page's Markdown.
    blocks: list[PageBlock] = Field(default_factory=list)
    # What was taken out as running header, footer or page number, with where and why: nothing
    # is dropped silently, and the index keeps this text searchable.
    furniture: list[FurnitureLine] = Field(default_factory=list)
    # The layout model's regions (title, text, table, picture, caption, page-header...), if it ran.
    layout: list[LayoutRegion] = Field(default_factory=list)


class ParsedDocument(BaseModel):
    """A converted document: Markdown with ``<!-- page N -->`` anchors plus per-page results."""

    doc_id: str
    uri: str
    metadata: SourceMetadata
    media_type: str
    pages: list[PageResult] = Field(default_factory=list)
    markdown: str = ""
    status: DocumentStatus = "ok"
    errors: list[StageError] = Field(default_factory=list)
    converter: str = ""


class Chunk(BaseModel):
    """A retrievable span of a document, with where it sits (heading path, pages)."""

    chunk_id: str
    doc_id: str
    ordinal: int
    text: str
    heading_path: list[str] = Field(default_factory=list)
    page_start: int | None = None
    page_end: int | None = None
    title: str | None = None
    source: str = ""
    date: dt.date | None = None
    language: str | None = None
    collection: str = DEFAULT_COLLECTION
    # Where on the pages the chunk's text lies (filled when the converter recorded blocks).
    regions: list[PageRegion] = Field(default_factory=list)
    # Page (and line box, when known) of every stretch of ``text``: a quote's own pages.
    spans: list[TextSpan] = Field(default_factory=list)
    # Running headers and footers of the chunk's pages: searchable, never shown as its text.
    furniture: str = ""

    @staticmethod
    def make_id(doc_id: str, ordinal: int) -> str:
        """Deterministic id: the same document chunked the same way gives the same ids."""
        return f"{doc_id[:32]}-{ordinal:05d}"


class Variant(BaseModel):
    """Another version of a hit's document (an urgent, an earlier lead, a translation...),
    grouped with it at ingest (``VariantOptions``)."""

    doc_id: str
    title: str | None = None
    date: dt.date | None = None
    language: str | None = None
    uri: str = ""


class Hit(BaseModel):
    """A chunk returned by retrieval, with the fused score and each ranker's rank (1-based).

    With variants grouped (``RetrieveOptions.group_variants``), the hit stands for its story:
    ``variants`` lists the other versions in the index, none of which is another hit.
    """

    chunk: Chunk
    score: float
    fts_rank: int | None = None
    vector_rank: int | None = None
    vector_distance: float | None = None
    variants: list[Variant] = Field(default_factory=list)


class Citation(BaseModel):
    """What an ``[n]`` mark in an answer points to."""

    n: int
    doc_id: str
    title: str | None
    source: str
    page_start: int | None
    page_end: int | None
    chunk_id: str
    quote: str
    regions: list[PageRegion] = Field(
        default_factory=list, description="boxes of the cited text on its pages, when known"
    )


class DateRange(BaseModel):
    """A span of dates, either end open, and the words it was read from.

    ``origin`` says where it came from: the question's own words (``"question"``, e.g. "entre 1983
    et 1990") or the caller's explicit filters (``"filters"``).
    """

    model_config = ConfigDict(frozen=True)

    start: dt.date | None = None
    end: dt.date | None = None
    text: str = ""
    origin: Literal["question", "filters"] = "question"

    @property
    def label(self) -> str:
        """``1983-01-01..1990-12-31``; an open end is left empty (``1990-01-01..``)."""
        start = self.start.isoformat() if self.start else ""
        end = self.end.isoformat() if self.end else ""
        return f"{start}..{end}"


class ContextReport(BaseModel):
    """How an LLM answer's evidence was packed: what a reader needs to trust (or tune) it."""

    strategy: Literal["single", "map-reduce"] = "single"
    tokenizer: str = ""
    hits: int = 0
    chunks: int = 0
    documents: int = 0
    dropped_hits: int = 0
    prompt_tokens: int = 0
    budget: int = 0
    calls: int = 1
    chronological: bool = False
    periods: list[str] = Field(default_factory=list)


class Answer(BaseModel):
    """An answer with its citations; ``found`` is False when the archive held no evidence."""

    text: str
    backend: str
    citations: list[Citation] = Field(default_factory=list)
    found: bool = True
    # The short answer (an entity, number or date quoted from a source) that ``text`` opens
    # with, when the backend gives one (the offline answerer does).
    short: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    flagged: list[str] = Field(default_factory=list)
    # The date range the evidence was restricted to (read from the question unless the caller
    # gave dates), and how an LLM's context was packed; None where they do not apply.
    date_filter: DateRange | None = None
    context: ContextReport | None = None


class SearchFilters(BaseModel):
    """Metadata filters applied before ranking (both rankers see the same candidate set)."""

    model_config = ConfigDict(frozen=True)

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    language: str | None = None
    collection: str | None = None
    source: str | None = None
    # Any of these collections (an API key scoped to several); with ``collection`` both apply.
    collections: tuple[str, ...] | None = None


class Question(BaseModel):
    """A question as every stage after it reads it, worked out once (``pipeline.question``).

    ``period`` is the span the answer is restricted to: the caller's date filters
    (``origin="filters"``), else the dates the question's words name, counted from ``today``
    (``origin="question"``); ``filters`` are the caller's own; ``chronological`` says whether
    the evidence should be read in date order (a question about change or a span of years).
    """

    model_config = ConfigDict(frozen=True)

    text: str
    language: str | None = None
    period: DateRange | None = None
    filters: SearchFilters | None = None
    chronological: bool = False
    today: dt.date

    @property
    def search_filters(self) -> SearchFilters | None:
        """The caller's filters, with the question's own dates added when it named some."""
        if self.period is None or self.period.origin != "question":
            return self.filters
        base = self.filters or SearchFilters()
        return base.model_copy(update={"date_from": self.period.start, "date_to": self.period.end})


class DocumentRecord(BaseModel):
    """A row of the ``documents`` table: every input ends here, failed ones included."""

    doc_id: str
    uri: str
    title: str | None = None
    date: dt.date | None = None
    language: str | None = None
    collection: str = DEFAULT_COLLECTION
    source: str | None = None
    media_type: str | None = None
    pages: int = 0
    chunks: int = 0
    status: DocumentStatus = "ok"
    errors: list[StageError] = Field(default_factory=list)
    page_methods: list[str] = Field(default_factory=list)
    converter: str = ""
    embedder: str = ""
    ingested_at: dt.datetime | None = None
    markdown: str = ""
    # The versions of one story share it (``VariantOptions``); None: a failure, or an index
    # made before documents were grouped.
    cluster_id: str | None = None


class IngestResult(BaseModel):
    """The outcome of ingesting one file: never silent, always one per input."""

    uri: str
    doc_id: str | None
    action: IngestAction
    status: DocumentStatus
    pages: int = 0
    chunks: int = 0
    errors: list[StageError] = Field(default_factory=list)

    @property
    def reason(self) -> str:
        return "; ".join(str(e) for e in self.errors)


# --- stage options (keyword-only by construction: pydantic models take keywords) ---


class ConvertOptions(BaseModel):
    """How documents become Markdown."""

    model_config = ConfigDict(frozen=True)

    tables: bool = True
    min_text_chars: int = Field(default=20, description="below this a page counts as image-only")
    heading_max_level: int = 3
    # Per-page routing: "auto" reads the text layer where it is good and OCRs pages without one
    # (scans, garbage or invisible text, text drawn as paths); "always" OCRs every page.
    ocr: Literal["auto", "always", "never"] = "auto"
    # "routed": the fast engine (PP-OCRv6 tiny, faster-paddle) for every page, rapidocr (PP-OCRv6
    # small) for the lines it is unsure of: 3.6x less CPU per noisy French page than rapidocr
    # alone, with the same accuracy (docs/convert.md, "Measured").
    engine: str = Field(
        default="routed", description="OCR engine kind: routed, fast, rapidocr, tesseract, vlm"
    )
    dpi: int = Field(default=150, ge=50, le=600, description="render resolution for OCR")
    # One single-threaded inference per core beats one multi-threaded inference: measured 1.8×
    # the pages per second on 2 cores (onnxruntime's intra-op threads idle on small layers).
    workers: int = Field(default=2, ge=1, le=64, description="pages OCR'd in parallel")
    ocr_threads: int = Field(default=1, ge=1, description="threads per OCR inference")
    ocr_device: Literal["auto", "cpu", "cuda"] = "auto"
    # "int8": the RapidOCR recogniser quantised to 8 bits on first use (needs the onnx package):
    # about 1.7× less CPU per scanned page, text read ~1 % different (docs/convert.md).
    ocr_precision: Literal["fp32", "int8"] = "fp32"
    # The fast engine's recogniser (faster-paddle wheel): "tiny" (default) or "small".
    ocr_model: Literal["tiny", "small"] = "tiny"
    ocr_languages: tuple[str, ...] = ("fr", "en")
    remove_furniture: bool = Field(
        default=True, description="drop running headers, footers and page numbers"
    )
    # A trained layout model labels each page's regions (header, footer, title, table...):
    # "pymupdf" (pymupdf-layout, weights in the wheel) or "none" (the rules alone).
    layout: str = Field(default="pymupdf", description="layout model kind: pymupdf, none")
    layout_features: Literal["rf", "imf+rf"] = Field(
        default="rf", description="pymupdf layout model inputs: boxes (rf), or boxes and image"
    )
    vlm: VlmOptions | None = None
    # Where models made on first use (the 8-bit OCR recogniser) are kept; None: the user's cache
    # folder. Not part of what a conversion produces, so left out of recorded options.
    cache_dir: str | None = Field(default=None, exclude=True)


class ChunkOptions(BaseModel):
    """How Markdown becomes chunks. Sizes are in tokens as counted by ``pipeline.tokens``."""

    model_config = ConfigDict(frozen=True)

    max_tokens: int = 256
    overlap_tokens: int = 32


class LimitOptions(BaseModel):
    """Bounds on one document's work, so one input cannot hold the single writer for long: a
    document over any of them fails with the limit in its reason (stage ``limits``), and is
    tried again on a later run (raising a limit then lets it in). ``max_seconds`` is checked
    between pages and between steps, so a single page's conversion is not interrupted.
    """

    model_config = ConfigDict(frozen=True)

    max_pages: int = Field(default=2000, ge=1, description="pages of one document")
    max_chars: int = Field(default=10_000_000, ge=1, description="characters converted")
    max_chunks: int = Field(default=20_000, ge=1, description="chunks of one document")
    max_seconds: float = Field(default=900.0, gt=0, description="convert, chunk and embed")
    # An input that expands far beyond its size (a compressed-stream bomb) is refused once it
    # yields more than ``expansion_floor_chars``: text PDFs give a few characters per byte.
    max_chars_per_byte: float = Field(default=10.0, gt=0)
    expansion_floor_chars: int = Field(default=100_000, ge=0)


class EmbedOptions(BaseModel):
    """Which embedder: ``kind`` picks the backend, ``model`` a model for backends that take one."""

    model_config = ConfigDict(frozen=True)

    kind: str = "use-multilingual"
    model: str | None = None
    batch_size: int = 64
    device: str | None = None
    threads: int = Field(
        default=1,
        description="BLAS threads for numpy embedders (more collapse under CPU contention)",
    )


class VariantOptions(BaseModel):
    """Versions of one story grouped at ingest (``pipeline.store.minhash`` says how): each
    document of a group gets the group's ``cluster_id``, and searches show one per group.

    Two documents of one collection are versions when their word 3-shingles overlap by
    ``similarity`` (Jaccard) or more; or when ``containment`` of the shorter one's shingles are
    in the longer one (the shorter having ``min_words`` words or more) and both are dated,
    ``max_days`` or less apart; or when the shorter is a brief (an urgent: 60 words or fewer)
    with ``brief_terms`` of its words of four letters or more in a text of the same language
    dated ``max_days`` or less apart; or when they are in two languages, with document vectors at
    least ``translation_similarity`` close (cosine) and the same numbers (``numbers`` of the
    shorter list of figures and dates in the other). Groups are the connected components of
    that relation, whatever the order documents come in. ``translation_similarity`` suits the
    default embedder (multilingual USE); embedders whose cosines run higher for unrelated
    texts (e5) want a higher one.
    """

    model_config = ConfigDict(frozen=True)

    enabled: bool = True
    similarity: float = Field(default=0.8, gt=0.0, le=1.0)
    containment: float = Field(default=0.5, gt=0.0, le=1.0)
    min_words: int = Field(default=15, ge=1)
    max_days: int = Field(default=3, ge=0)
    brief_terms: float = Field(default=0.7, gt=0.0, le=1.0)
    numbers: float = Field(default=0.75, gt=0.0, le=1.0)
    translation_similarity: float = Field(default=0.75, gt=0.0, le=1.0)


class StoreOptions(BaseModel):
    """Where and how the index lives: a folder, object storage (``s3://bucket/prefix``) or
    LanceDB Cloud (``db://name``), and when its indexes are built (docs/storage.md).

    ``storage_options`` go to LanceDB as they are (``aws_endpoint``, ``aws_region``,
    ``aws_access_key_id``, ``allow_http``...); their values, like ``api_key``, are secrets:
    hidden in reprs and logs.
    """

    model_config = ConfigDict(frozen=True)

    uri: str = ".archivist"
    storage_options: dict[str, SecretStr] = Field(default_factory=dict)
    api_key: SecretStr | None = None  # db:// (LanceDB Cloud) only, like region and host_override
    region: str = "us-east-1"
    host_override: str | None = None
    fts_languages: tuple[str, ...] = ("French", "English")
    fts_stem: bool = True
    reindex_after_rows: int = 2000
    compact_every_writes: int = Field(
        default=200,
        description="compact both tables after this many document writes (each write adds "
        "fragments; thousands of tiny ones slow every later write and query)",
    )
    scalar_indexes: bool = True
    vector_index_min_rows: int = Field(
        default=100_000,
        description="build the vector index once the chunks table holds this many rows "
        "(below it an exact scan is fast and exact)",
    )
    vector_index_kind: Literal["ivf_rq", "ivf_pq"] = Field(
        default="ivf_rq",
        description="IVF partitions with RaBitQ codes (ivf_rq: 1 bit per dimension) or "
        "product-quantisation codes (ivf_pq); chosen by bench/scale.py's sweep (docs/scale.md)",
    )
    vector_partition_rows: int = Field(default=8192, ge=256)  # rows per IVF partition
    vector_rq_bits: int = Field(
        default=2,
        ge=1,
        le=8,
        description="ivf_rq only: bits per dimension of each RaBitQ code (1: binary codes; "
        "more: extended RaBitQ, distances closer to exact for a larger index); chosen with "
        "the probes and re-ranked rows by bench/scale.py's sweep (docs/scale.md)",
    )
    vector_pq_sub_vectors: int | None = Field(
        default=None,
        ge=1,
        description="ivf_pq only: sub-vectors per code (None: dim/16, else dim/8, else 1)",
    )
    vector_retrain_growth: float = Field(default=2.0, gt=1.0)  # retrain when rows grow this much
    vector_nprobes: int = Field(
        default=40,
        ge=1,
        description="IVF partitions searched at least (more when a filter leaves too few rows)",
    )
    vector_refine_rows: int = Field(
        default=200,
        ge=1,
        description="index candidates re-ranked on their full vectors per search, whatever its "
        "depth (at least the depth itself); recall@10 against exact search rises with it "
        "(docs/scale.md)",
    )
    read_consistency_s: float | None = Field(
        default=5.0,
        description="see other processes' writes within this many seconds (None: only at open; "
        "LanceDB's default, which leaves a long-running API blind to a flow's ingests)",
    )
    commit_retries: int = Field(default=6, ge=0)
    commit_backoff_s: float = Field(default=0.1, ge=0.0)
    cleanup_older_than_days: float = Field(default=7.0, ge=0.0)
    repair_after_s: float = Field(
        default=3600.0,
        ge=0.0,
        description="chunks without a committed document row older than this are a crash's "
        "leftovers: removed by repair (at ingest start and by maintain)",
    )

    variants: VariantOptions = Field(default_factory=lambda: VariantOptions())

    def __hash__(self) -> int:  # frozen options stay hashable despite the dict field
        return hash(self.model_dump_json())


class RetrieveOptions(BaseModel):
    """Hybrid retrieval: each ranker returns ``candidates`` hits, then they are fused.

    ``fusion="score"`` (default) combines each ranker's standardised scores, weighted by
    ``fts_weight`` and ``vector_weight``, and blends in the best score of each chunk's document
    (``document_weight``); ``"rrf"`` is reciprocal-rank fusion with ``rrf_k`` (``pipeline.retrieve``
    says why the default changed).
    """

    model_config = ConfigDict(frozen=True)

    mode: Literal["hybrid", "fts", "vector"] = "hybrid"
    k: int = 8
    candidates: int = 50
    rrf_k: int = 60
    fts_weight: float = 1.0
    vector_weight: float = 1.0
    fusion: Literal["score", "rrf"] = "score"
    document_weight: float = Field(default=0.5, ge=0.0, le=1.0)
    # One hit per story: the versions of a document (``VariantOptions``) are listed on its hit
    # instead of taking places of their own; False shows every version.
    group_variants: bool = True


class LLMOptions(BaseModel):
    """An OpenAI-compatible chat server (vLLM serving Mistral Small 3.1 is the target)."""

    model_config = ConfigDict(frozen=True)

    base_url: str | None = None
    model: str = "mistralai/Mistral-Small-3.1-24B-Instruct-2503"
    api_key: str | None = None
    context_window: int = 131072
    max_tokens: int = 1024
    temperature: float = 0.1
    timeout_s: float = 120.0
    max_retries: int = 2
    # Token counting: "auto" asks the server's /tokenize, then Mistral's Tekken file
    # (``tokenizer_path`` or the one in mistral-common), then a conservative estimate.
    tokenizer: Literal["auto", "server", "tekken", "estimate"] = "auto"
    tokenizer_path: str | None = None
    # Ask the server for a token stream even when the caller wants the whole answer: the
    # timeout then bounds the wait between tokens, not the whole generation.
    stream: bool = False
    # Long-context answers: how many chunks to retrieve, how far to widen a hit to its section,
    # and whether evidence larger than the window is read period by period (map-reduce).
    retrieve_k: int = 300
    section_max_tokens: int = 2048
    map_reduce: bool = True
    max_map_calls: int = 8
    safety_margin: int | None = Field(
        default=None, description="tokens kept free in the window (default: 1 %, at least 16)"
    )


class AnswerOptions(BaseModel):
    """How answers are made from hits."""

    model_config = ConfigDict(frozen=True)

    backend: str = "offline"
    max_sentences: int = 3
    # The offline answerer opens with a short answer (an entity, number or date of the best
    # sentences, pipeline.answer.short) when one fits the question.
    short_answers: bool = True
    # The offline answerer's floor on sentence relevance (0..1, embedding + lexical blend), set
    # between related and unrelated French/English question-sentence pairs with the USE embedder.
    min_relevance: float = 0.18
    llm: LLMOptions = Field(default_factory=LLMOptions)


class RerankOptions(BaseModel):
    """Second-stage reranking of the first ``depth`` hybrid hits (``pipeline.retrieve.rerank``)."""

    model_config = ConfigDict(frozen=True)

    kind: str = "cross-encoder"
    # Multilingual (French and English among others) MiniLM trained on mMARCO; any local path or
    # cached model name works. No PyPI package ships cross-encoder weights.
    model: str | None = "cross-encoder/mmarco-mMiniLMv2-L12-H384-v1"
    depth: int = 20
    batch_size: int = 16
    max_length: int = 512
    device: str | None = None
    weight: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="kind 'embedder': share of the second embedder's score in the blended score",
    )
    threads: int | None = Field(
        default=None, description="kind 'embedder': threads of the second embedder"
    )
    # kind "llm": the chat server (the answerer's, ``answer.llm``, unless set here), how long a
    # ranking may take before the fused order stands, and each passage's share of the prompt
    llm: LLMOptions | None = None
    timeout_s: float = Field(default=20.0, gt=0)
    passage_tokens: int = Field(default=256, ge=16)


class TextSpan(BaseModel):
    """Characters ``start``..``end`` of a text and where they lie: the page and, when the
    converter recorded it, the box of the line they were read from."""

    start: int
    end: int
    page: int | None = None
    box: Box | None = None


class PageBlock(BaseModel):
    """One layout block of a converted page: its Markdown, what it is, and where it lies."""

    kind: Literal["heading", "paragraph", "list", "table", "code", "text"] = "paragraph"
    text: str
    box: Box
    # The layout model's class for the block's region (title, caption, footnote...), if it ran.
    region: str | None = None
    # Each line of the block: its characters in ``text`` and its box (a table is one span).
    spans: list[TextSpan] = Field(default_factory=list)


class LayoutRegion(BaseModel):
    """A region of a page as the layout model classed it (DocLayNet's classes)."""

    kind: str
    box: Box


class FurnitureLine(BaseModel):
    """A line dropped as page furniture: its text, its box on the page, and the reason."""

    text: str
    box: Box
    reason: str


class PageRegion(BaseModel):
    """A box on a page (1-based), in PDF points with the origin top-left: where a chunk lies."""

    page: int
    box: Box


class VlmOptions(BaseModel):
    """An OpenAI-compatible vision chat server for ``engine="vlm"`` (vLLM serving olmOCR or
    Mistral Small 3.1): one request per page image, with the text layer as hints."""

    model_config = ConfigDict(frozen=True)

    base_url: str | None = None
    model: str = "allenai/olmOCR-2-7B-1025-FP8"
    api_key: str | None = None
    timeout_s: float = 180.0
    max_retries: int = 2
    concurrency: int = Field(default=4, ge=1, description="pages in flight at once")
    max_tokens: int = 4096
    temperature: float = 0.0
    image_px: int = Field(default=1288, description="longest side of the image sent, in pixels")
