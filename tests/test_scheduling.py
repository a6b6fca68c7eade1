"""Tests for onboard_llm.scheduling: day offsets to dates, and the playbook's timing rules on those dates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from pathlib import Path

import pytest

from onboard_llm.calendar import BusinessCalendar
from onboard_llm.scheduling import schedule, timing_issues
from onboard_llm.schema import DatedMeeting, OnboardingPlan, PlanDraft

FIXTURES = Path(__file__).parent / "fixtures"
DRAFT = PlanDraft.model_validate_json((FIXTURES / "plans" / "valid_draft.json").read_text(encoding="utf-8"))
MONDAY = dt.date(2027, 2, 15)
ONE_DAY = dt.timedelta(days=1)
# US public holidays near the dates used below, written out so the rule is checked independently.
US_2027 = {dt.date(2027, 2, 15), dt.date(2027, 5, 31), dt.date(2027, 6, 18), dt.date(2027, 7, 5)}


def by_rule(start: dt.date, closed: Collection[dt.date] = ()) -> Callable[[int], dt.date]:
    """GUIDE §8, written out: day N is start + N-1, moved forward to a business day; day 0 the one before."""

    def business(d: dt.date) -> bool:
        return d.weekday() < 5 and d not in closed

    def on(day: int) -> dt.date:
        if day == 0:
            d = start - ONE_DAY
            while not business(d):
                d -= ONE_DAY
            return d
        d = start + dt.timedelta(days=day - 1)
        while not business(d):
            d += ONE_DAY
        return d

    return on


def every_day_field(plan: OnboardingPlan) -> list[tuple[str, int, dt.date]]:
    """(where, day offset, date) for every dated field of a plan."""
    out: list[tuple[str, int, dt.date]] = []
    for i, metric in enumerate(plan.success_metrics):
        out.append((f"success_metrics[{i}]", metric.by_day, metric.date))
    for i, phase in enumerate(plan.phases):
        out += [
            (f"phases[{i}].start", phase.start_day, phase.start_date),
            (f"phases[{i}].end", phase.end_day, phase.end_date),
        ]
        out += [(f"phases[{i}].milestones.{m.id}", m.day, m.date) for m in phase.milestones]
        out += [(f"phases[{i}].tasks.{t.id}", t.due_day, t.date) for t in phase.tasks]
    for i, block in enumerate(plan.weekly_plan):
        out += [(f"weekly_plan[{i}].start", block.start_day, block.start_date)]
        out += [(f"weekly_plan[{i}].end", block.end_day, block.end_date)]
    out += [(f"meetings.{m.id}", m.day, m.date) for m in plan.meetings]
    out += [(f"communications.{c.id}", c.send_day, c.date) for c in plan.communications]
    out += [(f"success_criteria_by_phase[{i}]", c.day, c.date) for i, c in enumerate(plan.success_criteria_by_phase)]
    return out


@pytest.mark.parametrize(
    ("start", "country", "closed"),
    [
        (MONDAY, None, set()),
        (dt.date(2027, 2, 17), None, set()),  # a Wednesday: different days hit weekends
        (dt.date(2027, 5, 18), "US", US_2027),  # day 14 is Memorial Day
        (MONDAY, "US", US_2027),  # the start itself is Presidents' Day
    ],
    ids=["monday", "wednesday", "us-memorial-day", "us-start-on-holiday"],
)
def test_every_day_field_is_dated_by_the_rule(start: dt.date, country: str | None, closed: set[dt.date]) -> None:
    plan = schedule(DRAFT, start, BusinessCalendar(country))
    on = by_rule(start, closed)
    fields = every_day_field(plan)
    assert len(fields) == 4 + 3 * 2 + 4 + 8 + 2 * 2 + 7 + 3 + 3
    for where, day, date in fields:
        assert date == on(day), f"{where}: day {day}"
        assert date.weekday() < 5 and date not in closed, where
    assert plan.customer.start_date == start
    assert plan.holidays == country
    # The offsets themselves are untouched.
    assert [m.day for m in plan.meetings] == [m.day for m in DRAFT.meetings]


def test_known_dates_from_a_monday_start() -> None:
    plan = schedule(DRAFT, MONDAY)
    dates = {where: date for where, _, date in every_day_field(plan)}
    assert dates["phases[0].start"] == MONDAY
    assert dates["phases[0].tasks.t-user-list"] == dt.date(2027, 2, 19)  # day 5, Friday
    assert dates["phases[0].milestones.m-first-load"] == dt.date(2027, 3, 1)  # day 14 is Sunday → Monday
    assert dates["meetings.mt-review-90"] == dt.date(2027, 5, 17)  # day 90 is Saturday → Monday
    assert dates["phases[2].end"] == dt.date(2027, 5, 17)


def test_a_holiday_start_keeps_the_start_date_but_day_one_moves() -> None:
    plan = schedule(DRAFT, MONDAY, BusinessCalendar("US"))
    assert plan.customer.start_date == MONDAY
    assert plan.phases[0].start_date == dt.date(2027, 2, 16)


def test_repeating_meetings_get_every_occurrence_date() -> None:
    plan = schedule(DRAFT, MONDAY)
    on = by_rule(MONDAY)
    meetings = {m.id: m for m in plan.meetings}

    check_in = meetings["mt-check-in"]  # day 8, every 7 days until day 85
    assert check_in.occurrence_dates == [on(d) for d in range(8, 86, 7)]
    assert len(check_in.occurrence_dates) == 12
    assert check_in.occurrence_dates[0] == check_in.date == dt.date(2027, 2, 22)
    assert check_in.occurrence_dates[-1] == dt.date(2027, 5, 10)
    assert all(d.weekday() == 0 for d in check_in.occurrence_dates)

    office_hours = meetings["mt-office-hours"]  # day 5, every 7 until day 26
    assert office_hours.occurrence_dates == [on(5), on(12), on(19), on(26)]

    for meeting in plan.meetings:
        if meeting.repeat_every_days is None:
            assert meeting.occurrence_dates == [meeting.date], meeting.id


def test_repeats_that_land_on_a_holiday_move_to_the_next_business_day() -> None:
    # From Monday 2027-05-24 the weekly Monday check-in (day 8) lands on Memorial Day, 2027-05-31.
    start = dt.date(2027, 5, 24)
    plan = schedule(DRAFT, start, BusinessCalendar("US"))
    check_in = next(m for m in plan.meetings if m.id == "mt-check-in")
    assert check_in.occurrence_dates[0] == dt.date(2027, 6, 1)
    assert check_in.occurrence_dates[1] == dt.date(2027, 6, 7)
    assert dt.date(2027, 7, 5) not in check_in.occurrence_dates  # Independence Day, observed
    assert dt.date(2027, 7, 6) in check_in.occurrence_dates


@pytest.mark.parametrize(
    ("start", "country", "day_zero"),
    [
        (MONDAY, None, dt.date(2027, 2, 12)),  # Monday start → the Friday before
        (dt.date(2027, 2, 17), None, dt.date(2027, 2, 16)),  # Wednesday start → Tuesday
        (dt.date(2027, 2, 16), "US", dt.date(2027, 2, 12)),  # the Monday before is Presidents' Day
        (dt.date(2027, 2, 13), None, dt.date(2027, 2, 12)),  # a Saturday start → Friday
    ],
)
def test_day_zero_communications_fall_on_the_previous_business_day(
    start: dt.date, country: str | None, day_zero: dt.date
) -> None:
    plan = schedule(DRAFT, start, BusinessCalendar(country))
    welcome = next(c for c in plan.communications if c.send_day == 0)
    assert welcome.date == day_zero
    assert welcome.date < start


# -- timing rules ---------------------------------------------------------------------


def dated() -> OnboardingPlan:
    return schedule(DRAFT, MONDAY)


def moved(plan: OnboardingPlan, meeting_id: str, *dates: dt.date) -> OnboardingPlan:
    """The plan with one meeting's date (and every occurrence) replaced."""
    meetings: list[DatedMeeting] = [
        m.model_copy(update={"date": dates[0], "occurrence_dates": list(dates)}) if m.id == meeting_id else m
        for m in plan.meetings
    ]
    assert meetings != list(plan.meetings)
    return plan.model_copy(update={"meetings": meetings})


