"""``POST /v1/search`` and ``POST /v1/ask``: retrieval and cited answers, scoped to the caller."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from api.answering import answer_question, sse, stream_pieces, stream_question
from api.deps import ArchiveDep, Reader, scoped
from api.schemas import AskRequest, AskResponse, HitOut, SearchRequest, SearchResponse
from pipeline.answer.stream import AnswerStream
from pipeline.errors import ArchivistError

router = APIRouter(prefix="/v1", tags=["query"])

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@router.post("/search", response_model=SearchResponse, summary="Hybrid search over the archive")
def search(body: SearchRequest, principal: Reader, archive: ArchiveDep) -> SearchResponse:
    """The best ``k`` passages for ``query`` (BM25 and vectors fused by reciprocal rank)."""
    filters = scoped(principal, body.filters.to_core() if body.filters else None)
    hits = archive.search(
        body.query, k=body.k, filters=filters, mode=body.mode, all_variants=body.all_variants
    )
    return SearchResponse(hits=[HitOut.of(h) for h in hits])


@router.post(
    "/ask",
    response_model=AskResponse,
    summary="Answer a question with citations",
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "JSON, or with `stream: true` server-sent events: `delta` events "
            '(`{"text": ...}`) then one `done` event holding the full response.',
        }
    },
)
def ask(
    body: AskRequest, principal: Reader, archive: ArchiveDep, request: Request
) -> AskResponse | StreamingResponse:
    """Retrieve evidence for ``question`` and answer it; ``[n]`` marks point into ``citations``."""
    filters = body.filters.to_core() if body.filters else None
    if not body.stream:
        answer = answer_question(
            archive, principal, body.question, k=body.k, filters=filters, backend=body.backend
        )
        return AskResponse.of(answer, base_url=str(request.base_url))
    stream, first = stream_question(
        archive, principal, body.question, k=body.k, filters=filters, backend=body.backend
    )
    return StreamingResponse(
        _ask_events(stream, first, str(request.base_url)),
        media_type="text/event-stream",
        headers=SSE_HEADERS,
    )


def _ask_events(stream: AnswerStream, first: list[str], base_url: str) -> Iterator[str]:
    try:
        for piece in stream_pieces(stream, first):
            yield sse({"text": piece}, event="delta")
        done = AskResponse.of(stream.answer, base_url=base_url)
        yield sse(done.model_dump(mode="json"), event="done")
    except ArchivistError as e:  # the stream broke after the response began: say so in-band
        yield sse({"error": str(e)}, event="error")
    finally:
        stream.close()
