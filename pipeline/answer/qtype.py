"""What kind of answer a question wants, read from its question word and its focus noun.

Factoid questions say what they expect: *who* a person, *when* a date, *how many* a count,
*where* a place, *which company* an organisation, *how much did it cost* an amount of money. This
is the answer-type step of classic extractive question answering (the "expected answer type"
of TREC QA systems), in English and French, as general rules over the question's first words:

>>> answer_type("How many residents were evacuated?")
ExpectedAnswer(kind='number', unit='count', focus=('resid',))
>>> answer_type("Qui a inauguré le pont ?").kind
'person'
>>> answer_type("Which rocket launched the probe?")
ExpectedAnswer(kind='entity', unit=None, focus=('rocket',))

``focus`` holds the stemmed words of the noun the question asks about ("rail workers", "rocket"),
which an answer often carries ("12,000 rail workers", "a Vela-2 rocket"). Anything else is
``thing``: a noun phrase.
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

from pipeline.answer.sentences import fold, stem

Kind = Literal["person", "org", "place", "date", "number", "entity", "thing"]
Unit = Literal["count", "money", "percent", "length", "duration", "temperature", "speed", "score"]


class ExpectedAnswer(NamedTuple):
    """The kind of answer wanted; for numbers, the kind of quantity; the question's focus noun."""

    kind: Kind
    unit: Unit | None = None
    focus: tuple[str, ...] = ()


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Nouns that say what kind of thing "which X" / "quel X" asks for (folded, singular).
_NOUN_KINDS: dict[str, tuple[Kind, Unit | None]] = {
    **{
        w: ("person", None)
        for w in _words(
            "person man woman judge goalkeeper player striker defender minister president leader "
            "director manager coach incumbent spokesman spokeswoman official engineer scientist "
            "mayor governor candidate winner author artist founder chairman executive officer "
            "personne homme femme juge joueur ministre president dirigeant directeur directrice "
            "entraineur maire candidat candidate vainqueur auteur artiste fondateur pdg delegue "
            "deleguee porte-parole responsable"
        )
    },
    **{
        w: ("org", None)
        for w in _words(
            "company firm manufacturer maker union party team club group bank agency airline "
            "operator museum university newspaper organisation organization insurer "
            "entreprise societe constructeur fabricant syndicat parti equipe club groupe banque "
            "agence compagnie operateur musee universite journal organisation assureur repreneur"
        )
    },
    **{
        w: ("place", None)
        for w in _words(
            "city town country district region village county street suburb site area port place "
            "island state province ville pays quartier region village departement commune rue lieu "
            "site ile etat province"
        )
    },
    **{w: ("date", None) for w in _words("year date day month annee date jour mois")},
    **{
        w: ("number", "percent")
        for w in _words(
            "share percentage proportion turnout rate inflation part pourcentage proportion "
            "participation taux"
        )
    },
    **{
        w: ("number", "money")
        for w in _words(
            "price cost amount budget sum fee fine salary estimate value valuation damage "
            "prix cout montant budget somme amende estimation valeur"
        )
    },
    **{
        w: ("number", "length")
        for w in _words(
            "length height depth distance altitude width longueur hauteur profondeur distance "
            "altitude largeur"
        )
    },
    **{w: ("number", "temperature") for w in _words("temperature")},
    **{w: ("number", "speed") for w in _words("speed vitesse")},
    **{w: ("number", "score") for w in _words("score result resultat")},
    **{
        w: ("number", "count")
        for w in _words(
            "number level total population magnitude rise increase cut nombre niveau total "
            "population magnitude hausse augmentation baisse"
        )
    },
    **{w: ("number", "duration") for w in _words("time period duration duree delai")},
}

_HOW: dict[str, Unit] = {
    "many": "count", "much": "money", "long": "duration", "far": "length", "deep": "length",
    "high": "length", "tall": "length", "wide": "length", "big": "count", "large": "count",
    "old": "duration", "fast": "speed", "often": "count",
}  # fmt: skip
_MONEY_VERBS = re.compile(
    r"\b(?:cost|pay|paid|paying|worth|spend|spent|sell|sold|price|charge|demand|receive|raise)"
)
# "how long is X" asks for a length unless the question is about time
_TIME_WORDS = re.compile(
    r"\b(?:last|lasted|take|took|operate|expected|sentence|trial|stay|remain|serve|wait|delay|"
    r"strike|term|contract|jail|prison|ago)\b"
)
_COMBIEN_MONEY = re.compile(r"\bcou(?:t|te|tent|tera|teront|tait)\b|\bpaye|\bmontant\b|\bprix\b")
_QUEL = re.compile(
    r"\b(?:quel|quelle|quels|quelles|lequel|laquelle)\s+(?:(?:est|sont|a ete|ont ete|etait)\s+)?"
    r"(?:(?:le|la|les|l')\s*)?([\w-]+)"
)
_WHICH = re.compile(r"\b(which|what)\s+((?:[\w'-]+\s*){1,5})")
_EN_AUX = _words("is was are were do does did has have had will would can could")
_FUNCTION = _words("the a an of in on at to for from by with and or 's")
_FOCUS_WORDS = 3


