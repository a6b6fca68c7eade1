"""Tests for onboard_llm.providers.openai: the real ``openai`` SDK against a fake server and cassettes.

Nothing here reaches the network. Two kinds of test:

- Loopback tests point the SDK's ``base_url`` at a scripted HTTP server on
  127.0.0.1 (``loopback.py``) and check both what the SDK sent and what the
  provider made of the answer: retries, waits, errors, fallbacks.
- Cassette tests (``@pytest.mark.vcr``) run against the default base URL
  https://api.openai.com/v1 and replay ``cassettes/openai/*.yaml``. Those
  cassettes were written from OpenAI's published wire format through the
  loopback server (see ``cassettes/openai/README.md``), from the scenarios in
  :data:`CASSETTES` below.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from loopback import LOOPBACK_HOSTS, LoopbackServer, Reply

from onboard_llm.errors import (
    ConfigError,
    GenerationError,
    MissingKeyError,
    OnboardError,
    ProviderAuthError,
    ProviderError,
    TransientError,
)
from onboard_llm.pipeline import PlanResult, agenerate_plan, generate_plan, render_request
from onboard_llm.providers.base import Completion, CompletionRequest, Message, Usage, get_provider
from onboard_llm.providers.openai import (
    PLACEHOLDER_KEY,
    SCHEMA_INSTRUCTION,
    OpenAICompatibleProvider,
    OpenAIProvider,
)
from onboard_llm.providers.retry import RetryPolicy

pytestmark = pytest.mark.block_network(allowed_hosts=LOOPBACK_HOSTS)

FIXTURES = Path(__file__).parent.parent / "fixtures"
NOTES = (FIXTURES / "plans" / "valid_notes.md").read_text(encoding="utf-8")
VALID = (FIXTURES / "plans" / "valid_draft.json").read_text(encoding="utf-8")
# Fails domain validation with one known line, so the pipeline re-asks once.
INVALID = (FIXTURES / "malformed" / "domain_review_60_day_59.json").read_text(encoding="utf-8")
TRUNCATED = VALID[: len(VALID) // 3]
START = dt.date(2027, 2, 15)  # "Contract start 2027-02-15" in the notes
TODAY = dt.date(2027, 2, 1)  # pinned, so the rendered prompt (and a cassette's request body) never changes
PROMPT = "roadmap@v1"  # pinned for the same reason: "latest" moves when a version is added

#: Not shaped like a real key (tests/providers/test_no_keys.py checks every file), but unique enough to grep for.
KEY = "test-key-4e1d"
AUTH_HEADER = f"Bearer {KEY}"
MODEL = "gpt-4.1-mini"
SERVED_MODEL = "gpt-4.1-mini-2025-04-14"

#: Response headers OpenAI sends; the cassette filter must drop the id ones.
OPENAI_HEADERS = {
    "openai-version": "2020-10-01",
    "openai-processing-ms": "2480",
    "openai-organization": "org-test-not-real",
    "x-request-id": "req_0000test",
    "x-ratelimit-limit-requests": "10000",
    "x-ratelimit-remaining-requests": "9999",
}

PING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
    "additionalProperties": False,
}
#: A small request for the tests that are about the transport, not the plan.
PING = CompletionRequest(
    messages=(
        Message(role="system", content="You answer in JSON."),
        Message(role="user", content='Say "pong".'),
    ),
    schema=PING_SCHEMA,
    schema_name="ping",
    temperature=0.0,
    max_output_tokens=50,
)
PONG = '{"answer":"pong"}'


# -- the vendor's wire format ---------------------------------------------------------------


def chat_body(
    content: str | None,
    *,
    finish: str = "stop",
    refusal: str | None = None,
    prompt_tokens: int = 5210,
    completion_tokens: int = 3890,
    cached: int = 0,
    model: str = SERVED_MODEL,
) -> dict[str, Any]:
    """A chat.completion object as OpenAI documents it (POST /v1/chat/completions, 200)."""
    return {
        "id": "chatcmpl-test0000000000000000000001",
        "object": "chat.completion",
        "created": 1798761600,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": refusal, "annotations": []},
                "logprobs": None,
                "finish_reason": finish,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_test0001",
    }


def error_body(message: str, type_: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    """OpenAI's error envelope."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def ok(content: str | None, **kwargs: Any) -> Reply:
    return Reply(200, chat_body(content, **kwargs), headers=OPENAI_HEADERS)


