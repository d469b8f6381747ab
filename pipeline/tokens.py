"""Token counting, shared by the chunker and the context packer.

The default counts with Mistral's Tekken tokenizer, whose file ships inside the ``mistral-common``
wheel: chunk sizes and prompt budgets are then in the serving model's own tokens (Mistral Small 3.1
uses Tekken). When that file cannot be loaded, ``EstimateTokenCounter`` over-counts on purpose so a
budget is never exceeded.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from pathlib import Path
from typing import Protocol

from pipeline.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_TEKKEN_FILE = "tekken_240911.json"


class TokenCounter(Protocol):
    """Counts tokens and cuts text to a token budget."""

    name: str

    def count(self, text: str) -> int: ...

    def truncate(self, text: str, max_tokens: int) -> str: ...


class TekkenTokenCounter:
    """Exact counts with a Tekken file (``mistral_common/data/tekken_*.json`` by default)."""

    def __init__(self, path: str | Path | None = None) -> None:
        from mistral_common.tokens.tokenizers.tekken import Tekkenizer

        file = Path(path) if path else _bundled_tekken()
        if not file.is_file():
            raise ConfigError(f"Tekken tokenizer file not found: {file}")
        self._tok = Tekkenizer.from_file(file)
        self.name = f"tekken:{file.name}"

    def count(self, text: str) -> int:
        return len(self._tok.encode(text, bos=False, eos=False))

    def truncate(self, text: str, max_tokens: int) -> str:
        ids = self._tok.encode(text, bos=False, eos=False)
        if len(ids) <= max_tokens:
            return text
        return str(self._tok.decode(ids[:max_tokens]))


_WORDISH = re.compile(r"\w+|[^\w\s]", re.UNICODE)


class EstimateTokenCounter:
    """A conservative estimate: the larger of chars/3 and 1.5 x word pieces, plus a margin.

    Sub-word tokenizers give about 4 characters a token in English and French; counting 3 keeps a
    packed prompt under the real window.
    """

    name = "estimate"

    def __init__(self, margin: float = 0.1) -> None:
        self.margin = margin

    def count(self, text: str) -> int:
        pieces = len(_WORDISH.findall(text))
        raw = max(len(text) / 3.0, pieces * 1.5)
        return math.ceil(raw * (1.0 + self.margin))

    def truncate(self, text: str, max_tokens: int) -> str:
        if self.count(text) <= max_tokens:
            return text
        chars = int(max_tokens * 3.0 / (1.0 + self.margin))
        return text[:chars]


def _bundled_tekken() -> Path:
    import mistral_common

    return Path(mistral_common.__file__).parent / "data" / DEFAULT_TEKKEN_FILE


@functools.cache
def default_token_counter(tekken_path: str | None = None) -> TokenCounter:
    """Tekken when its file loads, else the conservative estimate (logged once)."""
    try:
        return TekkenTokenCounter(tekken_path)
    except (ImportError, OSError, ConfigError, ValueError) as e:
        log.warning("Tekken tokenizer unavailable (%s); using a conservative estimate", e)
        return EstimateTokenCounter()
