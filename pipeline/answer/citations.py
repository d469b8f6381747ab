"""Numbered sources and ``[n]`` citation marks, shared by every answerer.

The hits' distinct chunks are numbered 1..n in hit order; an answer cites them as ``[n]``,
``[n, m]`` or ``[n][m]``. The numbers in the answer stay as the model (or the offline answerer)
wrote them, so the text and the citation list always agree; a number that names no source is
dropped from the citations and flagged on the answer.

>>> parse_marks("Dockers struck [2]. They won [1, 2][3].")
[2, 1, 3]
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import NamedTuple

from pipeline.answer.sentences import content_terms, lexical_overlap, split_sentences
from pipeline.lang import detect_language
from pipeline.models import Answer, Chunk, Citation, Hit
from pipeline.spans import locate

_MARK = re.compile(r"\[\s*(\d{1,4}(?:\s*(?:[,;]|[-–])\s*\d{1,4})*)\s*\]")
_MAX_RANGE = 20  # "[1-3]" expands; a "[1-2000]" is not a citation
MAX_QUOTE_CHARS = 500

NOT_FOUND = {
    "fr": (
        "Je n'ai trouvé aucun passage pertinent dans les archives pour répondre à cette question."
    ),
    "en": "I found nothing in the archive that answers this question.",
}
_FRENCH_HINTS = re.compile(
    r"[éèêàùçôîœ]|\b(?:quel|quelle|combien|pourquoi|qu'|est-ce|le|la|les|des|du|une)\b", re.I
)


class Source(NamedTuple):
    """A distinct chunk among the hits, with the number it is cited by."""

    n: int
    hit: Hit

    @property
    def chunk(self) -> Chunk:
        return self.hit.chunk


class Quote(NamedTuple):
    """What a citation quotes, and the pages that text sits on (``None``: the chunk's pages)."""

    text: str
    page_start: int | None = None
    page_end: int | None = None


class ResolvedCitations(NamedTuple):
    """The citations an answer's marks point to, and what could not be resolved."""

    citations: list[Citation]
    flagged: list[str]


def number_sources(hits: Sequence[Hit]) -> list[Source]:
    """Number the hits' distinct chunks 1..n in hit order (a repeated chunk keeps its first number).

    >>> [s.n for s in number_sources([])]
    []
    """
    seen: set[str] = set()
    out: list[Source] = []
    for hit in hits:
        if hit.chunk.chunk_id not in seen:
            seen.add(hit.chunk.chunk_id)
            out.append(Source(len(out) + 1, hit))
    return out


def make_citation(n: int, chunk: Chunk, quote: Quote) -> Citation:
    """A Citation for source ``n``: the pages and line regions of the quoted text itself, found
    in the chunk (``pipeline.spans``); else the quote's pages, else the chunk's."""
    text = quote.text if len(quote.text) <= MAX_QUOTE_CHARS else quote.text[:MAX_QUOTE_CHARS] + "…"
    where = locate(chunk, quote.text)
    if where.found:
        (start, end), regions = where.pages, where.regions
    else:
        start = quote.page_start if quote.page_start is not None else chunk.page_start
        end = quote.page_end if quote.page_end is not None else chunk.page_end
        regions = [r for r in chunk.regions if (start or r.page) <= r.page <= (end or r.page)]
    return Citation(
        n=n,
        doc_id=chunk.doc_id,
        title=chunk.title,
        source=chunk.source,
        page_start=start,
        page_end=end,
        chunk_id=chunk.chunk_id,
        quote=text,
        regions=regions,
    )


def parse_marks(text: str) -> list[int]:
    """The numbers cited in ``text``, each once, in order of first appearance."""
    return list(dict.fromkeys(n for m in _MARK.finditer(text) for n in _numbers(m.group(1))))


def _numbers(inner: str) -> list[int]:
    out: list[int] = []
    for part in re.split(r"\s*[,;]\s*", inner):
        bounds = [int(x) for x in re.split(r"\s*[-–]\s*", part)]
        if len(bounds) == 2 and 0 <= bounds[1] - bounds[0] <= _MAX_RANGE:
            out.extend(range(bounds[0], bounds[1] + 1))
        else:
            out.extend(bounds)
    return out


def keep_marks(text: str, valid: Collection[int]) -> tuple[str, list[int]]:
    """``text`` with the numbers outside ``valid`` removed from its marks, and those numbers.

    A mark left with no number goes; the text around it stays as written.

    >>> keep_marks("Dockers struck [2][9]. They won [9].", {1, 2})
    ('Dockers struck [2]. They won.', [9])
    """
    unknown: list[int] = []

    def rewrite(m: re.Match[str]) -> str:
        numbers = _numbers(m.group(1))
        kept = [n for n in numbers if n in valid]
        unknown.extend(n for n in numbers if n not in valid and n not in unknown)
        return f"[{', '.join(map(str, kept))}]" if kept else ""

    cleaned = _MARK.sub(rewrite, text)
    cleaned = re.sub(r"[ \t]+([.,;:!?)])", r"\1", cleaned)  # "won [9]." → "won."
    return re.sub(r"[ \t]{2,}", " ", cleaned), unknown


def mark_contexts(text: str) -> dict[int, str]:
    """For each cited number, the answer text that cites it (what precedes each of its marks).

    Consecutive marks (``[1][2]``, ``[1], [2]``) share the text before the first of them.
    """
    contexts: dict[int, list[str]] = {}
    pos, last = 0, ""
    for m in _MARK.finditer(text):
        before = text[pos : m.start()]
        if re.search(r"\w", before):
            last = before
        for n in _numbers(m.group(1)):
            contexts.setdefault(n, []).append(last)
        pos = m.end()
    return {n: " ".join(parts) for n, parts in contexts.items()}


def best_quote(chunk: Chunk, context: str) -> Quote:
    """The chunk's sentence that shares most content words with ``context`` (what the answer says).

    Falls back to the chunk's first sentence, then to its start, so a citation always quotes.
    """
    sentences = split_sentences(chunk.text, first_page=chunk.page_start)
    if not sentences:
        return Quote(chunk.text.strip()[:MAX_QUOTE_CHARS])
    wanted = content_terms(context)
    best = max(sentences, key=lambda s: lexical_overlap(wanted, content_terms(s.text)))
    return Quote(best.text, best.page, best.page)


def resolve_citations(
    text: str, sources: Sequence[Source], *, quotes: Mapping[int, Quote] | None = None
) -> ResolvedCitations:
    """Map the marks in ``text`` to citations, in order of first appearance.

    ``quotes`` gives the quote of a source (the offline answerer knows which sentence it took);
    otherwise the sentence of the chunk closest to what the answer says is quoted.

    >>> resolve_citations("Nothing [7].", []).flagged
    ['unknown citation [7]']
    """
    by_n = {s.n: s for s in sources}
    contexts = mark_contexts(text)
    citations: list[Citation] = []
    flagged: list[str] = []
    for n in parse_marks(text):
        source = by_n.get(n)
        if source is None:
            flagged.append(f"unknown citation [{n}]")
            continue
        quote = (quotes or {}).get(n) or best_quote(source.chunk, contexts.get(n, text))
        citations.append(make_citation(n, source.chunk, quote))
    return ResolvedCitations(citations, flagged)


def reply_language(question: str) -> str:
    """``"fr"`` or ``"en"``: the language to answer ``question`` in (English when unsure)."""
    lang = detect_language(question, min_hits=1)
    if lang in NOT_FOUND:
        return lang
    return "fr" if lang is None and _FRENCH_HINTS.search(question) else "en"


def not_found_answer(question: str, backend: str, *, flagged: Sequence[str] = ()) -> Answer:
    """The "no evidence" answer, in the question's language, with no citations.

    >>> not_found_answer("Qui a gagné ?", "offline").text.startswith("Je n'ai trouvé")
    True
    """
    return Answer(
        text=NOT_FOUND[reply_language(question)],
        backend=backend,
        citations=[],
        found=False,
        flagged=list(flagged),
    )
