"""Token counters and their fallback order: the server's /tokenize, then Tekken, then an estimate.

Each step runs against the loopback OpenAI-compatible server (tests/llm_server.py), whose
tokenizer is deliberately not Tekken (one token per word), so the tests see which one counted.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import mistral_common
import pytest

from pipeline.errors import ConfigError
from pipeline.models import LLMOptions
from pipeline.tokens import (
    MESSAGE_OVERHEAD_TOKENS,
    EstimateTokenCounter,
    ServerTokenCounter,
    TekkenTokenCounter,
    count_chat,
    make_token_counter,
    server_root,
)
from tests.llm_server import LLMServer

pytestmark = pytest.mark.integration

TEXT = "Le port de Port-Aurèle est paralysé depuis le 1er mai par une grève."


def words(text: str) -> list[str]:
    """One token per word (with the spaces before it, so tokens join back to the text)."""
    return re.findall(r"\s*\S+", text)


def llm(server: LLMServer | None = None, **kw: object) -> LLMOptions:
    url = server.url if server else f"http://127.0.0.1:{_free_port()}/v1"
    return LLMOptions(base_url=url, model="small-3.1", **kw)  # type: ignore[arg-type]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_server_tokenizer_comes_first_when_the_server_has_one() -> None:
    with LLMServer(tokenize=words) as server:
        counter = make_token_counter(llm(server))
        assert isinstance(counter, ServerTokenCounter) and counter.name == "server:small-3.1"
        assert counter.count(TEXT) == len(TEXT.split())
        counter.count(TEXT)  # cached: no second request
    asked = [r for r in server.tokenize_requests if r.get("prompt") == TEXT]
    assert len(asked) == 1
    assert asked[0]["model"] == "small-3.1" and asked[0]["add_special_tokens"] is False
    assert server.requests == []  # counting never calls the model


def test_tekken_when_the_server_has_no_tokenize_endpoint() -> None:
    with LLMServer() as server:  # answers chat, 404 on /tokenize
        counter = make_token_counter(llm(server))
    assert isinstance(counter, TekkenTokenCounter) and counter.name == "tekken:tekken_240911.json"
    assert 0 < counter.count(TEXT) != len(TEXT.split())


def test_tekken_when_no_server_answers() -> None:
    counter = make_token_counter(llm())
    assert counter.name == "tekken:tekken_240911.json"


def test_another_tekken_file_by_path() -> None:
    other = Path(mistral_common.__file__).parent / "data" / "tekken_240718.json"
    counter = make_token_counter(llm(tokenizer="tekken", tokenizer_path=str(other)))
    assert counter.name == "tekken:tekken_240718.json"


def test_estimate_last_and_conservative(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-tekken.json")
    counter = make_token_counter(llm(tokenizer_path=missing))
    assert isinstance(counter, EstimateTokenCounter)
    tekken = make_token_counter(LLMOptions(tokenizer="tekken"))
    sample = (TEXT + " The walkout lasted four days and left 35 ships waiting. ") * 20
    assert counter.count(sample) > tekken.count(sample)  # over-counts: budgets hold
    assert counter.count(counter.truncate(sample, 100)) <= 100


def test_a_named_tokenizer_does_not_fall_back(tmp_path: Path) -> None:
    with LLMServer() as server, pytest.raises(ConfigError, match="tokenizer 'server'"):
        make_token_counter(llm(server, tokenizer="server"))
    with pytest.raises(ConfigError, match="needs ARCHIVIST_LLM_BASE_URL"):
        make_token_counter(LLMOptions(tokenizer="server"))
    with pytest.raises(ConfigError, match="Tekken"):
        make_token_counter(LLMOptions(tokenizer="tekken", tokenizer_path=str(tmp_path / "x")))


def test_server_truncates_with_its_own_tokens() -> None:
    with LLMServer(tokenize=words) as server:
        counter = make_token_counter(llm(server))
        cut = counter.truncate(TEXT, 5)
    assert cut == " ".join(TEXT.split()[:5])
    assert any(r["path"] == "/detokenize" for r in server.tokenize_requests)


def test_server_sizes_a_whole_chat_prompt_with_its_template() -> None:
    messages = [("system", "Rules here."), ("user", TEXT)]
    with LLMServer(tokenize=words, chat_overhead=4) as server:
        counter = make_token_counter(llm(server))
        exact = count_chat(counter, messages)
    assert exact == 2 + len(TEXT.split()) + 4 * 2 + 1  # the server's own template arithmetic
    chat = [r for r in server.tokenize_requests if "messages" in r]
    assert chat and chat[0]["add_generation_prompt"] is True


def test_llama_cpp_dialect() -> None:
    messages = [("system", "Rules here."), ("user", TEXT)]
    with LLMServer(tokenize=words, tokenize_dialect="llamacpp") as server:
        counter = make_token_counter(llm(server))
        assert isinstance(counter, ServerTokenCounter) and counter.dialect == "llamacpp"
        assert counter.count(TEXT) == len(TEXT.split())
        assert counter.count(counter.truncate(TEXT, 3)) == 3
        # no chat form in llama.cpp's /tokenize: messages counted one by one, plus overhead
        assert count_chat(counter, messages) == 2 + len(TEXT.split()) + 2 * MESSAGE_OVERHEAD_TOKENS
    assert any("content" in r for r in server.tokenize_requests)


def test_server_root_strips_the_api_prefix() -> None:
    assert server_root("http://gpu:8000/v1") == "http://gpu:8000"
    assert server_root("http://gpu:11434") == "http://gpu:11434"