RATE_LIMITED = Reply(
    429,
    error_body(
        "Rate limit reached for gpt-4.1-mini in organization org-test-not-real on tokens per min (TPM): "
        "Limit 200000, Used 199100, Requested 5210. Please try again in 1s.",
        "tokens",
        "rate_limit_exceeded",
    ),
    headers={**OPENAI_HEADERS, "retry-after": "1"},
)
RATE_LIMITED_FAST = Reply(
    429, error_body("Rate limit reached", "requests", "rate_limit_exceeded"), {"retry-after-ms": "50"}
)
SERVER_ERROR = Reply(
    500,
    error_body("The server had an error while processing your request. Sorry about that!", "server_error"),
    headers=OPENAI_HEADERS,
)
REJECTED_KEY = Reply(
    401,
    error_body(
        f"Incorrect API key provided: {KEY}. You can find your API key at https://platform.openai.com/account/api-keys.",
        "invalid_request_error",
        "invalid_api_key",
    ),
    headers=OPENAI_HEADERS,
)
BAD_REQUEST = Reply(
    400,
    error_body(
        "Invalid value: 'sytem'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.",
        "invalid_request_error",
        "invalid_value",
        "messages[0].role",
    ),
    headers=OPENAI_HEADERS,
)
REFUSAL_TEXT = "I'm sorry, but I can't help with that request."


# -- fixtures and helpers -------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real key, base URL or account header from the environment reaches these tests."""
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_COMPATIBLE_API_KEY",
        "OPENAI_BASE_URL",
        "OPENAI_ORG_ID",
        "OPENAI_PROJECT_ID",
        "OPENAI_CUSTOM_HEADERS",
        "OPENAI_ADMIN_KEY",
    ):
        monkeypatch.delenv(name, raising=False)


def fast_retry(max_retries: int = 2, timeout: float = 10.0) -> RetryPolicy:
    return RetryPolicy(max_retries=max_retries, timeout=timeout, initial=0.05, maximum=0.1)


def openai_on(server: LoopbackServer, retry: RetryPolicy | None = None, **kwargs: Any) -> OpenAIProvider:
    return OpenAIProvider(api_key=KEY, base_url=server.url + "/v1", retry=retry or fast_retry(), **kwargs)


def compatible_on(server: LoopbackServer, **kwargs: Any) -> OpenAICompatibleProvider:
    kwargs.setdefault("retry", fast_retry())
    return OpenAICompatibleProvider(model="llama3.1:8b", base_url=server.url + "/v1", **kwargs)


def plan(provider: Any) -> PlanResult:
    return generate_plan(NOTES, provider=provider, prompt=PROMPT, today=TODAY)


def plan_request() -> CompletionRequest:
    """The first request generate_plan sends for the fixture notes."""
    from onboard_llm.inputs import build_handoff

    return render_request(build_handoff(NOTES, None, today=TODAY), PROMPT)[1]


def assert_no_key(exc: BaseException) -> None:
    text = f"{exc} {exc!r} {exc.args!r}"
    assert KEY not in text
    assert AUTH_HEADER not in text


# -- a plan, and what went over the wire -----------------------------------------------------


def test_valid_plan_and_the_request_the_sdk_sent(loopback: LoopbackServer) -> None:
    loopback.script(ok(VALID, prompt_tokens=5210, completion_tokens=3890, cached=1024))
    result = plan(openai_on(loopback))

    assert result.plan.customer.start_date == START
    assert (result.provider, result.model) == ("openai", MODEL)
    assert result.usage == Usage(input_tokens=5210, output_tokens=3890, cached_tokens=1024)
    assert len(result.attempts) == 1

    [sent] = loopback.requests
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert sent.headers["authorization"] == AUTH_HEADER
    assert sent.headers["x-stainless-retry-count"] == "0"
    body = sent.json
    expected = plan_request()
    assert body["model"] == MODEL
    assert body["messages"] == [m.as_dict() for m in expected.messages]
    assert body["temperature"] == expected.temperature
    # One output limit, the current parameter: max_tokens is deprecated and rejected by reasoning models.
    assert body["max_completion_tokens"] == expected.max_output_tokens
    assert "max_tokens" not in body
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["name"] == expected.schema_name
    assert fmt["json_schema"]["schema"] == expected.schema
    assert "stream" not in body


