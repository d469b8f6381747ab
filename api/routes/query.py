"""``POST /v1/search`` and ``POST /v1/ask``: retrieval and cited answers, scoped to the caller."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from api.answering import answer_question, sse, text_pieces
from api.deps import ArchiveDep, Reader, scoped
from api.schemas import AskRequest, AskResponse, HitOut, SearchRequest, SearchResponse

router = APIRouter(prefix="/v1", tags=["query"])

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@router.post("/search", response_model=SearchResponse, summary="Hybrid search over the archive")
def search(body: SearchRequest, principal: Reader, archive: ArchiveDep) -> SearchResponse:
    """The best ``k`` passages for ``query`` (BM25 and vectors fused by reciprocal rank)."""
    filters = scoped(principal, body.filters.to_core() if body.filters else None)
    hits = archive.search(body.query, k=body.k, filters=filters, mode=body.mode)
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
    body: AskRequest, principal: Reader, archive: ArchiveDep
) -> AskResponse | StreamingResponse:
    """Retrieve evidence for ``question`` and answer it; ``[n]`` marks point into ``citations``."""
    answer = answer_question(
        archive,
        principal,
        body.question,
        k=body.k,
        filters=body.filters.to_core() if body.filters else None,
        backend=body.backend,
    )
    result = AskResponse.of(answer)
    if not body.stream:
        return result
    return StreamingResponse(
        _ask_events(result), media_type="text/event-stream", headers=SSE_HEADERS
    )


def _ask_events(result: AskResponse) -> Iterator[str]:
    for piece in text_pieces(result.answer):
        yield sse({"text": piece}, event="delta")
    yield sse(result.model_dump(mode="json"), event="done")
