"""The archive as one object: the stages wired together for one index.

Entry points (CLI, API, flows) build an ``Archive`` from their Settings and call ``ingest``,
``search`` and ``ask``; everything heavy (embedding model, tables) loads on first use.

>>> archive = Archive(Settings(db="/tmp/idx").options())             # doctest: +SKIP
>>> archive.ask("Quelle température record à Lorvennes ?").citations[0].page_start  # doctest: +SKIP
1
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable, Generator, Iterable, Sequence
from typing import TYPE_CHECKING

from pipeline.answer.stream import AnswerStream
from pipeline.embed import Embedder, make_embedder
from pipeline.errors import ArchivistError
from pipeline.ingest import Ingestor, Stages
from pipeline.models import Answer, Chunk, Hit, IngestResult, SearchFilters, SourceDocument
from pipeline.question import parse_question
from pipeline.retrieve import retrieve
from pipeline.retrieve.rerank import Reranker, make_reranker
from pipeline.settings import StageOptions
from pipeline.store import LanceChunkStore
from pipeline.tokens import TokenCounter, default_token_counter, make_token_counter

if TYPE_CHECKING:
    from pipeline.answer import Answerer

log = logging.getLogger(__name__)


class Archive:
    """One index (a LanceDB location) with its embedder, converter and answerers."""

    def __init__(self, options: StageOptions) -> None:
        self.options = options

    @functools.cached_property
    def embedder(self) -> Embedder:
        return make_embedder(self.options.embed)

    @functools.cached_property
    def counter(self) -> TokenCounter:
        return default_token_counter()

    @functools.cached_property
    def llm_counter(self) -> TokenCounter:
        """The LLM's prompt tokenizer: its server's /tokenize, else Tekken, else an estimate."""
        return make_token_counter(self.options.answer.llm)

    @functools.cached_property
    def reranker(self) -> Reranker | None:
        """The second-stage reranker every search uses, when the options name one."""
        return make_reranker(self.options.rerank) if self.options.rerank else None

    @functools.cached_property
    def store(self) -> LanceChunkStore:
        emb = self.embedder
        return LanceChunkStore(self.options.store, embedder=emb.name, dim=emb.dim)

    @functools.cached_property
    def stages(self) -> Stages:
        """What the ingest steps that need no index use (a worker builds only this)."""
        opts = self.options
        return Stages(opts.convert, opts.chunk, self.embedder, self.counter, opts.limits)

    @functools.cached_property
    def ingestor(self) -> Ingestor:
        """The ingest engine over this index; the first one a process builds also removes what
        a crashed writer left (``LanceChunkStore.repair``), before it writes anything."""
        try:
            self.store.repair()
        except (ArchivistError, OSError) as e:  # a read-only index: its searches hide them anyway
            log.warning("could not remove a crash's leftovers from %s: %s", self.store.opts.uri, e)
        return Ingestor(
            store=self.store,
            embedder=self.embedder,
            convert_options=self.options.convert,
            chunk_options=self.options.chunk,
            counter=self.counter,
            limits=self.options.limits,
        )

    def ingest(
        self,
        sources: Iterable[SourceDocument],
        *,
        on_result: Callable[[IngestResult], None] | None = None,
    ) -> list[IngestResult]:
        """Ingest each source (one result each), then refresh the full-text indexes."""
        return self.ingestor.ingest_many(sources, on_result=on_result)

    def search(
        self,
        query: str,
        *,
        k: int | None = None,
        filters: SearchFilters | None = None,
        mode: str | None = None,
        language: str | None = None,
        all_variants: bool = False,
    ) -> list[Hit]:
        """Hybrid (or ``mode``) retrieval of the best ``k`` chunks, reranked when the options
        name a reranker (hybrid mode only: a mode asked for by name is that ranker alone).
        ``language`` picks the full-text index (default: detected from ``query``). One hit per
        story unless ``all_variants`` (or the options say so): ``Hit.variants`` lists the rest."""
        update: dict[str, object] = {"group_variants": False} if all_variants else {}
        if k is not None:
            update["k"] = k
            update["candidates"] = max(k, self.options.retrieve.candidates)
        if mode is not None:
            update["mode"] = mode
        opts = self.options.retrieve.model_copy(update=update)
        reranker = self.reranker if opts.mode == "hybrid" else None
        return retrieve(
            query,
            store=self.store,
            embedder=self.embedder,
            opts=opts,
            filters=filters,
            reranker=reranker,
            language=language,
        )

    def ask(
        self,
        question: str,
        *,
        backend: str | None = None,
        k: int | None = None,
        filters: SearchFilters | None = None,
        today: dt.date | None = None,
    ) -> Answer:
        """Retrieve evidence for ``question`` and answer it with citations.

        Dates in the question ("en 1987", "between 1990 and 1995", "last year" counted from
        ``today``) restrict the search unless ``filters`` already hold dates; the range used is
        reported in ``Answer.date_filter``. When nothing in the archive is dated in that range,
        every date is searched and the answer says so in ``flagged``. LLM answerers retrieve wide
        (``LLMOptions.retrieve_k``) unless ``k`` is given.
        """
        return self.ask_stream(question, backend=backend, k=k, filters=filters, today=today).answer

    def ask_stream(
        self,
        question: str,
        *,
        backend: str | None = None,
        k: int | None = None,
        filters: SearchFilters | None = None,
        today: dt.date | None = None,
    ) -> AnswerStream:
        """``ask``, with the answer's text as it is written: iterate it, then read ``.answer``.

        Backends that cannot stream (the offline answerer) give their text as one piece.
        """
        from pipeline.answer import stream_answer

        languages = self.options.store.fts_languages
        asked = parse_question(question, filters=filters, today=today, languages=languages)
        answerer = self.answerer(backend)
        k = k if k is not None else answerer.retrieve_k
        date_filter, flagged = asked.period, []
        hits = self.search(asked.text, k=k, filters=asked.search_filters, language=asked.language)
        if not hits and date_filter is not None and date_filter.origin == "question":
            flagged.append(
                f"nothing in the archive is dated {date_filter.label}: searched all dates"
            )
            date_filter = None
            hits = self.search(asked.text, k=k, filters=filters, language=asked.language)
        inner = stream_answer(answerer, asked, hits)

        def pieces() -> Generator[str, None, Answer]:
            yield from inner
            answer = self._counted(inner.answer, asked.text, hits)
            update = {"date_filter": date_filter, "flagged": [*flagged, *answer.flagged]}
            return answer.model_copy(update=update)

        return AnswerStream(pieces())

    def _counted(self, answer: Answer, question: str, hits: Sequence[Hit]) -> Answer:
        """``answer`` with its token counts: the backend's own where it gave them (an LLM
        server's usage, the packed prompt), else counted with the LLM's prompt tokenizer (the
        one the context packer uses): the question and the passages it was given as the prompt,
        the answer's text as the completion. A tokenizer that fails leaves them unset."""
        prompt, completion = answer.prompt_tokens, answer.completion_tokens
        if prompt is not None and completion is not None:
            return answer
        try:
            counter = self.llm_counter
            if prompt is None:
                prompt = counter.count(question) + sum(counter.count(h.chunk.text) for h in hits)
            if completion is None:
                completion = counter.count(answer.text)
        except ArchivistError as e:
            log.warning("tokens not counted: %s", e)
            return answer
        return answer.model_copy(update={"prompt_tokens": prompt, "completion_tokens": completion})

    def answerer(self, backend: str | None = None) -> Answerer:
        """The answerer ``backend`` names (default: the options'), made with this archive's
        embedder, LLM tokenizer and sections. Cheap: models load on first use.

        ``ConfigError`` when the backend is unknown or these options cannot run it (``openai``
        without a server): callers that offer a choice (the API) ask here rather than check.
        """
        from pipeline.answer import AnswerDeps, make_answerer

        opts = self.options.answer
        if backend:
            opts = opts.model_copy(update={"backend": backend})
        deps = AnswerDeps(
            embedder=self.embedder, token_counter=lambda: self.llm_counter, sections=self._sections
        )
        return make_answerer(opts, deps)

    def _sections(self, doc_ids: Sequence[str]) -> dict[str, list[Chunk]]:
        """Each document's chunks in reading order (LLM answers widen hits to their sections)."""
        return {doc_id: self.store.chunks_of(doc_id) for doc_id in dict.fromkeys(doc_ids)}
