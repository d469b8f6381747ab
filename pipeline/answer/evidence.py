"""Evidence for long-context answers: hits grouped by document, widened to whole sections,
ordered by date or by rank, and packed into the model's window to the last token.

What goes in, in this order, until the window is full:

1. every hit's own chunk, best first (when ``core_share`` < 1, only until that share of the room
   is used, so that the best hits also get their context);
2. the rest of each hit's section (the chunks around it under the same heading, up to
   ``LLMOptions.section_max_tokens``), nearest first, for hits taken best first.

How it reads: one block per document, headed by its date, title and origin, its passages in
reading order, each numbered ``[n]`` in the order they appear; the text chunks repeat at their
boundaries (the chunker's overlap) is sent once. Documents come in date order for questions about
time, else in the order of their best hit. The system message never changes and the sources come
before the question, so consecutive questions share a cacheable prefix (vLLM prefix caching).

Counting is exact where the tokenizer is: each piece is counted as it is added, then the real
messages are counted again and the last pieces dropped until the prompt fits
``context_window - max_tokens - safety margin``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

from pipeline.answer.citations import Source
from pipeline.answer.context import (
    MIN_SOURCE_TOKENS,
    SOURCES_CLOSE,
    SOURCES_OPEN,
    SOURCES_TAG,
    default_safety_margin,
)
from pipeline.answer.llm_client import ChatMessage
from pipeline.answer.prompts import CHRONOLOGICAL_NOTE, LONG_SYSTEM_PROMPT
from pipeline.errors import ConfigError
from pipeline.models import Chunk, Hit, LLMOptions
from pipeline.tokens import TokenCounter, count_chat

# doc ids → each document's chunks in reading order (``LanceChunkStore.chunks_of`` for each)
SectionLoader = Callable[[Sequence[str]], Mapping[str, Sequence[Chunk]]]

GAP = "[…]"
_NUMBER_WIDTH = "[99999]"  # pieces are counted before they are numbered: count the widest
MIN_OVERLAP_WORDS = 3
MAX_REFILLS = 3  # rounds of topping up the room the exact count left over


class PackedChunk(NamedTuple):
    """A passage sent to the model: its number, chunk, the text sent, and its hit (None when it
    is section context around a hit)."""

    n: int
    chunk: Chunk
    text: str
    hit: Hit | None


class PackedDocument(NamedTuple):
    doc_id: str
    header: str
    date: dt.date | None
    chunks: list[PackedChunk]


class Evidence(NamedTuple):
    """The messages to send, what they hold, their size, and the hits left out."""

    messages: list[ChatMessage]
    documents: list[PackedDocument]
    prompt_tokens: int
    budget: int
    dropped: list[Hit]
    chronological: bool

    @property
    def chunks(self) -> list[PackedChunk]:
        return [c for d in self.documents for c in d.chunks]

    def numbered(self) -> list[Source]:
        """The packed passages as ``citations.Source``, to resolve an answer's marks against."""
        return [Source(c.n, c.hit or Hit(chunk=c.chunk, score=0.0)) for c in self.chunks]


def prompt_budget(opts: LLMOptions) -> int:
    """Tokens a prompt may use: the window less the answer's ``max_tokens`` and a margin."""
    margin = opts.safety_margin
    if margin is None:
        margin = default_safety_margin(opts.context_window)
    return opts.context_window - opts.max_tokens - margin


