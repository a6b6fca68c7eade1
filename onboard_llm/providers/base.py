"""The provider contract: messages in, text plus usage and finish reason out.

Every provider returns the same :class:`Completion`, so nothing downstream
knows which vendor answered. Providers are found by name in a registry that
built-in modules fill with :func:`register_provider` and that other packages
extend through the ``onboard_llm.providers`` entry-point group.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from onboard_llm.errors import ConfigError

if TYPE_CHECKING:
    from onboard_llm.inputs import HandoffInput

Role = Literal["system", "user", "assistant"]
FinishReason = Literal["stop", "length", "refusal", "other"]
ENTRY_POINT_GROUP = "onboard_llm.providers"


@dataclass(frozen=True)
class Message:
    role: Role
    content: str

    def as_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class Usage:
    """Tokens of one or more calls; add them to sum over retries and re-asks."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_tokens + other.cached_tokens,
        )

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class CompletionRequest:
    """One call to a provider.

    ``handoff`` carries the structured inputs the messages were rendered from;
    model-backed providers ignore it, the offline planner reads it instead of
    the prose.
    """

    messages: tuple[Message, ...]
    schema: Mapping[str, Any] | None = None
    schema_name: str = "plan_draft"
    temperature: float = 0.2
    max_output_tokens: int = 16000
    handoff: HandoffInput | None = None


@dataclass(frozen=True)
class Completion:
    """A provider's answer, the same shape whichever vendor gave it."""

    text: str
    usage: Usage = field(default_factory=Usage)
    finish_reason: FinishReason = "stop"
    model: str = ""
    refusal: str | None = None
    #: The response body as the vendor sent it (for the generation log), when there was one.
    raw: str | None = None
    #: HTTP attempts this answer took, retries included.
    http_attempts: int = 1
    #: True when the answer came from the response cache instead of the provider.
    cached: bool = False


@runtime_checkable
class Provider(Protocol):
    """Anything that can complete a request, synchronously and asynchronously."""

    name: str
    model: str

    def complete(self, request: CompletionRequest) -> Completion: ...

    async def acomplete(self, request: CompletionRequest) -> Completion: ...


@dataclass(frozen=True)
class ProviderSpec:
    """A parsed ``name[:model]`` string such as ``openai:gpt-4.1-mini``."""

    name: str
    model: str | None = None

    @classmethod
    def parse(cls, spec: str) -> ProviderSpec:
        name, _, model = spec.partition(":")
        # "openai : gpt-4.1" is a typo of the spaced kind, not a provider named "openai ".
        name, model = name.strip(), model.strip()
        if not name:
            raise ConfigError(
                f"empty provider spec '{spec}': use NAME or NAME:MODEL, e.g. offline or openai:gpt-4.1-mini"
            )
        return cls(name=name.lower(), model=model or None)

    def __str__(self) -> str:
        return f"{self.name}:{self.model}" if self.model else self.name


ProviderFactory = Callable[..., Provider]


@dataclass(frozen=True)
class ProviderRecipe:
    """How to build a provider again in another process: its spec and the options it takes.

    A built provider holds SDK clients and locks that cannot cross a process
    boundary; a recipe is plain data, so an eval run spread over several
    processes hands each one the recipe and lets it build its own provider. API
    keys are not part of it unless given in ``options``: children read the same
    environment as their parent.
    """

    spec: str
    max_retries: int | None = None
    timeout: float | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def build(self, gate: Any = None) -> Provider:
        """The provider, retrying under a policy that shares ``gate`` (a RateGate) when given."""
        from onboard_llm.providers.retry import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, RetryPolicy

        retry = RetryPolicy(
            max_retries=DEFAULT_MAX_RETRIES if self.max_retries is None else self.max_retries,
            timeout=DEFAULT_TIMEOUT if self.timeout is None else self.timeout,
            gate=gate,
        )
        return get_provider(self.spec, retry=retry, **dict(self.options))


@dataclass(frozen=True)
class ProviderInfo:
    """What the registry knows of a provider before building it."""

    name: str
    factory: ProviderFactory
    default_model: str
    description: str = ""
    key_env: str | None = None

    def key_is_set(self) -> bool | None:
        """Whether the provider's key variable is set (None when it needs no key)."""
        return None if self.key_env is None else bool(os.environ.get(self.key_env))


_REGISTRY: dict[str, ProviderInfo] = {}
#: Plugins whose entry point could not be loaded, with the reason, so asking for one says why.
_BROKEN: dict[str, str] = {}
# These modules register their providers without importing any vendor SDK.
_BUILTIN_MODULES = (
    "onboard_llm.providers.offline",
    "onboard_llm.providers.openai",
    "onboard_llm.providers.anthropic",
)
_loaded = False


def register_provider(
    name: str, *, default_model: str, description: str = "", key_env: str | None = None
) -> Callable[[ProviderFactory], ProviderFactory]:
    """Class or function decorator that makes a provider available by name."""

    def decorate(factory: ProviderFactory) -> ProviderFactory:
        _REGISTRY[name] = ProviderInfo(name, factory, default_model, description, key_env)
        return factory

    return decorate


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        # A plugin registers itself on import, or its entry point is the factory.
        try:
            obj = ep.load()
        except Exception as exc:  # any error in third-party import code
            # One broken plugin must not take every other provider (offline included) down with it.
            _BROKEN[ep.name] = f"{ep.value} failed to import: {type(exc).__name__}: {exc}"
            continue
        if ep.name in _REGISTRY:
            continue
        if not callable(obj):
            _BROKEN[ep.name] = f"{ep.value} is not a provider class or factory"
            continue
        register_provider(ep.name, default_model=getattr(obj, "default_model", ep.name))(obj)


def available_providers() -> list[ProviderInfo]:
    """Every registered provider, built-ins and plugins, by name."""
    _load_all()
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def get_provider(spec: str | ProviderSpec, **options: Any) -> Provider:
    """Build a provider from a spec such as ``offline`` or ``openai:gpt-4.1-mini``."""
    _load_all()
    parsed = ProviderSpec.parse(spec) if isinstance(spec, str) else spec
    info = _REGISTRY.get(parsed.name)
    if info is None:
        if parsed.name in _BROKEN:
            raise ConfigError(f"provider plugin '{parsed.name}' could not be loaded: {_BROKEN[parsed.name]}")
        known = ", ".join(sorted(_REGISTRY))
        raise ConfigError(f"unknown provider '{parsed.name}' (available: {known})")
    return info.factory(model=parsed.model or info.default_model, **options)


def default_provider_spec() -> str:
    """The provider used when none is named.

    ``ONBOARD_PROVIDER`` if set, else OpenAI when ``OPENAI_API_KEY`` is set, else
    Anthropic when ``ANTHROPIC_API_KEY`` is set, else the offline planner.
    """
    return resolve_default_provider()[0]


def resolve_default_provider() -> tuple[str, str]:
    """The default provider spec and why it was chosen, for the CLI's notice."""
    if spec := os.environ.get("ONBOARD_PROVIDER"):
        return spec, "ONBOARD_PROVIDER is set"
    if os.environ.get("OPENAI_API_KEY"):
        return "openai", "OPENAI_API_KEY is set"
    if os.environ.get("ANTHROPIC_API_KEY"):
        return "anthropic", "ANTHROPIC_API_KEY is set"
    return "offline", "no provider configured and no API key found"
