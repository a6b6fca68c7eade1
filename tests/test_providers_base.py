"""Tests for onboard_llm.providers.base: specs, usage, the registry and entry-point plugins."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from onboard_llm.errors import ConfigError, ProviderError
from onboard_llm.providers import base
from onboard_llm.providers.base import (
    Completion,
    CompletionRequest,
    Message,
    Provider,
    ProviderSpec,
    Usage,
    available_providers,
    default_provider_spec,
    get_provider,
)
from onboard_llm.providers.offline import PLANNER_VERSION, OfflineProvider
from onboard_llm.providers.scripted import ScriptedProvider

# -- specs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "model"),
    [
        ("openai:gpt-4.1-mini", "openai", "gpt-4.1-mini"),
        ("offline", "offline", None),
        (" OFFLINE ", "offline", None),
        ("offline:", "offline", None),
        ("Anthropic:claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5"),
        ("openai-compatible:llama3.1:8b", "openai-compatible", "llama3.1:8b"),  # Ollama tags keep their colon
        ("openai : gpt-4.1", "openai", "gpt-4.1"),
    ],
)
def test_spec_parse(text: str, name: str, model: str | None) -> None:
    spec = ProviderSpec.parse(text)
    assert (spec.name, spec.model) == (name, model)


@pytest.mark.parametrize("text", [":x", "", "   ", " :gpt-4.1"])
def test_spec_without_a_name_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError, match="NAME:MODEL"):
        ProviderSpec.parse(text)


def test_spec_round_trips_through_str() -> None:
    assert str(ProviderSpec.parse("openai:gpt-4.1-mini")) == "openai:gpt-4.1-mini"
    assert str(ProviderSpec.parse("offline")) == "offline"


def test_default_provider_spec_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ONBOARD_PROVIDER", raising=False)
    assert default_provider_spec() == "offline"
    monkeypatch.setenv("ONBOARD_PROVIDER", "openai:gpt-4.1-mini")
    assert default_provider_spec() == "openai:gpt-4.1-mini"


# -- usage ---------------------------------------------------------------------------------


def test_usage_adds_field_by_field() -> None:
    total = Usage(input_tokens=100, output_tokens=20, cached_tokens=60) + Usage(7, 3, 1)
    assert total == Usage(input_tokens=107, output_tokens=23, cached_tokens=61)
    assert Usage() + Usage() == Usage(0, 0, 0)


def test_usage_total_counts_input_and_output_once() -> None:
    # Cached tokens are part of the input, so they are not counted again.
    assert Usage(input_tokens=100, output_tokens=20, cached_tokens=60).total_tokens == 120
    assert Usage().total_tokens == 0


def test_usage_sums_with_builtin_sum() -> None:
    calls = [Usage(10, 1), Usage(20, 2, 5), Usage(30, 3)]
    assert sum(calls, Usage()) == Usage(60, 6, 5)


# -- registry ------------------------------------------------------------------------------


def test_get_provider_offline() -> None:
    provider = get_provider("offline")
    assert isinstance(provider, OfflineProvider)
    assert isinstance(provider, Provider)
    assert (provider.name, provider.model) == ("offline", PLANNER_VERSION)
    assert get_provider("offline:planner-x").model == "planner-x"
    assert get_provider(ProviderSpec("offline")).model == PLANNER_VERSION


def test_unknown_provider_lists_the_available_ones() -> None:
    with pytest.raises(ConfigError) as info:
        get_provider("nosuch:model-1")
    message = str(info.value)
    assert "'nosuch'" in message
    assert "available:" in message
    for known in available_providers():
        assert known.name in message


def test_available_providers_are_sorted_and_describe_themselves() -> None:
    infos = available_providers()
    names = [i.name for i in infos]
    assert names == sorted(names)
    offline = next(i for i in infos if i.name == "offline")
    assert offline.default_model == PLANNER_VERSION
    assert offline.key_env is None and offline.key_is_set() is None
    assert offline.description


def test_key_is_set_reads_the_named_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    info = base.ProviderInfo("fake", OfflineProvider, "m", key_env="FAKE_TEST_KEY")
    monkeypatch.delenv("FAKE_TEST_KEY", raising=False)
    assert info.key_is_set() is False
    monkeypatch.setenv("FAKE_TEST_KEY", "sk-test")
    assert info.key_is_set() is True


# -- entry-point plugins -------------------------------------------------------------------------

ECHO_FACTORY = '''
"""A provider plugin whose entry point is the provider class itself."""
from onboard_llm.providers.base import Completion


class EchoProvider:
    name = "echo"
    default_model = "echo-1"

    def __init__(self, model="echo-1", **options):
        self.model = model
        self.options = options

    def complete(self, request):
        return Completion(text=request.messages[-1].content, model=self.model)

    async def acomplete(self, request):
        return self.complete(request)
'''

ECHO_SELF_REGISTERING = '''
"""A provider plugin that registers itself, with a description, when imported."""
from onboard_llm.providers.base import Completion, register_provider


@register_provider("echo", default_model="echo-2", description="Says it back")
class EchoProvider:
    name = "echo"

    def __init__(self, model="echo-2", **options):
        self.model = model
        self.options = options

    def complete(self, request):
        return Completion(text=request.messages[-1].content, model=self.model)

    async def acomplete(self, request):
        return self.complete(request)
'''


def install_distribution(root: Path, module_source: str, entry_points: str, name: str = "myplugin") -> None:
    """A minimal installed distribution: a module plus its dist-info folder."""
    (root / f"{name}.py").write_text(textwrap.dedent(module_source), encoding="utf-8")
    dist_info = root / f"{name}-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n", encoding="utf-8")
    (dist_info / "entry_points.txt").write_text(entry_points, encoding="utf-8")


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Let the registry read entry points again; the registry itself is restored afterwards."""
    available_providers()  # built-ins are registered on first import only, so keep them
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    monkeypatch.setattr(base, "_BROKEN", {})
    monkeypatch.setattr(base, "_loaded", False)
    yield
    sys.modules.pop("myplugin", None)


