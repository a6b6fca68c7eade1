"""Day offsets to calendar dates, and the seed's timing rules checked on those dates."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from onboard_llm.calendar import BusinessCalendar
from onboard_llm.rules import REVIEW_DAYS
from onboard_llm.schema import OnboardingPlan, PlanDraft


def schedule(draft: PlanDraft, start: dt.date, calendar: BusinessCalendar | None = None) -> OnboardingPlan:
    """Date every day offset of a draft from the start date, on business days."""
    cal = calendar or BusinessCalendar()

    def on(day: int) -> dt.date:
        return cal.day_to_date(start, day)

    data: dict[str, Any] = draft.model_dump()
    data["customer"]["start_date"] = start
    for metric in data["success_metrics"]:
        metric["date"] = on(metric["by_day"])
    for phase in data["phases"]:
        phase["start_date"] = on(phase["start_day"])
        phase["end_date"] = on(phase["end_day"])
        for milestone in phase["milestones"]:
            milestone["date"] = on(milestone["day"])
        for task in phase["tasks"]:
            task["date"] = on(task["due_day"])
    for block in data["weekly_plan"]:
        block["start_date"] = on(block["start_day"])
        block["end_date"] = on(block["end_day"])
    for meeting, source in zip(data["meetings"], draft.meetings, strict=True):
        meeting["date"] = on(meeting["day"])
        meeting["occurrence_dates"] = [on(d) for d in source.occurrence_days()]
    for message in data["communications"]:
        message["date"] = on(message["send_day"])
    for checkpoint in data["success_criteria_by_phase"]:
        checkpoint["date"] = on(checkpoint["day"])
    data["holidays"] = cal.country
    return OnboardingPlan.model_validate(data)


def timing_issues(plan: OnboardingPlan, calendar: BusinessCalendar | None = None) -> list[str]:
    """The seed's business-day rules, checked on the dated plan; empty when all hold."""
    cal = calendar or BusinessCalendar()
    start = plan.customer.start_date
    issues: list[str] = []
    by_kind: dict[str, list[dt.date]] = {}
    for meeting in plan.meetings:
        by_kind.setdefault(meeting.kind, []).extend(meeting.occurrence_dates or [meeting.date])
    for handoff in by_kind.get("internal_handoff", []):
        lag = cal.business_days_between(start, handoff)
        if lag > 1:
            issues.append(
                f"internal handoff on {handoff} is {lag} business days after the start; the playbook says 1 at most"
            )
    kickoffs = by_kind.get("kickoff", [])
    for kickoff in kickoffs:
        lag = cal.business_days_between(start, kickoff)
        if lag > 3:
            issues.append(f"kickoff on {kickoff} is {lag} business days after the start; the playbook says 3 at most")
    if kickoffs:
        # The earliest one, whatever order the meetings were listed in.
        kickoff = min(kickoffs)
        latest = cal.add_business_days(kickoff, 1)
        for message in plan.communications:
            if message.kind == "kickoff_recap" and not kickoff <= message.date <= latest:
                issues.append(
                    f"kickoff recap on {message.date} is not within a business day of the kickoff on {kickoff}"
                )
        touchpoints = sorted(
            {d for kind in ("check_in", "kickoff", *REVIEW_DAYS) for d in by_kind.get(kind, []) if d >= kickoff}
        )
        for a, b in itertools.pairwise(touchpoints):
            if cal.business_days_between(a, b) > 5:
                issues.append(f"no check-in between {a} and {b}: more than a business week apart")
    return issues