def test_completion_carries_raw_body_model_and_attempts(loopback: LoopbackServer) -> None:
    loopback.script(ok(PONG, prompt_tokens=20, completion_tokens=5, cached=0))
    completion = openai_on(loopback).complete(PING)

    assert completion == Completion(
        text=PONG,
        usage=Usage(input_tokens=20, output_tokens=5, cached_tokens=0),
        finish_reason="stop",
        model=SERVED_MODEL,
        refusal=None,
        raw=completion.raw,
        http_attempts=1,
    )
    assert completion.raw is not None
    assert json.loads(completion.raw) == chat_body(PONG, prompt_tokens=20, completion_tokens=5)


def test_invalid_answer_then_valid_is_one_reask_with_usage_summed(loopback: LoopbackServer) -> None:
    loopback.script(
        ok(INVALID, prompt_tokens=5210, completion_tokens=3880, cached=0),
        ok(VALID, prompt_tokens=9150, completion_tokens=3890, cached=5120),
    )
    result = plan(openai_on(loopback))

    assert len(loopback.requests) == 2
    assert [a.stage for a in result.attempts] == ["domain", "ok"]
    assert result.usage == Usage(input_tokens=5210 + 9150, output_tokens=3880 + 3890, cached_tokens=5120)
    first, second = (r.json for r in loopback.requests)
    # The re-ask is the whole first conversation, the bad answer, and the errors.
    assert second["messages"][: len(first["messages"])] == first["messages"]
    assert second["messages"][-2] == {"role": "assistant", "content": INVALID}
    assert "review_60" in second["messages"][-1]["content"]
    assert second["response_format"] == first["response_format"]


def test_async_plan_through_the_async_client(loopback: LoopbackServer) -> None:
    loopback.script(RATE_LIMITED_FAST, ok(VALID, cached=64))
    provider = openai_on(loopback)
    result = asyncio.run(agenerate_plan(NOTES, provider=provider, prompt=PROMPT, today=TODAY))
    assert result.plan.customer.start_date == START
    assert result.usage.cached_tokens == 64
    assert len(loopback.requests) == 2
    assert all(r.headers["x-stainless-retry-count"] == "0" for r in loopback.requests)
    # A second event loop gets a client of its own instead of the first loop's dead connections.
    loopback.script(ok(PONG))
    assert asyncio.run(provider.acomplete(PING)).text == PONG


# -- retries: transient only, and only ours --------------------------------------------------


def test_429_with_retry_after_waits_then_succeeds(loopback: LoopbackServer) -> None:
    loopback.script(RATE_LIMITED, ok(VALID))
    began = time.monotonic()
    result = plan(openai_on(loopback, retry=RetryPolicy(max_retries=3, timeout=30, initial=0.01, maximum=0.02)))
    elapsed = time.monotonic() - began

    assert result.plan.customer.start_date == START
    assert 0.9 <= elapsed < 3.5, elapsed  # Retry-After: 1 wins over the 0.01 s backoff
    assert len(loopback.requests) == 2
    # Our retry, not the SDK's: each request is a first try as far as the SDK knows.
    assert [r.headers["x-stainless-retry-count"] for r in loopback.requests] == ["0", "0"]


def test_http_attempts_counts_the_retries(loopback: LoopbackServer) -> None:
    loopback.script(RATE_LIMITED_FAST, SERVER_ERROR, ok(PONG))
    completion = openai_on(loopback, retry=fast_retry(max_retries=3)).complete(PING)
    assert completion.text == PONG
    assert completion.http_attempts == 3


def test_500_forever_gives_up_within_the_budget(loopback: LoopbackServer) -> None:
    loopback.script(SERVER_ERROR)
    loopback.repeat_last = True
    began = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        openai_on(loopback, retry=fast_retry(max_retries=2, timeout=5)).complete(PING)
    elapsed = time.monotonic() - began

    assert not isinstance(caught.value, TransientError)
    message = str(caught.value)
    assert message.startswith("openai: gave up after 3 attempts (HTTP 500)")
    assert "The server had an error" in message
    assert caught.value.status == 500 and caught.value.provider == "openai"
    assert len(loopback.requests) == 3  # 1 + max_retries, and the SDK added none
    assert elapsed < 3


