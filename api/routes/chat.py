"""The OpenAI-compatible facade: ``GET /v1/models[/{id}]`` and ``POST /v1/chat/completions``.

Any OpenAI client or chat UI (Open WebUI, for one) can point its base URL at ``/v1`` and use an
archivist API key as its OpenAI key. The last user message is the question (earlier turns are not
used for retrieval); the reply carries ``[n]`` marks, each one a ``url_citation`` annotation of
the message (of the last chunk's delta when streaming) pointing at the cited page, and
``citations`` (an extra field) says in full what each points to. ``usage`` counts the prompt and
the answer with the tokenizer the context packer uses (``Archive.ask``). Invalid requests are
400s in OpenAI's error shape (``api.errors``).

Models: ``archivist`` answers with the server's default backend, ``archivist-<backend>``
(``archivist-offline``, ``archivist-openai``) with that one.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from api.annotations import url_annotations
from api.answering import (
    answer_question,
    available_backends,
    sources_footer,
    sse,
    stream_pieces,
    stream_question,
)
from api.context import current_request_id
from api.deps import ArchiveDep, Reader
from api.errors import ApiError
from api.openai_schemas import (
    MODEL_PREFIX,
    ChatCompletion,
    ChatRequest,
    Choice,
    ModelCard,
    ModelList,
    ResponseMessage,
    Usage,
    chunk,
    unsupported,
)
from api.routes.query import SSE_HEADERS
from api.schemas import MAX_QUESTION_CHARS, CitationOut
from pipeline.answer.stream import AnswerStream
from pipeline.archive import Archive
from pipeline.errors import ArchivistError
from pipeline.models import Answer

router = APIRouter(prefix="/v1", tags=["openai"])

_STARTED = int(time.time())


@router.get("/models", response_model=ModelList, summary="Models (answer backends), OpenAI shape")
def list_models(principal: Reader, archive: ArchiveDep) -> ModelList:
    return ModelList(data=[ModelCard(id=name, created=_STARTED) for name in _models(archive)])


@router.get("/models/{model}", response_model=ModelCard, summary="One model, OpenAI shape")
def retrieve_model(model: str, principal: Reader, archive: ArchiveDep) -> ModelCard:
    if model not in _models(archive):
        raise _no_model(model)
    return ModelCard(id=model, created=_STARTED)


def _models(archive: Archive) -> list[str]:
    return [MODEL_PREFIX] + [f"{MODEL_PREFIX}-{b}" for b in available_backends(archive)]


def _no_model(model: str) -> ApiError:
    return ApiError(
        404,
        f"model {model!r} does not exist here; see GET /v1/models",
        param="model",
        code="model_not_found",
    )


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    summary="OpenAI-compatible chat: the last user message is answered from the archive",
    responses={200: {"content": {"text/event-stream": {}}}},
)
def chat_completions(
    body: ChatRequest, request: Request, principal: Reader, archive: ArchiveDep
) -> ChatCompletion | StreamingResponse:
    refused = unsupported(body)
    if refused is not None:
        raise ApiError(400, refused[1], param=refused[0], code="unsupported_parameter")
    question = _question(body)
    filters = body.filters.to_core() if body.filters else None
    backend = _backend(body.model, archive)
    footer = request.app.state.api_settings.api_chat_sources_footer
    cid = f"chatcmpl-{current_request_id() or uuid.uuid4().hex}"
    base_url = str(request.base_url)
    if body.stream:
        stream, first = stream_question(
            archive, principal, question, k=body.k, filters=filters, backend=backend
        )
        with_usage = bool(body.stream_options and body.stream_options.include_usage)
        reply = _Reply(cid, body.model, base_url, footer=footer, with_usage=with_usage)
        return StreamingResponse(
            reply.events(stream, first), media_type="text/event-stream", headers=SSE_HEADERS
        )
    answer = answer_question(
        archive, principal, question, k=body.k, filters=filters, backend=backend
    )
    content = answer.text + (sources_footer(answer.citations) if footer else "")
    citations = CitationOut.all(answer.citations, base_url=base_url)
    message = ResponseMessage(content=content, annotations=url_annotations(content, citations))
    return ChatCompletion(
        id=cid,
        model=body.model,
        choices=[Choice(message=message)],
        usage=_usage(answer),
        citations=citations,
    )


def _question(body: ChatRequest) -> str:
    users = [m for m in body.messages if m.role == "user"]
    if not users:
        raise _bad_messages("no user message to answer")
    question = users[-1].text().strip()
    if not question:
        raise _bad_messages("the last user message is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise _bad_messages(f"the last user message is over {MAX_QUESTION_CHARS} characters")
    return question


def _bad_messages(why: str) -> ApiError:
    return ApiError(400, f"messages: {why}", param="messages", code="invalid_value")


def _backend(model: str, archive: Archive) -> str | None:
    if model == MODEL_PREFIX:
        return None
    backend = model.removeprefix(f"{MODEL_PREFIX}-")
    if backend != model and backend in available_backends(archive):
        return backend
    raise _no_model(model)


def _usage(answer: Answer) -> Usage | None:
    if answer.prompt_tokens is None or answer.completion_tokens is None:
        return None
    return Usage(
        prompt_tokens=answer.prompt_tokens,
        completion_tokens=answer.completion_tokens,
        total_tokens=answer.prompt_tokens + answer.completion_tokens,
    )


class _Reply:
    """One streamed reply: OpenAI chunks as the answer is written (role, content pieces, a
    final chunk with the citations as annotations of what was sent, usage when asked), [DONE]."""

    def __init__(
        self, cid: str, model: str, base_url: str, *, footer: bool, with_usage: bool
    ) -> None:
        self.cid, self.model, self.base_url = cid, model, base_url
        self.footer, self.with_usage = footer, with_usage
        self.created = int(time.time())
        self.sent = ""

    def _chunk(self, **kw: Any) -> str:
        if self.with_usage:  # OpenAI: every chunk has ``usage``, null until the last one
            kw.setdefault("usage_null", True)
        return sse(chunk(self.cid, self.model, self.created, **kw))

    def _content(self, text: str) -> str:
        self.sent += text
        return self._chunk(delta={"content": text})

    def events(self, stream: AnswerStream, first: list[str]) -> Iterator[str]:
        try:
            yield self._chunk(delta={"role": "assistant", "content": ""})
            for piece in stream_pieces(stream, first):
                yield self._content(piece)
            answer = stream.answer
            if self.footer and answer.citations:
                yield self._content(sources_footer(answer.citations))
            citations = CitationOut.all(answer.citations, base_url=self.base_url)
            notes = url_annotations(self.sent, citations)
            yield self._chunk(
                delta={"annotations": [a.model_dump() for a in notes]},
                finish="stop",
                extra={"citations": [c.model_dump(mode="json") for c in citations]},
            )
            if self.with_usage:
                yield self._chunk(usage_chunk=True, usage=_usage(answer))
        except ArchivistError as e:  # broke after the response began: an OpenAI-style error event
            yield sse({"error": {"message": str(e), "type": "engine_error"}})
        finally:
            stream.close()
        yield sse("[DONE]")
