"""The plan contract: Pydantic models of an onboarding plan, in two shapes.

``PlanDraft`` is what a model (or the offline planner) writes: day offsets only,
no calendar dates, so no model ever does date arithmetic. ``OnboardingPlan`` is
the same plan after scheduling: every day field is paired with its calendar
date. Domain rules that span several fields (phase coverage, owners, reviews)
live in :mod:`onboard_llm.rules`, so a validation error here is always about
the shape of one object.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

SCHEMA_VERSION = "1.0"


_TOKEN_GAPS = re.compile(r"[\s\-/]+")


def role_token(text: str) -> str:
    """``text`` as a snake_case token: "Executive Sponsor" and "project-lead" give executive_sponsor, project_lead."""
    return _TOKEN_GAPS.sub("_", text.strip().lower())


def _enum_token(value: Any) -> Any:
    # Models write "High", "Executive Sponsor" or "project-lead"; the contract
    # wants snake_case tokens. Normalising here is a repair, not a guess.
    if isinstance(value, str):
        return role_token(value)
    return value


Level = Annotated[Literal["low", "medium", "high"], BeforeValidator(_enum_token)]
Complexity = Level
Probability = Level
Side = Annotated[Literal["customer", "vendor"], BeforeValidator(_enum_token)]
StakeholderRole = Annotated[
    Literal[
        "executive_sponsor",
        "project_lead",
        "admin",
        "champion",
        "end_user",
        "csm",
        "account_executive",
        "support",
        "other",
    ],
    BeforeValidator(_enum_token),
]
MeetingKind = Annotated[
    Literal[
        "kickoff",
        "internal_handoff",
        "check_in",
        "review_30",
        "review_60",
        "review_90",
        "internal_sync",
        "usage_intervention",
        "recovery_reset",
        "executive_review",
        "office_hours",
        "training",
    ],
    BeforeValidator(_enum_token),
]
CommunicationKind = Annotated[
    Literal[
        "welcome",
        "pre_kickoff",
        "kickoff_recap",
        "week1_recap",
        "usage_snapshot",
        "review_recap",
        "other",
    ],
    BeforeValidator(_enum_token),
]
Provenance = Annotated[
    Literal["notes", "context", "playbook_default", "assumption"],
    BeforeValidator(_enum_token),
]

STAKEHOLDER_ROLES: tuple[str, ...] = (
    "executive_sponsor",
    "project_lead",
    "admin",
    "champion",
    "end_user",
    "csm",
    "account_executive",
    "support",
    "other",
)
#: Owners that need no named person: a role of either side, or a whole team.
KNOWN_OWNER_ROLES: frozenset[str] = frozenset(
    (*STAKEHOLDER_ROLES, "customer_team", "vendor_team", "implementation", "solutions_engineer")
)

Text = Annotated[str, Field(min_length=1)]
Day = Annotated[int, Field(description="Day offset from the start date: day 1 is the start date.")]
ItemId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=40,
        description="Short stable identifier, unique in the plan, e.g. 'm-sso' or 't-user-list'.",
    ),
]


class PlanModel(BaseModel):
    """Base of every plan object: unknown keys are an error, strings are trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# -- customer and objectives -------------------------------------------------


class CustomerDraft(PlanModel):
    company: Text
    industry: str | None = Field(default=None, description="Vertical, or null when not stated.")
    size: str | None = Field(default=None, description="Headcount or segment as stated, or null.")
    product_tier: str | None = Field(default=None, description="What was bought, or null.")
    implementation_complexity: Complexity
    csm: str | None = Field(default=None, description="The assigned CSM's name, or null.")


class Customer(CustomerDraft):
    start_date: dt.date


class SuccessMetric(PlanModel):
    name: Text
    target: float = Field(description="The number to reach, without its unit.")
    unit: Text = Field(description="Unit of target and baseline, e.g. '%', 'days', 'users', 'USD'.")
    by_day: Day
    baseline: float | None = Field(default=None, description="Where the customer starts, or null.")
    role: str | None = Field(default=None, description="The user role measured, for adoption by role.")
    source_quote: str | None = Field(default=None, description="Words from the notes this metric comes from, or null.")
    provenance: Provenance = "notes"


class DatedSuccessMetric(SuccessMetric):
    date: dt.date


class StatedGoal(PlanModel):
    goal: Text
    why_it_matters: Text
    how_product_helps: Text
    success_measure: Text
    source_quote: str | None = Field(default=None, description="The customer's words in the notes, or null if assumed.")
    provenance: Provenance = "notes"


