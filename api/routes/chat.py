"""The OpenAI-compatible facade: ``GET /v1/models`` and ``POST /v1/chat/completions``.

Any OpenAI client or chat UI (Open WebUI, for one) can point its base URL at ``/v1`` and use an
archivist API key as its OpenAI key. The last user message is the question (earlier turns are not
used for retrieval); the reply carries ``[n]`` marks, and ``citations`` (an extra field of the
completion, and of the last chunk when streaming) says what each points to.

Models: ``archivist`` answers with the server's default backend, ``archivist-<backend>``
(``archivist-offline``, ``archivist-openai``) with that one.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

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
    names = [MODEL_PREFIX] + [f"{MODEL_PREFIX}-{b}" for b in available_backends(archive)]
    return ModelList(data=[ModelCard(id=name, created=_STARTED) for name in names])


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    summary="OpenAI-compatible chat: the last user message is answered from the archive",
    responses={200: {"content": {"text/event-stream": {}}}},
)
def chat_completions(
    body: ChatRequest, request: Request, principal: Reader, archive: ArchiveDep
) -> ChatCompletion | StreamingResponse:
    question = _question(body)
    filters = body.filters.to_core() if body.filters else None
    backend = _backend(body.model, archive)
    footer = request.app.state.api_settings.api_chat_sources_footer
    cid = f"chatcmpl-{current_request_id() or uuid.uuid4().hex}"
    if body.stream:
        stream, first = stream_question(
            archive, principal, question, k=body.k, filters=filters, backend=backend
        )
        with_usage = bool(body.stream_options and body.stream_options.include_usage)
        events = _stream(
            stream,
            first,
            cid,
            body.model,
            footer=footer,
            with_usage=with_usage,
            base_url=str(request.base_url),
        )
        return StreamingResponse(events, media_type="text/event-stream", headers=SSE_HEADERS)
    answer = answer_question(
        archive, principal, question, k=body.k, filters=filters, backend=backend
    )
    content = answer.text + (sources_footer(answer.citations) if footer else "")
    return ChatCompletion(
        id=cid,
        model=body.model,
        choices=[Choice(message=ResponseMessage(content=content))],
        usage=_usage(answer),
        citations=CitationOut.all(answer.citations, base_url=str(request.base_url)),
    )


def _question(body: ChatRequest) -> str:
    users = [m for m in body.messages if m.role == "user"]
    if not users:
        raise ApiError(422, "messages: no user message to answer", param="messages")
    question = users[-1].text().strip()
    if not question:
        raise ApiError(422, "messages: the last user message is empty", param="messages")
    if len(question) > MAX_QUESTION_CHARS:
        raise ApiError(
            422,
            f"messages: the last user message is over {MAX_QUESTION_CHARS} characters",
            param="messages",
        )
    return question


def _backend(model: str, archive: Archive) -> str | None:
    if model == MODEL_PREFIX:
        return None
    backend = model.removeprefix(f"{MODEL_PREFIX}-")
    if backend != model and backend in available_backends(archive):
        return backend
    raise ApiError(
        404,
        f"model {model!r} does not exist here; see GET /v1/models",
        param="model",
        code="model_not_found",
    )


def _usage(answer: Answer) -> Usage | None:
    if answer.prompt_tokens is None or answer.completion_tokens is None:
        return None
    return Usage(
        prompt_tokens=answer.prompt_tokens,
        completion_tokens=answer.completion_tokens,
        total_tokens=answer.prompt_tokens + answer.completion_tokens,
    )


def _stream(
    stream: AnswerStream,
    first: list[str],
    cid: str,
    model: str,
    *,
    footer: bool,
    with_usage: bool,
    base_url: str,
) -> Iterator[str]:
    """OpenAI chunks as the answer is written: role, content pieces, a final chunk, [DONE]."""
    created = int(time.time())
    try:
        yield sse(chunk(cid, model, created, delta={"role": "assistant", "content": ""}))
        for piece in stream_pieces(stream, first):
            yield sse(chunk(cid, model, created, delta={"content": piece}))
        answer = stream.answer
        if footer and answer.citations:
            yield sse(
                chunk(cid, model, created, delta={"content": sources_footer(answer.citations)})
            )
        citations = [
            c.model_dump(mode="json") for c in CitationOut.all(answer.citations, base_url=base_url)
        ]
        yield sse(chunk(cid, model, created, finish="stop", extra={"citations": citations}))
        if with_usage:
            yield sse(chunk(cid, model, created, usage_chunk=True, usage=_usage(answer)))
    except ArchivistError as e:  # broke after the response began: an OpenAI-style error event
        yield sse({"error": {"message": str(e), "type": "engine_error"}})
    finally:
        stream.close()
    yield sse("[DONE]")
