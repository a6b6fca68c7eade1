"""Tests for the anthropic provider: the real SDK, no network.

Part 1 points the real ``anthropic`` client at the loopback server, which plays
Messages API responses written from the published wire format and records
every request. Part 2 replays vcrpy cassettes against the default base URL
(https://api.anthropic.com) with a dummy key; how they were made is in
``cassettes/anthropic/README.md``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from loopback import LOOPBACK_HOSTS, LoopbackServer, Recorded, Reply

from onboard_llm.errors import GenerationError, MissingKeyError, ProviderAuthError, ProviderError, TransientError
from onboard_llm.pipeline import agenerate_plan, generate_plan, render_request
from onboard_llm.providers.anthropic import AnthropicProvider
from onboard_llm.providers.base import (
    Completion,
    CompletionRequest,
    Message,
    Usage,
    available_providers,
    get_provider,
)
from onboard_llm.providers.retry import RetryPolicy
from onboard_llm.schema import PlanDraft
from onboard_llm.schema_export import strict_json_schema

FIXTURES = Path(__file__).parent.parent / "fixtures"
CASSETTES = Path(__file__).parent / "cassettes" / "anthropic"
NOTES = (FIXTURES / "plans" / "valid_notes.md").read_text(encoding="utf-8")
VALID: dict[str, Any] = json.loads((FIXTURES / "plans" / "valid_draft.json").read_text(encoding="utf-8"))
# Parses as JSON but breaks a plan rule: its review_60 meeting is on day 59.
INVALID: dict[str, Any] = json.loads(
    (FIXTURES / "malformed" / "domain_review_60_day_59.json").read_text(encoding="utf-8")
)
INVALID_ERROR = "meetings[5].day: the review_60 meeting must be on day 60, not day 59"
TODAY = dt.date(2027, 2, 1)  # fixed, so the rendered prompt (and a cassette's request body) never changes
PROMPT = "roadmap@v1"  # pinned for the same reason: "latest" moves when a version is added
MODEL = "claude-sonnet-4-6"
KEY = "test-key-loopback-4e1d"
# Key-shaped strings are built at run time, never spelled out (tests/providers/test_no_keys.py scans the files).
KEY_SHAPED = "sk-ant-" + "api03-" + "Zz9_" * 8
FAST = RetryPolicy(max_retries=3, timeout=30.0, initial=0.01, maximum=0.05)
FROM_LOOPBACK_ENV = "ANTHROPIC_CASSETTES_FROM_LOOPBACK"
# Read before the autouse fixture below clears the environment: only a live re-recording uses it.
LIVE_KEY = os.environ.get("ANTHROPIC_API_KEY")

# Variables the SDK reads on its own; a developer's shell must not change what these tests send.
_SDK_ENV = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_CUSTOM_HEADERS",
    "ANTHROPIC_PROFILE",
    "ANTHROPIC_CONFIG_DIR",
)


# -- the wire format ---------------------------------------------------------------


def message_body(
    content: list[dict[str, Any]],
    *,
    stop_reason: str = "tool_use",
    usage: dict[str, int] | None = None,
    stop_details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Messages API response body as the API sends it."""
    return {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "stop_details": stop_details,
        "usage": {
            "input_tokens": 2100,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 3400,
            "service_tier": "standard",
            **(usage or {}),
        },
    }


def tool_answer(plan: dict[str, Any], **kwargs: Any) -> Reply:
    """A 200 whose content is one call of the forced tool with ``plan`` as its input."""
    block = {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "plan_draft", "input": plan}
    return Reply(200, message_body([block], **kwargs), headers={"request-id": "req_011CRmxZ3C1Bnp4d5VnzMNXe"})


def api_error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    """An error response as the API sends it."""
    body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_011CRmy0QbP5dcB1wmhJ7WJ1"}
    return Reply(status, body, headers=headers or {})


def refusal_reply() -> Reply:
    return Reply(
        200,
        message_body(
            [],
            stop_reason="refusal",
            usage={"output_tokens": 12},
            stop_details={"type": "refusal", "category": None, "explanation": "This request was declined."},
        ),
    )