def pack_evidence(
    question: str,
    hits: Sequence[Hit],
    *,
    opts: LLMOptions,
    counter: TokenCounter,
    chronological: bool,
    sections: SectionLoader | None = None,
    system_prompt: str = LONG_SYSTEM_PROMPT,
    note: str = "",
    first_n: int = 1,
    core_share: float = 1.0,
) -> Evidence:
    """Pack ``hits`` (best first) and their sections into one prompt for ``question``.

    Raises ConfigError when the window cannot hold the instructions, the question and one short
    passage.
    """
    hits = _distinct(hits)
    note = f"{note.strip()}\n" if note.strip() else ""
    if chronological:
        note = f"{CHRONOLOGICAL_NOTE}\n{note}"
    system = ChatMessage("system", system_prompt)
    empty = _user_message(question, [], note)
    budget = prompt_budget(opts)
    room = budget - count_chat(counter, [system, empty])
    if room < MIN_SOURCE_TOKENS:
        raise ConfigError(
            f"context window {opts.context_window} too small: instructions and question take "
            f"{budget - room} tokens, {opts.max_tokens} are kept for the answer"
        )
    doc_chunks = sections([h.chunk.doc_id for h in hits]) if sections and hits else {}
    selection = _Selection(counter, room, doc_chunks, opts.section_max_tokens)
    if not selection.fill(hits, core_share) and hits:
        selection.add_cut(hits[0])  # one passage too long for the window: send what fits of it
    refills, popped = 0, False
    while True:
        documents = selection.render(chronological, first_n)
        messages = [system, _user_message(question, documents, note)]
        total = count_chat(counter, messages)
        if total > budget and selection.order:
            selection.pop()  # joined pieces may count a little more than their sum
            popped = True
            continue
        # Pieces are counted as the widest they could be: what the real prompt left over may
        # take a few more.
        if popped or refills >= MAX_REFILLS or budget - total < MIN_SOURCE_TOKENS:
            break
        selection.room = budget - total
        refills += 1
        if not selection.fill(hits, core_share):
            break
    taken = {c.chunk.chunk_id for d in documents for c in d.chunks}
    dropped = [h for h in hits if h.chunk.chunk_id not in taken]
    return Evidence(messages, documents, total, budget, dropped, chronological)


def _distinct(hits: Sequence[Hit]) -> list[Hit]:
    seen: set[str] = set()
    out = []
    for hit in hits:
        if hit.chunk.chunk_id not in seen:
            seen.add(hit.chunk.chunk_id)
            out.append(hit)
    return out


