"""The ``llm`` reranker against a real OpenAI-compatible HTTP server (tests/llm_server.py)."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from pipeline.errors import ConfigError
from pipeline.models import Chunk, Hit, LLMOptions, RerankOptions
from pipeline.retrieve import RERANKERS, make_reranker
from pipeline.retrieve.rerank_llm import LLMReranker, build_prompt, parse_ranking
from pipeline.settings import Settings
from pipeline.tokens import EstimateTokenCounter, count_chat
from tests.llm_server import LLMServer, prompt_text


def _hits(n: int, words: int = 20) -> list[Hit]:
    return [
        Hit(
            chunk=Chunk(
                chunk_id=f"c{i}", doc_id=f"d{i}", ordinal=0, text=f"passage {i} " + "word " * words
            ),
            score=1.0 - i / 100,
        )
        for i in range(n)
    ]


def _sent(request: dict[str, Any]) -> list[int]:
    return [int(n) for n in re.findall(r"^\[(\d+)\]", prompt_text(request), re.MULTILINE)]


def _reranker(url: str, **llm: Any) -> LLMReranker:
    opts = RerankOptions(
        kind="llm",
        depth=25,
        timeout_s=llm.pop("timeout_s", 20.0),
        passage_tokens=llm.pop("passage_tokens", 256),
        llm=LLMOptions(base_url=url, tokenizer="estimate", **llm),
    )
    return LLMReranker(opts)


def _ids(hits: list[Hit]) -> list[str]:
    return [h.chunk.chunk_id for h in hits]


def test_the_models_order_is_applied_to_the_first_hits_in_one_request() -> None:
    def reverse(request: dict[str, Any]) -> str:
        return " > ".join(f"[{n}]" for n in reversed(_sent(request)))

    hits = _hits(30)
    with LLMServer(reply=reverse) as server:
        out = _reranker(server.url).rerank("which passage?", hits)
    assert len(server.requests) == 1
    assert _ids(out)[:25] == [f"c{i}" for i in reversed(range(25))]
    assert _ids(out)[25:] == [f"c{i}" for i in range(25, 30)]  # beyond the depth: kept
    assert out[0].score > out[1].score
    assert server.requests[0]["temperature"] == 0.0


def test_passages_the_reply_leaves_out_follow_in_fused_order() -> None:
    hits = _hits(5)
    with LLMServer(reply=lambda _: "Passage [4] is best, then [2].") as server:
        out = _reranker(server.url).rerank("q", hits)
    assert _ids(out) == ["c3", "c1", "c0", "c2", "c4"]


@pytest.mark.parametrize("reply", ["I cannot rank these.", "[99] > [0]", ""])
def test_a_reply_that_names_no_passage_keeps_the_fused_order(reply: str) -> None:
    hits = _hits(6)
    with LLMServer(reply=lambda _: reply) as server:
        assert _ids(_reranker(server.url).rerank("q", hits)) == _ids(hits)


def test_a_server_error_keeps_the_fused_order_without_retrying() -> None:
    hits = _hits(6)
    with LLMServer(status=500) as server:
        assert _ids(_reranker(server.url).rerank("q", hits)) == _ids(hits)
    assert server.attempts == 1  # a search does not wait for a second try


def test_a_server_that_does_not_answer_in_time_keeps_the_fused_order() -> None:
    def slow(request: dict[str, Any]) -> str:
        time.sleep(3)
        return "[2] > [1]"

    hits = _hits(4)
    with LLMServer(reply=slow) as server:
        assert _ids(_reranker(server.url, timeout_s=0.5).rerank("q", hits)) == _ids(hits)


def test_no_server_at_all_keeps_the_fused_order() -> None:
    hits = _hits(4)
    out = _reranker("http://127.0.0.1:9/v1").rerank("q", hits)
    assert _ids(out) == _ids(hits)


def test_the_prompt_fits_the_window_and_the_passages_left_out_stay_behind() -> None:
    hits = _hits(25, words=60)
    counter = EstimateTokenCounter()
    llm = LLMOptions(base_url="http://unused/v1", context_window=1500, tokenizer="estimate")
    prompt = build_prompt("which one?", hits, llm=llm, counter=counter, passage_tokens=100)
    assert 1 < prompt.sent < len(hits)
    assert count_chat(counter, prompt.messages) == prompt.prompt_tokens <= prompt.budget

    def first_last(request: dict[str, Any]) -> str:
        return " > ".join(f"[{n}]" for n in sorted(_sent(request), reverse=True))

    with LLMServer(reply=first_last) as server:
        out = _reranker(server.url, context_window=1500, passage_tokens=100).rerank(
            "which one?", hits
        )
    sent = _sent(server.requests[0])
    assert sent == list(range(1, prompt.sent + 1))
    reply_cap = server.requests[0]["max_tokens"]
    messages = [(m["role"], m["content"]) for m in server.requests[0]["messages"]]
    assert count_chat(counter, messages) <= 1500 - reply_cap - 16
    assert _ids(out)[: len(sent)] == [f"c{i - 1}" for i in reversed(sent)]
    assert _ids(out)[len(sent) :] == [f"c{i}" for i in range(len(sent), 25)]


def test_each_passage_is_cut_to_its_share() -> None:
    counter = EstimateTokenCounter()
    llm = LLMOptions(base_url="http://unused/v1", tokenizer="estimate")
    prompt = build_prompt("q", _hits(3, words=500), llm=llm, counter=counter, passage_tokens=50)
    pieces = re.findall(r"^\[\d+\] (.*)$", prompt.messages[1][1], re.MULTILINE)
    assert len(pieces) == 3
    for piece in pieces:
        assert counter.count(piece) <= 50


def test_a_window_too_small_for_one_passage_is_a_config_error_and_the_order_stands() -> None:
    llm = LLMOptions(base_url="http://unused/v1", context_window=150, max_tokens=10)
    with pytest.raises(ConfigError, match="too small"):
        build_prompt("q", _hits(3), llm=llm, counter=EstimateTokenCounter(), passage_tokens=64)
    with LLMServer() as server:
        hits = _hits(3)
        assert _ids(_reranker(server.url, context_window=150).rerank("q", hits)) == _ids(hits)
        assert not server.requests


def test_parse_ranking_reads_numbers_in_order_once() -> None:
    assert parse_ranking("3 > 1, then [2] and 3 again; 7", 3) == [3, 1, 2]


def test_kind_llm_is_registered_and_needs_a_server() -> None:
    assert "llm" in RERANKERS.kinds()
    with pytest.raises(ConfigError, match="needs an OpenAI-compatible server"):
        make_reranker(RerankOptions(kind="llm"))


def test_settings_give_the_llm_reranker_the_answerers_server() -> None:
    opts = Settings(rerank="llm", llm_base_url="http://127.0.0.1:1/v1").options()
    assert opts.rerank is not None and opts.rerank.llm is not None
    assert opts.rerank.llm.base_url == "http://127.0.0.1:1/v1"
    assert Settings().options().rerank is None
