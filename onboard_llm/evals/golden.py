"""The golden plan of an eval case: the fields a scorer compares, written by hand.

A golden plan need not be a complete plan. It holds what a careful CSM would
insist on for this handoff: the customer, the primary goal, the success
metrics, the stated goals, the stakeholders, the phases with their key
milestones and the risks. Field names follow the plan schema.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from onboard_llm.schema import Complexity, Side, StakeholderRole


class _Golden(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class GoldenCustomer(_Golden):
    company: str
    industry: str | None = None
    implementation_complexity: Complexity | None = None


class GoldenMetric(_Golden):
    name: str
    target: float
    unit: str
    by_day: int = Field(ge=1, le=90)
    baseline: float | None = None


class GoldenGoal(_Golden):
    goal: str
    #: Words of the notes the goal comes from, when it has them; used to match an answer's goal.
    source_quote: str | None = None


class GoldenStakeholder(_Golden):
    name: str
    role: StakeholderRole
    side: Side = "customer"


class GoldenMilestone(_Golden):
    name: str
    day: int = Field(ge=0, le=90)
    owner: str | None = None


class GoldenPhase(_Golden):
    name: str
    start_day: int = Field(ge=1, le=90)
    end_day: int = Field(ge=1, le=90)
    milestones: list[GoldenMilestone] = Field(default_factory=list)


class GoldenRisk(_Golden):
    risk: str
    #: Words that must occur in a matching risk of the answer (any one of them), e.g. ["retire", "champion"].
    keywords: list[str] = Field(default_factory=list)


class GoldenPlan(_Golden):
    """What a case's answer is scored against."""

    customer: GoldenCustomer
    primary_goal: str
    success_metrics: list[GoldenMetric] = Field(min_length=1)
    stated_goals: list[GoldenGoal] = Field(min_length=1)
    stakeholders: list[GoldenStakeholder] = Field(min_length=1)
    phases: list[GoldenPhase] = Field(min_length=1)
    risks: list[GoldenRisk] = Field(min_length=1)


class Expectations(_Golden):
    """``expect.yaml``: facts the plan must mention, and things it must not."""

    must_mention: list[str] = Field(default_factory=list)
    must_not_mention: list[str] = Field(default_factory=list)
