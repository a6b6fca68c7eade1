"""The scorer contract: one answer in, a score in 0..1 with per-field details out.

Scorers are registered by name; built-ins register on import, other packages
through the ``onboard_llm.scorers`` entry-point group. A scorer never calls a
provider, except the LLM judge, which brings its own.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

from onboard_llm.errors import ConfigError
from onboard_llm.evals.golden import Expectations, GoldenPlan
from onboard_llm.parsing import ParseResult
from onboard_llm.schema import OnboardingPlan

ENTRY_POINT_GROUP = "onboard_llm.scorers"


@dataclass(frozen=True)
class CaseOutput:
    """Everything a scorer may look at for one case: the answer, its parse and the case's references."""

    case_id: str
    notes: str
    source_text: str  # notes plus context, for grounding
    raw: str | None  # the provider's last answer, None when the provider failed
    parsed: ParseResult | None  # the last answer parsed and checked
    plan: OnboardingPlan | None  # the dated plan when generation succeeded
    golden: GoldenPlan
    expect: Expectations

    @functools.cached_property
    def plan_python(self) -> dict[str, Any] | None:
        """The plan dumped once (dates as date objects) for every scorer that walks it."""
        return self.plan.model_dump() if self.plan is not None else None

    @functools.cached_property
    def plan_json(self) -> dict[str, Any] | None:
        """The plan dumped once in JSON mode (dates as ISO strings)."""
        return self.plan.model_dump(mode="json") if self.plan is not None else None

    @functools.cached_property
    def plan_leaves(self) -> list[tuple[PathParts, Any]]:
        """Every scalar of :attr:`plan_python` with its path, in document order (empty without a plan).

        One walk shared by the scorers that read the plan's text field by field.
        """
        leaves: list[tuple[PathParts, Any]] = []
        if self.plan_python is not None:
            _collect_leaves(self.plan_python, (), leaves)
        return leaves


#: Where a value sits in a dumped plan: keys and list indexes from the top.
PathParts = tuple[str | int, ...]


def _collect_leaves(value: Any, path: PathParts, out: list[tuple[PathParts, Any]]) -> None:
    kind = type(value)
    if kind is dict:
        for key, child in value.items():
            _collect_leaves(child, (*path, key), out)
    elif kind is list or kind is tuple:
        for index, child in enumerate(value):
            _collect_leaves(child, (*path, index), out)
    else:
        out.append((path, value))


@dataclass(frozen=True)
class SubScore:
    """One named part of a score, with what it found in words a prompt engineer can act on."""

    name: str
    score: float
    details: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Score:
    """A scorer's verdict on one case."""

    scorer: str
    score: float
    subscores: list[SubScore] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    #: Identity of whatever the score depends on beyond the code (a judge's rubric hash, its model).
    meta: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "scorer": self.scorer,
            "score": self.score,
            "subscores": [{"name": s.name, "score": s.score, "details": list(s.details)} for s in self.subscores],
            "details": list(self.details),
            "meta": dict(self.meta),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Score:
        return cls(
            scorer=data["scorer"],
            score=float(data["score"]),
            subscores=[
                SubScore(s["name"], float(s["score"]), list(s.get("details", []))) for s in data.get("subscores", [])
            ],
            details=list(data.get("details", [])),
            meta=dict(data.get("meta", {})),
        )


@runtime_checkable
class Scorer(Protocol):
    """Anything that scores one case output in 0..1."""

    name: str

    def score(self, output: CaseOutput) -> Score: ...


ScorerFactory = Callable[..., Scorer]
_REGISTRY: dict[str, ScorerFactory] = {}
_BUILTIN_MODULES = ("onboard_llm.evals.scorers",)
_loaded = False


def register_scorer(name: str) -> Callable[[ScorerFactory], ScorerFactory]:
    """Class or function decorator that makes a scorer available by name."""

    def decorate(factory: ScorerFactory) -> ScorerFactory:
        _REGISTRY[name] = factory
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
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin must not take the built-ins down with it
            _BROKEN[ep.name] = f"{type(exc).__name__}: {exc}"
            continue
        if ep.name not in _REGISTRY and callable(obj):
            _REGISTRY[ep.name] = obj


_BROKEN: dict[str, str] = {}


def scorer_names() -> list[str]:
    _load_all()
    return sorted(_REGISTRY)


def get_scorer(name: str, **params: Any) -> Scorer:
    """Build a registered scorer with the suite's parameters."""
    _load_all()
    if name in _BROKEN:
        raise ConfigError(f"scorer '{name}' failed to load: {_BROKEN[name]}")
    factory = _REGISTRY.get(name)
    if factory is None:
        raise ConfigError(f"unknown scorer '{name}' (available: {', '.join(sorted(_REGISTRY))})")
    try:
        return factory(**params)
    except TypeError as exc:
        raise ConfigError(f"scorer '{name}': bad parameters: {exc}") from None