def test_retry_budget_in_seconds_stops_before_a_long_wait(loopback: LoopbackServer) -> None:
    loopback.script(Reply(503, error_body("overloaded", "server_error"), {"retry-after": "30"}))
    loopback.repeat_last = True
    began = time.monotonic()
    with pytest.raises(ProviderError, match=r"HTTP 503"):
        openai_on(loopback, retry=RetryPolicy(max_retries=5, timeout=2)).complete(PING)
    assert time.monotonic() - began < 2
    assert len(loopback.requests) == 1


def test_401_fails_at_once_with_the_vendors_message_and_no_key(loopback: LoopbackServer) -> None:
    loopback.script(REJECTED_KEY)
    with pytest.raises(ProviderAuthError) as caught:
        openai_on(loopback, retry=fast_retry(max_retries=4)).complete(PING)
    assert len(loopback.requests) == 1
    assert caught.value.exit_code == 2
    message = str(caught.value)
    assert message.startswith("openai: HTTP 401: Incorrect API key provided: ***")
    assert "You can find your API key" in message
    assert_no_key(caught.value)


def test_403_is_an_auth_error_too(loopback: LoopbackServer) -> None:
    loopback.script(
        Reply(403, error_body("Project does not have access to model gpt-4.1-mini", "invalid_request_error"))
    )
    with pytest.raises(ProviderAuthError, match="does not have access"):
        openai_on(loopback).complete(PING)
    assert len(loopback.requests) == 1


def test_400_fails_at_once_with_the_vendors_message(loopback: LoopbackServer) -> None:
    loopback.script(BAD_REQUEST)
    with pytest.raises(ProviderError) as caught:
        plan(openai_on(loopback, retry=fast_retry(max_retries=4)))
    assert type(caught.value) is ProviderError
    assert caught.value.status == 400
    assert "openai: HTTP 400: Invalid value: 'sytem'" in str(caught.value)
    assert len(loopback.requests) == 1


def test_openai_never_falls_back_to_json_mode(loopback: LoopbackServer) -> None:
    loopback.script(Reply(400, error_body("Invalid schema for response_format 'plan_draft'", "invalid_request_error")))
    provider = openai_on(loopback)
    with pytest.raises(ProviderError, match="Invalid schema for response_format"):
        provider.complete(PING)
    assert len(loopback.requests) == 1
    assert provider.mode == "json_schema"


def test_non_json_error_page_is_shown_short(loopback: LoopbackServer) -> None:
    page = "<html><body><h1>502 Bad Gateway</h1>" + "x" * 2000 + "</body></html>"
    loopback.script(Reply(502, page, {"Content-Type": "text/html"}), ok(PONG))
    completion = openai_on(loopback).complete(PING)
    assert completion.http_attempts == 2
    loopback.script(Reply(418, page, {"Content-Type": "text/html"}))
    with pytest.raises(ProviderError) as caught:
        openai_on(loopback).complete(PING)
    assert "502 Bad Gateway" in str(caught.value)
    assert len(str(caught.value)) < 700


def test_timeout_is_transient_and_retried() -> None:
    with LoopbackServer([Reply(200, chat_body(PONG), delay=1.5), ok(PONG)]) as server:
        provider = openai_on(server, retry=fast_retry(max_retries=1), timeout=0.3)
        completion = provider.complete(PING)
        assert completion.text == PONG and completion.http_attempts == 2
        assert len(server.requests) == 2


def test_timeouts_until_the_budget_is_spent() -> None:
    with LoopbackServer([Reply(200, chat_body(PONG), delay=1.0)], repeat_last=True) as server:
        provider = openai_on(server, retry=fast_retry(max_retries=1), timeout=0.2)
        with pytest.raises(
            ProviderError, match=r"openai: gave up after 2 attempts \(no response\).*timed out"
        ) as caught:
            provider.complete(PING)
    assert_no_key(caught.value)


def test_connection_refused_is_transient_then_final() -> None:
    with LoopbackServer() as server:
        url = server.url
    provider = OpenAIProvider(api_key=KEY, base_url=url + "/v1", retry=fast_retry(max_retries=1))
    with pytest.raises(ProviderError, match=r"gave up after 2 attempts \(no response\).*could not connect") as caught:
        provider.complete(PING)
    assert_no_key(caught.value)


# -- finish reasons and usage -----------------------------------------------------------------


