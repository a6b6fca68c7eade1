"""The recovery protocol's 14-day rescue plan as data: what a model answers and ``onboard recover`` writes.

Kept apart from :mod:`onboard_llm.recovery` (the generation loop) so that
:mod:`onboard_llm.schema_export` can publish its JSON Schema next to the plan's.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

RESCUE_DAYS = 14

RescueDay = Field(ge=1, le=RESCUE_DAYS, description="Day of the rescue plan: day 1 is the reset meeting's day.")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class VisibleWin(_Strict):
    what: str = Field(min_length=1, description="The one concrete, customer-visible result the rescue delivers.")
    by_day: int = RescueDay
    owner: str = Field(min_length=1, description="A stakeholder name or a role.")


class Commitment(_Strict):
    what: str = Field(min_length=1)
    owner: str = Field(min_length=1, description="A stakeholder name or a role.")
    by_day: int = RescueDay


class ExecSponsors(_Strict):
    customer: str = Field(min_length=1, description="The customer's executive sponsor: a name from the plan or a role.")
    vendor: str = Field(min_length=1, description="The vendor's executive sponsor: a name from the plan or a role.")


class ResetAgendaItem(_Strict):
    item: str = Field(min_length=1)
    minutes: int = Field(ge=1)


class ResetMeeting(_Strict):
    minutes: int = Field(ge=15, le=120, description="Length of the reset meeting; the playbook says 45.")
    agenda: list[ResetAgendaItem] = Field(min_length=1)


class Checkpoint(_Strict):
    day: int = RescueDay
    action: str = Field(min_length=1)
    owner: str = Field(min_length=1)


class RecoveryPlan(_Strict):
    """A 14-day rescue plan, in day offsets (day 1 = the reset meeting's day)."""

    trigger_summary: str = Field(min_length=1, description="Why recovery is due: missed milestones, adoption, pulse.")
    visible_win: VisibleWin
    customer_commitments: list[Commitment] = Field(min_length=1)
    vendor_commitments: list[Commitment] = Field(min_length=1)
    exec_sponsors: ExecSponsors
    reset_meeting: ResetMeeting
    daily_or_checkpoint_plan: list[Checkpoint] = Field(min_length=1)
    success_check: str = Field(min_length=1, description="How both sides will know on day 14 that the rescue worked.")
    open_questions: list[str] = Field(default_factory=list)
