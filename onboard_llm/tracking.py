"""Deterministic onboarding status from a progress file: never the model's opinion.

A progress file (YAML) records what happened: milestones completed with dates,
weekly active % by role against a target, and pulse/CSAT answers. ``assess``
turns a dated plan plus that record into a :class:`StatusReport`:

* **Milestone status** — ``done``; ``on_track`` (not done, not yet overdue);
  ``behind`` (overdue by 1 to ``stuck_days_overdue - 1`` business days);
  ``stuck`` (overdue by ``stuck_days_overdue`` business days or more).
* **Pacing gap** — ``% complete − (day ÷ target day × 100)``, where % complete
  is the share of milestones done, day is the plan day of ``as_of`` and target
  day is the last milestone's day (the elapsed share is capped at 100). Green
  ``≥ pacing_yellow_below`` (0), yellow down to ``pacing_red_below`` (−20), red
  below that.
* **Overall** — ``stuck`` if any milestone is stuck, else ``behind`` if any
  milestone is behind or pacing is red, else ``on_track``. Yellow pacing is a
  warning, not a verdict: a plan whose remaining milestones cluster at day 90
  runs yellow while every date is still met.
* **Usage intervention** (the seed's rule) — due when a role's most recent
  ``intervention_weeks`` (2) weekly entries are all under target; a 45-minute
  usage intervention with one concrete workflow change is suggested for the
  next business day after ``as_of``.
* **Recovery protocol** (the seed's trigger) — due when a milestone is missed
  (behind or stuck) AND adoption is low (some role's latest week under target)
  AND the latest pulse is negative (score ≤ 2 of 5, or CSAT < 60).
* **Health score** — weighted average (0-100) of milestones on time, adoption,
  pulse and pacing; a measure without data is left out and the weights of the
  rest are rescaled. Bands: 0-50 red, 51-75 yellow, 76-100 green.
* **Exit code** — 3 when an intervention or recovery is due, else 0.

Every threshold has a default in :class:`Thresholds` and can be overridden
under ``thresholds:`` in the progress file. Everything here is pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from onboard_llm.calendar import BusinessCalendar
from onboard_llm.errors import BadInputError
from onboard_llm.schema import DatedMilestone, OnboardingPlan

__all__ = [
    "EXIT_ACTION_DUE",
    "EXIT_OK",
    "Action",
    "HealthInput",
    "HealthWeights",
    "MilestoneStatus",
    "Progress",
    "PulseAnswer",
    "StatusReport",
    "Thresholds",
    "WeeklyActive",
    "assess",
]

EXIT_OK = 0
EXIT_ACTION_DUE = 3
USAGE_INTERVENTION_MINUTES = 45

MilestoneState = Literal["done", "on_track", "behind", "stuck"]
Overall = Literal["on_track", "behind", "stuck"]
Band = Literal["green", "yellow", "red"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class HealthWeights(_Strict):
    """Relative weights of the health-score measures (they need not sum to 100)."""

    milestones_on_time: float = Field(default=30, ge=0, description="Share of due milestones done by their date.")
    adoption: float = Field(default=30, ge=0, description="Latest weekly active % against target, averaged by role.")
    pulse: float = Field(default=20, ge=0, description="Latest pulse (score 1-5 scaled to 0-100) or CSAT.")
    pacing: float = Field(default=20, ge=0, description="100 + pacing gap, clamped to 0-100.")

    @model_validator(mode="after")
    def _some_weight(self) -> HealthWeights:
        if self.milestones_on_time + self.adoption + self.pulse + self.pacing <= 0:
            raise ValueError("at least one health weight must be above 0")
        return self


class Thresholds(_Strict):
    """Every threshold status uses, with its default; override any in the progress file."""

    low_adoption_pct_below_target: float = Field(
        default=0,
        ge=0,
        description="A week is under target when active_pct < target_pct − this many points.",
    )
    intervention_weeks: int = Field(
        default=2, ge=1, description="Consecutive weeks under target that make a usage intervention due."
    )
    stuck_days_overdue: int = Field(
        default=10, ge=1, description="Business days overdue at which an unfinished milestone is stuck, not behind."
    )
    negative_pulse_score_max: int = Field(
        default=2, ge=1, le=5, description="A pulse score (1-5) at or below this is negative."
    )
    negative_csat_below: float = Field(default=60, ge=0, le=100, description="A CSAT (0-100) below this is negative.")
    pacing_yellow_below: float = Field(default=0, description="Pacing gap below this is yellow (at or above is green).")
    pacing_red_below: float = Field(default=-20, description="Pacing gap below this is red.")
    health_red_max: int = Field(default=50, ge=0, le=100, description="Health scores up to this are red.")
    health_yellow_max: int = Field(
        default=75, ge=0, le=100, description="Health scores up to this (above red) are yellow."
    )
    health_weights: HealthWeights = Field(default_factory=HealthWeights)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.pacing_red_below > self.pacing_yellow_below:
            raise ValueError("pacing_red_below must not be above pacing_yellow_below")
        if self.health_red_max > self.health_yellow_max:
            raise ValueError("health_red_max must not be above health_yellow_max")
        return self


class WeeklyActive(_Strict):
    week_ending: dt.date
    active_pct: float = Field(ge=0, le=100)
    target_pct: float = Field(ge=0, le=100)


class PulseAnswer(_Strict):
    date: dt.date
    score: int | None = Field(default=None, ge=1, le=5, description="Pulse on a 1-5 scale.")
    csat: float | None = Field(default=None, ge=0, le=100, description="CSAT in percent.")
    comment: str | None = None

    @model_validator(mode="after")
    def _one_measure(self) -> PulseAnswer:
        if (self.score is None) == (self.csat is None):
            raise ValueError("give exactly one of score (1-5) or csat (0-100)")
        return self

    def as_percent(self) -> float:
        """The answer on a 0-100 scale (score 1 → 0, 5 → 100)."""
        if self.score is not None:
            return (self.score - 1) / 4 * 100
        assert self.csat is not None
        return self.csat

    def is_negative(self, thresholds: Thresholds) -> bool:
        if self.score is not None:
            return self.score <= thresholds.negative_pulse_score_max
        assert self.csat is not None
        return self.csat < thresholds.negative_csat_below


class Progress(_Strict):
    """The progress file: what happened up to ``as_of``."""

    as_of: dt.date
    completed: dict[str, dt.date] = Field(default_factory=dict, description="Milestone id or name → date done.")
    weekly_active: dict[str, list[WeeklyActive]] = Field(default_factory=dict, description="Role → weekly entries.")
    pulse: list[PulseAnswer] = Field(default_factory=list)
    thresholds: Thresholds = Field(default_factory=Thresholds)

    @model_validator(mode="after")
    def _not_after_as_of(self) -> Progress:
        for key, when in self.completed.items():
            if when > self.as_of:
                raise ValueError(f"completed '{key}' on {when} is after as_of {self.as_of}")
        return self


class MilestoneStatus(BaseModel):
    id: str
    name: str
    due: dt.date
    status: MilestoneState
    completed: dt.date | None = None
    on_time: bool | None = Field(default=None, description="For done milestones: done on or before the due date.")
    days_overdue: int = Field(default=0, description="Business days past due (unfinished milestones).")


class HealthInput(BaseModel):
    measure: str
    score: float | None = Field(description="0-100, or None when there is no data (weight then unused).")
    weight: float
    detail: str


class Action(BaseModel):
    kind: Literal["usage_intervention", "recovery_reset"]
    date: dt.date
    minutes: int
    reason: str
    roles: list[str] = Field(default_factory=list)
    rescue_plan_until: dt.date | None = None


class StatusReport(BaseModel):
    as_of: dt.date
    plan_day: int
    target_day: int
    overall: Overall
    milestones: list[MilestoneStatus]
    percent_complete: float
    elapsed_percent: float
    pacing_gap: float
    pacing_band: Band
    under_target_roles: list[str] = Field(description="Roles whose latest week is under target.")
    negative_pulse: bool
    missed_milestones: list[str]
    intervention: Action | None
    recovery: Action | None
    health_score: int
    health_band: Band
    health_inputs: list[HealthInput]
    thresholds: Thresholds
    exit_code: int


def _find_milestone(milestones: list[DatedMilestone], key: str) -> DatedMilestone | None:
    for m in milestones:
        if m.id == key:
            return m
    folded = key.casefold()
    for m in milestones:
        if m.name.casefold() == folded:
            return m
    return None


def _completion_dates(plan: OnboardingPlan, progress: Progress) -> dict[str, dt.date]:
    milestones = plan.all_milestones()
    done: dict[str, dt.date] = {}
    unknown = []
    for key, when in progress.completed.items():
        found = _find_milestone(milestones, key)
        if found is None:
            unknown.append(key)
        else:
            done[found.id] = when
    if unknown:
        known = ", ".join(m.id for m in milestones)
        raise BadInputError(
            f"progress names unknown milestone(s) {', '.join(repr(u) for u in unknown)}; use an id or name "
            f"from the plan ({known})"
        )
    return done


def _under_target(week: WeeklyActive, t: Thresholds) -> bool:
    return week.active_pct < week.target_pct - t.low_adoption_pct_below_target


def _pacing_band(gap: float, t: Thresholds) -> Band:
    if gap >= t.pacing_yellow_below:
        return "green"
    return "yellow" if gap >= t.pacing_red_below else "red"


def _health_band(score: int, t: Thresholds) -> Band:
    if score <= t.health_red_max:
        return "red"
    return "yellow" if score <= t.health_yellow_max else "green"


def assess(plan: OnboardingPlan, progress: Progress, calendar: BusinessCalendar) -> StatusReport:
    """The deterministic status of `plan` as of ``progress.as_of``."""
    t = progress.thresholds
    as_of = progress.as_of
    start = plan.customer.start_date
    done = _completion_dates(plan, progress)
    milestones = plan.all_milestones()
    if not milestones:
        raise BadInputError("the plan has no milestones to track")

    statuses: list[MilestoneStatus] = []
    for m in milestones:
        if m.id in done:
            when = done[m.id]
            statuses.append(
                MilestoneStatus(id=m.id, name=m.name, due=m.date, status="done", completed=when, on_time=when <= m.date)
            )
            continue
        overdue = calendar.business_days_between(m.date, as_of)
        state: MilestoneState = "on_track"
        if overdue >= t.stuck_days_overdue:
            state = "stuck"
        elif overdue >= 1:
            state = "behind"
        statuses.append(MilestoneStatus(id=m.id, name=m.name, due=m.date, status=state, days_overdue=overdue))

    # Pacing: share of milestones done against the elapsed share of the plan.
    plan_day = (as_of - start).days + 1
    target_day = max(m.day for m in milestones)
    percent_complete = 100 * len(done) / len(milestones)
    elapsed = min(100.0, max(0.0, 100 * plan_day / target_day)) if target_day > 0 else 100.0
    gap = round(percent_complete - elapsed, 1)
    pacing_band = _pacing_band(gap, t)

    missed = [s.id for s in statuses if s.status in ("behind", "stuck")]
    if any(s.status == "stuck" for s in statuses):
        overall: Overall = "stuck"
    elif missed or pacing_band == "red":
        overall = "behind"
    else:
        overall = "on_track"

    # Adoption by role: only weeks that ended by as_of count.
    weeks_by_role = {
        role: sorted((w for w in weeks if w.week_ending <= as_of), key=lambda w: w.week_ending)
        for role, weeks in progress.weekly_active.items()
    }
    weeks_by_role = {role: weeks for role, weeks in weeks_by_role.items() if weeks}
    under_target = sorted(role for role, weeks in weeks_by_role.items() if _under_target(weeks[-1], t))
    streak_roles = sorted(
        role
        for role, weeks in weeks_by_role.items()
        if len(weeks) >= t.intervention_weeks and all(_under_target(w, t) for w in weeks[-t.intervention_weeks :])
    )

    pulses = sorted((p for p in progress.pulse if p.date <= as_of), key=lambda p: p.date)
    latest_pulse = pulses[-1] if pulses else None
    negative_pulse = latest_pulse is not None and latest_pulse.is_negative(t)

    next_day = calendar.next_business_day(as_of, include_self=False)
    intervention = None
    if streak_roles:
        intervention = Action(
            kind="usage_intervention",
            date=next_day,
            minutes=USAGE_INTERVENTION_MINUTES,
            roles=streak_roles,
            reason=(
                f"adoption under target {t.intervention_weeks} weeks in a row for {', '.join(streak_roles)}: "
                "agree one concrete workflow change for the next week"
            ),
        )
    recovery = None
    if missed and under_target and negative_pulse:
        protocol = plan.recovery_protocol
        recovery = Action(
            kind="recovery_reset",
            date=next_day,
            minutes=protocol.reset_minutes,
            roles=under_target,
            rescue_plan_until=calendar.next_business_day(next_day + dt.timedelta(days=protocol.rescue_plan_days)),
            reason=(
                f"missed milestone(s) {', '.join(missed)} + low adoption ({', '.join(under_target)}) + negative pulse: "
                f"re-state outcomes, agree a {protocol.rescue_plan_days}-day rescue plan with one visible win, "
                "assign exec sponsors on both sides"
            ),
        )

    # Health score: weighted average of the measures that have data.
    w = t.health_weights
    due = [s for s in statuses if s.due <= as_of]
    on_time = sum(1 for s in due if s.status == "done" and s.on_time)
    ratios = [
        min(100.0, 100 * wk[-1].active_pct / wk[-1].target_pct)
        for wk in weeks_by_role.values()
        if wk[-1].target_pct > 0
    ]
    inputs = [
        HealthInput(
            measure="milestones_on_time",
            score=round(100 * on_time / len(due), 1) if due else 100.0,
            weight=w.milestones_on_time,
            detail=f"{on_time} of {len(due)} due milestone(s) done on time" if due else "no milestone due yet",
        ),
        HealthInput(
            measure="adoption",
            score=round(sum(ratios) / len(ratios), 1) if ratios else None,
            weight=w.adoption,
            detail=(
                "latest week by role: "
                + ", ".join(
                    f"{r} {wk[-1].active_pct:g}% of {wk[-1].target_pct:g}%" for r, wk in sorted(weeks_by_role.items())
                )
                if weeks_by_role
                else "no weekly active data"
            ),
        ),
        HealthInput(
            measure="pulse",
            score=round(latest_pulse.as_percent(), 1) if latest_pulse else None,
            weight=w.pulse,
            detail=(
                (f"score {latest_pulse.score}/5" if latest_pulse.score is not None else f"CSAT {latest_pulse.csat:g}")
                + f" on {latest_pulse.date}"
                if latest_pulse
                else "no pulse answers"
            ),
        ),
        HealthInput(
            measure="pacing",
            score=round(min(100.0, max(0.0, 100 + gap)), 1),
            weight=w.pacing,
            detail=f"pacing gap {gap:+g}",
        ),
    ]
    used = [i for i in inputs if i.score is not None and i.weight > 0]
    total_weight = sum(i.weight for i in used)
    health = round(sum(i.weight * (i.score or 0.0) for i in used) / total_weight) if total_weight else 0

    return StatusReport(
        as_of=as_of,
        plan_day=plan_day,
        target_day=target_day,
        overall=overall,
        milestones=statuses,
        percent_complete=round(percent_complete, 1),
        elapsed_percent=round(elapsed, 1),
        pacing_gap=gap,
        pacing_band=pacing_band,
        under_target_roles=under_target,
        negative_pulse=negative_pulse,
        missed_milestones=missed,
        intervention=intervention,
        recovery=recovery,
        health_score=health,
        health_band=_health_band(health, t),
        health_inputs=inputs,
        thresholds=t,
        exit_code=EXIT_ACTION_DUE if intervention or recovery else EXIT_OK,
    )