class _Selection:
    """The chunks chosen so far, what each costs in tokens, and the room left."""

    def __init__(
        self,
        counter: TokenCounter,
        room: int,
        doc_chunks: Mapping[str, Sequence[Chunk]],
        section_max_tokens: int,
    ) -> None:
        self.counter = counter
        self.room = room
        self.doc_chunks = doc_chunks
        self.section_max_tokens = section_max_tokens
        self.chosen: dict[tuple[str, int], tuple[Chunk, Hit | None]] = {}
        self.order: list[tuple[str, int]] = []  # in the order chosen: the last goes first
        self.cost: dict[tuple[str, int], int] = {}
        self.docs: dict[str, int] = {}  # doc id → chunks chosen in it
        self._sizes: dict[str, int] = {}  # chunk id → tokens of its text
        # (chunk, its length, the chunk before it) → tokens of the piece sent
        self._costs: dict[tuple[str, int, str], int] = {}

    def fill(self, hits: Sequence[Hit], core_share: float) -> int:
        """Add what fits (steps 1 and 2 of the module's docstring); the number of chunks added."""
        before = len(self.order)
        keep = self.room * (1.0 - core_share)  # room left for sections after step 1
        for hit in hits:  # 1. the hits themselves, best first
            if _key(hit.chunk) not in self.chosen and not self.add(hit.chunk, hit, keep=keep):
                break
        for hit in hits:  # 2. their sections, nearest chunks first
            if self.room < MIN_SOURCE_TOKENS:
                break
            for chunk in self.section(hit.chunk):
                own = chunk.chunk_id == hit.chunk.chunk_id
                if _key(chunk) not in self.chosen and not self.add(chunk, hit if own else None):
                    break
        return len(self.order) - before

    def add(self, chunk: Chunk, hit: Hit | None, *, keep: float = 0.0) -> bool:
        """Take ``chunk`` if it fits in the room left (less ``keep``); False if not."""
        key = _key(chunk)
        if key in self.chosen:
            return True
        cost = self._piece_cost(chunk, self._previous(chunk))
        header = 0 if chunk.doc_id in self.docs else self.count(document_header(chunk)) + 1
        nxt = self._following(chunk)
        saving = 0
        if nxt is not None:  # the next chunk's overlap with this one will not be sent twice
            saving = self.cost[_key(nxt)] - self._piece_cost(nxt, chunk)
        if cost + header - saving > self.room - keep:
            return False
        self.chosen[key] = (chunk, hit)
        self.order.append(key)
        self.cost[key] = cost + header
        if nxt is not None:
            self.cost[_key(nxt)] -= saving
        self.docs[chunk.doc_id] = self.docs.get(chunk.doc_id, 0) + 1
        self.room -= cost + header - saving
        return True

    def add_cut(self, hit: Hit) -> None:
        """Take the start of ``hit``'s chunk, as much of it as the room holds."""
        chunk = hit.chunk
        frame = self._piece_cost(chunk.model_copy(update={"text": ""}), None)
        room = self.room - frame - self.count(document_header(chunk)) - 1
        while room >= MIN_SOURCE_TOKENS:
            cut = chunk.model_copy(update={"text": self.counter.truncate(_clean(chunk.text), room)})
            if self.add(cut, hit.model_copy(update={"chunk": cut})):
                return
            room -= 8  # a cut text can count a token or two more once re-encoded

    def pop(self) -> None:
        key = self.order.pop()
        chunk, _ = self.chosen.pop(key)
        self.room += self.cost.pop(key)
        self.docs[chunk.doc_id] -= 1
        if not self.docs[chunk.doc_id]:
            del self.docs[chunk.doc_id]

    def section(self, chunk: Chunk) -> list[Chunk]:
        """``chunk`` and its section's other chunks, nearest first, within the section bound."""
        doc = self.doc_chunks.get(chunk.doc_id) or [chunk]
        run = [c for c in doc if c.heading_path == chunk.heading_path]
        at = next((i for i, c in enumerate(run) if c.ordinal == chunk.ordinal), None)
        if at is None:
            return [chunk]
        # the section is the unbroken run of ordinals around the chunk
        lo = hi = at
        while lo > 0 and run[lo - 1].ordinal == run[lo].ordinal - 1:
            lo -= 1
        while hi + 1 < len(run) and run[hi + 1].ordinal == run[hi].ordinal + 1:
            hi += 1
        nearest = sorted(
            run[lo : hi + 1], key=lambda c: (abs(c.ordinal - chunk.ordinal), c.ordinal)
        )
        out: list[Chunk] = []
        used = 0
        for c in nearest:
            if c.chunk_id not in self._sizes:
                self._sizes[c.chunk_id] = self.count(c.text)
            used += self._sizes[c.chunk_id]
            if out and used > self.section_max_tokens:
                break
            out.append(c)
        return out

    def render(self, chronological: bool, first_n: int) -> list[PackedDocument]:
        by_doc: dict[str, list[tuple[Chunk, Hit | None]]] = {}
        rank: dict[str, int] = {}
        for i, key in enumerate(self.order):
            chunk, hit = self.chosen[key]
            by_doc.setdefault(chunk.doc_id, []).append((chunk, hit))
            rank.setdefault(chunk.doc_id, i)
        if chronological:
            docs = sorted(by_doc, key=lambda d: (_date_key(by_doc[d][0][0]), rank[d]))
        else:
            docs = sorted(by_doc, key=lambda d: rank[d])
        out: list[PackedDocument] = []
        n = first_n
        for doc_id in docs:
            items = sorted(by_doc[doc_id], key=lambda item: item[0].ordinal)
            packed = []
            previous: Chunk | None = None
            for chunk, hit in items:
                text = _clean(chunk.text)
                if previous is not None and previous.ordinal == chunk.ordinal - 1:
                    text = trim_overlap(previous.text, text) or text
                packed.append(PackedChunk(n, chunk, text, hit))
                previous, n = chunk, n + 1
            first = items[0][0]
            out.append(PackedDocument(doc_id, document_header(first), first.date, packed))
        return out

    def count(self, text: str) -> int:
        return self.counter.count(text)

    def _piece_cost(self, chunk: Chunk, previous: Chunk | None) -> int:
        key = (chunk.chunk_id, len(chunk.text), previous.chunk_id if previous else "")
        if key not in self._costs:
            text = _clean(chunk.text)
            if previous is not None:
                text = trim_overlap(previous.text, text)
            label = f"{GAP}\n{_NUMBER_WIDTH} {passage_label(chunk, None)}"
            self._costs[key] = self.count(f"{label}\n{text}\n") + 1
        return self._costs[key]

    def _previous(self, chunk: Chunk) -> Chunk | None:
        got = self.chosen.get((chunk.doc_id, chunk.ordinal - 1))
        return got[0] if got else None

    def _following(self, chunk: Chunk) -> Chunk | None:
        got = self.chosen.get((chunk.doc_id, chunk.ordinal + 1))
        return got[0] if got else None


