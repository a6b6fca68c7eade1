"""`onboard plan` against vendor-shaped servers on loopback: the issue's acceptance, end to end.

Each test starts a fake server that answers like the vendor's API, points the
real SDK at it through the environment or --base-url, and runs the CLI.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from loopback import LOOPBACK_HOSTS, LoopbackServer, Reply

from onboard_llm.cli import cli
from onboard_llm.inputs import build_handoff
from onboard_llm.pipeline import render_request
from onboard_llm.prompts import PromptRegistry
from onboard_llm.providers.offline import OfflineProvider

pytestmark = pytest.mark.block_network(allowed_hosts=LOOPBACK_HOSTS)

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLE = ROOT / "examples" / "crm-export.txt"  # it states its own start date, so the plan does not move with today
SCHEMA = json.loads((ROOT / "schemas" / "onboarding_plan.schema.json").read_text())
KEY = "test-key-cli-7f3a"


def plan_json() -> str:
    """A valid answer for the example: what the offline planner writes for it."""
    handoff = build_handoff(EXAMPLE.read_text(encoding="utf-8"))
    _, request = render_request(handoff)
    return OfflineProvider().complete(request).text


def broken_json() -> str:
    """The same plan with the day-60 review on day 59: schema-valid, one domain error."""
    data = json.loads(plan_json())
    for meeting in data["meetings"]:
        if meeting["kind"] == "review_60":
            meeting["day"] = 59
    return json.dumps(data)


def openai_reply(content: str, prompt_tokens: int = 1200, completion_tokens: int = 800) -> Reply:
    return Reply(
        200,
        {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 1_790_000_000,
            "model": "gpt-4.1-mini",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "prompt_tokens_details": {"cached_tokens": 0},
            },
        },
    )


def anthropic_reply(content: str) -> Reply:
    return Reply(
        200,
        {
            "id": "msg_test",
            "type": "message",
            "role": "assistant",
            "model": "claude-test",
            "content": [{"type": "tool_use", "id": "toolu_test", "name": "plan_draft", "input": json.loads(content)}],
            "stop_reason": "tool_use",
            "stop_sequence": None,
            "usage": {
                "input_tokens": 1500,
                "output_tokens": 900,
                "cache_read_input_tokens": 0,
                "cache_creation_input_tokens": 0,
            },
        },
    )


def error_reply(status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, {"error": {"message": message, "type": "server_error", "code": None}}, headers=headers or {})


@pytest.fixture
def env(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The CLI's environment: a private log and cache, no keys unless a test adds one."""
    return {"ONBOARD_DB": str(isolated / "log.sqlite3"), "ONBOARD_CACHE_DIR": str(isolated / "cache")}


def run(args: list[str], env: dict[str, str]) -> Any:
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    return result


def assert_valid_plan(stdout: str) -> dict[str, Any]:
    data = json.loads(stdout)
    jsonschema.Draft202012Validator(SCHEMA).validate(data)
    assert data["customer"]["company"] == "Pinecrest Animal Hospitals"
    return data


