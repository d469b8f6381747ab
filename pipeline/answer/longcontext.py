"""Long-context answers over the archive: the ``"openai"`` backend.

Retrieval is wide (``LLMOptions.retrieve_k`` chunks, hundreds); the evidence is grouped by
document, widened to whole sections, put in date order when the question is about time, and packed
to the last token of the window (``evidence.pack_evidence``). When the hits themselves do not fit,
the archive is read period by period (map-reduce):

1. the hits are cut into consecutive periods (whole documents, cut at a new year where it costs
   little), each sized to fill one window; at most ``max_map_calls`` of them, the weakest hits
   left out when there are more;
2. each period is read on its own ("map"), with passages numbered once across all periods; the
   model writes notes that cite those numbers, and a note's unknown numbers are removed and
   flagged, a note citing nothing is dropped;
3. the notes, oldest period first, are combined into the answer ("reduce"), which cites the same
   numbers, so every ``[n]`` of the answer resolves to a packed passage.

>>> answerer = LongContextAnswerer(LLMOptions(base_url="http://gpu:8000/v1"))      # doctest: +SKIP
>>> answerer.answer("Comment la grève a-t-elle évolué entre 1983 et 1990 ?", hits)  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, NamedTuple

from pipeline.answer.citations import Source, keep_marks, not_found_answer, parse_marks
from pipeline.answer.evidence import (
    Evidence,
    SectionLoader,
    document_header,
    pack_evidence,
    prompt_budget,
)
from pipeline.answer.llm_client import ChatMessage, ChatReply
from pipeline.answer.openai_chat import OpenAIChatAnswerer, reply_answer
from pipeline.answer.prompts import (
    MAP_SYSTEM_PROMPT,
    NOTES_CLOSE,
    NOTES_OPEN,
    NOTHING,
    REDUCE_SYSTEM_PROMPT,
)
from pipeline.errors import ConfigError
from pipeline.models import Answer, AnswerOptions, ContextReport, Hit, LLMOptions, Question
from pipeline.tokens import TokenCounter, count_chat

if TYPE_CHECKING:
    from pipeline.answer import AnswerDeps

# When the hits overflow and map-reduce is off, this share of the room goes to the best hits and
# the rest to their sections, so the best evidence keeps its context.
OVERFLOW_CORE_SHARE = 0.75
PERIOD_FILL = 0.75  # of a window's room, planned for a period's hits (sections take the rest)
PASSAGE_OVERHEAD = 12  # tokens of a passage's number and page line


class Period(NamedTuple):
    """Consecutive documents read in one call: their dates and their hits, best first."""

    start: dt.date | None
    end: dt.date | None
    hits: list[Hit]

    @property
    def label(self) -> str:
        if self.start is None:
            return "undated"
        first = self.start.isoformat()
        last = self.end.isoformat() if self.end else "undated"
        return first if last == first else f"{first} – {last}"


class Note(NamedTuple):
    """What the model noted for one period (or several, once combined)."""

    label: str
    text: str


@dataclass
class _Run:
    """What a map-reduce read so far: every packed passage, each period's pack, flags, calls."""

    sources: list[Source] = field(default_factory=list)
    periods: list[Evidence] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)
    calls: int = 0


