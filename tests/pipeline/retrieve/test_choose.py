"""A search's choice (``pipeline.retrieve.search._Chooser``): the fused order, grouped by story.

Grouping is skipped when no two candidate documents share a story, and the candidates are fused
once for the two choices a grouped search makes; both must give what fusing and grouping every
time gives."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest

import pipeline.retrieve.search as search_module
from pipeline.models import RetrieveOptions
from pipeline.retrieve.fusion import Fusion
from pipeline.retrieve.variants import group_variants
from pipeline.store import Candidates
from pipeline.store.versions import Member

OPTS = RetrieveOptions(k=5)


def _candidates(seed: int) -> tuple[Candidates, Candidates]:
    """Two rankers' candidates over 10 documents of 3 chunks each (some found by both)."""
    rng = np.random.default_rng(seed)
    chunks = [(f"d{d}:{i}", f"d{d}") for d in range(10) for i in range(3)]

    def ranker(n: int, higher_first: bool) -> Candidates:
        picked = [chunks[i] for i in rng.choice(len(chunks), n, replace=False)]
        scores = np.sort(rng.random(n))
        scores = scores[::-1] if higher_first else scores
        return Candidates([c for c, _ in picked], [d for _, d in picked], scores.copy(),
                          np.arange(n, dtype=np.uint64))  # fmt: skip

    return ranker(12, True), ranker(12, False)  # BM25 scores, then cosine distances


def _reference(fts: Candidates, vec: Candidates, members: dict[str, Member]) -> Fusion:
    doc_of = dict(zip(fts.chunk_ids + vec.chunk_ids, fts.doc_ids + vec.doc_ids, strict=True))
    fused = search_module._fuse(fts, vec, OPTS, len(doc_of))
    return group_variants(fused, doc_of, members, 5, language="fr")


def _member(cluster: str, language: str, day: int) -> Member:
    return Member(cluster, language, dt.date(2020, 1, day), None, alone=False)


@pytest.mark.parametrize("seed", range(5))
def test_one_story_per_document_keeps_the_fused_order(seed: int) -> None:
    """Every document its own story (no members read yet; or groups named after documents the
    search did not find): the same choice as grouping, which is the fused order cut."""
    fts, vec = _candidates(seed)
    members = {f"d{d}": _member(f"story-{d}", "en" if d % 2 else "fr", 1 + d) for d in range(10)}
    for known in ({}, members):
        chosen = search_module._Chooser(OPTS, 5, "fr")(fts, vec, known)
        assert chosen == _reference(fts, vec, known)
        assert len(chosen.ids) == 5


@pytest.mark.parametrize("seed", range(5))
def test_documents_sharing_a_story_are_grouped(seed: int) -> None:
    """Two documents of one story among the candidates: one of them stands for it, as grouping
    decides, and the choice differs from the fused order's."""
    fts, vec = _candidates(seed)
    plain = search_module._Chooser(OPTS, 5, "fr")(fts, vec, {})
    doc_of = dict(zip(fts.chunk_ids + vec.chunk_ids, fts.doc_ids + vec.doc_ids, strict=True))
    a = doc_of[plain.ids[0]]  # the best chunk's document...
    b = next(d for d in fts.doc_ids + vec.doc_ids if d != a)  # ...and another candidate's
    members = {a: _member("one", "fr", 1), b: _member("one", "fr", 2)}  # b is newer: b stands
    chosen = search_module._Chooser(OPTS, 5, "fr")(fts, vec, members)
    assert chosen == _reference(fts, vec, members)
    assert a not in {doc_of[c] for c in chosen.ids}
    assert chosen != plain


def test_the_candidates_are_fused_once_per_pair(monkeypatch: pytest.MonkeyPatch) -> None:
    fused: list[Any] = []
    real = search_module._fuse

    def counted(*a: Any) -> Fusion:
        fused.append(a[:2])
        return real(*a)

    monkeypatch.setattr(search_module, "_fuse", counted)
    fts, vec = _candidates(0)
    choose = search_module._Chooser(OPTS, 5, "fr")
    first = choose(fts, vec, {})
    members = {"d1": _member("one", "fr", 1), "d2": _member("one", "fr", 2)}
    choose(fts, vec, members)
    assert len(fused) == 1
    again = choose(*_candidates(0), {})  # other candidates (a ranker asked again): fused anew
    assert len(fused) == 2 and again == first
