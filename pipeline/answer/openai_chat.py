"""Answers from an OpenAI-compatible chat server (vLLM with Mistral Small 3.1, llama.cpp, Ollama).

``OpenAIChatAnswerer`` packs exactly the hits it is given, in rank order, into the model's window
(``context.pack_context``), sends them to ``{base_url}/chat/completions`` (``llm_client``: retries,
timeouts, streaming) and maps the reply's ``[n]`` marks back to the packed chunks. The backend
``"openai"`` uses its long-context subclass (``longcontext.LongContextAnswerer``), which groups,
widens and orders the evidence first.

>>> answerer = OpenAIChatAnswerer(LLMOptions(base_url="http://localhost:8000/v1"))  # doctest: +SKIP
>>> answerer.answer("Qui a gagné ?", hits).citations[0].page_start                  # doctest: +SKIP
3
>>> stream = answerer.stream("Qui a gagné ?", hits)                                 # doctest: +SKIP
>>> "".join(stream), stream.answer.citations[0].n                                   # doctest: +SKIP
('Marie Dupont a gagné [1].', 1)
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence

from pipeline.answer.citations import Source, not_found_answer, resolve_citations
from pipeline.answer.context import pack_context
from pipeline.answer.llm_client import ChatClient, ChatMessage, ChatReply
from pipeline.answer.stream import AnswerStream, finish
from pipeline.errors import ConfigError
from pipeline.models import Answer, Hit, LLMOptions, Question
from pipeline.question import as_question
from pipeline.tokens import TokenCounter, make_token_counter


class OpenAIChatAnswerer:
    """Cited answers from a chat model behind an OpenAI-compatible API, from the given hits."""

    name = "openai"
    retrieve_k: int | None = None  # exactly the hits it is given: the caller's usual number

    def __init__(
        self,
        opts: LLMOptions,
        token_counter: TokenCounter | None = None,
        *,
        backoff_s: float = 1.0,
        counter_factory: Callable[[], TokenCounter] | None = None,
    ) -> None:
        self.client = ChatClient(opts, backoff_s=backoff_s)
        self.opts = opts
        self.url = self.client.url
        self._counter = token_counter
        self._make_counter = counter_factory or (lambda: make_token_counter(opts))

    @property
    def counter(self) -> TokenCounter:
        """The prompt tokenizer: the one given, else made on first use (``counter_factory``,
        by default the server's, Tekken or an estimate)."""
        if self._counter is None:
            self._counter = self._make_counter()
        return self._counter

    def answer(self, question: Question | str, hits: Sequence[Hit]) -> Answer:
        """Ask the model about ``question`` with ``hits`` as numbered sources.

        With no hits the model is not called: there is nothing it could cite.
        """
        return finish(self._generate(as_question(question), hits, streaming=self.opts.stream))

    def stream(self, question: Question | str, hits: Sequence[Hit]) -> AnswerStream:
        """Like ``answer``, but the reply's text comes piece by piece as the model writes it."""
        return AnswerStream(self._generate(as_question(question), hits, streaming=True))

    def _generate(
        self, asked: Question, hits: Sequence[Hit], *, streaming: bool
    ) -> Generator[str, None, Answer]:
        question = asked.text
        if not hits:
            return (yield from _said(not_found_answer(question, self.name)))
        packed = pack_context(question, hits, opts=self.opts, counter=self.counter)
        if not packed.sources:
            raise ConfigError(f"context window {self.opts.context_window} holds no source")
        reply = yield from self.ask_model(packed.messages, streaming=streaming)
        answer = reply_answer(question, reply, packed.numbered(), self.name, self.opts)
        if not reply.text:
            yield answer.text
        prompt = reply.prompt_tokens if reply.prompt_tokens is not None else packed.prompt_tokens
        return answer.model_copy(update={"prompt_tokens": prompt})

    def ask_model(
        self, messages: Sequence[ChatMessage], *, streaming: bool
    ) -> Generator[str, None, ChatReply]:
        """One chat call: streamed piece by piece, or whole (then nothing is yielded)."""
        if streaming:
            return (yield from self.client.stream(messages))
        return self.client.complete(messages)


def reply_answer(
    question: str, reply: ChatReply, sources: Sequence[Source], backend: str, opts: LLMOptions
) -> Answer:
    """The Answer for a model's reply: marks resolved against ``sources``, problems flagged.

    A number that names no source is dropped from the citations and flagged; a reply that cites
    nothing is not evidence (``found`` False); an empty reply becomes the "no evidence" answer.
    """
    resolved = resolve_citations(reply.text, sources)
    flagged = list(resolved.flagged)
    if reply.finish_reason == "length":
        flagged.append(f"answer cut at max_tokens={opts.max_tokens}")
    if not reply.text:
        return not_found_answer(question, backend, flagged=[*flagged, "empty reply"])
    if not resolved.citations:
        flagged.append("answer cites no source")
    return Answer(
        text=reply.text,
        backend=backend,
        citations=resolved.citations,
        found=bool(resolved.citations),
        prompt_tokens=reply.prompt_tokens,
        completion_tokens=reply.completion_tokens,
        flagged=flagged,
    )


def _said(answer: Answer) -> Generator[str, None, Answer]:
    """A finished answer as a stream of one piece."""
    yield answer.text
    return answer
