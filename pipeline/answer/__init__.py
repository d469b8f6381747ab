"""The answer stage: hits in, a cited ``Answer`` out.

Backends are chosen by ``AnswerOptions.backend`` from ``ANSWERERS``:

- ``offline`` (default): extractive, quotes the best sentences of the hits with ``[n]`` marks;
  needs no model beyond the embedder (``pipeline.answer.offline``).
- ``openai``: any OpenAI-compatible chat server, vLLM serving Mistral Small 3.1 being the target
  (``pipeline.answer.openai_chat``).

Importing this package loads neither backend; each is imported when first made.

>>> answerer = make_answerer(AnswerOptions())
>>> answerer.name
'offline'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from pipeline.errors import ConfigError
from pipeline.models import Answer, AnswerOptions, Hit

if TYPE_CHECKING:
    from pipeline.embed import Embedder
    from pipeline.tokens import TokenCounter


class Answerer(Protocol):
    """Turns a question and its retrieved hits into an answer that cites them."""

    name: str

    def answer(self, question: str, hits: Sequence[Hit]) -> Answer: ...


AnswererFactory = Callable[["AnswerOptions", "Embedder | None", "TokenCounter | None"], Answerer]


def _offline(
    opts: AnswerOptions, embedder: Embedder | None, token_counter: TokenCounter | None
) -> Answerer:
    from pipeline.answer.offline import OfflineAnswerer

    return OfflineAnswerer(opts, embedder=embedder)


def _openai(
    opts: AnswerOptions, embedder: Embedder | None, token_counter: TokenCounter | None
) -> Answerer:
    from pipeline.answer.openai_chat import OpenAIChatAnswerer

    return OpenAIChatAnswerer(opts.llm, token_counter)


ANSWERERS: dict[str, AnswererFactory] = {"offline": _offline, "openai": _openai}


def register_answerer(kind: str, factory: AnswererFactory) -> None:
    """Add a backend under ``kind`` (plugins, tests)."""
    ANSWERERS[kind] = factory


def make_answerer(
    opts: AnswerOptions,
    *,
    embedder: Embedder | None = None,
    token_counter: TokenCounter | None = None,
) -> Answerer:
    """The answerer ``opts.backend`` names.

    ``embedder`` sharpens the offline answerer (pass the index's embedder; without one it matches
    words only); ``token_counter`` sizes LLM prompts (default: the Tekken tokenizer).
    """
    factory = ANSWERERS.get(opts.backend)
    if factory is None:
        raise ConfigError(
            f"unknown answer backend {opts.backend!r}; valid: {', '.join(sorted(ANSWERERS))}"
        )
    return factory(opts, embedder, token_counter)


__all__ = ["ANSWERERS", "Answerer", "AnswererFactory", "make_answerer", "register_answerer"]