def _key(chunk: Chunk) -> tuple[str, int]:
    return chunk.doc_id, chunk.ordinal


def _date_key(chunk: Chunk) -> dt.date:
    return chunk.date or dt.date.max  # undated documents last


def _clean(text: str) -> str:
    """A passage as sent: no sources delimiter inside it (a document cannot close the block)."""
    return SOURCES_TAG.sub("", text).strip()


def trim_overlap(previous: str, text: str) -> str:
    """``text`` without the words it repeats from the end of ``previous`` (chunk overlap).

    >>> trim_overlap("One. Two three four.", "Two three four. Five six.")
    'Five six.'
    """
    before = previous.split()[-400:]
    spans = [m.span() for m in re.finditer(r"\S+", text)][:400]
    if not before or len(spans) < MIN_OVERLAP_WORDS:
        return text
    words = [text[a:b] for a, b in spans]
    for i, word in enumerate(before):
        k = len(before) - i
        if word == words[0] and k >= MIN_OVERLAP_WORDS and before[i:] == words[:k]:
            return text[spans[k - 1][1] :].lstrip()
    return text


def short_origin(source: str) -> str:
    """A source's last path segment (a file name, not the server's directory layout)."""
    return source.rstrip("/").rsplit("/", 1)[-1] if "/" in source else source


def document_header(chunk: Chunk) -> str:
    """``## 1983-05-12 · Grève des dockers — greve.pdf``: what the model dates and names."""
    date = chunk.date.isoformat() if chunk.date else "undated"
    title = " ".join((chunk.title or "").split()) or short_origin(chunk.source) or chunk.doc_id[:12]
    origin = short_origin(chunk.source)
    line = f"## {date} · {title}" + (f" — {origin}" if origin and origin != title else "")
    return SOURCES_TAG.sub("", line)


def passage_label(chunk: Chunk, previous: Chunk | None) -> str:
    """``p. 3–4 · Section > Subsection`` (the heading only where it changes)."""
    if chunk.page_start is None:
        pages = "p. ?"
    else:
        end = chunk.page_end if chunk.page_end is not None else chunk.page_start
        start = chunk.page_start
        pages = f"p. {start}" if end == start else f"p. {start}–{end}"
    path = [h for h in chunk.heading_path if h and h != chunk.title]
    if path and (previous is None or previous.heading_path != chunk.heading_path):
        pages += " · " + " > ".join(" ".join(h.split()) for h in path)
    return SOURCES_TAG.sub("", pages)


def _user_message(question: str, documents: Sequence[PackedDocument], note: str) -> ChatMessage:
    blocks = []
    for doc in documents:
        lines = [doc.header]
        previous: Chunk | None = None
        for piece in doc.chunks:
            if previous is not None and previous.ordinal != piece.chunk.ordinal - 1:
                lines.append(GAP)
            lines.append(f"[{piece.n}] {passage_label(piece.chunk, previous)}\n{piece.text}")
            previous = piece.chunk
        blocks.append("\n".join(lines) + "\n")
    sources = f"{SOURCES_OPEN}\n{''.join(blocks)}{SOURCES_CLOSE}"
    return ChatMessage("user", f"{sources}\n\n{note}Question: {question.strip()}")
