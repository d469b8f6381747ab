"""The answer stage: hits in, a cited ``Answer`` out.

Backends are chosen by ``AnswerOptions.backend`` from ``ANSWERERS``:

- ``offline`` (default): extractive, quotes the best sentences of the hits with ``[n]`` marks;
  needs no model beyond the embedder (``pipeline.answer.offline``).
- ``openai``: any OpenAI-compatible chat server, vLLM serving Mistral Small 3.1 at 128k tokens
  being the target: wide retrieval, evidence grouped by document, widened to sections, in date
  order for questions about time, packed to the window, map-reduce by period beyond it
  (``pipeline.answer.longcontext``).

Answerers that can stream (``openai``) have ``stream(question, hits) -> AnswerStream``;
``stream_answer`` gives every answerer that shape (``pipeline.answer.stream``).

Importing this package loads neither backend; each is imported when first made.

>>> answerer = make_answerer(AnswerOptions())
>>> answerer.name
'offline'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from pipeline.answer.stream import AnswerStream, stream_answer
from pipeline.models import Answer, AnswerOptions, Hit
from pipeline.registry import lookup

if TYPE_CHECKING:
    from pipeline.answer.evidence import SectionLoader
    from pipeline.embed import Embedder
    from pipeline.tokens import TokenCounter


class Answerer(Protocol):
    """Turns a question and its retrieved hits into an answer that cites them."""

    name: str

    def answer(self, question: str, hits: Sequence[Hit]) -> Answer: ...


AnswererFactory = Callable[["AnswerOptions", "Embedder | None", "TokenCounter | None"], Answerer]


@runtime_checkable
class ReadsSections(Protocol):
    """An answerer that widens hits to their sections when given a way to load documents."""

    sections: SectionLoader | None


def _offline(
    opts: AnswerOptions, embedder: Embedder | None, token_counter: TokenCounter | None
) -> Answerer:
    from pipeline.answer.offline import OfflineAnswerer

    return OfflineAnswerer(opts, embedder=embedder)


def _openai(
    opts: AnswerOptions, embedder: Embedder | None, token_counter: TokenCounter | None
) -> Answerer:
    from pipeline.answer.longcontext import LongContextAnswerer

    return LongContextAnswerer(opts.llm, token_counter)


ANSWERERS: dict[str, AnswererFactory] = {"offline": _offline, "openai": _openai}


def register_answerer(kind: str, factory: AnswererFactory) -> None:
    """Add a backend under ``kind`` (plugins, tests)."""
    ANSWERERS[kind] = factory


def make_answerer(
    opts: AnswerOptions,
    *,
    embedder: Embedder | None = None,
    token_counter: TokenCounter | None = None,
    sections: SectionLoader | None = None,
) -> Answerer:
    """The answerer ``opts.backend`` names.

    ``embedder`` sharpens the offline answerer (pass the index's embedder; without one it matches
    words only); ``token_counter`` sizes LLM prompts (default: the server's tokenizer, else
    Tekken, else an estimate); ``sections`` loads documents' chunks so LLM answers can read whole
    sections around the hits.
    """
    factory = lookup(ANSWERERS, opts.backend, "answer backend")
    answerer = factory(opts, embedder, token_counter)
    if sections is not None and isinstance(answerer, ReadsSections):
        answerer.sections = sections
    return answerer


__all__ = [
    "ANSWERERS",
    "AnswerStream",
    "Answerer",
    "AnswererFactory",
    "ReadsSections",
    "make_answerer",
    "register_answerer",
    "stream_answer",
]