class OutcomeBrief(PlanModel):
    desired_outcomes: list[str] = Field(default_factory=list)
    promises: list[str] = Field(default_factory=list, description="What sales committed to, as captured in the notes.")
    constraints: list[str] = Field(
        default_factory=list, description="Deadlines, freezes, budgets, policies the plan must respect."
    )


# -- people ------------------------------------------------------------------


class Stakeholder(PlanModel):
    name: Text = Field(description="A person named in the notes or context; never invented.")
    title: str | None = None
    role: StakeholderRole
    side: Side
    email: str | None = None
    engagement_frequency: str | None = Field(default=None, description="e.g. 'weekly', 'monthly'.")
    channel: str | None = Field(default=None, description="e.g. 'email', 'Slack', 'video call'.")
    focus: str | None = Field(default=None, description="What this person cares about.")


class RaciRow(PlanModel):
    activity: Text
    responsible: list[str] = Field(min_length=1)
    accountable: Text = Field(description="Exactly one owner: a stakeholder name or a known role.")
    consulted: list[str] = Field(default_factory=list)
    informed: list[str] = Field(default_factory=list)


# -- the plan's backbone -----------------------------------------------------


class Milestone(PlanModel):
    id: ItemId
    name: Text
    day: Day
    owner: Text
    success_check: Text
    customer_visible: bool = True
    depends_on: list[str] = Field(default_factory=list, description="Ids of milestones or tasks.")


class DatedMilestone(Milestone):
    date: dt.date


class Task(PlanModel):
    id: ItemId
    title: Text
    owner: Text
    due_day: Day
    depends_on: list[str] = Field(default_factory=list, description="Ids of milestones or tasks.")
    customer_visible: bool = True


class DatedTask(Task):
    date: dt.date


class Phase(PlanModel):
    id: ItemId
    name: Text
    start_day: Day
    end_day: Day
    objectives: list[Text] = Field(min_length=1)
    milestones: Sequence[Milestone] = Field(default_factory=list)
    tasks: Sequence[Task] = Field(default_factory=list)


class DatedPhase(Phase):
    start_date: dt.date
    end_date: dt.date
    milestones: Sequence[DatedMilestone] = Field(default_factory=list)
    tasks: Sequence[DatedTask] = Field(default_factory=list)


class WeekBlock(PlanModel):
    label: Text = Field(description="e.g. 'Week 1', 'Weeks 2-3'.")
    start_day: Day
    end_day: Day
    focus: Text
    activities: list[str] = Field(default_factory=list)
    success_checks: list[str] = Field(default_factory=list)


class DatedWeekBlock(WeekBlock):
    start_date: dt.date
    end_date: dt.date


class AgendaItem(PlanModel):
    item: Text
    minutes: int = Field(ge=1)


class Meeting(PlanModel):
    id: ItemId
    kind: MeetingKind
    title: Text
    day: Day
    duration_minutes: int = Field(ge=5, le=480)
    attendees: list[str] = Field(default_factory=list, description="Stakeholder names or roles.")
    agenda: list[AgendaItem] = Field(default_factory=list)
    customer_visible: bool = True
    repeat_every_days: int | None = Field(
        default=None, ge=1, description="For a recurring meeting, days between occurrences."
    )
    repeat_until_day: Day | None = Field(default=None, description="Last day a repeat may fall on.")

    def occurrence_days(self) -> list[int]:
        """Every day offset this meeting happens on, first one included."""
        if self.repeat_every_days is None:
            return [self.day]
        until = self.repeat_until_day if self.repeat_until_day is not None else self.day
        # A repeat that ends before it starts still happens once, on its first day.
        return list(range(self.day, max(until, self.day) + 1, self.repeat_every_days))


class DatedMeeting(Meeting):
    date: dt.date
    occurrence_dates: list[dt.date] = Field(default_factory=list)


class Communication(PlanModel):
    id: ItemId
    kind: CommunicationKind
    name: Text
    send_day: int = Field(description="Day offset; 0 only for messages sent before the start.")
    subject: Text
    recipients: list[str] = Field(default_factory=list, description="Stakeholder names or roles.")
    key_points: list[str] = Field(default_factory=list)
    customer_visible: bool = True


class DatedCommunication(Communication):
    date: dt.date


# -- risks, measurement, the end of onboarding --------------------------------


class Risk(PlanModel):
    risk: Text
    probability: Probability
    mitigation: Text
    owner: str | None = None
    source_quote: str | None = None
    provenance: Provenance = "notes"
    customer_visible: bool = Field(
        default=True, description="False for candid internal remarks, such as a sales promise to walk back."
    )


class ScorecardItem(PlanModel):
    criterion: Text
    target: Text


class PhaseCriteria(PlanModel):
    label: Text = Field(description="e.g. 'End of week 1'.")
    day: Day
    criteria: list[Text] = Field(min_length=1)