class LongContextAnswerer(OpenAIChatAnswerer):
    """Answers from hundreds of hits: sections, date order, whole windows, map-reduce beyond.

    ``sections`` loads documents' chunks so that hits widen to their sections (the archive's
    store); without it, only the hits' own chunks are sent. ``retrieve_k`` tells the caller how
    wide to retrieve.
    """

    name = "openai"

    def __init__(
        self,
        opts: LLMOptions,
        token_counter: TokenCounter | None = None,
        *,
        backoff_s: float = 1.0,
        sections: SectionLoader | None = None,
        counter_factory: Callable[[], TokenCounter] | None = None,
    ) -> None:
        super().__init__(opts, token_counter, backoff_s=backoff_s, counter_factory=counter_factory)
        self.sections = sections
        self.retrieve_k = opts.retrieve_k

    def _generate(
        self, asked: Question, hits: Sequence[Hit], *, streaming: bool
    ) -> Generator[str, None, Answer]:
        question = asked.text
        if not hits:
            yield (answer := not_found_answer(question, self.name)).text
            return answer
        chronological = asked.chronological  # read once, with the caller's today
        single = pack_evidence(
            question,
            hits,
            opts=self.opts,
            counter=self.counter,
            chronological=chronological,
            sections=self.sections,
        )
        if single.dropped and self.opts.map_reduce and len(hits) > 1:
            return (yield from self._map_reduce(question, hits, streaming))
        if single.dropped:
            single = pack_evidence(
                question,
                hits,
                opts=self.opts,
                counter=self.counter,
                chronological=chronological,
                sections=self.sections,
                core_share=OVERFLOW_CORE_SHARE,
            )
        if not single.documents:
            raise ConfigError(f"context window {self.opts.context_window} holds no source")
        reply = yield from self.ask_model(single.messages, streaming=streaming)
        answer = reply_answer(question, reply, single.numbered(), self.name, self.opts)
        if not reply.text:
            yield answer.text
        report = self._report("single", hits, [single], calls=1)
        prompt = reply.prompt_tokens if reply.prompt_tokens is not None else single.prompt_tokens
        return answer.model_copy(update={"context": report, "prompt_tokens": prompt})

    def _map_reduce(
        self, question: str, hits: Sequence[Hit], streaming: bool
    ) -> Generator[str, None, Answer]:
        periods, _ = plan_periods(
            hits, counter=self.counter, room=self._room(question), max_calls=self.opts.max_map_calls
        )
        run = _Run()
        notes: list[Note] = []
        prompt_tokens = 0
        for period in periods:
            evidence = pack_evidence(
                question,
                period.hits,
                opts=self.opts,
                counter=self.counter,
                chronological=True,
                sections=self.sections,
                system_prompt=MAP_SYSTEM_PROMPT,
                note=f"Period: {period.label}.",
                first_n=len(run.sources) + 1,
            )
            reply = self.client.complete(evidence.messages)
            run.calls += 1
            prompt_tokens += reply.prompt_tokens or evidence.prompt_tokens
            run.periods.append(evidence)
            run.sources.extend(evidence.numbered())
            note = self._note(period.label, reply, evidence, run.flagged)
            if note is not None:
                notes.append(note)
        if not notes:
            answer = not_found_answer(question, self.name, flagged=run.flagged)
            yield answer.text
            return answer.model_copy(update={"context": self._report_run(hits, run)})
        valid = {s.n for s in run.sources}
        reply = yield from self._combine(question, notes, valid, streaming, run)
        answer = reply_answer(question, reply, run.sources, self.name, self.opts)
        if not reply.text:
            yield answer.text
        prompt_tokens += reply.prompt_tokens or 0
        return answer.model_copy(
            update={
                "flagged": [*run.flagged, *answer.flagged],
                "prompt_tokens": prompt_tokens,
                "context": self._report_run(hits, run),
            }
        )

    def _note(
        self, label: str, reply: ChatReply, evidence: Evidence, flagged: list[str]
    ) -> Note | None:
        """A period's note with only the numbers of its own passages, or None if it has none."""
        text = reply.text.strip()
        if not text or text.upper().startswith(NOTHING):
            return None
        text, unknown = keep_marks(text, {c.n for c in evidence.chunks})
        flagged.extend(f"unknown citation [{n}] in the notes for {label}" for n in unknown)
        if not parse_marks(text):  # it cites none of its passages
            return None
        return Note(label, text)

    def _combine(
        self,
        question: str,
        notes: list[Note],
        valid: set[int],
        streaming: bool,
        run: _Run,
    ) -> Generator[str, None, ChatReply]:
        """Reduce the notes to the answer; notes too long for one window are combined in
        groups first, and those results combined in turn."""
        budget = prompt_budget(self.opts)
        while count_chat(self.counter, reduce_messages(question, notes)) > budget:
            groups = _groups(question, notes, self.counter, budget)
            if len(groups) >= len(notes):  # a single note overflows: cut the longest
                notes = _cut_longest(notes, self.counter, budget // max(1, len(notes)))
                continue
            merged = []
            for group in groups:
                reply = self.client.complete(reduce_messages(question, group))
                run.calls += 1
                text, unknown = keep_marks(reply.text, valid)
                run.flagged.extend(f"unknown citation [{n}] in combined notes" for n in unknown)
                merged.append(Note(f"{group[0].label.split(' – ')[0]} – {group[-1].label}", text))
            notes = merged
        run.calls += 1
        return (yield from self.ask_model(reduce_messages(question, notes), streaming=streaming))

    def _room(self, question: str) -> int:
        """Room for passages in one map call (the instructions, note and question taken out)."""
        system = ChatMessage("system", MAP_SYSTEM_PROMPT)
        note = "Period: 0000-00-00 – 0000-00-00."
        user = ChatMessage("user", f"<sources>\n</sources>\n\n{note}\nQuestion: {question}")
        return prompt_budget(self.opts) - count_chat(self.counter, [system, user])

    def _report(
        self,
        strategy: Literal["single", "map-reduce"],
        hits: Sequence[Hit],
        packs: Sequence[Evidence],
        *,
        calls: int,
    ) -> ContextReport:
        chunks = [c for ev in packs for c in ev.chunks]
        taken = {c.chunk.chunk_id for c in chunks}
        distinct = {h.chunk.chunk_id for h in hits}
        return ContextReport(
            strategy=strategy,
            tokenizer=self.counter.name,
            hits=len(distinct),
            chunks=len(chunks),
            documents=len({c.chunk.doc_id for c in chunks}),
            dropped_hits=len(distinct - taken),
            prompt_tokens=max((ev.prompt_tokens for ev in packs), default=0),
            budget=prompt_budget(self.opts),
            calls=calls,
            chronological=any(ev.chronological for ev in packs),
        )

    def _report_run(self, hits: Sequence[Hit], run: _Run) -> ContextReport:
        """The report of a map-reduce: hits left out past ``max_map_calls`` count as dropped."""
        report = self._report("map-reduce", hits, run.periods, calls=run.calls)
        labels = [_period_label(ev) for ev in run.periods]
        return report.model_copy(update={"periods": labels, "chronological": True})


def reduce_messages(question: str, notes: Sequence[Note]) -> list[ChatMessage]:
    """The combining call: fixed instructions, then the notes oldest first, then the question."""
    blocks = "".join(
        f"### {note.label}\n{note.text.replace(NOTES_CLOSE, '').replace(NOTES_OPEN, '')}\n\n"
        for note in notes
    )
    user = f"{NOTES_OPEN}\n{blocks}{NOTES_CLOSE}\n\nQuestion: {question.strip()}"
    return [ChatMessage("system", REDUCE_SYSTEM_PROMPT), ChatMessage("user", user)]


def plan_periods(
    hits: Sequence[Hit], *, counter: TokenCounter, room: int, max_calls: int
) -> tuple[list[Period], list[Hit]]:
    """Cut ``hits`` into at most ``max_calls`` consecutive periods that each fill a window.

    Returns the periods, oldest first (undated documents last), and the hits left out: the
    weakest, when even ``max_calls`` windows cannot hold them all.
    """
    if max_calls < 1:
        raise ConfigError("max_map_calls must be at least 1")
    target = max(1, int(room * PERIOD_FILL))
    costs = {h.chunk.chunk_id: counter.count(h.chunk.text) + PASSAGE_OVERHEAD for h in hits}
    headers = {h.chunk.doc_id: counter.count(document_header(h.chunk)) for h in hits}
    capacity = target * max_calls
    while True:
        kept, used, seen = [], 0, set()
        for hit in hits:
            extra = costs[hit.chunk.chunk_id]
            if hit.chunk.doc_id not in seen:
                extra += headers[hit.chunk.doc_id]
            if used + extra > capacity:
                break
            kept.append(hit)
            seen.add(hit.chunk.doc_id)
            used += extra
        periods = _cut(kept, costs, headers, target)
        if len(periods) <= max_calls or len(kept) <= 1:
            taken = {h.chunk.chunk_id for h in kept}
            return periods[:max_calls], [h for h in hits if h.chunk.chunk_id not in taken]
        capacity = int(capacity * 0.9)


def _cut(
    hits: Sequence[Hit], costs: dict[str, int], headers: dict[str, int], target: int
) -> list[Period]:
    """Whole documents in date order, a new period when the next would overflow ``target`` (or,
    past half of it, when a new year starts)."""
    docs: dict[str, list[Hit]] = {}
    for hit in hits:
        docs.setdefault(hit.chunk.doc_id, []).append(hit)
    best = {doc_id: i for i, doc_id in enumerate(docs)}
    rank = {h.chunk.chunk_id: i for i, h in enumerate(hits)}
    order = sorted(docs, key=lambda d: (docs[d][0].chunk.date or dt.date.max, best[d]))
    periods: list[list[str]] = []
    used = 0
    for doc_id in order:
        cost = headers[doc_id] + sum(costs[h.chunk.chunk_id] for h in docs[doc_id])
        if periods:
            last = docs[periods[-1][-1]][0].chunk.date
            date = docs[doc_id][0].chunk.date
            new_year = (last.year if last else None) != (date.year if date else None)
            if used + cost > target or (new_year and used >= target // 2) or (last and not date):
                periods.append([])
                used = 0
        else:
            periods.append([])
        periods[-1].append(doc_id)
        used += cost
    out = []
    for group in periods:
        dates = [docs[d][0].chunk.date for d in group]
        members = sorted((h for d in group for h in docs[d]), key=lambda h: rank[h.chunk.chunk_id])
        out.append(Period(dates[0], dates[-1], members))
    return out


def _groups(
    question: str, notes: Sequence[Note], counter: TokenCounter, budget: int
) -> list[list[Note]]:
    """Consecutive notes in groups that each fit one combining call."""
    groups: list[list[Note]] = [[]]
    for note in notes:
        trial = [*groups[-1], note]
        if groups[-1] and count_chat(counter, reduce_messages(question, trial)) > budget:
            groups.append([note])
        else:
            groups[-1] = trial
    return groups


def _cut_longest(notes: list[Note], counter: TokenCounter, share: int) -> list[Note]:
    longest = max(range(len(notes)), key=lambda i: counter.count(notes[i].text))
    text = notes[longest].text
    cut = counter.truncate(text, max(16, min(share, counter.count(text) // 2)))
    return [*notes[:longest], Note(notes[longest].label, cut), *notes[longest + 1 :]]


def _period_label(evidence: Evidence) -> str:
    dates = [d.date for d in evidence.documents]
    known = [d for d in dates if d is not None]
    if not known:
        return "undated"
    first, last = min(known), max(known)
    label = first.isoformat() if first == last else f"{first.isoformat()} – {last.isoformat()}"
    return label + (" (and undated)" if len(known) < len(dates) else "")


def make_openai(opts: AnswerOptions, deps: AnswerDeps) -> LongContextAnswerer:
    """Backend ``openai``: the long-context answerer over the server ``opts.llm`` names."""
    return LongContextAnswerer(opts.llm, sections=deps.sections, counter_factory=deps.token_counter)