def test_truncation_is_finish_reason_length(loopback: LoopbackServer) -> None:
    loopback.script(ok(TRUNCATED, finish="length", completion_tokens=16000))
    completion = openai_on(loopback).complete(plan_request())
    assert completion.finish_reason == "length"
    assert completion.text == TRUNCATED
    assert completion.usage.output_tokens == 16000


def test_truncated_plan_fails_fast_without_a_reask(loopback: LoopbackServer) -> None:
    loopback.script(ok(TRUNCATED, finish="length", completion_tokens=16000), ok(VALID))
    with pytest.raises(GenerationError, match="cut off"):
        plan(openai_on(loopback))
    assert len(loopback.requests) == 1


def test_refusal_is_reported_as_refusal(loopback: LoopbackServer) -> None:
    loopback.script(ok(None, refusal=REFUSAL_TEXT, completion_tokens=12))
    completion = openai_on(loopback).complete(PING)
    assert completion.finish_reason == "refusal"
    assert completion.refusal == REFUSAL_TEXT
    assert completion.text == ""


def test_refused_plan_is_a_clear_generation_error(loopback: LoopbackServer) -> None:
    loopback.script(ok(None, refusal=REFUSAL_TEXT), ok(VALID))
    with pytest.raises(GenerationError, match=r"refused.*can't help"):
        plan(openai_on(loopback))
    assert len(loopback.requests) == 1


def test_content_filter_counts_as_a_refusal(loopback: LoopbackServer) -> None:
    loopback.script(ok("", finish="content_filter"))
    completion = openai_on(loopback).complete(PING)
    assert completion.finish_reason == "refusal"
    assert completion.refusal is not None and "content filter" in completion.refusal


def test_cached_tokens_are_counted(loopback: LoopbackServer) -> None:
    loopback.script(ok(PONG, prompt_tokens=3000, completion_tokens=9, cached=2048))
    assert openai_on(loopback).complete(PING).usage == Usage(3000, 9, 2048)


def test_missing_usage_is_zero_not_a_crash(loopback: LoopbackServer) -> None:
    body = chat_body(PONG)
    del body["usage"]
    loopback.script(Reply(200, body))
    assert openai_on(loopback).complete(PING).usage == Usage()


# -- configuration: keys, base URLs, models ----------------------------------------------------


def test_missing_key_names_the_variable() -> None:
    with pytest.raises(MissingKeyError, match="OPENAI_API_KEY") as caught:
        get_provider("openai")
    assert caught.value.exit_code == 2


