"""``structure``: the playbook's invariants on the dated plan, one subscore each.

================  =============================================================  ==========
subscore          holds when                                                     value
================  =============================================================  ==========
``phases``        phases are ordered, contiguous, from day 1 to day 90           1 or 0
``reviews``       review_30, review_60 and review_90 meetings on days 30/60/90   share of 3
``kickoff``       exactly one kickoff, within 3 business days of the start date  1 or 0
``cadence``       internal handoff within 1 business day, kickoff recap within   1 or 0
                  one business day of the kickoff, a touchpoint every business
                  week (the other business-day rules of ``timing_issues``)
``owners``        every owner (milestones, tasks, risks, RACI) is a listed       share of owners
                  stakeholder or a known role
``raci``          every RACI row has exactly one accountable, and a known one    share of rows
================  =============================================================  ==========

The score is the mean of the subscores chosen by ``checks`` (default: all).
Business days are counted on the plan's own holiday calendar.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from onboard_llm.calendar import BusinessCalendar
from onboard_llm.errors import BadInputError, ConfigError
from onboard_llm.evals.scorers._common import capped, check_non_negative, clamp, missing_plan_score
from onboard_llm.evals.scoring import CaseOutput, Score, SubScore, register_scorer
from onboard_llm.rules import REVIEW_DAYS, check_plan
from onboard_llm.scheduling import timing_issues
from onboard_llm.schema import KNOWN_OWNER_ROLES, OnboardingPlan, role_token

CHECKS = ("phases", "reviews", "kickoff", "cadence", "owners", "raci")
_SEVERAL = re.compile(r",|;|&|\band\b|/")


@register_scorer("structure")
class StructureScorer:
    """The plan's domain invariants: phases, reviews, kickoff, cadence, owners, RACI.

    ``checks``: which subscores to compute and average (default: all of
    ``phases, reviews, kickoff, cadence, owners, raci``). ``max_details``:
    how many problems to list per subscore.
    """

    name: str = "structure"

    def __init__(self, *, checks: Sequence[str] | None = None, max_details: int = 8) -> None:
        chosen = tuple(checks) if checks is not None else CHECKS
        unknown = [c for c in chosen if c not in CHECKS]
        if unknown or not chosen:
            raise ConfigError(
                f"scorer 'structure': checks must be a non-empty list of {', '.join(CHECKS)}; "
                f"unknown: {', '.join(unknown) or '(empty list)'}"
            )
        check_non_negative(self.name, max_details=max_details)
        self.checks = chosen
        self.max_details = max_details

    def score(self, output: CaseOutput) -> Score:
        plan = output.plan
        if plan is None:
            return missing_plan_score(self.name, output, self.checks)
        details: list[str] = []
        calendar = BusinessCalendar()
        if plan.holidays:
            try:
                calendar = BusinessCalendar(plan.holidays)
            except BadInputError as exc:
                details.append(f"note: business days counted on weekends only: {exc}")
        timing = timing_issues(plan, calendar)
        parts = {
            "phases": lambda: self._phases(plan),
            "reviews": lambda: self._reviews(plan),
            "kickoff": lambda: self._kickoff(plan, timing),
            "cadence": lambda: self._cadence(timing),
            "owners": lambda: self._owners(plan),
            "raci": lambda: self._raci(plan),
        }
        subscores = [parts[check]() for check in self.checks]
        subscores = [SubScore(s.name, clamp(s.score), capped(s.details, self.max_details)) for s in subscores]
        failing = [f"{s.name} {s.score:.2f}" for s in subscores if s.score < 1.0]
        if failing:
            details.insert(0, "below 1: " + ", ".join(failing))
        return Score(
            scorer=self.name,
            score=clamp(sum(s.score for s in subscores) / len(subscores)),
            subscores=subscores,
            details=details,
        )

    @staticmethod
    def _phases(plan: OnboardingPlan) -> SubScore:
        problems = [str(v) for v in check_plan(plan, generated=True) if v.rule == "phases"]
        return SubScore("phases", 0.0 if problems else 1.0, problems)

    @staticmethod
    def _reviews(plan: OnboardingPlan) -> SubScore:
        held = 0
        problems: list[str] = []
        for kind, day in REVIEW_DAYS.items():
            days = sorted(m.day for m in plan.meetings if m.kind == kind)
            if day in days:
                held += 1
            elif days:
                problems.append(f"the {kind} meeting is on day {', '.join(map(str, days))}, not day {day}")
            else:
                problems.append(f"missing the {kind} meeting (day {day})")
        return SubScore("reviews", held / len(REVIEW_DAYS), problems)

    @staticmethod
    def _kickoff(plan: OnboardingPlan, timing: list[str]) -> SubScore:
        kickoffs = [m for m in plan.meetings if m.kind == "kickoff"]
        problems: list[str] = []
        if len(kickoffs) != 1:
            problems.append(f"the plan needs exactly one kickoff meeting, found {len(kickoffs)}")
        problems += [issue for issue in timing if _is_kickoff_issue(issue)]
        return SubScore("kickoff", 0.0 if problems else 1.0, problems)

    @staticmethod
    def _cadence(timing: list[str]) -> SubScore:
        problems = [issue for issue in timing if not _is_kickoff_issue(issue)]
        return SubScore("cadence", 0.0 if problems else 1.0, problems)

    @staticmethod
    def _owners(plan: OnboardingPlan) -> SubScore:
        names = {s.name.strip().lower() for s in plan.stakeholders}
        slots: list[tuple[str, str]] = []
        for phase in plan.phases:
            slots += [(f"milestone '{m.name}'", m.owner) for m in phase.milestones]
            slots += [(f"task '{t.title}'", t.owner) for t in phase.tasks]
        slots += [(f"risk {i + 1}", r.owner) for i, r in enumerate(plan.risks) if r.owner]
        for row in plan.raci:
            for field in ("responsible", "consulted", "informed"):
                slots += [(f"RACI '{row.activity}' {field}", who) for who in getattr(row, field)]
        if not slots:
            return SubScore("owners", 1.0, ["note: the plan has no owners to check"])
        unknown = [
            f"{where}: owner '{who}' is neither a listed stakeholder nor a known role"
            for where, who in slots
            if who.strip().lower() not in names and role_token(who) not in KNOWN_OWNER_ROLES
        ]
        return SubScore("owners", 1.0 - len(unknown) / len(slots), unknown)

    @staticmethod
    def _raci(plan: OnboardingPlan) -> SubScore:
        names = {s.name.strip().lower() for s in plan.stakeholders}
        problems: list[str] = []
        for row in plan.raci:
            who = row.accountable.strip()
            known = who.lower() in names or role_token(who) in KNOWN_OWNER_ROLES
            if not known and _SEVERAL.search(who):
                problems.append(f"RACI '{row.activity}': '{who}' names more than one accountable")
            elif not known:
                problems.append(f"RACI '{row.activity}': accountable '{who}' is neither a stakeholder nor a known role")
        return SubScore("raci", 1.0 - len(problems) / max(1, len(plan.raci)), problems)


def _is_kickoff_issue(issue: str) -> bool:
    # timing_issues() returns sentences; the kickoff's own lag is the one that starts "kickoff on".
    return issue.startswith("kickoff on ")
