"""Language identification: documents by stop-word profile, questions with a trained detector.

- ``detect_language`` (documents, long text): the stop words of French, English and the other
  major Latin-script languages of a press archive. Cheap and dependency-free; ``None`` when the
  text is too short or too mixed to tell, which is what short questions are ("Grève des
  dockers", "Bonjour" have one stop word or none).
- ``question_language`` (questions, any length): Lingua (``lingua-language-detector``, its
  n-gram models inside the wheel), restricted to the languages the archive is configured for
  (its full-text indexes), so the answer is always one the index can search with. Lingua is
  built for short text: on two-word French questions it is right where stop words say nothing.
  A question that names no configured language's letters still gets the closest one.

>>> detect_language("Le gouvernement a annoncé mardi une réforme des retraites.")
'fr'
>>> detect_language("The government announced on Tuesday a reform of pensions.")
'en'
>>> question_language("Grève des dockers", ("French", "English"))
'fr'
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from typing import Any


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOPWORDS: dict[str, frozenset[str]] = {
    "fr": _words(
        """
        le la les un une des du de et est sont au aux ce cette ces qui que quoi dont où pour par
        sur dans avec pas plus ne il elle ils elles nous vous on se sa son ses leur leurs été
        être a ont comme mais ou donc car entre après avant depuis selon lors quel quelle quels
        quelles comment pourquoi quand
        """
    ),
    "en": _words(
        """
        the a an and is are was were of to in on for with by at from that this these those which
        who what when where why how it its be been has have had not or but as their they he she
        we you will would there after before since between during
        """
    ),
    "de": _words(
        """
        der die das und ist sind ein eine nicht mit von zu den dem des auf für im auch sich wird
        wurde nach bei aus wie oder aber
        """
    ),
    "es": _words(
        """
        el la los las un una y es son de del en con por para que se no al lo como pero más fue
        entre sobre desde
        """
    ),
    "it": _words(
        """
        il lo la gli le un una e è sono di del della in con per che non si al come ma più nel
        alla dei delle
        """
    ),
}

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def detect_language(text: str, *, min_hits: int = 2) -> str | None:
    """The ISO 639-1 code whose stop words are most frequent in ``text``, or ``None``."""
    words = [w.lower() for w in _WORD.findall(unicodedata.normalize("NFC", text[:20000]))]
    if not words:
        return None
    scores = {lang: sum(w in stops for w in words) for lang, stops in _STOPWORDS.items()}
    best = max(scores, key=lambda k: scores[k])
    ranked = sorted(scores.values(), reverse=True)
    if ranked[0] < min_hits or ranked[0] == ranked[1]:
        return None
    return best


# Names of the configured languages (``StoreOptions.fts_languages``: "French") or ISO codes.
_CODES = {"french": "fr", "english": "en", "german": "de", "spanish": "es", "italian": "it"}


def question_language(text: str, languages: Iterable[str]) -> str | None:
    """The ISO 639-1 code of the language ``text`` is in, among ``languages`` (names such as
    ``"French"`` or codes such as ``"fr"``). With fewer than two languages Lingua knows, or an
    empty text, the stop-word reading (``detect_language``) answers instead."""
    known = tuple(sorted({code for code in map(_code, languages) if code}))
    if len(known) < 2 or not _WORD.search(text):
        return detect_language(text, min_hits=1)
    found = _detector(known).detect_language_of(unicodedata.normalize("NFC", text[:2000]))
    return found.iso_code_639_1.name.lower() if found is not None else None


def _code(language: str) -> str | None:
    from lingua import IsoCode639_1

    code = _CODES.get(language.lower(), language.lower())
    return code if len(code) == 2 and hasattr(IsoCode639_1, code.upper()) else None


@functools.lru_cache(maxsize=4)
def _detector(codes: tuple[str, ...]) -> Any:
    """A Lingua detector for these languages (models load on first use, once per process)."""
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    isos = [getattr(IsoCode639_1, code.upper()) for code in codes]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*isos).build()