def with_recap_on(plan: OnboardingPlan, date: dt.date) -> OnboardingPlan:
    comms = [c.model_copy(update={"date": date}) if c.kind == "kickoff_recap" else c for c in plan.communications]
    return plan.model_copy(update={"communications": comms})


@pytest.mark.parametrize("country", [None, "US"])
def test_the_valid_draft_has_no_timing_issues(country: str | None) -> None:
    calendar = BusinessCalendar(country)
    assert timing_issues(schedule(DRAFT, MONDAY, calendar), calendar) == []
    assert timing_issues(schedule(DRAFT, dt.date(2027, 5, 18), calendar), calendar) == []


def test_a_kickoff_five_business_days_after_the_start_is_reported() -> None:
    late = dt.date(2027, 2, 22)  # Tue..Fri and Monday: 5 business days after Monday the 15th
    plan = with_recap_on(moved(dated(), "mt-kickoff", late), late + ONE_DAY)
    issues = timing_issues(plan)
    assert len(issues) == 1, issues
    assert "kickoff on 2027-02-22" in issues[0]
    assert "5 business days" in issues[0]


def test_a_kickoff_three_business_days_after_the_start_is_fine() -> None:
    plan = with_recap_on(moved(dated(), "mt-kickoff", dt.date(2027, 2, 18)), dt.date(2027, 2, 19))
    assert timing_issues(plan) == []


