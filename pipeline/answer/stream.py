"""Answers as they are written: text pieces first, then the ``Answer`` with its citations.

Citations can only be resolved once the whole text is known, so a stream hands out the text as the
model writes it and keeps the finished ``Answer`` for the end:

>>> stream = answerer.stream("Qui a gagné ?", hits)          # doctest: +SKIP
>>> for piece in stream:                                     # doctest: +SKIP
...     send(piece)
>>> stream.answer.citations                                  # doctest: +SKIP

The pieces joined are the answer's text, except for leading or trailing whitespace.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from typing import Protocol, runtime_checkable

from pipeline.models import Answer, Hit, Question


class AnswerStream(Iterator[str]):
    """An iterator of text pieces; ``answer`` is the finished Answer once it is exhausted.

    Reading ``answer`` before the end reads (and drops) the pieces left, so it always works.
    """

    def __init__(self, pieces: Generator[str, None, Answer]) -> None:
        self._pieces = pieces
        self._answer: Answer | None = None

    def __iter__(self) -> AnswerStream:
        return self

    def __next__(self) -> str:
        if self._answer is not None:
            raise StopIteration
        try:
            return next(self._pieces)
        except StopIteration as stop:
            self._answer = stop.value
            raise

    @property
    def done(self) -> bool:
        return self._answer is not None

    @property
    def answer(self) -> Answer:
        """The finished Answer (text, citations, flags), reading what is left of the stream."""
        for _ in self:
            pass
        assert self._answer is not None
        return self._answer

    def close(self) -> None:
        """Stop early (a client went away): the server connection is closed."""
        self._pieces.close()


@runtime_checkable
class StreamingAnswerer(Protocol):
    """An answerer that can hand out its answer's text as it is written."""

    def stream(self, question: Question | str, hits: Sequence[Hit]) -> AnswerStream: ...


class _Answers(Protocol):
    def answer(self, question: Question | str, hits: Sequence[Hit]) -> Answer: ...


def stream_answer(
    answerer: _Answers, question: Question | str, hits: Sequence[Hit]
) -> AnswerStream:
    """``answerer.stream`` where it has one; else its whole answer as a single piece."""
    if isinstance(answerer, StreamingAnswerer):
        return answerer.stream(question, hits)

    def whole() -> Generator[str, None, Answer]:
        answer = answerer.answer(question, hits)
        if answer.text:
            yield answer.text
        return answer

    return AnswerStream(whole())


def finish(pieces: Generator[str, None, Answer]) -> Answer:
    """Run an answer generator to its end (the non-streaming path) and return its Answer."""
    return AnswerStream(pieces).answer
