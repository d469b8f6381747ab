"""The built-in extractive answerer: a short answer and cited sentences from the top hits, no LLM
needed.

It answers with the short answer (the entity, number or date that answers the question, a span of
the best sentences: ``pipeline.answer.short``), then the few sentences of the retrieved chunks
that best match the question, the short answer's own sentence first, each followed by the ``[n]``
of its chunk, so every word of the answer is a quote of the archive. When no sentence is relevant
enough it says so rather than quote noise; when no span fits the question, the sentences alone.

Relevance blends two views of a sentence against the question: the embedder's cosine (catches
paraphrases and the other language) and the share of the question's content words it contains
(catches names and numbers, which small embedders blur). Without an embedder it is lexical only.

>>> from pipeline.embed import make_embedder                        # doctest: +SKIP
>>> answerer = OfflineAnswerer(embedder=make_embedder(EmbedOptions()))  # doctest: +SKIP
>>> print(answerer.answer("How many dockers walked out?", hits).text)  # doctest: +SKIP
1,200 dockers [1]
<BLANKLINE>
About 1,200 dockers at the port of Marseille-Fos walked out on Tuesday ... [1]
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from pipeline.answer.citations import (
    Quote,
    Source,
    not_found_answer,
    number_sources,
    reply_language,
    resolve_citations,
)
from pipeline.answer.sentences import (
    Sentence,
    content_terms,
    fold,
    lexical_overlap,
    split_sentences,
)
from pipeline.answer.short import ShortAnswer, pick_short_answer
from pipeline.models import Answer, AnswerOptions, Hit, Question

if TYPE_CHECKING:
    from pipeline.answer import AnswerDeps
    from pipeline.embed import Embedder

log = logging.getLogger(__name__)

MAX_HITS = 8  # sentences are read from this many top chunks
MAX_PER_CHUNK = 2  # so one long chunk cannot crowd out the others
# Set together with AnswerOptions.min_relevance (0.18) on French/English question-sentence pairs
# (tests/pipeline/answer_fixtures.py, test_relevance_separates_related_from_unrelated): related
# questions score 0.17-0.55 on their best sentence, unrelated ones 0.03-0.17; over the sample
# dispatches, 0.45-0.68 against at most 0.24 for an unrelated question on a neighbouring topic.
EMBED_WEIGHT = 0.7
LEXICAL_WEIGHT = 0.3
RANK_BONUS = 0.02  # for rank 1, halving with each rank: a tie-breaker, never a pass
RELATIVE_FLOOR = 0.6  # a sentence much weaker than the best one adds noise, not evidence
SHORT_FLOOR = 0.4  # the short answer is looked for in sentences this close to the best one


class Candidate(NamedTuple):
    """A sentence of a source, its relevance to the question and its ranking score."""

    source: Source
    sentence: Sentence
    relevance: float
    score: float


class OfflineAnswerer:
    """Extractive, cited answers from the hits alone (backend ``"offline"``)."""

    name = "offline"
    retrieve_k: int | None = None  # the caller's usual number of hits

    def __init__(self, opts: AnswerOptions | None = None, *, embedder: Embedder | None = None):
        self.opts = opts or AnswerOptions()
        self.embedder = embedder
        if embedder is None:
            log.info("offline answerer without an embedder: lexical matching only")

    def answer(self, question: Question | str, hits: Sequence[Hit]) -> Answer:
        """The best few sentences of ``hits`` for ``question``, each with its ``[n]`` mark.

        >>> OfflineAnswerer().answer("Qui a gagné ?", []).found
        False
        """
        language = None if isinstance(question, str) else question.language
        question = question if isinstance(question, str) else question.text
        sources = number_sources(hits)[:MAX_HITS]
        candidates = self.rank(question, sources)
        chosen = self._choose(candidates)
        if not chosen:
            return not_found_answer(question, self.name)
        short, support = self._short(question, candidates, language)
        if support is not None:  # the short answer's sentence first, then the others
            others = [c for c in chosen if c is not support]
            chosen = [support, *others[: self.opts.max_sentences - 1]]
        text, quotes = _compose(chosen)
        if short is not None and support is not None:
            text = f"{short.text} [{support.source.n}]\n\n{text}"
        resolved = resolve_citations(text, sources, quotes=quotes)
        return Answer(
            text=text,
            backend=self.name,
            citations=resolved.citations,
            flagged=resolved.flagged,
            short=short.text if short else None,
        )

    def _short(
        self, question: str, ranked: list[Candidate], language: str | None
    ) -> tuple[ShortAnswer | None, Candidate | None]:
        """The short answer among the sentences above the floor, and the sentence it is from."""
        if not self.opts.short_answers or not ranked:
            return None, None
        # wider than the quoted sentences: the answer may sit in a plainer sentence beside them
        floor = max(self.opts.min_relevance, SHORT_FLOOR * ranked[0].relevance)
        pool = [c for c in ranked if c.relevance >= floor]
        lang = language or reply_language(question)
        read = [(c.relevance, c.sentence.text, c.source.chunk.language or lang) for c in pool]
        short = pick_short_answer(question, read)
        return (short, pool[short.sentence]) if short else (None, None)

    def rank(self, question: str, sources: Sequence[Source]) -> list[Candidate]:
        """Every distinct sentence of ``sources``, best first."""
        pairs = _distinct_sentences(sources)
        if not pairs:
            return []
        relevance = sentence_relevance(
            question,
            [s.text for _, s in pairs],
            [_passage(src) for src, _ in pairs],
            self.embedder,
        )
        out = [
            Candidate(src, sent, float(rel), float(rel) + RANK_BONUS / 2 ** (src.n - 1))
            for (src, sent), rel in zip(pairs, relevance, strict=True)
        ]
        return sorted(out, key=lambda c: -c.score)

    def _choose(self, ranked: list[Candidate]) -> list[Candidate]:
        if not ranked:
            return []
        floor = max(self.opts.min_relevance, RELATIVE_FLOOR * max(c.relevance for c in ranked))
        chosen: list[Candidate] = []
        per_chunk: dict[int, int] = {}
        for cand in ranked:
            if len(chosen) >= self.opts.max_sentences:
                break
            if cand.relevance < floor or per_chunk.get(cand.source.n, 0) >= MAX_PER_CHUNK:
                continue
            per_chunk[cand.source.n] = per_chunk.get(cand.source.n, 0) + 1
            chosen.append(cand)
        return chosen


def sentence_relevance(
    question: str, sentences: Sequence[str], passages: Sequence[str], embedder: Embedder | None
) -> np.ndarray:
    """Relevance of each sentence to ``question`` in 0..1 (the scale ``min_relevance`` is set on).

    ``passages[i]`` is the chunk text around ``sentences[i]``: a sentence counts half for itself,
    half for its passage, because a short answer sentence ("Work resumed on Saturday") often
    shares little with the question while its passage is plainly about it. The blend is
    ``EMBED_WEIGHT * cosine + LEXICAL_WEIGHT * overlap`` (all texts embedded in one batch), the
    overlap alone without an embedder.
    """
    wanted = content_terms(question)
    lex_p = {p: lexical_overlap(wanted, content_terms(p)) for p in dict.fromkeys(passages)}
    lexical = np.array(
        [
            (lexical_overlap(wanted, content_terms(s)) + lex_p[p]) / 2
            for s, p in zip(sentences, passages, strict=True)
        ]
    )
    if embedder is None:
        return lexical
    distinct = list(lex_p)
    vectors = embedder.embed_documents([*sentences, *distinct])
    cos = np.clip(vectors @ embedder.embed_query(question), 0.0, 1.0)
    cos_p = dict(zip(distinct, cos[len(sentences) :], strict=True))
    cosine = (cos[: len(sentences)] + np.array([cos_p[p] for p in passages])) / 2
    return EMBED_WEIGHT * cosine + LEXICAL_WEIGHT * lexical


def _passage(source: Source) -> str:
    """The chunk as a reader sees it: under its document title and headings."""
    chunk = source.chunk
    return "\n".join([*filter(None, [chunk.title, *chunk.heading_path]), chunk.text])


def _distinct_sentences(sources: Sequence[Source]) -> list[tuple[Source, Sentence]]:
    """Sentences in source order; one repeated by overlapping chunks is kept at its first source."""
    seen: set[str] = set()
    out: list[tuple[Source, Sentence]] = []
    for src in sources:
        for sent in split_sentences(src.chunk.text, first_page=src.chunk.page_start):
            key = " ".join(fold(sent.text).split())
            if key not in seen:
                seen.add(key)
                out.append((src, sent))
    return out


def _compose(chosen: list[Candidate]) -> tuple[str, dict[int, Quote]]:
    """The answer text and each source's quote.

    Sources come in the order of their best sentence; within a source, sentences keep the order
    they have in the chunk, so two sentences of one passage read as they were written.
    """
    order = list(dict.fromkeys(c.source.n for c in chosen))
    ordered = sorted(chosen, key=lambda c: (order.index(c.source.n), c.sentence.position))
    parts: list[str] = []
    quotes: dict[int, Quote] = {}
    for n in order:
        sents = [c.sentence for c in ordered if c.source.n == n]
        parts.extend(f"{s.text} [{n}]" for s in sents)
        pages = [s.page for s in sents if s.page is not None]
        quotes[n] = Quote(
            " ".join(s.text for s in sents),
            min(pages) if pages else None,
            max(pages) if pages else None,
        )
    return " ".join(parts), quotes


def make_offline(opts: AnswerOptions, deps: AnswerDeps) -> OfflineAnswerer:
    """Backend ``offline``: extractive answers, sharpened by the index's embedder."""
    return OfflineAnswerer(opts, embedder=deps.embedder)
