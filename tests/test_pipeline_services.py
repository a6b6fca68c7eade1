"""What surrounds each provider call: cost and budget, the response cache, the generation log, progress."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from onboard_llm.cache import ResponseCache
from onboard_llm.errors import BudgetExceededError, ConfigError, GenerationError
from onboard_llm.genlog import GenerationLog
from onboard_llm.pipeline import generate_plan
from onboard_llm.pricing import PriceTable
from onboard_llm.providers.base import Completion, Usage
from onboard_llm.providers.scripted import ScriptedProvider

FIXTURES = Path(__file__).parent / "fixtures"
NOTES = (FIXTURES / "plans" / "valid_notes.md").read_text(encoding="utf-8")
VALID = (FIXTURES / "plans" / "valid_draft.json").read_text(encoding="utf-8")
BAD = (FIXTURES / "malformed" / "domain_review_60_day_59.json").read_text(encoding="utf-8")

# $1 per million input tokens, $0.50 per million cached, $2 per million output.
PRICE = {"input": 1.0, "cached_input": 0.5, "output": 2.0}


@pytest.fixture
def prices(tmp_path: Path) -> PriceTable:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"models": {"scripted:scripted-1": PRICE}}))
    return PriceTable.load(path)


def answer(text: str, input_tokens: int, output_tokens: int, cached: int = 0) -> Completion:
    return Completion(text=text, usage=Usage(input_tokens, output_tokens, cached), model="scripted-1")


def test_cost_is_summed_over_every_attempt(prices: PriceTable) -> None:
    provider = ScriptedProvider([answer(BAD, 10_000, 2_000, cached=4_000), answer(VALID, 14_000, 2_500)])
    result = generate_plan(NOTES, provider=provider, prices=prices)
    # Cached tokens are billed at the cached rate and not again as input.
    first = (6_000 * 1.0 + 4_000 * 0.5 + 2_000 * 2.0) / 1e6
    second = (14_000 * 1.0 + 2_500 * 2.0) / 1e6
    assert [a.cost_usd for a in result.attempts] == pytest.approx([first, second])
    assert result.cost_usd == pytest.approx(first + second)
    assert result.usage == Usage(24_000, 4_500, 4_000)


def test_budget_stops_before_an_attempt_that_would_pass_it(prices: PriceTable) -> None:
    provider = ScriptedProvider([answer(BAD, 100_000, 20_000), answer(VALID, 100_000, 20_000)])
    # The first attempt costs $0.14; the re-ask would cost about as much again.
    with pytest.raises(BudgetExceededError, match="max-cost"):
        generate_plan(NOTES, provider=provider, prices=prices, max_cost=0.2)
    assert len(provider.requests) == 1


def test_budget_allows_what_fits(prices: PriceTable) -> None:
    provider = ScriptedProvider([answer(VALID, 1_000, 500)])
    result = generate_plan(NOTES, provider=provider, prices=prices, max_cost=1.0)
    assert result.cost_usd == pytest.approx((1_000 + 500 * 2.0) / 1e6)


def test_budget_needs_a_price(tmp_path: Path) -> None:
    empty = tmp_path / "prices.json"
    empty.write_text(json.dumps({"models": {}}))
    with pytest.raises(ConfigError, match="needs a price"):
        generate_plan(NOTES, provider=ScriptedProvider([VALID]), prices=PriceTable.load(empty), max_cost=1.0)


def test_cache_answers_a_repeat_without_calling_the_provider(tmp_path: Path, prices: PriceTable) -> None:
    cache = ResponseCache(tmp_path / "cache")
    first = generate_plan(NOTES, provider=ScriptedProvider([answer(VALID, 1_000, 500)]), cache=cache, prices=prices)
    again_provider = ScriptedProvider([])
    again = generate_plan(NOTES, provider=again_provider, cache=cache, prices=prices)
    assert again_provider.requests == []
    assert again.attempts[0].cached and not first.attempts[0].cached
    assert again.cost_usd == 0.0
    assert again.plan == first.plan


def test_cache_is_bypassed_when_the_request_differs(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache")
    generate_plan(NOTES, provider=ScriptedProvider([VALID]), cache=cache, prompt="roadmap@v1")
    provider = ScriptedProvider([VALID])
    generate_plan(NOTES, provider=provider, cache=cache, prompt="roadmap@v1", max_reasks=1, holidays="US")
    # Holidays and max_reasks do not change what is sent; the same request is a hit.
    assert provider.requests == []
    provider = ScriptedProvider([VALID])
    generate_plan(NOTES + "\nOne more line.", provider=provider, cache=cache)
    assert len(provider.requests) == 1


def test_refusals_are_not_cached(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache")
    refusal = Completion(text="", finish_reason="refusal", refusal="I can't help with that.")
    with pytest.raises(GenerationError, match="refused"):
        generate_plan(NOTES, provider=ScriptedProvider([refusal]), cache=cache)
    provider = ScriptedProvider([VALID])
    generate_plan(NOTES, provider=provider, cache=cache)
    assert len(provider.requests) == 1


def test_the_log_records_a_success_and_a_failure(tmp_path: Path, prices: PriceTable) -> None:
    log = GenerationLog(tmp_path / "log.sqlite3")
    ok = generate_plan(
        NOTES, provider=ScriptedProvider([answer(BAD, 10, 5), answer(VALID, 20, 8)]), log=log, prices=prices
    )
    assert ok.log_id is not None
    record = log.get(ok.log_id)
    assert record is not None and record.error is None
    assert (record.prompt_name, record.prompt_version, record.prompt_sha256) == (
        ok.prompt_name,
        ok.prompt_version,
        ok.prompt_sha256,
    )
    assert [a["stage"] for a in record.attempts] == ["domain", "ok"]
    assert record.attempts[0]["text"] == BAD
    assert record.plan is not None and record.plan["customer"]["company"] == ok.plan.customer.company
    assert record.messages[0]["role"] == "system"
    assert record.usage == {"input": 30, "output": 13, "cached": 0}

    with pytest.raises(GenerationError):
        generate_plan(NOTES, provider=ScriptedProvider([BAD]), log=log, max_reasks=0)
    failed = log.list(limit=1)[0]
    assert failed.plan is None and failed.error is not None and "review_60" in failed.error


def test_on_attempt_reports_each_provider_call() -> None:
    seen: list[int] = []
    generate_plan(NOTES, provider=ScriptedProvider([BAD, VALID]), on_attempt=seen.append)
    assert seen == [1, 2]
