"""The price table: shipped prices, costs with cached tokens, user overrides and their errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from onboard_llm.errors import ConfigError
from onboard_llm.pricing import PRICES_ENV, SHIPPED_PRICES, ModelPrice, PriceTable, estimate_tokens
from onboard_llm.providers.base import Usage


@pytest.fixture(autouse=True)
def no_user_prices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PRICES_ENV, raising=False)


def write(path: Path, data: Any) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


# -- the shipped table -------------------------------------------------------------------


def test_shipped_table_is_dated_sourced_and_covers_the_models_we_name() -> None:
    data = json.loads(SHIPPED_PRICES.read_text(encoding="utf-8"))
    assert data["read_on"] and data["note"] and set(data["sources"]) == {"openai", "anthropic"}
    table = PriceTable.load()
    assert table.read_on == data["read_on"]
    for model in ("gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o", "gpt-4o-mini"):
        assert table.price("openai", model) is not None, model
    for model in ("claude-sonnet-4-5", "claude-sonnet-4-6", "claude-haiku-4-5", "claude-opus-4-5", "claude-opus-4-1"):
        assert table.price("anthropic", model) is not None, model
    # Every price is cheaper cached than fresh, and output dearer than input, for every paid model.
    for key, price in table.prices.items():
        assert 0 <= price.cached_input <= price.input <= price.output, key


def test_cost_of_gpt_4_1_mini_bills_cached_tokens_once_at_the_cached_rate() -> None:
    table = PriceTable.load()
    assert table.price("openai", "gpt-4.1-mini") == ModelPrice(input=0.40, cached_input=0.10, output=1.60)
    # 10,000 prompt tokens of which 4,000 cached, 2,000 output:
    # 6,000 x $0.40 + 4,000 x $0.10 + 2,000 x $1.60 = $2,400 + $400 + $3,200 per million = $0.0060
    cost = table.cost("openai", "gpt-4.1-mini", Usage(input_tokens=10_000, output_tokens=2_000, cached_tokens=4_000))
    assert cost == pytest.approx(0.0060)


def test_cost_of_claude_sonnet_4_5_with_cache_hits() -> None:
    table = PriceTable.load()
    assert table.price("anthropic", "claude-sonnet-4-5") == ModelPrice(input=3.00, cached_input=0.30, output=15.00)
    # 15,000 fresh x $3 + 5,000 cached x $0.30 + 1,000 out x $15 = 45,000 + 1,500 + 15,000 per million
    cost = table.cost(
        "anthropic", "claude-sonnet-4-5", Usage(input_tokens=20_000, output_tokens=1_000, cached_tokens=5_000)
    )
    assert cost == pytest.approx(0.0615)


def test_dated_snapshots_price_like_their_alias() -> None:
    table = PriceTable.load()
    usage = Usage(1000, 1000, 0)
    assert table.cost("openai", "gpt-4.1-2025-04-14", usage) == table.cost("openai", "gpt-4.1", usage)
    assert table.cost("anthropic", "claude-haiku-4-5-20251001", usage) == table.cost(
        "anthropic", "claude-haiku-4-5", usage
    )


def test_unknown_models_and_providers_have_no_cost() -> None:
    table = PriceTable.load()
    assert table.cost("openai", "gpt-9-ultra", Usage(100, 100, 0)) is None
    assert table.cost("someone", "gpt-4.1", Usage(100, 100, 0)) is None
    assert table.estimate("openai", "gpt-9-ultra", 100, 100) is None


def test_offline_and_local_servers_are_free() -> None:
    table = PriceTable.load()
    assert table.cost("offline", "planner-1", Usage(5000, 5000, 0)) == 0.0
    assert table.cost("openai-compatible", "llama3.1:8b", Usage(5000, 5000, 0)) == 0.0


def test_estimate_assumes_no_cache_hits() -> None:
    table = PriceTable.load()
    # 1,000,000 in x $2 + 500,000 out x $8 = $2 + $4
    assert table.estimate("openai", "gpt-4.1", 1_000_000, 500_000) == pytest.approx(6.0)


def test_cached_tokens_beyond_the_input_are_not_billed_twice() -> None:
    price = ModelPrice(input=1.0, cached_input=0.5, output=2.0)
    assert price.cost(1000, 0, cached_tokens=5000) == pytest.approx(1000 * 0.5 / 1e6)


@pytest.mark.parametrize(("text", "tokens"), [("", 0), ("abcd", 1), ("abcde", 2), ("x" * 4000, 1000)])
def test_estimate_tokens_is_chars_over_four_rounded_up(text: str, tokens: int) -> None:
    assert estimate_tokens(text) == tokens


# -- user overrides -----------------------------------------------------------------------


def test_a_user_file_is_merged_over_the_shipped_table(tmp_path: Path) -> None:
    user = write(
        tmp_path / "prices.json",
        {
            "read_on": "2030-01-01",
            "models": {
                "openai:gpt-4.1": {"input": 2.0, "cached_input": 0.5, "output": 7.0},
                "openai:gpt-4o": {"input": 2.0, "output": 9.0},  # replaced whole: no stale cached rate
                "openai-compatible:qwen2.5:32b": {"input": 0.1, "output": 0.2},  # a paid local model
                "acme:house-model": {"input": 1, "cached_input": 0.25, "output": 4},
            },
        },
    )
    table = PriceTable.load(user)
    assert table.price("openai", "gpt-4.1") == ModelPrice(input=2.0, cached_input=0.5, output=7.0)
    assert table.price("openai", "gpt-4o") == ModelPrice(input=2.0, cached_input=2.0, output=9.0)
    assert table.price("openai-compatible", "qwen2.5:32b") == ModelPrice(input=0.1, cached_input=0.1, output=0.2)
    assert table.cost("openai-compatible", "llama3.1:8b", Usage(100, 100, 0)) == 0.0
    assert table.estimate("acme", "house-model", 1_000_000, 1_000_000) == pytest.approx(5.0)
    assert table.price("openai", "gpt-4o-mini") == PriceTable.load().price("openai", "gpt-4o-mini")
    assert table.read_on == "2030-01-01"
    assert table.files == (SHIPPED_PRICES, user)


def test_the_environment_names_the_user_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = write(tmp_path / "p.json", {"models": {"openai:gpt-4o": {"input": 9, "output": 9}}})
    monkeypatch.setenv(PRICES_ENV, str(user))
    assert PriceTable.load().price("openai", "gpt-4o") == ModelPrice(9.0, 9.0, 9.0)
    # An explicit path wins over the environment.
    other = write(tmp_path / "q.json", {"models": {}})
    assert PriceTable.load(other).price("openai", "gpt-4o") == ModelPrice(2.5, 1.25, 10.0)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ([], "JSON object"),
        ({"prices": {}}, "'models'"),
        ({"models": {"gpt-4.1": {"input": 1, "output": 2}}}, "PROVIDER:MODEL"),
        ({"models": {"openai:gpt-4.1": {"input": -1}}}, "input must be a number"),
        ({"models": {"openai:gpt-4.1": {"output": "cheap"}}}, "output must be a number"),
        ({"models": {"openai:gpt-4.1": {"output": True}}}, "output must be a number"),
        ({"models": {"openai:gpt-4.1": {"outptu": 1}}}, "unknown field 'outptu'"),
        ({"models": {"openai:gpt-4.1": {"output": 7}}}, "needs input"),
        ({"models": {"acme:new": {"input": 1}}}, "needs output"),
        ({"models": {"acme:new": 3}}, "must be an object"),
        ({"read_on": 20300101, "models": {}}, "'read_on' must be a string"),
    ],
)
def test_a_bad_user_file_is_a_one_line_config_error_naming_it(tmp_path: Path, content: Any, fragment: str) -> None:
    user = write(tmp_path / "bad-prices.json", content)
    with pytest.raises(ConfigError) as info:
        PriceTable.load(user)
    message = str(info.value)
    assert str(user) in message and fragment in message and "\n" not in message, message


def test_a_missing_user_file_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PRICES_ENV, str(tmp_path / "absent.json"))
    with pytest.raises(ConfigError, match="does not exist"):
        PriceTable.load()
