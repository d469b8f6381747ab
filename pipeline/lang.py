"""Language identification for the archive's languages, by stop-word profile.

Cheap and dependency-free: enough to tag French, English and the other major Latin-script
languages of a press archive, and to answer a question in its own language. Returns ``None``
when the text is too short or too mixed to tell.

>>> detect_language("Le gouvernement a annoncé mardi une réforme des retraites.")
'fr'
>>> detect_language("The government announced on Tuesday a reform of pensions.")
'en'
"""

from __future__ import annotations

import re
import unicodedata


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
