"""Word frequencies to repair the letters a light recogniser loses, and to flag doubtful words.

PP-OCRv6 tiny reads é, è, à, ç well but drops or mangles œ, æ, ï, ë, ü, ÿ: on noisy French
scans "œil" came out "oeil" or "eil", "œuvre" as "cœuvre", "oœuvre" or "œeuvre", "Œuvre" as
"CEuvre" or "Éuvre" (``bench/scan_quality.py``). Each such reading is one substitution away
from the word: ``Lexicon.repair`` tries those substitutions and keeps a variant only when it is
a more frequent word than what was read, in any of the page's languages. "mais" stays "mais"
(far more frequent than "maïs"); "oeil" becomes "œil", "CEuvre" "Œuvre". A letter that makes
another real, more frequent word cannot be told from the picture by a word list: such lines go
to the accurate engine when ``routed`` runs.

The frequencies are those of the ``wordfreq`` package (its "large" lists, built from Wikipedia,
subtitles, news, books and web text; code Apache-2.0, data CC BY-SA 4.0), loaded once per process.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence

from pipeline.errors import EngineError

INSTALL_HINT = "the OCR word lists need wordfreq: pip install 'wordfreq>=3.1,<4'"
# (what the recogniser wrote, what the word may have had): one substitution per candidate.
CONFUSIONS: tuple[tuple[str, str], ...] = (
    ("oeœ", "œ"),
    ("cœ", "œ"),
    ("oœ", "œ"),
    ("eœ", "œ"),
    ("œe", "œ"),
    ("oe", "œ"),
    ("ce", "œ"),
    ("é", "œ"),
    ("e", "œ"),
    ("ae", "æ"),
    ("æ", "œ"),
    ("i", "ï"),
    ("e", "ë"),
    ("u", "ü"),
    ("y", "ÿ"),
)
_WORD = re.compile(r"[^\W\d_]+")
_MIN_MISS_LEN = 4  # shorter letter runs (initials, units, roman numerals) are not judged


class Lexicon:
    """Word frequencies in ``languages`` (ISO 639-1 codes that wordfreq knows).

    >>> Lexicon(("fr", "en")).repair("Le bassin Sainte-CEuvre et l'oeil")  # doctest: +SKIP
    ("Le bassin Sainte-Œuvre et l'œil", 2)
    """

    def __init__(self, languages: Sequence[str]) -> None:
        try:
            import wordfreq
        except ImportError as e:
            raise EngineError(INSTALL_HINT) from e
        known = set(wordfreq.available_languages("large"))
        self.languages = tuple(lang for lang in languages if lang in known)
        self._tables = [
            wordfreq.get_frequency_dict(lang, wordlist="large") for lang in self.languages
        ]

    def frequency(self, word: str) -> float:
        """The word's highest frequency (per word of text) in the languages; 0 when unknown."""
        key = word.lower()
        return max((table.get(key, 0.0) for table in self._tables), default=0.0)

    def repair_word(self, word: str) -> str:
        """``word``, or the more frequent word one ``CONFUSIONS`` substitution away."""
        lower = word.lower()
        if not any(wrote in lower for wrote, _ in CONFUSIONS):
            return word
        best, best_freq = lower, self.frequency(lower)
        for candidate in _candidates(lower):
            freq = self.frequency(candidate)
            if freq > best_freq:
                best, best_freq = candidate, freq
        return word if best == lower else _same_case(word, best)

    def repair(self, text: str) -> tuple[str, int]:
        """``text`` with each word repaired, and how many words changed."""
        changed = 0

        def fix(match: re.Match[str]) -> str:
            nonlocal changed
            word = match.group(0)
            repaired = self.repair_word(word)
            changed += repaired != word
            return repaired

        return _WORD.sub(fix, text), changed

    def misses(self, text: str) -> list[str]:
        """Words of ``text`` (letters only, at least four) that no language knows."""
        return [
            word
            for word in _WORD.findall(text)
            if len(word) >= _MIN_MISS_LEN and self.frequency(word) == 0.0
        ]


def _candidates(lower: str) -> Iterable[str]:
    for wrote, meant in CONFUSIONS:
        start = lower.find(wrote)
        while start >= 0:
            yield lower[:start] + meant + lower[start + len(wrote) :]
            start = lower.find(wrote, start + 1)


def _same_case(original: str, word: str) -> str:
    """``word`` cased like ``original``: all capitals, a capital first, or as it is."""
    letters = [c for c in original if c.isalpha()]
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return word.upper()
    if original[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


_CACHE: dict[tuple[str, ...], Lexicon] = {}
_LOCK = threading.Lock()


def lexicon(languages: Sequence[str]) -> Lexicon:
    """The lexicon of ``languages``, loaded once per process (about 0.3 s and 30 MB each)."""
    key = tuple(languages)
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = Lexicon(key)
        return _CACHE[key]
