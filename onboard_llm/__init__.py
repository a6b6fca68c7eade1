"""onboard-llm: from a sales handoff to a validated, dated 90-day onboarding plan.

The public API lives here; everything else is an implementation detail that
may move between releases.
"""

from __future__ import annotations

from onboard_llm.errors import (
    BadInputError,
    ConfigError,
    GenerationError,
    OnboardError,
    PromptError,
    ProviderError,
)
from onboard_llm.inputs import HandoffInput, OnboardingContext, build_handoff
from onboard_llm.pipeline import Attempt, PlanResult, agenerate_plan, generate_plan
from onboard_llm.prompts import PromptRegistry
from onboard_llm.providers.base import (
    Completion,
    CompletionRequest,
    Message,
    Provider,
    Usage,
    get_provider,
    register_provider,
)
from onboard_llm.providers.scripted import ScriptedProvider
from onboard_llm.schema import OnboardingPlan, PlanDraft

__version__ = "0.1.0"

__all__ = [
    "Attempt",
    "BadInputError",
    "Completion",
    "CompletionRequest",
    "ConfigError",
    "GenerationError",
    "HandoffInput",
    "Message",
    "OnboardError",
    "OnboardingContext",
    "OnboardingPlan",
    "PlanDraft",
    "PlanResult",
    "PromptError",
    "PromptRegistry",
    "Provider",
    "ProviderError",
    "ScriptedProvider",
    "Usage",
    "__version__",
    "agenerate_plan",
    "build_handoff",
    "generate_plan",
    "get_provider",
    "register_provider",
]
