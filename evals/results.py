"""The result shape every eval shares: aggregate scores plus one row per item, and the index and
settings they were measured on, so two runs can be put side by side (STYLE.md, "Evals are code").
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field


class IndexInfo(BaseModel):
    """Which index an eval searched: where, built from what, at which table version."""

    path: str
    key: str
    table_version: int
    documents: int
    failed: list[str] = Field(default_factory=list)
    build_seconds: float = 0.0
    reused: bool = False


class QueryRow(BaseModel):
    """One query under one mode: the documents it ranked and how it scored."""

    query_id: str
    query: str
    relevant: list[str]
    ranking: list[str]
    first_relevant_rank: int | None
    metrics: dict[str, float]


MODES = ("fts", "vector", "hybrid", "hybrid+rerank")
# What runs offline with the default settings: the reranker of "hybrid+rerank" needs a model
# (a cross-encoder from a hub, or the e5 extra's embedder), so it is asked for by name.
DEFAULT_MODES = ("fts", "vector", "hybrid")


class ModeResult(BaseModel):
    """One retrieval mode over every judged query (or why it could not run)."""

    mode: str
    metrics: dict[str, float] = Field(default_factory=dict)
    queries: list[QueryRow] = Field(default_factory=list)
    seconds: float = 0.0
    skipped: str | None = None


class RetrievalEval(BaseModel):
    """``archivist eval retrieval``: every mode on one dataset and one index."""

    kind: Literal["retrieval"] = "retrieval"
    dataset: str
    created_at: dt.datetime
    default_mode: str
    modes: dict[str, ModeResult]
    index: IndexInfo
    settings: dict[str, object]
    queries: int
    seconds: float

    def scores(self) -> dict[str, dict[str, float]]:
        """{mode: {metric: value}} for the modes that ran."""
        return {m: r.metrics for m, r in self.modes.items() if not r.skipped}


class AnswerRow(BaseModel):
    """One question: the answer given, the gold answers, and its scores."""

    query_id: str
    query: str
    answer: str
    gold: list[str]
    correct: bool
    f1: float
    found: bool
    citations: int
    relevant_citations: int | None = None
    error: str | None = None
    short: str | None = None  # the backend's short answer, when it gives one
    exact: bool = False  # exact match of the short answer (else the answer) with a gold one
    short_correct: bool = False  # a gold answer inside the short answer
    retrieved: bool | None = None  # a gold answer in the top 3 passages (None: search failed)


class AnswerEval(BaseModel):
    """``archivist eval answers``: accuracy, token F1 and citation precision of one backend."""

    kind: Literal["answers"] = "answers"
    dataset: str
    created_at: dt.datetime
    backend: str
    accuracy: float
    f1: float
    citation_precision: float | None
    found_rate: float
    exact_match: float = 0.0
    short_accuracy: float = 0.0
    retrieval_top3: float | None = None
    rows: list[AnswerRow]
    index: IndexInfo
    settings: dict[str, object]
    seconds: float

    def scores(self) -> dict[str, dict[str, float]]:
        out = {
            "accuracy": self.accuracy,
            "exact_match": self.exact_match,
            "f1": self.f1,
            "short_accuracy": self.short_accuracy,
            "found": self.found_rate,
        }
        if self.citation_precision is not None:
            out["citation_precision"] = self.citation_precision
        if self.retrieval_top3 is not None:
            out["retrieval_top3"] = self.retrieval_top3
        return {self.backend: out}