@pytest.mark.parametrize(
    ("source", "default_model"),
    [(ECHO_FACTORY, "echo-1"), (ECHO_SELF_REGISTERING, "echo-2")],
    ids=["entry-point-is-the-factory", "registers-itself"],
)
@pytest.mark.usefixtures("fresh_registry")
def test_a_plugin_is_found_through_its_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, default_model: str
) -> None:
    install_distribution(tmp_path, source, "[onboard_llm.providers]\necho = myplugin:EchoProvider\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    provider = get_provider("echo", temperature_hint=0.0)
    plugin = sys.modules["myplugin"]
    assert isinstance(provider, plugin.EchoProvider)
    assert isinstance(provider, Provider)
    assert provider.model == default_model
    assert provider.options == {"temperature_hint": 0.0}  # type: ignore[attr-defined]
    assert get_provider("echo:echo-large").model == "echo-large"

    infos = {i.name: i for i in available_providers()}
    assert {"echo", "offline"} <= set(infos)
    assert infos["echo"].default_model == default_model

    # It is a working provider, sync and async.
    request = CompletionRequest(messages=(Message("user", "ping"),))
    assert provider.complete(request).text == "ping"
    assert asyncio.run(provider.acomplete(request)).text == "ping"


def test_the_plugin_registry_is_restored_after_the_plugin_test() -> None:
    assert "echo" not in {i.name for i in available_providers()}


@pytest.mark.usefixtures("fresh_registry")
def test_a_broken_plugin_does_not_break_the_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_distribution(
        tmp_path,
        'raise ImportError("needs the vendor SDK, which is not installed")\n',
        "[onboard_llm.providers]\nbroken = myplugin:Provider\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    assert isinstance(get_provider("offline"), OfflineProvider)
    assert "broken" not in {i.name for i in available_providers()}
    with pytest.raises(ConfigError, match=r"'broken' could not be loaded.*needs the vendor SDK"):
        get_provider("broken")


@pytest.mark.usefixtures("fresh_registry")
def test_a_plugin_that_is_not_callable_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_distribution(
        tmp_path, "NOT_A_PROVIDER = 42\n", "[onboard_llm.providers]\nnumber = myplugin:NOT_A_PROVIDER\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError, match=r"'number' could not be loaded.*not a provider"):
        get_provider("number")


# -- the scripted provider ------------------------------------------------------------------------


def test_scripted_provider_plays_back_and_records() -> None:
    reply = Completion(text="{}", usage=Usage(5, 6, 7), finish_reason="length", model="given")
    provider = ScriptedProvider(["first answer", reply])
    assert isinstance(provider, Provider)
    request = CompletionRequest(messages=(Message("system", "s" * 40), Message("user", "u" * 40)))

    first = provider.complete(request)
    assert first.text == "first answer"
    assert first.usage == Usage(input_tokens=80 // 4, output_tokens=len("first answer") // 4)
    assert (first.finish_reason, first.model) == ("stop", "scripted-1")
    assert asyncio.run(provider.acomplete(request)) is reply
    assert provider.requests == [request, request]

    with pytest.raises(ProviderError, match="only 2 replies"):
        provider.complete(request)