def test_key_base_url_and_model_from_env_and_spec(loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", loopback.url + "/v1")
    loopback.script(ok(PONG))
    provider = get_provider("openai:gpt-4.1", retry=fast_retry())
    assert isinstance(provider, OpenAIProvider) and provider.model == "gpt-4.1"
    provider.complete(PING)
    [sent] = loopback.requests
    assert sent.json["model"] == "gpt-4.1"
    assert sent.headers["authorization"] == AUTH_HEADER
    assert KEY not in repr(provider)


def test_base_url_option_wins_over_the_environment(loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # discard port: nothing listens
    loopback.script(ok(PONG))
    get_provider("openai", api_key=KEY, base_url=loopback.url + "/v1", retry=fast_retry()).complete(PING)
    assert len(loopback.requests) == 1


def test_the_sdk_is_not_imported_to_list_providers() -> None:
    code = (
        "import sys\n"
        "from onboard_llm.providers.base import available_providers\n"
        "names = [p.name for p in available_providers()]\n"
        "assert 'openai' in names and 'openai-compatible' in names, names\n"
        "assert 'openai' not in sys.modules, 'the openai SDK was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)


def test_registry_entries() -> None:
    from onboard_llm.providers.base import available_providers

    info = {p.name: p for p in available_providers()}
    assert (info["openai"].default_model, info["openai"].key_env) == ("gpt-4.1-mini", "OPENAI_API_KEY")
    assert info["openai-compatible"].key_env is None


# -- openai-compatible servers ------------------------------------------------------------------


JSON_SCHEMA_REJECTED = Reply(
    400,
    error_body("response_format.type 'json_schema' is not supported by this server", "invalid_request_error"),
)


def test_compatible_needs_a_base_url() -> None:
    with pytest.raises(ConfigError, match=r"openai-compatible needs --base-url \(e.g. http://localhost:11434/v1\)"):
        get_provider("openai-compatible:llama3.1")


def test_compatible_without_a_key_sends_a_placeholder_not_the_openai_key(
    loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)  # an OpenAI key must not go to a third-party server
    loopback.script(ok(PONG, model="llama3.1:8b"))
    provider = get_provider("openai-compatible:llama3.1:8b", base_url=loopback.url + "/v1", retry=fast_retry())
    completion = provider.complete(PING)
    assert completion.model == "llama3.1:8b"
    [sent] = loopback.requests
    assert sent.headers["authorization"] == f"Bearer {PLACEHOLDER_KEY}"
    assert sent.json["model"] == "llama3.1:8b"
    # Compatible servers read max_tokens; only OpenAI itself wants max_completion_tokens.
    assert sent.json["max_tokens"] == PING.max_output_tokens
    assert "max_completion_tokens" not in sent.json
    assert sent.json["response_format"]["type"] == "json_schema"


def test_compatible_key_from_its_own_variable(loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", KEY)
    loopback.script(ok(PONG))
    compatible_on(loopback).complete(PING)
    assert loopback.requests[0].headers["authorization"] == AUTH_HEADER


def test_compatible_falls_back_to_json_mode_and_remembers(loopback: LoopbackServer) -> None:
    loopback.script(JSON_SCHEMA_REJECTED, ok(VALID), ok(PONG))
    provider = compatible_on(loopback)
    result = plan(provider)
    assert result.plan.customer.start_date == START
    assert len(result.attempts) == 1

    rejected, fallback = (r.json for r in loopback.requests)
    assert rejected["response_format"]["type"] == "json_schema"
    assert fallback["response_format"] == {"type": "json_object"}
    schema_text = json.dumps(plan_request().schema, ensure_ascii=False, separators=(",", ":"))
    system = fallback["messages"][0]
    assert system["role"] == "system"
    assert system["content"].endswith(SCHEMA_INSTRUCTION + schema_text)
    assert system["content"].startswith(rejected["messages"][0]["content"])
    assert fallback["messages"][1:] == rejected["messages"][1:]

    # The provider remembers: the next call goes straight to JSON mode.
    provider.complete(PING)
    assert len(loopback.requests) == 3
    assert loopback.requests[2].json["response_format"] == {"type": "json_object"}
    assert provider.mode == "json_object"


def test_compatible_fallback_counts_both_http_attempts(loopback: LoopbackServer) -> None:
    loopback.script(JSON_SCHEMA_REJECTED, ok(PONG))
    completion = compatible_on(loopback).complete(PING)
    assert completion.text == PONG and completion.http_attempts == 2


def test_compatible_server_that_rejects_json_mode_too_gets_the_schema_in_the_prompt(loopback: LoopbackServer) -> None:
    # LM Studio's wording: it takes json_schema or text, never json_object.
    lm_studio = Reply(400, {"error": "'response_format.type' must be 'json_schema' or 'text'"})
    loopback.script(JSON_SCHEMA_REJECTED, lm_studio, ok(PONG))
    provider = compatible_on(loopback)
    assert provider.complete(PING).text == PONG
    last = loopback.requests[-1].json
    assert "response_format" not in last
    assert SCHEMA_INSTRUCTION in last["messages"][0]["content"]
    assert provider.mode == "prompt"


def test_compatible_async_fallback(loopback: LoopbackServer) -> None:
    loopback.script(JSON_SCHEMA_REJECTED, ok(PONG))
    provider = compatible_on(loopback)
    completion = asyncio.run(provider.acomplete(PING))
    assert completion.text == PONG and completion.http_attempts == 2
    assert loopback.requests[1].json["response_format"] == {"type": "json_object"}


def test_compatible_other_bad_requests_do_not_fall_back(loopback: LoopbackServer) -> None:
    loopback.script(Reply(400, {"object": "error", "message": "temperature must be >= 0", "type": "BadRequestError"}))
    provider = compatible_on(loopback)
    with pytest.raises(ProviderError, match="openai-compatible: HTTP 400: temperature must be >= 0"):
        provider.complete(PING)
    assert len(loopback.requests) == 1
    assert provider.mode == "json_schema"


def test_compatible_404_model_is_final(loopback: LoopbackServer) -> None:
    loopback.script(Reply(404, error_body('model "llama9" not found, try pulling it first', "api_error")))
    with pytest.raises(ProviderError, match="not found, try pulling it first"):
        compatible_on(loopback).complete(PING)
    assert len(loopback.requests) == 1


# -- keys never leak -------------------------------------------------------------------------------

LEAKY_REPLIES: dict[str, list[Reply]] = {
    "401 echoing the key": [REJECTED_KEY],
    "400 echoing the header": [
        Reply(400, error_body(f"bad header Authorization: {AUTH_HEADER}", "invalid_request_error"))
    ],
    "500 forever echoing the key": [Reply(500, error_body(f"internal error for key {KEY}", "server_error"))],
    "429 text body echoing the header": [Reply(429, f"slow down, {AUTH_HEADER}", {"Content-Type": "text/plain"})],
}


@pytest.mark.parametrize("replies", LEAKY_REPLIES.values(), ids=LEAKY_REPLIES.keys())
@pytest.mark.parametrize("provider_kind", ["openai", "openai-compatible"])
def test_the_key_never_reaches_an_error_message(provider_kind: str, replies: list[Reply]) -> None:
    with LoopbackServer(replies, repeat_last=True) as server:
        provider: OpenAIProvider | OpenAICompatibleProvider = (
            openai_on(server, retry=fast_retry(max_retries=1))
            if provider_kind == "openai"
            else compatible_on(server, api_key=KEY, retry=fast_retry(max_retries=1))
        )
        with pytest.raises(OnboardError) as caught:
            provider.complete(PING)
        assert server.requests[0].headers["authorization"] == AUTH_HEADER  # the key did go out...
    assert_no_key(caught.value)  # ...and never came back in a message
    assert caught.value.__suppress_context__  # the SDK's exception is not chained into the traceback


# -- cassettes: the default base URL, replayed ------------------------------------------------------


@dataclass(frozen=True)
class CassetteScenario:
    """The replies a cassette was written from and the calls that replay it."""

    replies: list[Reply]
    run: Callable[[OpenAIProvider], Any]


def _run_plan(provider: OpenAIProvider) -> PlanResult:
    return plan(provider)


def _run_ping(provider: OpenAIProvider) -> Completion:
    return provider.complete(PING)


#: Cassette name → how it was made. ``cassettes/openai/record_from_loopback.py`` writes each one by
#: playing these replies from the loopback server while vcrpy records, then renames the host.
CASSETTES: dict[str, CassetteScenario] = {
    "test_cassette_valid_plan": CassetteScenario(
        [ok(VALID, prompt_tokens=5210, completion_tokens=3890, cached=0)], _run_plan
    ),
    "test_cassette_invalid_then_valid_reask": CassetteScenario(
        [
            ok(INVALID, prompt_tokens=5210, completion_tokens=3880, cached=0),
            ok(VALID, prompt_tokens=9150, completion_tokens=3890, cached=5120),
        ],
        _run_plan,
    ),
    "test_cassette_rate_limited_then_ok": CassetteScenario(
        [RATE_LIMITED, ok(PONG, prompt_tokens=31, completion_tokens=6)], _run_ping
    ),
    "test_cassette_server_errors_until_the_budget_is_spent": CassetteScenario([SERVER_ERROR] * 3, _run_ping),
    "test_cassette_truncated": CassetteScenario(
        [ok('{"answer":"po', finish="length", prompt_tokens=31, completion_tokens=50)], _run_ping
    ),
    "test_cassette_refusal": CassetteScenario(
        [ok(None, refusal=REFUSAL_TEXT, prompt_tokens=31, completion_tokens=11)], _run_ping
    ),
    "test_cassette_rejected_key": CassetteScenario([REJECTED_KEY], _run_ping),
}

#: The retry policy of every cassette test: two retries, and waits recorded instead of slept.
CASSETTE_RETRIES = 2


@pytest.fixture
def waits() -> list[float]:
    return []


#: Read at import, before ``_clean_env`` empties the environment; used only to re-record (``--record-mode``).
_RECORDING_KEY = os.environ.get("OPENAI_API_KEY")


@pytest.fixture
def api_provider(waits: list[float], record_mode: str) -> Iterator[OpenAIProvider]:
    """The provider as a user gets it: default base URL (https://api.openai.com/v1), key from the environment.

    Replaying, the key is the dummy one; re-recording (``--record-mode=rewrite``) it is the real
    ``OPENAI_API_KEY``, which vcrpy's header filter keeps out of the cassette.
    """
    key = _RECORDING_KEY if record_mode != "none" and _RECORDING_KEY else KEY
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPENAI_API_KEY", key)
        yield cassette_provider(None, waits)


def cassette_provider(base_url: str | None, waits: list[float]) -> OpenAIProvider:
    retry = RetryPolicy(max_retries=CASSETTE_RETRIES, timeout=60, sleep=waits.append)
    return OpenAIProvider(model=MODEL, base_url=base_url, retry=retry)


def _interactions(cassette: Any) -> list[tuple[Any, Any]]:
    return list(zip(cassette.requests, cassette.responses, strict=True))


def test_every_cassette_has_a_test_and_a_file() -> None:
    here = Path(__file__).parent / "cassettes" / "openai"
    assert {p.stem for p in here.glob("*.yaml")} == set(CASSETTES)
    tests = {name for name in globals() if name.startswith("test_cassette_")}
    assert tests == set(CASSETTES)


@pytest.mark.vcr
def test_cassette_valid_plan(api_provider: OpenAIProvider, vcr: Any) -> None:
    result = CASSETTES["test_cassette_valid_plan"].run(api_provider)
    assert result.plan.customer.start_date == START
    assert result.usage == Usage(5210, 3890, 0)
    assert vcr.play_count == 1 and vcr.all_played
    [(request, _)] = _interactions(vcr)
    assert request.url == "https://api.openai.com/v1/chat/completions"
    body = json.loads(request.body)
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True


@pytest.mark.vcr
def test_cassette_invalid_then_valid_reask(api_provider: OpenAIProvider, vcr: Any) -> None:
    result = CASSETTES["test_cassette_invalid_then_valid_reask"].run(api_provider)
    assert [a.stage for a in result.attempts] == ["domain", "ok"]
    assert result.usage == Usage(5210 + 9150, 3880 + 3890, 5120)
    assert vcr.play_count == 2 and vcr.all_played


@pytest.mark.vcr
def test_cassette_rate_limited_then_ok(api_provider: OpenAIProvider, vcr: Any, waits: list[float]) -> None:
    completion = CASSETTES["test_cassette_rate_limited_then_ok"].run(api_provider)
    assert completion.text == PONG
    assert completion.http_attempts == 2
    assert waits == [1.0]  # the Retry-After header, not the backoff
    assert vcr.play_count == 2 and vcr.all_played


@pytest.mark.vcr
def test_cassette_server_errors_until_the_budget_is_spent(
    api_provider: OpenAIProvider, vcr: Any, waits: list[float]
) -> None:
    with pytest.raises(ProviderError, match=r"openai: gave up after 3 attempts \(HTTP 500\)"):
        CASSETTES["test_cassette_server_errors_until_the_budget_is_spent"].run(api_provider)
    assert len(waits) == CASSETTE_RETRIES
    assert vcr.play_count == CASSETTE_RETRIES + 1 and vcr.all_played


@pytest.mark.vcr
def test_cassette_truncated(api_provider: OpenAIProvider, vcr: Any) -> None:
    completion = CASSETTES["test_cassette_truncated"].run(api_provider)
    assert completion.finish_reason == "length"
    assert completion.usage.output_tokens == PING.max_output_tokens
    assert vcr.all_played


@pytest.mark.vcr
def test_cassette_refusal(api_provider: OpenAIProvider, vcr: Any) -> None:
    completion = CASSETTES["test_cassette_refusal"].run(api_provider)
    assert completion.finish_reason == "refusal"
    assert completion.refusal == REFUSAL_TEXT
    assert vcr.all_played


@pytest.mark.vcr
def test_cassette_rejected_key(api_provider: OpenAIProvider, vcr: Any) -> None:
    with pytest.raises(ProviderAuthError, match="Incorrect API key provided") as caught:
        CASSETTES["test_cassette_rejected_key"].run(api_provider)
    assert_no_key(caught.value)
    assert vcr.play_count == 1 and vcr.all_played


def test_cassettes_hold_no_key_and_no_ids() -> None:
    here = Path(__file__).parent / "cassettes" / "openai"
    for path in sorted(here.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        lowered = text.lower()
        assert KEY not in text, path.name
        for header in ("authorization", "openai-organization", "openai-project", "x-request-id", "set-cookie"):
            assert f"{header}:" not in lowered, (path.name, header)
        assert "127.0.0.1" not in text, path.name
        assert "https://api.openai.com/v1/chat/completions" in text, path.name
