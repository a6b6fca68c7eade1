"""JSON export of a dated plan: the ``OnboardingPlan`` contract as-is, dates in ISO 8601."""

from __future__ import annotations

import json

from onboard_llm.schema import OnboardingPlan


def render_json(plan: OnboardingPlan) -> str:
    """Pretty JSON of the whole plan, ending with a newline; reads back with ``model_validate_json``."""
    return json.dumps(plan.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
