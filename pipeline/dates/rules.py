"""The patterns behind ``pipeline.dates`` (questions and documents): date expressions, French
and English, and the rules that turn a question's words into a period.

Patterns run on folded text (``fold``: lower case, no accents, straight apostrophes), which keeps
the length of the original so that a match's span points into the question as written. Each rule
pairs a pattern with a builder that turns its match into ``(start, end)``, either end open.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from typing import NamedTuple

REPORTING_LAG_DAYS = 7  # a named day also finds the reports of the following week

_MONTHS = {
    "janvier": 1, "janv": 1, "january": 1, "jan": 1,
    "fevrier": 2, "fevr": 2, "fev": 2, "february": 2, "feb": 2,
    "mars": 3, "march": 3, "mar": 3,
    "avril": 4, "avr": 4, "april": 4, "apr": 4,
    "mai": 5, "may": 5,
    "juin": 6, "june": 6, "jun": 6,
    "juillet": 7, "juil": 7, "july": 7, "jul": 7,
    "aout": 8, "august": 8, "aug": 8,
    "septembre": 9, "sept": 9, "september": 9, "sep": 9,
    "octobre": 10, "october": 10, "oct": 10,
    "novembre": 11, "november": 11, "nov": 11,
    "decembre": 12, "december": 12, "dec": 12,
}  # fmt: skip
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "un": 1, "une": 1, "two": 2, "deux": 2, "three": 3, "trois": 3,
    "four": 4, "quatre": 4, "five": 5, "cinq": 5, "six": 6, "seven": 7, "sept": 7, "eight": 8,
    "huit": 8, "nine": 9, "neuf": 9, "ten": 10, "dix": 10, "eleven": 11, "onze": 11,
    "twelve": 12, "douze": 12, "fifteen": 15, "quinze": 15, "twenty": 20, "vingt": 20,
    "thirty": 30, "trente": 30, "forty": 40, "quarante": 40, "fifty": 50, "cinquante": 50,
}  # fmt: skip

# Date expressions, on folded text.
_MONTH = r"(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:er|st|nd|rd|th)?"
_YEAR = r"(?:1\d{3}|20\d{2})(?!\d)"
ISO = r"\d{4}-\d{2}-\d{2}"
_NUMERIC = r"(?:[12]\d|3[01]|0?[1-9])[/.](?:1[0-2]|0?[1-9])[/.]\d{4}"
_DAY_MONTH_YEAR = rf"{_DAY}\s+{_MONTH}\s+{_YEAR}"
_MONTH_DAY_YEAR = rf"{_MONTH}\s+{_DAY},?\s+{_YEAR}"
MONTH_YEAR = rf"{_MONTH}\s+(?:de\s+|of\s+)?{_YEAR}"
FULL = rf"(?:{ISO}|{_NUMERIC}|{_DAY_MONTH_YEAR}|{_MONTH_DAY_YEAR})"
_N = r"\d{1,3}|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
_AT = r"(?<![\w'])"  # a word starts here


class Span(NamedTuple):
    start: dt.date
    end: dt.date
    day: bool  # the expression named a single day


class Rule(NamedTuple):
    pattern: re.Pattern[str]
    build: Callable[[re.Match[str], dt.date], tuple[dt.date | None, dt.date | None] | None]


def fold(text: str) -> str:
    """Lower case, accents dropped, typographic apostrophes straightened; same length as ``text``.

    >>> fold("Entre l’été 1983 et AOÛT 1990")
    "entre l'ete 1983 et aout 1990"
    """
    out = []
    for ch in text:
        low = ch.lower()
        if len(low) != 1:
            out.append(ch)
            continue
        base = unicodedata.normalize("NFKD", low)[0]
        out.append({"’": "'", "ʼ": "'", "\u00a0": " ", "\u202f": " "}.get(base, base))
    return "".join(out)


def parse_point(text: str) -> Span | None:
    """The span a date expression names: a day, a month or a year (folded text)."""
    text = text.strip()
    if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text):
        return _day(int(m[1]), int(m[2]), int(m[3]))
    if m := re.fullmatch(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})", text):
        return _day(int(m[3]), int(m[2]), int(m[1]))
    if m := re.fullmatch(rf"({_DAY})\s+({_MONTH})\s+({_YEAR})", text):
        return _day(int(m[3]), _month(m[2]), _day_number(m[1]))
    if m := re.fullmatch(rf"({_MONTH})\s+({_DAY}),?\s+({_YEAR})", text):
        return _day(int(m[3]), _month(m[1]), _day_number(m[2]))
    if m := re.fullmatch(rf"({_MONTH})\s+(?:de\s+|of\s+)?({_YEAR})", text):
        year, month = int(m[2]), _month(m[1])
        last = calendar.monthrange(year, month)[1]
        return Span(dt.date(year, month, 1), dt.date(year, month, last), False)
    if re.fullmatch(_YEAR, text):
        return Span(dt.date(int(text), 1, 1), dt.date(int(text), 12, 31), False)
    return None


def _day(year: int, month: int, day: int) -> Span | None:
    try:
        date = dt.date(year, month, day)
    except ValueError:
        return None
    return Span(date, date, True)


def _month(word: str) -> int:
    return _MONTHS[word.rstrip(".")]


def _day_number(word: str) -> int:
    return int(re.match(r"\d+", word)[0])  # type: ignore[index]


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS[word]


# --- question rules: each turns a match into (start, end), either end open ---------------------


def _point(m: re.Match[str], today: dt.date) -> tuple[dt.date | None, dt.date | None] | None:
    span = parse_point(m["p"])
    if span is None:
        return None
    if span.day:
        return span.start, span.end + dt.timedelta(days=REPORTING_LAG_DAYS)
    return span.start, span.end


def _between(m: re.Match[str], today: dt.date) -> tuple[dt.date | None, dt.date | None] | None:
    first = parse_point(m["a"])
    b = m["b"]
    if first is not None and re.fullmatch(r"\d{2}", b):  # "1983-90"
        b = str(first.start.year // 100 * 100 + int(b))
    second = parse_point(b)
    if first is None or second is None:
        return None
    lo, hi = sorted([first, second])
    return lo.start, hi.end


def _open(kind: str) -> Callable[..., tuple[dt.date | None, dt.date | None] | None]:
    def build(m: re.Match[str], today: dt.date) -> tuple[dt.date | None, dt.date | None] | None:
        span = parse_point(m["p"])
        if span is None:
            return None
        if kind == "since":
            return span.start, today
        if kind == "from":
            return span.start, None
        if kind == "before":
            return None, span.start - dt.timedelta(days=1)
        if kind == "until":
            return None, span.end
        return span.end + dt.timedelta(days=1), None  # after

    return build


def _decade(m: re.Match[str], today: dt.date) -> tuple[dt.date | None, dt.date | None] | None:
    digits = m["d"]
    start = int(digits) if len(digits) == 4 else 1900 + int(digits)
    if start % 10:
        return None
    lo, hi = start, start + 9
    part = m["part"] or ""
    if part in ("early", "debut"):
        hi = start + 3
    elif part in ("mid", "milieu"):
        lo, hi = start + 3, start + 6
    elif part in ("late", "fin"):
        lo = start + 6
    return dt.date(lo, 1, 1), dt.date(hi, 12, 31)


def _century(m: re.Match[str], today: dt.date) -> tuple[dt.date | None, dt.date | None] | None:
    n = _roman(m["r"]) if m["r"] else int(m["n"])
    if not 1 <= n <= 21:
        return None
    return dt.date(max(1, (n - 1) * 100 + 1), 1, 1), dt.date(n * 100, 12, 31)


def _roman(text: str) -> int:
    values = {"i": 1, "v": 5, "x": 10}
    total = 0
    for a, b in zip(text, [*text[1:], ""], strict=True):
        total += -values[a] if b and values[b] > values[a] else values[a]
    return total


def _relative(unit: str, shift: int) -> Callable[..., tuple[dt.date | None, dt.date | None]]:
    """This (shift 0) or the previous (shift -1) calendar year, month or week, to today at most."""

    def build(m: re.Match[str], today: dt.date) -> tuple[dt.date | None, dt.date | None]:
        if unit == "year":
            year = today.year + shift
            return dt.date(year, 1, 1), min(today, dt.date(year, 12, 31))
        if unit == "month":
            first = today.replace(day=1)
            if shift:
                first = (first - dt.timedelta(days=1)).replace(day=1)
            last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
            return first, min(today, last)
        if unit == "week":
            monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=shift)
            return monday, min(today, monday + dt.timedelta(days=6))
        day = today + dt.timedelta(days=shift)
        return day, day

    return build


def _ago(m: re.Match[str], today: dt.date) -> tuple[dt.date | None, dt.date | None]:
    year = today.year - _number(m["n"])
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def _last_n(m: re.Match[str], today: dt.date) -> tuple[dt.date | None, dt.date | None]:
    n = _number(m["n"]) if m["n"] else 10  # "the last decade"
    unit = m["u"]
    if unit.startswith(("y", "an", "annee", "decade", "decenn")):
        years = n * 10 if unit.startswith(("decade", "decenn")) and m["n"] else n
        return _years_before(today, years), today
    if unit.startswith(("month", "mois")):
        months = today.year * 12 + today.month - 1 - n
        day = min(today.day, calendar.monthrange(months // 12, months % 12 + 1)[1])
        return dt.date(months // 12, months % 12 + 1, day), today
    days = n * 7 if unit.startswith(("week", "semaine")) else n
    return today - dt.timedelta(days=days), today


def _years_before(today: dt.date, years: int) -> dt.date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def _rule(pattern: str, build: Callable[..., tuple[dt.date | None, dt.date | None] | None]) -> Rule:
    return Rule(re.compile(pattern), build)


_P = rf"(?P<p>{FULL}|{MONTH_YEAR}|{_YEAR})(?![\w-])"
_THE = r"(?:(?:le|l'|the|la|du|de|des)\s*)?"
# Listed most specific first: where two rules match overlapping text, the earlier one wins.
RULES: list[Rule] = [
    _rule(
        rf"{_AT}(?:entre|between)\s+{_THE}(?P<a>{FULL}|{MONTH_YEAR}|{_YEAR})\s+(?:et|and)\s+"
        rf"{_THE}(?P<b>{FULL}|{MONTH_YEAR}|{_YEAR})(?![\w-])",
        _between,
    ),
    _rule(
        rf"{_AT}(?:de|du|from|depuis|des)\s+{_THE}(?P<a>{FULL}|{MONTH_YEAR}|{_YEAR})\s+"
        rf"(?:a|au|aux|to|until|till|through|thru|jusqu'\s*(?:a|en|au))\s+"
        rf"{_THE}(?P<b>{FULL}|{MONTH_YEAR}|{_YEAR})(?![\w-])",
        _between,
    ),
    _rule(
        rf"{_AT}(?:en|in|during|over|from|pendant|durant|sur\s+la\s+periode|(?:the\s+)?period)\s+"
        rf"(?P<a>{_YEAR})\s*[-–/]\s*(?P<b>{_YEAR}|\d{{2}})(?![\w-])",
        _between,
    ),
    _rule(
        r"(?<![\w'])(?:in|during|throughout|over|across|from|since)\s+the\s+"
        r"(?:(?P<part>early|mid|late)[- ]?)?'?(?P<d>1\d\d0|20\d0|\d0)'?s(?!\w)",
        _decade,
    ),
    _rule(
        rf"{_AT}(?:(?:(?:au|a\s+la)\s+)?(?P<part>debut|milieu|fin)\s+des|dans\s+les|pendant\s+les"
        r"|durant\s+les|au\s+cours\s+des|tout\s+au\s+long\s+des)\s+annees\s+"
        r"(?P<d>1\d\d0|20\d0|\d0)(?!\d)",
        _decade,
    ),
    _rule(
        rf"{_AT}(?:au|aux|in\s+the|during\s+the)\s+(?:(?P<r>[xvi]+)\s*(?:e|eme)|(?P<n>\d{{1,2}})"
        r"\s*(?:e|eme|st|nd|rd|th))\s+(?:siecle|century)",
        _century,
    ),
    _rule(rf"{_AT}(?:depuis|since|ever\s+since)\s+{_THE}{_P}", _open("since")),
    _rule(rf"{_AT}(?:a\s+partir\s+d[e']\s*|starting\s+(?:in|from)\s+){_THE}{_P}", _open("from")),
    _rule(rf"{_AT}(?:from\s+){_P}\s+(?:on|onwards?)\b", _open("from")),
    _rule(rf"{_AT}(?:avant|before|prior\s+to)\s+{_THE}{_P}", _open("before")),
    _rule(
        rf"{_AT}(?:jusqu'\s*(?:en|a|au)|until|till|up\s+to|up\s+until)\s+{_THE}{_P}",
        _open("until"),
    ),
    _rule(rf"{_AT}(?:apres|after)\s+{_THE}{_P}", _open("after")),
    _rule(
        rf"{_AT}(?:en|in|during|pendant|durant|au\s+cours\s+de|courant|throughout|"
        rf"in\s+the\s+year|en\s+l'an(?:nee)?|au\s+mois\s+de|on|le|the)\s+(?P<p>{FULL})(?![\w-])",
        _point,
    ),
    _rule(
        rf"{_AT}(?:en|in|during|pendant|durant|au\s+cours\s+de|courant|throughout|"
        rf"in\s+the\s+year|en\s+l'an(?:nee)?|au\s+mois\s+de)\s+(?P<p>{MONTH_YEAR}|{_YEAR})"
        r"(?![\w-])",
        _point,
    ),
    _rule(
        rf"{_AT}(?:in|over|during|for|within)\s+the\s+(?:last|past)\s+(?P<n>{_N})\s+"
        r"(?P<u>years?|months?|weeks?|days?|decades?)(?!\w)",
        _last_n,
    ),
    _rule(
        rf"{_AT}(?:au\s+cours\s+des|pendant\s+les|durant\s+les|lors\s+des|dans\s+les|ces|les)"
        rf"\s+(?P<n>{_N})\s+dernier(?:e|s|es)?\s+(?P<u>annees|ans|mois|semaines|jours|decennies)"
        r"(?!\w)",
        _last_n,
    ),
    _rule(
        rf"{_AT}depuis\s+(?P<n>{_N})\s+(?P<u>ans|annees|mois|semaines|jours)(?!\w)",
        _last_n,
    ),
    _rule(rf"{_AT}(?:the\s+)?(?:last|past)\s+(?P<n>)(?P<u>decade)(?!\w)", _last_n),
    _rule(rf"{_AT}(?:la\s+)?(?:derniere\s+(?P<n>)(?P<u>decennie))(?!\w)", _last_n),
    _rule(rf"{_AT}(?P<n>{_N})\s+years?\s+ago(?!\w)", _ago),
    _rule(rf"{_AT}il\s+y\s+a\s+(?P<n>{_N})\s+ans?(?!\w)", _ago),
    _rule(
        rf"{_AT}(?:last\s+year|the\s+previous\s+year|l'an(?:nee)?\s+(?:derniere?|passee?|"
        r"precedente?))(?!\w)",
        _relative("year", -1),
    ),
    _rule(rf"{_AT}(?:this\s+year|cette\s+annee)(?!\w)", _relative("year", 0)),
    _rule(
        rf"{_AT}(?:last\s+month|le\s+mois\s+(?:dernier|passe|precedent))(?!\w)",
        _relative("month", -1),
    ),
    _rule(rf"{_AT}(?:this\s+month|ce\s+mois(?:-ci)?)(?!\w)", _relative("month", 0)),
    _rule(
        rf"{_AT}(?:last\s+week|la\s+semaine\s+(?:derniere|passee|precedente))(?!\w)",
        _relative("week", -1),
    ),
    _rule(rf"{_AT}(?:this\s+week|cette\s+semaine)(?!\w)", _relative("week", 0)),
    _rule(rf"{_AT}(?:yesterday|hier)(?!\w)", _relative("day", -1)),
]