def test_a_recap_three_business_days_after_the_kickoff_is_reported() -> None:
    plan = dated()
    kickoff = next(m.date for m in plan.meetings if m.kind == "kickoff")
    assert kickoff == dt.date(2027, 2, 17)
    issues = timing_issues(with_recap_on(plan, dt.date(2027, 2, 22)))  # Thu, Fri, Mon
    assert len(issues) == 1, issues
    assert "recap on 2027-02-22" in issues[0]
    assert "kickoff on 2027-02-17" in issues[0]


@pytest.mark.parametrize("recap", [dt.date(2027, 2, 17), dt.date(2027, 2, 18)])
def test_a_recap_on_the_kickoff_day_or_the_next_is_fine(recap: dt.date) -> None:
    assert timing_issues(with_recap_on(dated(), recap)) == []


def test_a_recap_before_the_kickoff_is_reported() -> None:
    issues = timing_issues(with_recap_on(dated(), dt.date(2027, 2, 16)))
    assert len(issues) == 1 and "recap on 2027-02-16" in issues[0]


def test_a_recap_the_monday_after_a_friday_kickoff_is_fine() -> None:
    # From Wednesday 2027-02-17 the kickoff (day 3) is Friday and the recap (day 4, Saturday) Monday.
    plan = schedule(DRAFT, dt.date(2027, 2, 17))
    assert next(m.date for m in plan.meetings if m.kind == "kickoff") == dt.date(2027, 2, 19)
    assert next(c.date for c in plan.communications if c.kind == "kickoff_recap") == dt.date(2027, 2, 22)
    assert timing_issues(plan) == []


def test_a_missing_week_of_check_ins_is_reported() -> None:
    plan = dated()
    check_in = next(m for m in plan.meetings if m.id == "mt-check-in")
    skipped = dt.date(2027, 3, 8)
    dates = [d for d in check_in.occurrence_dates if d != skipped]
    assert len(dates) == len(check_in.occurrence_dates) - 1
    issues = timing_issues(moved(plan, "mt-check-in", *dates))
    assert issues == [issues[0]] and "between 2027-03-01 and 2027-03-15" in issues[0]


def test_a_review_in_the_week_stands_in_for_the_check_in() -> None:
    plan = dated()
    check_in = next(m for m in plan.meetings if m.id == "mt-check-in")
    skipped = dt.date(2027, 3, 15)
    dates = [d for d in check_in.occurrence_dates if d != skipped]
    without = moved(plan, "mt-check-in", *dates)
    assert timing_issues(without) != []
    assert timing_issues(moved(without, "mt-review-30", skipped)) == []


def test_a_late_internal_handoff_is_reported() -> None:
    issues = timing_issues(moved(dated(), "mt-handoff", dt.date(2027, 2, 17)))
    assert len(issues) == 1 and "internal handoff on 2027-02-17 is 2 business days" in issues[0]


def test_the_earliest_kickoff_anchors_the_recap_whatever_the_listing_order() -> None:
    plan = dated()
    kickoff = next(m for m in plan.meetings if m.kind == "kickoff")
    assert kickoff.date == dt.date(2027, 2, 17)
    technical = kickoff.model_copy(
        update={"id": "mt-tech-kickoff", "title": "Technical kickoff", "day": 4, "date": dt.date(2027, 2, 18)}
    )
    technical = technical.model_copy(update={"occurrence_dates": [technical.date]})
    # Listed first but a day after the main kickoff; the recap goes out the day of the main one.
    plan = with_recap_on(plan.model_copy(update={"meetings": [technical, *plan.meetings]}), kickoff.date)
    assert timing_issues(plan) == []


def test_holidays_count_when_measuring_business_days() -> None:
    # From Friday 2027-02-12, a kickoff on Thursday the 18th is 3 business days later only when
    # Presidents' Day (Monday the 15th) is a holiday.
    start = dt.date(2027, 2, 12)
    plan = schedule(DRAFT, start)
    plan = with_recap_on(moved(plan, "mt-kickoff", dt.date(2027, 2, 18)), dt.date(2027, 2, 18))
    assert any("kickoff on 2027-02-18 is 4 business days" in i for i in timing_issues(plan))
    assert not any("kickoff on" in i for i in timing_issues(plan, BusinessCalendar("US")))
