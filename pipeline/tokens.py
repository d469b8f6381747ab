"""Token counting, shared by the chunker and the context packer.

Prompt budgets are counted with the serving model's own tokenizer, tried in this order
(``make_token_counter``, ``LLMOptions.tokenizer = "auto"``):

1. the server's ``/tokenize`` endpoint (vLLM; llama.cpp's server has one too), when it answers;
2. Mistral's Tekken tokenizer, whose file ships inside the ``mistral-common`` wheel (Mistral
   Small 3.1 uses Tekken) or any Tekken file named by ``tokenizer_path``;
3. ``EstimateTokenCounter``, which over-counts on purpose so a budget is never exceeded.

The chunker uses Tekken (``default_token_counter``): chunk sizes do not depend on a server.

>>> counter = make_token_counter(LLMOptions(tokenizer="estimate"))
>>> counter.name, counter.count("Bonjour") >= 2
('estimate', True)
"""

from __future__ import annotations

import functools
import logging
import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pipeline.errors import ConfigError, EngineError
from pipeline.models import LLMOptions
from pipeline.openai_http import OpenAIHttp, ServerUnreachable

log = logging.getLogger(__name__)

DEFAULT_TEKKEN_FILE = "tekken_240911.json"


class TokenCounter(Protocol):
    """Counts tokens and cuts text to a token budget."""

    name: str

    def count(self, text: str) -> int: ...

    def truncate(self, text: str, max_tokens: int) -> str: ...


@runtime_checkable
class ChatTokenCounter(Protocol):
    """A counter that can also size a whole chat prompt, template tokens included."""

    def count_messages(self, messages: Sequence[tuple[str, str]]) -> int | None: ...


# Chat templates wrap each message in a few special tokens the plain text count does not see
# (Mistral's v7 template: [SYSTEM_PROMPT]...[/SYSTEM_PROMPT], [INST]...[/INST]); 8 is generous.
MESSAGE_OVERHEAD_TOKENS = 8


def count_chat(counter: TokenCounter, messages: Sequence[tuple[str, str]]) -> int:
    """Tokens of a chat prompt: exact where the counter knows the template (a vLLM server),
    else the messages' text plus ``MESSAGE_OVERHEAD_TOKENS`` each."""
    if isinstance(counter, ChatTokenCounter):
        exact = counter.count_messages(messages)
        if exact is not None:
            return exact
    return sum(counter.count(content) + MESSAGE_OVERHEAD_TOKENS for _, content in messages)


class TekkenTokenCounter:
    """Exact counts with a Tekken file (``mistral_common/data/tekken_*.json`` by default)."""

    def __init__(self, path: str | Path | None = None) -> None:
        from mistral_common.tokens.tokenizers.tekken import Tekkenizer

        file = Path(path) if path else _bundled_tekken()
        if not file.is_file():
            raise ConfigError(f"Tekken tokenizer file not found: {file}")
        self._tok = Tekkenizer.from_file(file)
        self.name = f"tekken:{file.name}"
        # The BPE model under the tokenizer: the same count without shifting every id past the
        # special tokens, which is most of the time on long prompts.
        encode = getattr(getattr(self._tok, "_model", None), "encode", None)
        self._encode: Callable[[str], list[int]] = encode if callable(encode) else self._ids

    def _ids(self, text: str) -> list[int]:
        return list(self._tok.encode(text, bos=False, eos=False))

    def count(self, text: str) -> int:
        return len(self._encode(text))

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
def tekken_counter(path: str | None = None) -> TekkenTokenCounter:
    """The Tekken counter for ``path`` (default: the file in mistral-common), loaded once."""
    try:
        return TekkenTokenCounter(path)
    except (ImportError, OSError, ValueError, KeyError) as e:
        raise ConfigError(f"cannot load the Tekken tokenizer ({path or 'bundled'}): {e}") from e


@functools.cache
def default_token_counter(tekken_path: str | None = None) -> TokenCounter:
    """Tekken when its file loads, else the conservative estimate (logged once)."""
    try:
        return tekken_counter(tekken_path)
    except ConfigError as e:
        log.warning("%s; using a conservative estimate", e)
        return EstimateTokenCounter()


def make_token_counter(opts: LLMOptions) -> TokenCounter:
    """The counter ``opts.tokenizer`` asks for; ``"auto"`` falls back server → Tekken → estimate.

    ``"server"`` and ``"tekken"`` fail with ConfigError when unavailable instead of falling back:
    whoever names one wants exactly that one.
    """
    kind = opts.tokenizer
    if kind == "estimate":
        return EstimateTokenCounter()
    if kind in ("auto", "server"):
        if opts.base_url:
            try:
                return ServerTokenCounter.connect(opts)
            except EngineError as e:
                if kind == "server":
                    raise ConfigError(f"tokenizer 'server': {e}") from e
                log.info("%s; counting tokens offline", e)
        elif kind == "server":
            raise ConfigError("tokenizer 'server' needs ARCHIVIST_LLM_BASE_URL")
    try:
        return tekken_counter(opts.tokenizer_path)
    except ConfigError:
        if kind == "tekken":
            raise
        log.warning("Tekken tokenizer unavailable; using a conservative estimate", exc_info=True)
        return EstimateTokenCounter()


