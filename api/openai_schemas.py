"""The OpenAI chat-completions shapes the facade reads and writes (the subset chat UIs use).

Requests accept, and ignore, sampling parameters (``temperature``, ``top_p``, ``max_tokens``...):
OpenAI clients and chat UIs send them by default, and refusing them would break those clients.
What would change the reply's form and cannot be honoured (``tools``, ``response_format`` other
than text, ``logprobs``, audio...) is refused with a 400 (``unsupported``). Archivist's own
options ride along as extra fields (``k``, ``filters``; ``extra_body`` in the official client).

Citations are in ``choices[].message.annotations`` as OpenAI's ``url_citation`` entries (each
``[n]`` mark of the content, with the URL of the cited page), and whole in ``citations``, an extra
field that OpenAI's client keeps as an extra (LangChain keeps only the annotations).
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import MAX_K, CitationOut, FiltersIn

MODEL_PREFIX = "archivist"


class TextPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        """The message's text; the text parts of a multi-part message, joined."""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(p.text for p in self.content or [] if p.type == "text" and p.text)


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatRequest(BaseModel):
    """``POST /v1/chat/completions``: the last user message is the question."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(examples=[MODEL_PREFIX])
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = Field(default=1, ge=1, le=1, description="one answer per request")
    k: int | None = Field(default=None, ge=1, le=MAX_K, description="archivist: passages to read")
    filters: FiltersIn | None = Field(default=None, description="archivist: metadata filters")


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "archivist"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class UrlCitation(BaseModel):
    """Where an ``[n]`` mark of the content points: ``content[start_index:end_index]`` is the
    mark, ``url`` the cited page."""

    url: str
    title: str
    start_index: int
    end_index: int


class Annotation(BaseModel):
    type: Literal["url_citation"] = "url_citation"
    url_citation: UrlCitation


class ResponseMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    annotations: list[Annotation] = Field(default_factory=list)


class Choice(BaseModel):
    index: int = 0
    message: ResponseMessage
    finish_reason: Literal["stop"] = "stop"
    logprobs: None = None


class ChatCompletion(BaseModel):
    """OpenAI's ``chat.completion``, plus ``citations`` for the ``[n]`` marks in the content."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[Choice]
    usage: Usage | None = None
    citations: list[CitationOut] = Field(default_factory=list)


# Request fields that would change what the reply is (a tool call, JSON, token probabilities,
# audio): refused rather than silently ignored. A value listed beside a name is accepted (the
# default a client may send explicitly).
_UNSUPPORTED: dict[str, tuple[object, ...]] = {
    "tools": (None, []),
    "functions": (None, []),
    "tool_choice": (None, "none", "auto"),
    "function_call": (None, "none", "auto"),
    "parallel_tool_calls": (None, True, False),
    "response_format": (None, {"type": "text"}),
    "logprobs": (None, False),
    "top_logprobs": (None, 0),
    "audio": (None,),
    "modalities": (None, ["text"]),
    "prediction": (None,),
    "web_search_options": (None,),
}


def unsupported(request: ChatRequest) -> tuple[str, str] | None:
    """The first field of ``request`` this facade cannot honour, and why; None when all can be.

    >>> unsupported(ChatRequest(model="archivist", messages=[{"role": "user", "content": "?"}],
    ...                         response_format={"type": "json_object"}))[0]
    'response_format'
    """
    extra = request.model_extra or {}
    for name, accepted in _UNSUPPORTED.items():
        value = extra.get(name)
        if value not in accepted:
            return name, (
                f"{name} is not supported: archivist answers in text from the archive, with "
                f"citations (no tools, structured output, log probabilities or audio)"
            )
    return None


def chunk(
    completion_id: str,
    model: str,
    created: int,
    *,
    delta: dict[str, Any] | None = None,
    finish: str | None = None,
    extra: dict[str, Any] | None = None,
    usage_chunk: bool = False,
    usage: Usage | None = None,
    usage_null: bool = False,
) -> dict[str, Any]:
    """One ``chat.completion.chunk`` of a stream, as a JSON-ready dict.

    ``usage_chunk`` makes the closing chunk ``stream_options.include_usage`` asks for: no
    choices, and ``usage``; ``usage_null`` gives the chunks before it ``"usage": null``.
    """
    body: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
    }
    if usage_chunk:
        body["choices"] = []
        body["usage"] = usage.model_dump() if usage else None
    else:
        body["choices"] = [
            {"index": 0, "delta": delta or {}, "finish_reason": finish, "logprobs": None}
        ]
        if usage_null:
            body["usage"] = None
    body.update(extra or {})
    return body