class DatedPhaseCriteria(PhaseCriteria):
    date: dt.date


class CadenceItem(PlanModel):
    activity: Text
    frequency: Text


class Transition(PlanModel):
    cadence: list[CadenceItem] = Field(min_length=1, description="The steady-state rhythm after day 90.")
    self_service: list[str] = Field(default_factory=list)


class RecoveryProtocol(PlanModel):
    trigger: Text
    reset: Text
    reset_minutes: int = Field(default=45, ge=15, le=120)
    rescue_plan_days: int = Field(default=14, ge=7, le=30)


class Resource(PlanModel):
    name: Text
    audience: str | None = None
    format: str | None = Field(default=None, description="e.g. 'video', 'guide', 'checklist'.")


class OpenQuestion(PlanModel):
    question: Text
    why_it_matters: Text
    ask: str | None = Field(default=None, description="Who should answer it.")


class Celebration(PlanModel):
    milestone: Text
    how: Text


# -- the two plan shapes -----------------------------------------------------


class PlanDraft(PlanModel):
    """A plan as generated: day offsets only, no dates."""

    schema_version: str = SCHEMA_VERSION
    customer: CustomerDraft
    primary_goal: Text
    success_metrics: Sequence[SuccessMetric] = Field(min_length=1)
    stated_goals: list[StatedGoal] = Field(min_length=1)
    outcome_brief: OutcomeBrief
    # Empty when the notes name nobody: the plan then owns work by role and asks who fills each one.
    stakeholders: list[Stakeholder] = Field(default_factory=list)
    raci: list[RaciRow] = Field(min_length=1)
    phases: Sequence[Phase] = Field(min_length=1)
    weekly_plan: Sequence[WeekBlock] = Field(default_factory=list)
    meetings: Sequence[Meeting] = Field(min_length=1)
    communications: Sequence[Communication] = Field(default_factory=list)
    risks: list[Risk] = Field(min_length=1)
    early_warning_signs: list[str] = Field(default_factory=list)
    escalation_steps: list[str] = Field(default_factory=list)
    scorecard: list[ScorecardItem] = Field(default_factory=list)
    success_criteria_by_phase: Sequence[PhaseCriteria] = Field(default_factory=list)
    resources: list[Resource] = Field(default_factory=list)
    expansion_signals: list[str] = Field(default_factory=list)
    celebrations: list[Celebration] = Field(default_factory=list)
    transition: Transition
    recovery_protocol: RecoveryProtocol
    internal_notes: list[str] = Field(
        default_factory=list, description="Account strategy and notes never shown to the customer."
    )
    open_questions: list[OpenQuestion] = Field(default_factory=list)


class OnboardingPlan(PlanDraft):
    """A scheduled plan: every day offset also carries its calendar date."""

    customer: Customer
    success_metrics: Sequence[DatedSuccessMetric] = Field(min_length=1)
    phases: Sequence[DatedPhase] = Field(min_length=1)
    weekly_plan: Sequence[DatedWeekBlock] = Field(default_factory=list)
    meetings: Sequence[DatedMeeting] = Field(min_length=1)
    communications: Sequence[DatedCommunication] = Field(default_factory=list)
    success_criteria_by_phase: Sequence[DatedPhaseCriteria] = Field(default_factory=list)
    holidays: str | None = Field(default=None, description="Holiday calendar used for the dates.")

    def all_milestones(self) -> list[DatedMilestone]:
        """All milestones of all phases, in phase order."""
        return [m for phase in self.phases for m in phase.milestones]

    def all_tasks(self) -> list[DatedTask]:
        """All tasks of all phases, in phase order."""
        return [t for phase in self.phases for t in phase.tasks]


__all__ = [
    "KNOWN_OWNER_ROLES",
    "SCHEMA_VERSION",
    "STAKEHOLDER_ROLES",
    "AgendaItem",
    "CadenceItem",
    "Celebration",
    "Communication",
    "Customer",
    "CustomerDraft",
    "DatedCommunication",
    "DatedMeeting",
    "DatedMilestone",
    "DatedPhase",
    "DatedPhaseCriteria",
    "DatedSuccessMetric",
    "DatedTask",
    "DatedWeekBlock",
    "Meeting",
    "Milestone",
    "OnboardingPlan",
    "OpenQuestion",
    "OutcomeBrief",
    "Phase",
    "PhaseCriteria",
    "PlanDraft",
    "RaciRow",
    "RecoveryProtocol",
    "Resource",
    "Risk",
    "ScorecardItem",
    "Stakeholder",
    "StatedGoal",
    "SuccessMetric",
    "Task",
    "Transition",
    "WeekBlock",
]
