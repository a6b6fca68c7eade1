"""The offline planner as a provider: no model, no key, no network.

It answers with JSON text like any model, so its plans take the same parse,
repair and validation path; it is also the baseline every prompt must beat.
"""

from __future__ import annotations

import json

from onboard_llm.errors import ProviderError
from onboard_llm.providers.base import Completion, CompletionRequest, Usage, register_provider

PLANNER_VERSION = "planner-1"


@register_provider("offline", default_model=PLANNER_VERSION, description="Rule-based planner; needs no model or key")
class OfflineProvider:
    """Builds the plan from the structured handoff carried by the request."""

    name = "offline"

    #: Deterministic and free: caching its answers would only fill the cache.
    cacheable = False

    def __init__(self, model: str = PLANNER_VERSION, **_options: object) -> None:
        # Keys, base URLs and retry policies mean nothing here; accepting them keeps every factory uniform.
        self.model = model

    def complete(self, request: CompletionRequest) -> Completion:
        # Imported here so that listing providers does not load the planner's rules.
        from onboard_llm.offline.build import build_plan

        if request.handoff is None:
            raise ProviderError("the offline planner needs the handoff itself; call it through generate_plan()")
        plan = build_plan(request.handoff)
        return Completion(
            text=json.dumps(plan, ensure_ascii=False), usage=Usage(), finish_reason="stop", model=self.model
        )

    async def acomplete(self, request: CompletionRequest) -> Completion:
        return self.complete(request)