def truncated_reply() -> Reply:
    # Cut off inside the tool call: the API returns the block with what it could parse of the input.
    block = {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "plan_draft", "input": {}}
    return Reply(200, message_body([block], stop_reason="max_tokens", usage={"output_tokens": 64}))


# -- fixtures ----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _SDK_ENV:
        monkeypatch.delenv(name, raising=False)


def provider(server: LoopbackServer, *, retry: RetryPolicy = FAST, **options: Any) -> AnthropicProvider:
    return AnthropicProvider(MODEL, api_key=KEY, base_url=server.url, retry=retry, **options)


def plan_request(**changes: Any) -> CompletionRequest:
    from onboard_llm.inputs import build_handoff

    _, request = render_request(build_handoff(NOTES, None, today=TODAY), PROMPT)
    return dataclasses.replace(request, **changes)


def sent(server: LoopbackServer, index: int = -1) -> dict[str, Any]:
    body = server.requests[index].json
    assert isinstance(body, dict)
    return body


def key_sent(recorded: Recorded) -> str | None:
    """The key as the SDK sent it (this SDK uses ``Authorization: Bearer``; older ones ``x-api-key``)."""
    if "x-api-key" in recorded.headers:
        return recorded.headers["x-api-key"]
    auth = recorded.headers.get("authorization", "")
    return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None


# == part 1: the real SDK against the loopback server ===============================

loopback_test = pytest.mark.block_network(allowed_hosts=LOOPBACK_HOSTS)