def server_root(base_url: str) -> str:
    """The server's root URL, where vLLM and llama.cpp serve ``/tokenize`` (not under ``/v1``).

    >>> server_root("http://gpu:8000/v1/")
    'http://gpu:8000'
    """
    root = base_url.rstrip("/")
    return root[: -len("/v1")] if root.endswith("/v1") else root


class ServerTokenCounter:
    """Counts with the serving model's tokenizer through the server's ``/tokenize`` endpoint.

    Speaks vLLM's dialect (``{"model", "prompt"}`` → ``{"count", "tokens"}``; ``{"messages"}``
    for a whole chat prompt, template included) and llama.cpp's (``{"content"}`` →
    ``{"tokens"}``); ``connect`` finds out which one the server speaks. Counts are cached, so
    repeated pieces (instructions, headers) cost one request.
    """

    CACHE_SIZE = 8192

    def __init__(self, opts: LLMOptions, *, dialect: str = "vllm") -> None:
        if not opts.base_url:
            raise ConfigError("a server tokenizer needs a base URL")
        self.opts = opts
        self.dialect = dialect
        self.root = server_root(opts.base_url)
        self.name = f"server:{opts.model}"
        # No retries: a count is needed now, and ``auto`` falls back to Tekken when none comes.
        self._client = OpenAIHttp(
            self.root,
            api_key=opts.api_key,
            timeout_s=min(30.0, opts.timeout_s),
            connect_timeout_s=5.0,
            max_retries=0,
            label="tokenizer",
        )
        self._chat = dialect == "vllm"  # cleared when the server refuses chat-form requests
        self._ids = True  # the server returns token ids (else truncation cuts by characters)
        self._cached_tokens = functools.lru_cache(maxsize=self.CACHE_SIZE)(self._tokens)

    @classmethod
    def connect(cls, opts: LLMOptions) -> ServerTokenCounter:
        """A counter for the server at ``opts.base_url``; EngineError when it cannot count."""
        reasons = []
        for dialect in ("vllm", "llamacpp"):
            counter = cls(opts, dialect=dialect)
            try:
                counter.count("archivist")
                return counter
            except EngineError as e:
                counter.close()
                reasons.append(str(e))
                if isinstance(e, ServerUnreachable):
                    break
        raise EngineError(
            f"no /tokenize endpoint at {server_root(opts.base_url or '')}: " + "; ".join(reasons)
        )

    def close(self) -> None:
        self._client.close()

    def count(self, text: str) -> int:
        return len(self._cached_tokens(text))

    def tokens(self, text: str) -> tuple[int, ...]:
        """The token ids of ``text`` (no BOS/EOS)."""
        return self._cached_tokens(text)

    def truncate(self, text: str, max_tokens: int) -> str:
        ids = self.tokens(text)
        if len(ids) <= max_tokens:
            return text
        cut = None
        if self._ids:
            try:
                cut = self._detokenize(ids[: max(0, max_tokens)])
            except EngineError:
                self._ids = False  # no /detokenize here: cut by characters from now on
        if cut is None or self.count(cut) > max_tokens:
            cut = self._cut_by_chars(text, max_tokens)
        return cut

    def count_messages(self, messages: Sequence[tuple[str, str]]) -> int | None:
        """The whole chat prompt's tokens as the server's template renders it, if it can say."""
        if not self._chat:
            return None
        body = {
            "model": self.opts.model,
            "messages": [{"role": role, "content": content} for role, content in messages],
            "add_generation_prompt": True,
        }
        try:
            data = self._post("/tokenize", body)
        except EngineError as e:
            log.info("server cannot size chat prompts (%s); counting messages one by one", e)
            self._chat = False
            return None
        return _count_of(data)

    def _tokens(self, text: str) -> tuple[int, ...]:
        if self.dialect == "vllm":
            body: dict[str, Any] = {
                "model": self.opts.model,
                "prompt": text,
                "add_special_tokens": False,
            }
        else:
            body = {"content": text, "add_special": False}
        data = self._post("/tokenize", body)
        tokens = data.get("tokens")
        if isinstance(tokens, list):
            return tuple(int(t) if not isinstance(t, dict) else int(t["id"]) for t in tokens)
        if isinstance(data.get("count"), int):  # a count without ids: placeholders of that length
            self._ids = False
            return (0,) * int(data["count"])
        raise EngineError(f"unexpected /tokenize reply from {self.root}: {str(data)[:200]}")

    def _detokenize(self, ids: Sequence[int]) -> str | None:
        if self.dialect == "vllm":
            data = self._post("/detokenize", {"model": self.opts.model, "tokens": list(ids)})
            text = data.get("prompt")
        else:
            data = self._post("/detokenize", {"tokens": list(ids)})
            text = data.get("content")
        return text if isinstance(text, str) else None

    def _cut_by_chars(self, text: str, max_tokens: int) -> str:
        """The longest prefix within ``max_tokens``, by bisection (a server without detokenize)."""
        lo, hi = 0, len(text)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.count(text[:mid]) <= max_tokens:
                lo = mid
            else:
                hi = mid - 1
        return text[:lo]

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._client.post(path, body)


def _count_of(data: dict[str, Any]) -> int:
    if isinstance(data.get("count"), int):
        return int(data["count"])
    tokens = data.get("tokens")
    if isinstance(tokens, list):
        return len(tokens)
    raise EngineError(f"unexpected /tokenize reply: {str(data)[:200]}")