def answer_type(question: str) -> ExpectedAnswer:
    """The answer ``question`` expects (French or English), ``thing`` when it does not say."""
    q = " ".join(fold(question).replace("’", "'").split())
    q = re.sub(r"[?!.]+$", "", q).strip()
    return _english(q) or _french(q) or ExpectedAnswer("thing")


def _english(q: str) -> ExpectedAnswer | None:
    if re.match(r"^(?:who|whom|whose)\b", q) or re.search(r"\b(?:after|by|to|for) whom\b", q):
        return ExpectedAnswer("person")
    if re.match(r"^when\b", q) or re.search(r"\b(?:what|which) (?:year|date|day|month)\b", q):
        return ExpectedAnswer("date")
    if re.match(r"^where\b", q):
        return ExpectedAnswer("place")
    if m := re.search(r"\bhow (many|much|long|far|deep|high|tall|wide|big|large|old|fast|often)"
                      r"\b(.*)", q):  # fmt: skip
        return _how(m.group(1), m.group(2), q)
    if m := _WHICH.search(q):
        return _which(m.group(1), m.group(2).split())
    return None


def _noun_words(words: list[str]) -> tuple[str, ...]:
    """The first words up to an auxiliary, a function word or a verb form: the noun asked
    about ("how many rail workers went", "how many runners started")."""
    out: list[str] = []
    for w in words[:_FOCUS_WORDS]:
        if w in _EN_AUX or w in _FUNCTION or (out and w.endswith(("ed", "ing"))):
            break
        out.append(w)
    return tuple(out)


def _how(word: str, rest: str, q: str) -> ExpectedAnswer:
    unit: Unit = _HOW[word]
    focus = tuple(stem(w) for w in _noun_words(rest.split()))
    if word == "much" and not _MONEY_VERBS.search(q) and focus:
        unit = "count"  # "how much grain"
    if word == "long" and re.match(r"\s*(?:is|are|was|were)\b", rest) and not _TIME_WORDS.search(q):
        unit = "length"  # "how long is the tunnel" (not "how long did the trial last")
    return ExpectedAnswer("number", unit, focus if word in ("many", "much") else ())


def _which(wh: str, words: list[str]) -> ExpectedAnswer | None:
    """``which X`` / ``what X``: a kind named among the next words, else any entity with focus
    ``X``; ``what`` before an auxiliary or a verb ("what did", "what started") asks for a thing."""
    for w in words[:4]:
        if w.rstrip("s") in _NOUN_KINDS or w in _NOUN_KINDS:
            return _from_noun(w)
    noun = _noun_words(words)
    if wh == "what" and (not noun or noun[0].endswith("ed")):
        return None
    if not noun:
        return None
    return ExpectedAnswer("entity", None, tuple(stem(w) for w in noun))


def _french(q: str) -> ExpectedAnswer | None:
    if re.match(r"^(?:qui|par qui|a qui|avec qui)\b", q):
        return ExpectedAnswer("person")
    if re.match(r"^(?:quand|depuis quand|jusqu'a quand)\b", q) or re.search(
        r"\b(?:en|a|dans) quelle (?:annee|date)\b|\bquel jour\b", q
    ):
        return ExpectedAnswer("date")
    if re.match(r"^(?:ou|d'ou)\b", q):
        return ExpectedAnswer("place")
    if m := re.search(r"\bcombien(?:\s+(?:de|d')\s*([a-z]+))?", q):
        if _COMBIEN_MONEY.search(q):
            return ExpectedAnswer("number", "money")
        return ExpectedAnswer("number", "count", (stem(m.group(1)),) if m.group(1) else ())
    if m := _QUEL.search(q):
        return _from_noun(m.group(1))
    return None


def _from_noun(noun: str) -> ExpectedAnswer:
    """``which X``: the kind ``X`` names, else any named entity with ``X`` as its focus."""
    singular = noun[:-1] if noun.endswith("s") and noun[:-1] in _NOUN_KINDS else noun
    kind, unit = _NOUN_KINDS.get(singular, ("entity", None))
    return ExpectedAnswer(kind, unit, (stem(singular),) if kind == "entity" else ())