@loopback_test
def test_valid_plan_through_the_forced_tool(loopback: LoopbackServer) -> None:
    loopback.script(tool_answer(VALID))
    result = generate_plan(NOTES, provider=provider(loopback), today=TODAY)

    assert result.plan.customer.company == "Kestrel Freight Logistics"
    assert (result.provider, result.model) == ("anthropic", MODEL)
    assert [a.stage for a in result.attempts] == ["ok"]
    assert result.usage == Usage(input_tokens=2100, output_tokens=3400, cached_tokens=0)
    # Priced from the shipped table like any other provider's answer.
    assert result.cost_usd is not None and result.cost_usd > 0
    # The raw field is the body the server sent, not a re-serialisation.
    attempt = result.attempts[0]
    assert attempt.raw is not None and json.loads(attempt.raw) == message_body(
        [{"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "plan_draft", "input": VALID}]
    )
    assert attempt.http_attempts == 1
    assert json.loads(attempt.text) == VALID

    [recorded] = loopback.requests
    assert (recorded.method, recorded.path) == ("POST", "/v1/messages")
    assert key_sent(recorded) == KEY
    body = sent(loopback)
    assert body["model"] == MODEL
    assert body["max_tokens"] == 16000
    assert body["tool_choice"] == {"type": "tool", "name": "plan_draft", "disable_parallel_tool_use": True}
    [tool] = body["tools"]
    assert tool["name"] == "plan_draft"
    assert tool["input_schema"] == strict_json_schema(PlanDraft)
    assert tool["description"]
    # The system prompt goes in its own field; the turns start with the user.
    assert isinstance(body["system"], str) and body["system"]
    assert all(m["role"] != "system" for m in body["messages"])
    assert body["messages"][0]["role"] == "user"
    assert "Kestrel Freight Logistics" in body["messages"][0]["content"]
    # The installed SDK has no temperature parameter and none is smuggled in.
    assert "temperature" not in body


@loopback_test
def test_invalid_answer_is_reasked_once_and_usage_is_summed(loopback: LoopbackServer) -> None:
    loopback.script(
        tool_answer(INVALID, usage={"input_tokens": 2000, "output_tokens": 3300, "cache_read_input_tokens": 0}),
        tool_answer(VALID, usage={"input_tokens": 5400, "output_tokens": 3350, "cache_read_input_tokens": 1800}),
    )
    result = generate_plan(NOTES, provider=provider(loopback), today=TODAY)

    assert len(loopback.requests) == 2
    assert [(a.stage, a.errors) for a in result.attempts] == [("domain", [INVALID_ERROR]), ("ok", [])]
    assert result.usage == Usage(input_tokens=2000 + 5400 + 1800, output_tokens=3300 + 3350, cached_tokens=1800)

    first, second = sent(loopback, 0), sent(loopback, 1)
    # The re-ask is the first conversation, the earlier answer as plain assistant text, then the errors.
    assert second["messages"][: len(first["messages"])] == first["messages"]
    answer, feedback = second["messages"][len(first["messages"]) :]
    assert answer == {"role": "assistant", "content": json.dumps(INVALID, ensure_ascii=False)}
    assert feedback["role"] == "user" and f"- {INVALID_ERROR}" in feedback["content"]
    roles = [m["role"] for m in second["messages"]]
    assert all(a != b for a, b in itertools.pairwise(roles)), roles
    # Still forced through the tool, same system prompt.
    assert (second["tool_choice"], second["system"]) == (first["tool_choice"], first["system"])


@loopback_test
def test_429_waits_for_retry_after_then_succeeds(loopback: LoopbackServer) -> None:
    loopback.script(
        api_error(
            429, "rate_limit_error", "Number of request tokens has exceeded your rate limit.", {"retry-after": "1"}
        ),
        tool_answer(VALID),
    )
    began = time.monotonic()
    completion = provider(loopback).complete(plan_request())
    waited = time.monotonic() - began

    assert 0.95 <= waited < 5, waited  # the backoff alone would have been ~0.01 s
    assert completion.http_attempts == 2
    assert json.loads(completion.text) == VALID
    assert len(loopback.requests) == 2
    assert sent(loopback, 0) == sent(loopback, 1)  # the same request, retried


@loopback_test
def test_529_overloaded_is_retried(loopback: LoopbackServer) -> None:
    loopback.script(api_error(529, "overloaded_error", "Overloaded"), tool_answer(VALID))
    completion = provider(loopback).complete(plan_request())
    assert completion.http_attempts == 2
    assert completion.finish_reason == "stop"
    # Both tries are ours: the SDK sent each as its first attempt.
    assert [r.headers.get("x-stainless-retry-count") for r in loopback.requests] == ["0", "0"]


@loopback_test
def test_500_forever_gives_up_after_the_configured_retries(loopback: LoopbackServer) -> None:
    loopback.script(api_error(500, "api_error", "Internal server error"))
    loopback.repeat_last = True
    with pytest.raises(ProviderError) as info:
        provider(loopback, retry=RetryPolicy(max_retries=2, initial=0.01, maximum=0.02)).complete(plan_request())

    assert not isinstance(info.value, TransientError)  # final, not retried again by a caller
    assert len(loopback.requests) == 3
    message = str(info.value)
    assert message.startswith("anthropic:")
    assert "HTTP 500" in message and "Internal server error" in message
    assert "3 attempts" in message
    assert (info.value.provider, info.value.status, info.value.exit_code) == ("anthropic", 500, 1)
    assert KEY not in message


@loopback_test
def test_500_forever_stops_at_the_time_budget(loopback: LoopbackServer) -> None:
    loopback.script(api_error(503, "api_error", "Service unavailable"))
    loopback.repeat_last = True
    policy = RetryPolicy(max_retries=1000, timeout=0.5, initial=0.2, maximum=0.2)
    began = time.monotonic()
    with pytest.raises(ProviderError, match="HTTP 503"):
        provider(loopback, retry=policy).complete(plan_request())
    assert time.monotonic() - began < 2
    assert 2 <= len(loopback.requests) <= 7


@loopback_test
def test_sdk_retries_are_off(loopback: LoopbackServer) -> None:
    # Our policy allows no retry here, so the 500 is final; had the SDK retried, it would have got the 200.
    loopback.script(api_error(500, "api_error", "Internal server error"), tool_answer(VALID))
    with pytest.raises(ProviderError, match="HTTP 500"):
        provider(loopback, retry=RetryPolicy(max_retries=0)).complete(plan_request())
    assert len(loopback.requests) == 1
    # The 200 was still waiting for the next call.
    assert provider(loopback).complete(plan_request()).http_attempts == 1
    assert [r.headers.get("x-stainless-retry-count") for r in loopback.requests] == ["0", "0"]


@loopback_test
def test_401_fails_at_once_as_a_configuration_error(loopback: LoopbackServer) -> None:
    loopback.script(api_error(401, "authentication_error", "invalid x-api-key"), tool_answer(VALID))
    with pytest.raises(ProviderAuthError) as info:
        provider(loopback).complete(plan_request())
    assert len(loopback.requests) == 1
    assert info.value.exit_code == 2
    message = str(info.value)
    assert "HTTP 401" in message and "invalid x-api-key" in message
    assert KEY not in message


@loopback_test
def test_a_key_echoed_by_the_server_is_masked(loopback: LoopbackServer) -> None:
    # A proxy may echo our key, or another key-shaped string, or the bearer header.
    loopback.script(
        api_error(403, "permission_error", f"key {KEY} (Bearer {KEY}) or {KEY_SHAPED} may not use this model")
    )
    with pytest.raises(ProviderAuthError) as info:
        provider(loopback).complete(plan_request())
    message = str(info.value)
    assert KEY not in message and KEY_SHAPED not in message and "Bearer" not in message
    assert "may not use this model" in message
    assert KEY not in repr(provider(loopback))


@loopback_test
def test_400_fails_at_once_with_the_vendors_message(loopback: LoopbackServer) -> None:
    loopback.script(
        api_error(400, "invalid_request_error", "max_tokens: 16000 > 8192, which is the maximum for this model"),
        tool_answer(VALID),
    )
    with pytest.raises(ProviderError) as info:
        provider(loopback).complete(plan_request())
    assert not isinstance(info.value, TransientError)
    assert len(loopback.requests) == 1
    assert info.value.status == 400
    assert str(info.value) == "anthropic: HTTP 400: max_tokens: 16000 > 8192, which is the maximum for this model"


@loopback_test
def test_max_tokens_is_length_and_the_pipeline_fails_fast(loopback: LoopbackServer) -> None:
    loopback.script(truncated_reply())
    completion = provider(loopback).complete(plan_request(max_output_tokens=64))
    assert completion.finish_reason == "length"
    assert sent(loopback)["max_tokens"] == 64

    loopback.script(truncated_reply(), tool_answer(VALID))
    with pytest.raises(GenerationError, match="cut off"):
        generate_plan(NOTES, provider=provider(loopback), today=TODAY)
    assert len(loopback.requests) == 2  # one for the direct call, one for the pipeline: no blind re-ask


@loopback_test
def test_refusal_gives_finish_reason_and_text(loopback: LoopbackServer) -> None:
    loopback.script(refusal_reply())
    completion = provider(loopback).complete(plan_request())
    assert (completion.finish_reason, completion.refusal) == ("refusal", "This request was declined.")

    # Without stop_details the refusal text is what the model wrote.
    loopback.script(
        Reply(200, message_body([{"type": "text", "text": "I can't help with that."}], stop_reason="refusal"))
    )
    completion = provider(loopback).complete(plan_request())
    assert (completion.finish_reason, completion.refusal) == ("refusal", "I can't help with that.")

    loopback.script(refusal_reply(), tool_answer(VALID))
    with pytest.raises(GenerationError, match="refused to write the plan: This request was declined"):
        generate_plan(NOTES, provider=provider(loopback), today=TODAY)
    assert len(loopback.requests) == 3


@loopback_test
def test_cache_reads_are_counted_as_cached_input(loopback: LoopbackServer) -> None:
    loopback.script(
        tool_answer(
            VALID,
            usage={
                "input_tokens": 300,
                "cache_read_input_tokens": 1800,
                "cache_creation_input_tokens": 50,
                "output_tokens": 3400,
            },
        )
    )
    completion = provider(loopback).complete(plan_request())
    # Anthropic reports the three kinds of input apart; ours is all of it, cache reads as the cached part.
    assert completion.usage == Usage(input_tokens=2150, output_tokens=3400, cached_tokens=1800)


@loopback_test
def test_turns_are_made_acceptable_to_the_api(loopback: LoopbackServer) -> None:
    loopback.script(tool_answer(VALID))
    request = CompletionRequest(
        messages=(
            Message("system", "You plan onboardings."),
            Message("system", "Answer through the tool."),
            Message("user", "Notes part one."),
            Message("user", "Notes part two."),
            Message("assistant", ""),
            Message("user", "Try again."),
        ),
        schema=strict_json_schema(PlanDraft),
    )
    provider(loopback).complete(request)
    body = sent(loopback)
    assert body["system"] == "You plan onboardings.\n\nAnswer through the tool."
    assert body["messages"] == [
        {"role": "user", "content": "Notes part one.\n\nNotes part two."},
        {"role": "assistant", "content": "(no answer)"},  # the API rejects empty text
        {"role": "user", "content": "Try again."},
    ]


@loopback_test
def test_without_a_schema_no_tool_is_sent_and_text_comes_back(loopback: LoopbackServer) -> None:
    loopback.script(Reply(200, message_body([{"type": "text", "text": "Hello."}], stop_reason="end_turn")))
    completion = provider(loopback).complete(CompletionRequest(messages=(Message("user", "Hi"),)))
    assert (completion.text, completion.finish_reason, completion.model) == ("Hello.", "stop", MODEL)
    body = sent(loopback)
    assert "tools" not in body and "tool_choice" not in body and "system" not in body


@loopback_test
def test_a_slow_server_times_out_as_a_transient_failure(loopback: LoopbackServer) -> None:
    loopback.script(Reply(200, message_body([]), delay=1.0))
    with pytest.raises(ProviderError, match="timed out") as info:
        provider(loopback, retry=RetryPolicy(max_retries=0), timeout=0.2).complete(plan_request())
    assert "no response" in str(info.value)


@pytest.mark.block_network(allowed_hosts=LOOPBACK_HOSTS)
def test_a_refused_connection_is_retried_then_reported() -> None:
    with LoopbackServer() as server:
        url = server.url  # a port that was free a moment ago and is closed now
    p = AnthropicProvider(
        MODEL, api_key=KEY, base_url=url, retry=RetryPolicy(max_retries=1, initial=0.01, maximum=0.01)
    )
    with pytest.raises(ProviderError) as info:
        p.complete(plan_request())
    message = str(info.value)
    assert "gave up after 2 attempts (no response)" in message and url in message
    assert KEY not in message


@loopback_test
def test_async_twin_retries_and_answers(loopback: LoopbackServer) -> None:
    loopback.script(api_error(529, "overloaded_error", "Overloaded"), tool_answer(VALID))
    p = provider(loopback)
    result = asyncio.run(agenerate_plan(NOTES, provider=p, today=TODAY))
    assert result.plan.customer.company == "Kestrel Freight Logistics"
    assert result.attempts[0].http_attempts == 2
    assert loopback.requests[0].headers.get("x-stainless-async", "").startswith("async:")
    # A second event loop gets a client of its own.
    loopback.script(tool_answer(VALID))
    assert isinstance(asyncio.run(p.acomplete(plan_request())), Completion)
    assert len(loopback.requests) == 3


# -- keys, environment and the registry ----------------------------------------------


def test_missing_key_names_the_variable() -> None:
    with pytest.raises(MissingKeyError, match="ANTHROPIC_API_KEY") as info:
        AnthropicProvider(MODEL)
    assert info.value.exit_code == 2
    with pytest.raises(MissingKeyError, match="ANTHROPIC_API_KEY"):
        get_provider("anthropic")


@loopback_test
def test_key_and_base_url_come_from_the_environment(loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", loopback.url)
    loopback.script(tool_answer(VALID))
    p = get_provider("anthropic:claude-haiku-4-5", retry=FAST)
    assert (p.name, p.model) == ("anthropic", "claude-haiku-4-5")
    p.complete(plan_request())
    [recorded] = loopback.requests
    assert key_sent(recorded) == KEY
    assert sent(loopback)["model"] == "claude-haiku-4-5"


@loopback_test
def test_an_explicit_key_and_base_url_win_over_the_environment(
    loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "env-key-that-must-not-be-sent")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")  # discard port: nothing answers
    loopback.script(tool_answer(VALID))
    p = get_provider("anthropic", api_key=KEY, base_url=loopback.url, retry=FAST)
    p.complete(plan_request())
    assert key_sent(loopback.requests[0]) == KEY


def test_registered_without_importing_the_sdk() -> None:
    [info] = [p for p in available_providers() if p.name == "anthropic"]
    assert (info.default_model, info.key_env) == (MODEL, "ANTHROPIC_API_KEY")
    code = (
        "import sys\n"
        "from onboard_llm.providers.base import available_providers\n"
        "assert 'anthropic' in [p.name for p in available_providers()]\n"
        "assert 'anthropic' not in sys.modules, 'the SDK was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_default_model_is_known_to_the_sdk_and_priced() -> None:
    import typing

    from anthropic.types import Model

    from onboard_llm.pricing import PriceTable

    literal = typing.get_args(Model)[0]
    assert MODEL in typing.get_args(literal)
    assert PriceTable.load().estimate("anthropic", MODEL, 1000, 1000) is not None


# == part 2: cassettes ================================================================
#
# Each cassette test has its wire-format replies here. With ANTHROPIC_CASSETTES_FROM_LOOPBACK=1
# and --record-mode=rewrite the test runs against a loopback server playing them, and the
# cassette is written with the host rewritten to api.anthropic.com. Tests in LIVE can also be
# re-recorded against the real API with a real key; the others are skipped when recording
# without the loopback (the real API cannot be made to send a 429 or a refusal on demand).

WIRE: dict[str, list[Reply]] = {
    "test_cassette_valid_plan": [tool_answer(VALID)],
    "test_cassette_reask_after_invalid_answer": [tool_answer(INVALID), tool_answer(VALID)],
    "test_cassette_rate_limited_then_success": [
        api_error(
            429, "rate_limit_error", "Number of request tokens has exceeded your rate limit.", {"retry-after": "1"}
        ),
        tool_answer(VALID),
    ],
    "test_cassette_server_errors_until_budget_spent": [api_error(500, "api_error", "Internal server error")] * 3,
    "test_cassette_truncated_answer": [truncated_reply()],
    "test_cassette_refusal": [refusal_reply()],
    "test_cassette_rejected_key": [api_error(401, "authentication_error", "invalid x-api-key")],
}
LIVE = {"test_cassette_valid_plan", "test_cassette_truncated_answer", "test_cassette_rejected_key"}
# A skipif mark, not a skip in a fixture: it acts before pytest-recording's autouse fixture,
# which deletes the cassette at once in --record-mode=rewrite.
wire_only = pytest.mark.skipif(
    "config.getoption('--record-mode') not in (None, 'none') and not os.environ.get(FROM_LOOPBACK_ENV)",
    reason="made from the wire format through the loopback server, not re-recordable live (see the README)",
)
REJECTED_KEY = "revoked-key-for-the-rejected-key-cassette"


def _as_vendor_host(request: Any) -> Any:
    """Requests recorded from the loopback server are written as if sent to the real API."""
    if request.host == "127.0.0.1":
        request.uri = "https://api.anthropic.com" + request.path
        if "host" in request.headers:
            request.headers["host"] = "api.anthropic.com"
    return request


@pytest.fixture(scope="module")
def vcr_config(vcr_config: dict[str, Any]) -> dict[str, Any]:
    """The shared configuration, plus the host rewrite for recordings from the loopback server."""
    return {**vcr_config, "before_record_request": _as_vendor_host}


@pytest.fixture
def cassette_base_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None (the real API, replayed from the cassette) or the loopback server that makes the cassette."""
    name = request.node.name
    if os.environ.get(FROM_LOOPBACK_ENV):
        with LoopbackServer(WIRE[name]) as server:
            yield server.url
        return
    yield None


def cassette_provider(base_url: str | None, record_mode: str, *, retry: RetryPolicy = FAST) -> AnthropicProvider:
    # Replaying needs no key; only a live re-recording uses the real one.
    live = record_mode != "none" and base_url is None
    return AnthropicProvider(MODEL, api_key=(LIVE_KEY if live else None) or "test-key", base_url=base_url, retry=retry)


def cassette(name: str) -> dict[str, Any]:
    import yaml

    data = yaml.safe_load((CASSETTES / f"{name}.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.mark.vcr
def test_cassette_valid_plan(cassette_base_url: str | None, record_mode: str) -> None:
    result = generate_plan(
        NOTES, provider=cassette_provider(cassette_base_url, record_mode), today=TODAY, prompt=PROMPT
    )
    assert result.plan.customer.company == "Kestrel Freight Logistics"
    assert result.attempts[-1].stage == "ok"
    assert result.usage.output_tokens > 0


@wire_only
@pytest.mark.vcr
def test_cassette_reask_after_invalid_answer(cassette_base_url: str | None, record_mode: str) -> None:
    result = generate_plan(
        NOTES, provider=cassette_provider(cassette_base_url, record_mode), today=TODAY, prompt=PROMPT
    )
    assert [(a.stage, a.errors) for a in result.attempts] == [("domain", [INVALID_ERROR]), ("ok", [])]
    assert result.usage == Usage(input_tokens=4200, output_tokens=6800)


@wire_only
@pytest.mark.vcr
def test_cassette_rate_limited_then_success(cassette_base_url: str | None, record_mode: str) -> None:
    began = time.monotonic()
    result = generate_plan(
        NOTES, provider=cassette_provider(cassette_base_url, record_mode), today=TODAY, prompt=PROMPT
    )
    assert time.monotonic() - began >= 0.95  # Retry-After: 1 was honoured on replay too
    assert result.attempts[0].http_attempts == 2


@wire_only
@pytest.mark.vcr
def test_cassette_server_errors_until_budget_spent(cassette_base_url: str | None, record_mode: str) -> None:
    retry = RetryPolicy(max_retries=2, initial=0.01, maximum=0.02)
    with pytest.raises(ProviderError) as info:
        generate_plan(
            NOTES, provider=cassette_provider(cassette_base_url, record_mode, retry=retry), today=TODAY, prompt=PROMPT
        )
    assert str(info.value).startswith("anthropic: gave up after 3 attempts (HTTP 500)")
    assert "Internal server error" in str(info.value)


@pytest.mark.vcr
def test_cassette_truncated_answer(cassette_base_url: str | None, record_mode: str) -> None:
    completion = cassette_provider(cassette_base_url, record_mode).complete(plan_request(max_output_tokens=64))
    assert completion.finish_reason == "length"
    assert completion.usage.output_tokens <= 64


@wire_only
@pytest.mark.vcr
def test_cassette_refusal(cassette_base_url: str | None, record_mode: str) -> None:
    with pytest.raises(GenerationError, match="refused to write the plan: This request was declined"):
        generate_plan(NOTES, provider=cassette_provider(cassette_base_url, record_mode), today=TODAY, prompt=PROMPT)


@pytest.mark.vcr
def test_cassette_rejected_key(cassette_base_url: str | None) -> None:
    p = AnthropicProvider(MODEL, api_key=REJECTED_KEY, base_url=cassette_base_url, retry=FAST)
    with pytest.raises(ProviderAuthError, match="HTTP 401") as info:
        p.complete(plan_request())
    assert REJECTED_KEY not in str(info.value)


def test_only_live_cassettes_can_be_recorded_without_the_loopback() -> None:
    for name in WIRE:
        marks = {m.name for m in getattr(globals()[name], "pytestmark", [])}
        assert "vcr" in marks, name
        assert ("skipif" in marks) == (name not in LIVE), name


def test_cassettes_hold_no_key_and_name_the_real_api() -> None:
    files = sorted(CASSETTES.glob("*.yaml"))
    assert {f.stem for f in files} == set(WIRE)
    for path in files:
        text = path.read_text(encoding="utf-8")
        for secret in ("test-key", KEY, REJECTED_KEY, "Bearer", "sk-ant-"):
            assert secret not in text, f"{path.name} contains {secret!r}"
        for interaction in cassette(path.stem)["interactions"]:
            req = interaction["request"]
            assert req["uri"] == "https://api.anthropic.com/v1/messages", path.name
            assert not {"authorization", "x-api-key"} & {h.lower() for h in req["headers"]}, path.name
            assert req["headers"].get("host", ["api.anthropic.com"]) == ["api.anthropic.com"], path.name
            dropped = {"request-id", "anthropic-organization-id", "set-cookie"}
            assert not dropped & {h.lower() for h in interaction["response"]["headers"]}, path.name
