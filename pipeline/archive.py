"""The archive as one object: the stages wired together for one index.

Entry points (CLI, API, flows) build an ``Archive`` from their Settings and call ``ingest``,
``search`` and ``ask``; everything heavy (embedding model, tables) loads on first use.

>>> archive = Archive(Settings(db="/tmp/idx").options())             # doctest: +SKIP
>>> archive.ask("Quelle température record à Lorvennes ?").citations[0].page_start  # doctest: +SKIP
1
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

from pipeline.embed import Embedder, make_embedder
from pipeline.ingest import Ingestor
from pipeline.models import Answer, Hit, IngestResult, SearchFilters, SourceDocument
from pipeline.retrieve import retrieve
from pipeline.settings import StageOptions
from pipeline.store import LanceChunkStore
from pipeline.tokens import TokenCounter, default_token_counter


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
    def store(self) -> LanceChunkStore:
        emb = self.embedder
        return LanceChunkStore(self.options.store, embedder=emb.name, dim=emb.dim)

    @functools.cached_property
    def ingestor(self) -> Ingestor:
        return Ingestor(
            store=self.store,
            embedder=self.embedder,
            convert_options=self.options.convert,
            chunk_options=self.options.chunk,
            counter=self.counter,
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
    ) -> list[Hit]:
        """Hybrid (or ``mode``) retrieval of the best ``k`` chunks."""
        update: dict[str, object] = {}
        if k is not None:
            update["k"] = k
        if mode is not None:
            update["mode"] = mode
        opts = self.options.retrieve.model_copy(update=update)
        return retrieve(query, store=self.store, embedder=self.embedder, opts=opts, filters=filters)

    def ask(
        self,
        question: str,
        *,
        backend: str | None = None,
        k: int | None = None,
        filters: SearchFilters | None = None,
    ) -> Answer:
        """Retrieve evidence for ``question`` and answer it with citations."""
        from pipeline.answer import make_answerer

        opts = self.options.answer
        if backend:
            opts = opts.model_copy(update={"backend": backend})
        hits = self.search(question, k=k, filters=filters)
        answerer = make_answerer(opts, embedder=self.embedder, token_counter=self.counter)
        return answerer.answer(question, hits)
