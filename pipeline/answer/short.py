"""The short answer: the entity, number or date of the best sentences that answers the question.

The offline answerer ranks sentences (``OfflineAnswerer.rank``); this module reads the best few
and picks one span of them (``entities.find_spans``) by four signals, each a general rule of
extractive question answering:

1. **kind**: the span is the kind of thing the question asks for (``qtype.answer_type``): a
   person for *who*, a date for *when*, an amount of money for *how much did it cost*;
2. **new**: the span says something the question does not (an answer never repeats it);
3. **near**: the span sits close to the words it shares with the question in its sentence;
4. **focus**: the span names the question's focus noun ("how many *residents*" → "2,300
   residents"), and its sentence ranks high.

>>> pick_short_answer("Who won the race?", [(0.9, "Amara Dovey won the race on Sunday.", "en")])
ShortAnswer(text='Amara Dovey', sentence=0, score=...)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from pipeline.answer.entities import Span, find_spans
from pipeline.answer.qtype import ExpectedAnswer, answer_type
from pipeline.answer.sentences import content_terms, fold, stem

# A wire dateline ("HOLBURY, March 14, 2019 (Northwire) - ", "PARIS, 12 mai (AFP) – ") says where
# and when the story was filed, not what it reports: its place, date and agency are no answers.
DATELINE = re.compile(r"^\s*[A-ZÀ-Þ][A-ZÀ-Þ'’ .-]+,\s+[^()\n]{3,40}?\([^()\n]{2,40}\)\s*[-–—]+\s+")
SENTENCES_READ = 4  # the best sentences a short answer is looked for in
MIN_KIND = 0.3  # a span this far from the wanted kind is not an answer
WEIGHTS = {"sentence": 0.8, "kind": 1.5, "near": 0.5, "focus": 0.4}
_WORD = re.compile(r"[\w’'-]+")


class ShortAnswer(NamedTuple):
    """The short answer's text, the index of its sentence among those given, and its score."""

    text: str
    sentence: int
    score: float

    def __repr__(self) -> str:  # the score is a float: keep doctests stable
        return f"ShortAnswer(text={self.text!r}, sentence={self.sentence}, score=...)"


# How well a span of one kind answers a question wanting another (rows: wanted). Small spaCy
# models confuse persons, organisations and places in news text, hence the partial credit.
_KIND_FIT: dict[str, dict[str, float]] = {
    "person": {"person": 1.0, "org": 0.4, "entity": 0.5, "place": 0.3, "thing": 0.2},
    "org": {"org": 1.0, "entity": 0.7, "person": 0.5, "place": 0.4, "thing": 0.3},
    "place": {"place": 1.0, "org": 0.6, "entity": 0.6, "thing": 0.4, "person": 0.3},
    "date": {"date": 1.0},
    "number": {"number": 1.0},
    "entity": {
        "entity": 1.0,
        "org": 0.8,
        "person": 0.6,
        "place": 0.6,
        "thing": 0.5,
        "number": 0.3,
    },
    "thing": {},  # no short answer (pick_short_answer)
}
_UNIT_FIT: dict[tuple[str, str | None], float] = {
    ("score", "percent"): 0.8,
    ("count", "percent"): 0.6,
    ("length", "duration"): 0.3,
}


def kind_fit(expected: ExpectedAnswer, span: Span) -> float:
    """0..1: how well ``span``'s kind answers a question that wants ``expected``."""
    fit = _KIND_FIT[expected.kind].get(span.kind, 0.0)
    if expected.kind != "number" or span.kind != "number" or expected.unit is None:
        return fit
    if expected.unit == span.unit:
        return fit
    if span.unit == "count":
        return 0.6  # a bare number where a unit was expected: often the unit is a noun after it
    return _UNIT_FIT.get((expected.unit, span.unit), 0.2)


def pick_short_answer(
    question: str,
    sentences: Sequence[tuple[float, str, str | None]],
    *,
    expected: ExpectedAnswer | None = None,
) -> ShortAnswer | None:
    """The best span of ``sentences`` (relevance, text, language; best first) for ``question``;
    None when no span of a fitting kind says anything the question does not, or when the
    question asks for no entity, number or date ("What is mediation?", "Comment ... ?": a span
    would be noise there; the sentences answer)."""
    expected = expected or answer_type(question)
    if expected.kind == "thing":
        return None
    asked = content_terms(question)
    top = max((rel for rel, _, _ in sentences[:SENTENCES_READ]), default=0.0)
    best: ShortAnswer | None = None
    for i, (relevance, text, language) in enumerate(sentences[:SENTENCES_READ]):
        if top <= 0:
            break
        dateline = DATELINE.match(text)
        skip = dateline.end() if dateline else 0
        for span in _distinct(find_spans(text, language)):
            if span.start < skip:
                continue
            score = _score(span, text, relevance / top, expected, asked)
            if score is not None and (best is None or score > best.score):
                best = ShortAnswer(_extend(span, text, expected).text, i, score)
    return best


def _score(
    span: Span, text: str, sentence: float, expected: ExpectedAnswer, asked: set[str]
) -> float | None:
    kind = kind_fit(expected, span)
    focus = 1.0 if expected.focus and _names_focus(span, text, expected.focus) else 0.0
    own = content_terms(span.text)
    if expected.kind == "entity" and span.kind == "thing" and own & set(expected.focus):
        kind = 1.0  # "which rocket": the noun phrase headed by "rocket" ("an Aldane-4 rocket")
        own -= set(expected.focus)
    if kind < MIN_KIND:
        return None
    if not own or own <= asked:
        return None  # says nothing new ("Holbury" for a question about Holbury)
    new_share = len(own - asked) / len(own)
    near = _nearness(span, text, asked)
    w = WEIGHTS
    return (
        w["sentence"] * sentence + w["kind"] * kind * new_share + w["near"] * near
        + w["focus"] * focus
    )  # fmt: skip


def _nearness(span: Span, text: str, asked: set[str]) -> float:
    """1 next to a word of the question, falling with the distance in words."""
    words = [(m.start(), m.end(), m.group(0)) for m in _WORD.finditer(text)]
    hits = [i for i, (_, _, w) in enumerate(words) if content_terms(w) & asked]
    inside = [i for i, (a, b, _) in enumerate(words) if a < span.end and span.start < b]
    if not hits or not inside:
        return 0.0
    outside = [h for h in hits if h not in inside]
    if not outside:
        return 0.0
    gap = min(abs(h - i) for h in outside for i in inside) - 1
    return 1.0 / (1.0 + gap / 3.0)


def _names_focus(span: Span, text: str, focus: tuple[str, ...]) -> bool:
    """Whether the span, or the word right after it, is the question's focus noun."""
    after = _WORD.search(text, span.end)
    words = span.text.split() + ([after.group(0)] if after else [])
    return any(stem(fold(w)) in focus for w in words)


def _extend(span: Span, text: str, expected: ExpectedAnswer) -> Span:
    """A number followed by the question's focus words keeps them ("12,000 rail workers")."""
    if span.kind != "number" or not expected.focus:
        return span
    end = span.end
    for _ in expected.focus:
        after = re.match(r"\s+([\w’'-]+)", text[end:])
        if not after or stem(fold(after.group(1))) not in expected.focus:
            break
        end += after.end()
    return span._replace(end=end, text=text[span.start : end])


def _distinct(spans: list[Span]) -> list[Span]:
    """One span per stretch of text and kind (the model and the patterns may both find it)."""
    seen: set[tuple[int, int, str]] = set()
    out = []
    for s in spans:
        key = (s.start, s.end, s.kind)
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out
