"""The answer stage: hits in, a cited ``Answer`` out.

Backends are chosen by ``AnswerOptions.backend`` from ``ANSWERERS``:

- ``offline`` (default): extractive, quotes the best sentences of the hits with ``[n]`` marks;
  needs no model beyond the embedder (``pipeline.answer.offline``).
- ``openai``: any OpenAI-compatible chat server, vLLM serving Mistral Small 3.1 at 128k tokens
  being the target: wide retrieval, evidence grouped by document, widened to sections, in date
  order for questions about time, packed to the window, map-reduce by period beyond it
  (``pipeline.answer.longcontext``).

Each backend is an entry point in the group ``archivist.answerers`` (pyproject.toml) naming a
factory ``(AnswerOptions, AnswerDeps) -> Answerer``: everything an answerer uses is given when
it is made. Answerers that can stream (``openai``) have ``stream(question, hits) ->
AnswerStream``; ``stream_answer`` gives every answerer that shape (``pipeline.answer.stream``).

Importing this package loads neither backend; each is imported when first made.

>>> answerer = make_answerer(AnswerOptions())
>>> answerer.name
'offline'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple, Protocol

from pipeline.answer.stream import AnswerStream, stream_answer
from pipeline.models import Answer, AnswerOptions, Hit, Question
from pipeline.registry import GROUPS, Registry

if TYPE_CHECKING:
    from pipeline.answer.evidence import SectionLoader
    from pipeline.embed import Embedder
    from pipeline.tokens import TokenCounter


class Answerer(Protocol):
    """Turns a question and its retrieved hits into an answer that cites them.

    The question comes as a ``Question`` read once by the caller (``pipeline.question``); a
    plain string is read by the answerer itself, dated from today.

    ``retrieve_k`` is how many hits it wants (``None``: the caller's usual number).
    """

    name: str
    retrieve_k: int | None

    def answer(self, question: Question | str, hits: Sequence[Hit]) -> Answer: ...


class AnswerDeps(NamedTuple):
    """What an answerer may use besides its options, given when it is made.

    ``embedder``: the index's (sharpens the offline answerer); ``token_counter``: makes the LLM's
    prompt tokenizer on first use (the server's, else Tekken, else an estimate); ``sections``:
    loads documents' chunks so LLM answers can read whole sections around the hits.
    """

    embedder: Embedder | None = None
    token_counter: Callable[[], TokenCounter] | None = None
    sections: SectionLoader | None = None


AnswererFactory = Callable[[AnswerOptions, AnswerDeps], Answerer]
ANSWERERS: Registry[AnswererFactory] = Registry("answer backend", GROUPS["answerers"])


def register_answerer(kind: str, factory: AnswererFactory) -> None:
    """Add a backend under ``kind`` now (tests, notebooks; a package declares an entry point)."""
    ANSWERERS.register(kind, factory)


def make_answerer(
    opts: AnswerOptions,
    deps: AnswerDeps | None = None,
    *,
    embedder: Embedder | None = None,
    token_counter: TokenCounter | None = None,
    sections: SectionLoader | None = None,
) -> Answerer:
    """The answerer ``opts.backend`` names, made with ``deps`` (or the keyword arguments).

    Raises ``ConfigError`` for an unknown backend, or one these options cannot run (the
    ``openai`` backend without a server).
    """
    if deps is None:
        counter = (lambda: token_counter) if token_counter is not None else None
        deps = AnswerDeps(embedder=embedder, token_counter=counter, sections=sections)
    return ANSWERERS.get(opts.backend)(opts, deps)


__all__ = [
    "ANSWERERS",
    "AnswerDeps",
    "AnswerStream",
    "Answerer",
    "AnswererFactory",
    "make_answerer",
    "register_answerer",
    "stream_answer",
]
