"""Move a slipped milestone and everything that depends on it, on business days.

``reschedule`` moves one milestone to a new date (rolled forward to a business
day) and shifts every milestone and task that depends on it, directly or
transitively through ``depends_on`` ids, by the same number of business days.
Each moved item's day is recomputed from its new date (day = calendar days
from the start + 1) and may run past day 90; when an item lands after the last
phase's end, that phase is extended to cover it. The input plan is never
changed: it is the baseline, and the returned variance list compares each
moved item's baseline date with its new date. Pure functions, no I/O.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel

from onboard_llm.calendar import BusinessCalendar
from onboard_llm.errors import BadInputError
from onboard_llm.schema import DatedMilestone, DatedPhase, DatedTask, OnboardingPlan

__all__ = ["Variance", "compare", "find_milestone", "reschedule", "shift_business_days"]


class Variance(BaseModel):
    id: str
    kind: Literal["milestone", "task"]
    name: str
    baseline_date: dt.date
    new_date: dt.date
    business_days_moved: int
    baseline_day: int
    new_day: int


def shift_business_days(calendar: BusinessCalendar, d: dt.date, n: int) -> dt.date:
    """Roll `d` forward to a business day, then step `n` business days (back when n < 0)."""
    result = calendar.next_business_day(d)
    step_forward = n >= 0
    for _ in range(abs(n)):
        if step_forward:
            result = calendar.next_business_day(result, include_self=False)
        else:
            result = calendar.previous_business_day(result, include_self=False)
    return result


def _signed_business_days(calendar: BusinessCalendar, a: dt.date, b: dt.date) -> int:
    if b >= a:
        return calendar.business_days_between(a, b)
    return -calendar.business_days_between(b, a)


def find_milestone(plan: OnboardingPlan, key: str) -> DatedMilestone:
    """A milestone by id, or by case-insensitive name; BadInputError listing the choices otherwise."""
    milestones = plan.all_milestones()
    wanted = key.strip()
    for m in milestones:
        if m.id == wanted:
            return m
    for m in milestones:
        if m.name.casefold() == wanted.casefold():
            return m
    choices = "; ".join(f"{m.id} ({m.name})" for m in milestones)
    raise BadInputError(f"no milestone {key!r} in the plan; use an id or name: {choices}")


def _dependents(plan: OnboardingPlan, root: str) -> set[str]:
    """Ids of every milestone and task that depends on `root`, directly or transitively."""
    items: list[DatedMilestone | DatedTask] = [*plan.all_milestones(), *plan.all_tasks()]
    found: set[str] = set()
    frontier = [root]
    while frontier:
        current = frontier.pop()
        for item in items:
            if current in item.depends_on and item.id not in found and item.id != root:
                found.add(item.id)
                frontier.append(item.id)
    return found


def compare(baseline: OnboardingPlan, plan: OnboardingPlan, calendar: BusinessCalendar) -> list[Variance]:
    """Every milestone and task whose date differs between `baseline` and `plan`, in plan order."""
    before_m = {m.id: m for m in baseline.all_milestones()}
    before_t = {t.id: t for t in baseline.all_tasks()}
    out: list[Variance] = []
    for m in plan.all_milestones():
        old = before_m.get(m.id)
        if old is not None and old.date != m.date:
            out.append(
                Variance(
                    id=m.id,
                    kind="milestone",
                    name=m.name,
                    baseline_date=old.date,
                    new_date=m.date,
                    business_days_moved=_signed_business_days(calendar, old.date, m.date),
                    baseline_day=old.day,
                    new_day=m.day,
                )
            )
    for t in plan.all_tasks():
        old_t = before_t.get(t.id)
        if old_t is not None and old_t.date != t.date:
            out.append(
                Variance(
                    id=t.id,
                    kind="task",
                    name=t.title,
                    baseline_date=old_t.date,
                    new_date=t.date,
                    business_days_moved=_signed_business_days(calendar, old_t.date, t.date),
                    baseline_day=old_t.due_day,
                    new_day=t.due_day,
                )
            )
    return out


def reschedule(
    plan: OnboardingPlan, milestone: str, to_date: dt.date, calendar: BusinessCalendar
) -> tuple[OnboardingPlan, list[Variance]]:
    """The plan with `milestone` moved to `to_date` and its dependents shifted alike, and the variance."""
    target = find_milestone(plan, milestone)
    start = plan.customer.start_date
    new_date = calendar.next_business_day(to_date)
    if new_date < start:
        raise BadInputError(f"cannot move '{target.name}' to {to_date}: the plan starts on {start}")
    delta = _signed_business_days(calendar, calendar.next_business_day(target.date), new_date)
    moving = _dependents(plan, target.id)

    def day_of(d: dt.date) -> int:
        return (d - start).days + 1

    def moved_date(old: dt.date) -> dt.date:
        shifted = shift_business_days(calendar, old, delta)
        # Moving a slip earlier must not put work before day 1.
        return max(shifted, calendar.next_business_day(start))

    phases: list[DatedPhase] = []
    for phase in plan.phases:
        milestones = []
        for m in phase.milestones:
            if m.id == target.id:
                milestones.append(m.model_copy(update={"date": new_date, "day": day_of(new_date)}))
            elif m.id in moving:
                d = moved_date(m.date)
                milestones.append(m.model_copy(update={"date": d, "day": day_of(d)}))
            else:
                milestones.append(m)
        tasks = []
        for t in phase.tasks:
            if t.id in moving:
                d = moved_date(t.date)
                tasks.append(t.model_copy(update={"date": d, "due_day": day_of(d)}))
            else:
                tasks.append(t)
        phases.append(phase.model_copy(update={"milestones": milestones, "tasks": tasks}))

    last = phases[-1]
    latest = max([m.date for m in last.milestones] + [t.date for t in last.tasks] + [last.end_date])
    if latest > last.end_date:
        phases[-1] = last.model_copy(update={"end_date": latest, "end_day": day_of(latest)})

    new_plan = plan.model_copy(update={"phases": phases})
    # Validate the result as a whole, so a copy never hides a broken plan.
    new_plan = OnboardingPlan.model_validate(new_plan.model_dump())
    return new_plan, compare(plan, new_plan, calendar)