def test_openai_through_openai_base_url(loopback: LoopbackServer, env: dict[str, str]) -> None:
    loopback.script(openai_reply(plan_json()))
    env |= {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": loopback.url + "/v1"}
    result = run(["plan", str(EXAMPLE), "--provider", "openai:gpt-4.1-mini", "--format", "json"], env)
    assert result.exit_code == 0, result.stderr
    assert_valid_plan(result.stdout)
    (request,) = loopback.requests
    assert request.path == "/v1/chat/completions"
    assert request.json["model"] == "gpt-4.1-mini"
    assert request.json["response_format"]["type"] == "json_schema"
    assert KEY not in result.stdout + result.stderr


def test_anthropic_through_anthropic_base_url(loopback: LoopbackServer, env: dict[str, str]) -> None:
    loopback.script(anthropic_reply(plan_json()))
    env |= {"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": loopback.url}
    result = run(["plan", str(EXAMPLE), "--provider", "anthropic:claude-test", "--format", "json"], env)
    assert result.exit_code == 0, result.stderr
    assert_valid_plan(result.stdout)
    (request,) = loopback.requests
    assert request.path == "/v1/messages"
    assert request.json["tool_choice"]["type"] == "tool"
    assert KEY not in result.stdout + result.stderr


def test_openai_compatible_with_base_url_and_no_key(loopback: LoopbackServer, env: dict[str, str]) -> None:
    loopback.script(openai_reply(plan_json()))
    args = [
        "plan",
        str(EXAMPLE),
        "--provider",
        "openai-compatible:llama3.1",
        "--base-url",
        loopback.url + "/v1",
        "--format",
        "json",
    ]
    result = run(args, env)
    assert result.exit_code == 0, result.stderr
    assert_valid_plan(result.stdout)
    assert loopback.requests[0].json["model"] == "llama3.1"


def test_429_with_retry_after_waits_about_a_second(loopback: LoopbackServer, env: dict[str, str]) -> None:
    loopback.script(error_reply(429, "Rate limit reached", {"Retry-After": "1"}), openai_reply(plan_json()))
    env |= {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": loopback.url + "/v1"}
    began = time.monotonic()
    result = run(["plan", str(EXAMPLE), "--provider", "openai", "--format", "json"], env)
    elapsed = time.monotonic() - began
    assert result.exit_code == 0, result.stderr
    assert_valid_plan(result.stdout)
    assert len(loopback.requests) == 2
    assert 0.9 <= elapsed < 5, elapsed


def test_500_forever_exits_1_within_the_time_bound(loopback: LoopbackServer, env: dict[str, str]) -> None:
    loopback.repeat_last = True
    loopback.script(error_reply(500, "The server had an error while processing your request."))
    env |= {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": loopback.url + "/v1"}
    began = time.monotonic()
    result = run(["plan", str(EXAMPLE), "--provider", "openai", "--max-retries", "2", "--timeout", "20"], env)
    elapsed = time.monotonic() - began
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert "openai" in lines[0] and "HTTP 500" in lines[0]
    assert len(loopback.requests) == 3  # the first try and two retries, no SDK retries on top
    assert elapsed < 20


def test_invalid_first_answer_is_repaired_by_one_reask(loopback: LoopbackServer, env: dict[str, str]) -> None:
    loopback.script(openai_reply(broken_json(), 1000, 700), openai_reply(plan_json(), 1900, 650))
    env |= {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": loopback.url + "/v1"}
    result = run(["plan", str(EXAMPLE), "--provider", "openai", "--format", "json", "-v"], env)
    assert result.exit_code == 0, result.stderr
    assert_valid_plan(result.stdout)
    assert len(loopback.requests) == 2
    second = loopback.requests[1].json["messages"]
    assert "review_60" in second[-1]["content"]
    # Usage and cost summed over both attempts: 0.40/1.60 USD per million tokens for gpt-4.1-mini.
    assert "tokens in 2900 / out 1350" in result.stderr
    assert f"${(2900 * 0.40 + 1350 * 1.60) / 1e6:.4f}" in result.stderr


def test_missing_key_exits_2_naming_the_variable(env: dict[str, str]) -> None:
    result = run(["plan", str(EXAMPLE), "--provider", "openai"], env)
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "OPENAI_API_KEY" in result.stderr


def test_a_key_in_the_environment_picks_the_provider(loopback: LoopbackServer, env: dict[str, str]) -> None:
    loopback.script(openai_reply(plan_json()))
    env |= {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": loopback.url + "/v1"}
    result = run(["plan", str(EXAMPLE), "--format", "json"], env)
    assert result.exit_code == 0, result.stderr
    assert "OPENAI_API_KEY is set; using openai" in result.stderr
    assert len(loopback.requests) == 1


def test_the_cache_saves_the_second_call_and_the_log_keeps_both(loopback: LoopbackServer, env: dict[str, str]) -> None:
    loopback.script(openai_reply(plan_json()))
    env |= {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": loopback.url + "/v1"}
    args = ["plan", str(EXAMPLE), "--provider", "openai", "--format", "json"]
    first, second = run(args, env), run(args, env)
    assert first.exit_code == second.exit_code == 0
    assert first.stdout == second.stdout
    assert len(loopback.requests) == 1
    listing = run(["logs", "list"], env)
    assert listing.exit_code == 0 and listing.stdout.count("openai:gpt-4.1-mini") == 2
    shown = run(["logs", "show", "1"], env)
    # No --prompt: the log names the default, the newest released version.
    assert shown.exit_code == 0 and PromptRegistry().get("roadmap@latest").ref in shown.stdout
    assert KEY not in Path(env["ONBOARD_DB"]).read_bytes().decode("utf-8", "replace")


def test_no_cache_and_no_log(loopback: LoopbackServer, env: dict[str, str]) -> None:
    loopback.script(openai_reply(plan_json()), openai_reply(plan_json()))
    env |= {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": loopback.url + "/v1"}
    args = ["plan", str(EXAMPLE), "--provider", "openai", "--no-cache", "--no-log"]
    assert run(args, env).exit_code == 0
    assert run(args, env).exit_code == 0
    assert len(loopback.requests) == 2
    assert not Path(env["ONBOARD_DB"]).exists()


def test_max_cost_stops_before_spending(loopback: LoopbackServer, env: dict[str, str]) -> None:
    loopback.script(openai_reply(broken_json(), 400_000, 30_000), openai_reply(plan_json()))
    env |= {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": loopback.url + "/v1"}
    result = run(["plan", str(EXAMPLE), "--provider", "openai", "--max-cost", "0.25"], env)
    assert result.exit_code == 1
    assert "max-cost" in result.stderr and len(loopback.requests) == 1


def test_providers_list_says_whether_a_key_is_set_but_not_the_key(env: dict[str, str]) -> None:
    result = run(["providers", "list"], env | {"OPENAI_API_KEY": "secret-value-123"})
    assert result.exit_code == 0
    assert "OPENAI_API_KEY set" in result.stdout and "ANTHROPIC_API_KEY not set" in result.stdout
    assert "secret-value-123" not in result.stdout
    for name in ("offline", "openai", "anthropic", "openai-compatible"):
        assert name in result.stdout


def test_help_and_import_do_not_load_the_vendor_sdks() -> None:
    code = (
        "import sys, onboard_llm, onboard_llm.cli\n"
        "from onboard_llm.providers.base import available_providers\n"
        "available_providers()\n"
        "from click.testing import CliRunner\n"
        "CliRunner().invoke(onboard_llm.cli.cli, ['--help'])\n"
        "print(sorted(m for m in ('openai', 'anthropic', 'httpx2', 'httpx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
