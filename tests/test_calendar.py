"""Tests for onboard_llm.calendar: plan day offsets to business-day dates."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onboard_llm.calendar import (
    BusinessCalendar,
    day_table,
    default_start_date,
    parse_date,
)
from onboard_llm.errors import BadInputError

FRIDAY = date(2026, 1, 9)
MONDAY = date(2026, 1, 12)


@functools.cache
def calendar_for(country: str | None) -> BusinessCalendar:
    # Shared so hypothesis examples reuse the per-year holiday cache.
    return BusinessCalendar(country)


countries = st.sampled_from([None, "US", "GB", "DE"])
starts = st.dates(min_value=date(2025, 1, 1), max_value=date(2030, 12, 31))
plan_days = st.integers(min_value=1, max_value=120)
# Building a year's holiday table on first use can exceed hypothesis' default deadline.
props = settings(deadline=None, max_examples=300)


# --- examples -----------------------------------------------------------------


def test_friday_start_weekend_days_move_to_monday() -> None:
    cal = BusinessCalendar()
    assert FRIDAY.weekday() == 4
    assert cal.day_to_date(FRIDAY, 1) == FRIDAY
    assert cal.day_to_date(FRIDAY, 2) == MONDAY
    assert cal.day_to_date(FRIDAY, 3) == MONDAY
    assert cal.day_to_date(FRIDAY, 4) == MONDAY
    assert cal.day_to_date(FRIDAY, 5) == date(2026, 1, 13)


def test_us_christmas_moves_to_next_monday() -> None:
    cal = BusinessCalendar("US")
    start = date(2026, 12, 24)
    assert start.weekday() == 3
    assert cal.day_to_date(start, 1) == start
    assert cal.holiday_name(date(2026, 12, 25)) == "Christmas Day"
    assert cal.day_to_date(start, 2) == date(2026, 12, 28)


def test_gb_boxing_day_is_a_holiday() -> None:
    cal = BusinessCalendar("GB")
    # 2025: Christmas Thursday, Boxing Day Friday, so day 2 and day 3 land on Monday.
    assert cal.holiday_name(date(2025, 12, 26)) == "Boxing Day"
    assert cal.day_to_date(date(2025, 12, 24), 2) == date(2025, 12, 29)
    assert cal.day_to_date(date(2025, 12, 24), 3) == date(2025, 12, 29)
    # 2026: Boxing Day is a Saturday, observed on Monday the 28th, so day 2 is Tuesday.
    assert cal.holiday_name(date(2026, 12, 26)) == "Boxing Day"
    assert cal.holiday_name(date(2026, 12, 28)) == "Boxing Day (observed)"
    assert cal.day_to_date(date(2026, 12, 24), 2) == date(2026, 12, 29)
    # The US does not observe Boxing Day.
    us = BusinessCalendar("US")
    assert us.day_to_date(date(2025, 12, 24), 3) == date(2025, 12, 26)


def test_plan_crossing_new_year_uses_next_years_holidays() -> None:
    cal = BusinessCalendar("US")
    # Day 3 of a 2026-12-30 start is New Year's Day 2027 (a Friday).
    assert cal.day_to_date(date(2026, 12, 30), 3) == date(2027, 1, 4)
    assert cal.holiday_name(date(2027, 1, 1)) == "New Year's Day"


def test_lookups_work_for_any_year_in_any_order() -> None:
    cal = BusinessCalendar("US")
    assert cal.holiday_name(date(2031, 7, 4)) == "Independence Day"
    assert cal.holiday_name(date(2024, 7, 4)) == "Independence Day"
    # Observed on the Friday before, in the previous calendar year.
    assert cal.holiday_name(date(2021, 12, 31)) == "New Year's Day (observed)"
    assert not cal.is_business_day(date(2021, 12, 31))


def test_day_zero_is_last_business_day_before_start() -> None:
    assert MONDAY.weekday() == 0
    assert BusinessCalendar().day_to_date(MONDAY, 0) == FRIDAY
    # Day 0 of a Tuesday start right after US Labor Day skips the holiday Monday.
    us = BusinessCalendar("US")
    assert us.holiday_name(date(2026, 9, 7)) == "Labor Day"
    assert us.day_to_date(date(2026, 9, 8), 0) == date(2026, 9, 4)
    # Strictly before, even when the start itself is a business day.
    assert BusinessCalendar().day_to_date(date(2026, 1, 14), 0) == date(2026, 1, 13)


def test_negative_day_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        BusinessCalendar().day_to_date(MONDAY, -1)
    with pytest.raises(ValueError):
        BusinessCalendar().add_business_days(MONDAY, -1)


def test_weekends_only_calendar() -> None:
    cal = BusinessCalendar()
    assert cal.country is None
    assert cal.describe() == "weekends only"
    assert cal.is_business_day(date(2026, 12, 25))
    assert cal.holiday_name(date(2026, 12, 25)) is None
    assert not cal.is_business_day(date(2026, 12, 26))


def test_country_codes_are_case_insensitive_and_described() -> None:
    cal = BusinessCalendar("us")
    assert cal.country == "US"
    assert cal.describe() == "weekends + US public holidays"
    assert BusinessCalendar(" gb ").country == "GB"
    assert BusinessCalendar("US", "ca").describe() == "weekends + US-CA public holidays"


@pytest.mark.parametrize(
    ("country", "subdivision", "bad"),
    [
        ("XX", None, "'XX'"),
        ("utils", None, "'utils'"),
        ("US", "ZZ", "'ZZ'"),
        (None, "CA", "'CA'"),
    ],
)
def test_unknown_calendar_raises_one_line_bad_input(country: str | None, subdivision: str | None, bad: str) -> None:
    with pytest.raises(BadInputError) as info:
        BusinessCalendar(country, subdivision)
    message = str(info.value)
    assert "\n" not in message
    assert bad in message
    assert info.value.exit_code == 2


def test_unknown_country_message_suggests_iso_codes() -> None:
    expected = r"^unknown holiday calendar 'XX': .*US, GB, DE, FR"
    with pytest.raises(BadInputError, match=expected):
        BusinessCalendar("XX")


@pytest.mark.parametrize("text", ["2027-01-05", "  2027-01-05  ", "\t2027-01-05\n"])
def test_parse_date_accepts_iso(text: str) -> None:
    assert parse_date(text) == date(2027, 1, 5)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "tomorrow",
        "2027/01/05",
        "05-01-2027",
        "20270105",
        "2027-1-5",
        "2027-02-30",
        "2027-13-01",
        "2027-W01-2",
        "2027-01-05T09:00",
        "\uff12\uff10\uff12\uff17-01-05",  # full-width digits
    ],
)
def test_parse_date_rejects_everything_else(text: str) -> None:
    with pytest.raises(BadInputError, match=r"^unparseable date .*: use YYYY-MM-DD$"):
        parse_date(text)


def test_parse_date_error_names_the_input_on_one_line() -> None:
    with pytest.raises(BadInputError) as info:
        parse_date("next\nweek")
    assert str(info.value) == "unparseable date 'next\\nweek': use YYYY-MM-DD"


def test_default_start_date_is_next_business_day_after_today() -> None:
    assert default_start_date(FRIDAY) == MONDAY
    assert default_start_date(MONDAY) == MONDAY + timedelta(days=1)
    us = BusinessCalendar("US")
    assert default_start_date(date(2026, 12, 24), us) == date(2026, 12, 28)
    today = date.today()
    start = default_start_date()
    assert start > today
    assert BusinessCalendar().is_business_day(start)


def test_add_business_days_examples() -> None:
    cal = BusinessCalendar()
    assert cal.add_business_days(FRIDAY, 0) == FRIDAY
    assert cal.add_business_days(FRIDAY, 1) == MONDAY
    saturday = FRIDAY + timedelta(days=1)
    assert cal.add_business_days(saturday, 0) == MONDAY
    assert cal.add_business_days(saturday, 1) == MONDAY + timedelta(days=1)
    assert cal.business_days_between(FRIDAY, MONDAY) == 1
    assert cal.business_days_between(MONDAY, FRIDAY) == 0
    assert cal.business_days_between(MONDAY, MONDAY) == 0


def test_previous_and_next_business_day_include_self() -> None:
    cal = BusinessCalendar()
    assert cal.next_business_day(MONDAY) == MONDAY
    tuesday = MONDAY + timedelta(days=1)
    assert cal.next_business_day(MONDAY, include_self=False) == tuesday
    assert cal.previous_business_day(MONDAY) == MONDAY
    assert cal.previous_business_day(MONDAY, include_self=False) == FRIDAY
    sunday = MONDAY - timedelta(days=1)
    assert cal.next_business_day(sunday) == MONDAY
    assert cal.previous_business_day(sunday) == FRIDAY


def test_importing_the_module_does_not_load_holidays() -> None:
    root = Path(__file__).resolve().parent.parent
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    code = "import sys, onboard_llm.calendar; sys.exit('holidays' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], env=env, check=False)
    assert result.returncode == 0


# --- properties -----------------------------------------------------------------


@props
@given(country=countries, start=starts, day=plan_days, later=st.integers(0, 10))
def test_day_to_date_is_business_day_never_early_and_monotone(
    country: str | None, start: date, day: int, later: int
) -> None:
    cal = calendar_for(country)
    when = cal.day_to_date(start, day)
    assert cal.is_business_day(when)
    assert when >= start + timedelta(days=day - 1)
    assert cal.day_to_date(start, day + later) >= when


@props
@given(country=countries, start=starts)
def test_day_to_date_is_non_decreasing_over_a_whole_plan(country: str | None, start: date) -> None:
    cal = calendar_for(country)
    dates = [cal.day_to_date(start, day) for day in range(121)]
    assert dates == sorted(dates)
    assert dates[0] < start <= dates[1]


@props
@given(country=countries, raw_start=starts, day=plan_days)
def test_shifting_never_adds_business_days_after_a_business_day_start(
    country: str | None, raw_start: date, day: int
) -> None:
    cal = calendar_for(country)
    start = cal.next_business_day(raw_start)
    assert cal.business_days_between(start, cal.day_to_date(start, day)) <= day - 1
    # The design guide's rules, as consequences of the bound above.
    if day <= 4:
        assert cal.business_days_between(start, cal.day_to_date(start, day)) <= 3
    if day <= 2:
        assert cal.business_days_between(start, cal.day_to_date(start, day)) <= 1


@st.composite
def day_pairs_within_a_week(draw: st.DrawFn) -> tuple[int, int]:
    first = draw(st.integers(min_value=1, max_value=119))
    second = draw(st.integers(min_value=first + 1, max_value=min(first + 7, 120)))
    return first, second


@props
@given(country=countries, start=starts, pair=day_pairs_within_a_week())
def test_weekly_check_ins_stay_weekly_after_shifting(country: str | None, start: date, pair: tuple[int, int]) -> None:
    cal = calendar_for(country)
    first, second = pair
    gap = cal.business_days_between(cal.day_to_date(start, first), cal.day_to_date(start, second))
    assert gap <= 5


@props
@given(country=countries, d=starts, n=st.integers(min_value=0, max_value=60))
def test_add_business_days_round_trips_with_business_days_between(country: str | None, d: date, n: int) -> None:
    cal = calendar_for(country)
    result = cal.add_business_days(d, n)
    assert cal.is_business_day(result)
    assert result >= d
    assert cal.business_days_between(cal.next_business_day(d), result) == n
    if cal.is_business_day(d):
        assert cal.business_days_between(d, result) == n
    assert cal.add_business_days(d, n + 1) > result


@props
@given(country=countries, a=starts, span=st.integers(min_value=0, max_value=120))
def test_business_days_between_round_trips_with_add_business_days(country: str | None, a: date, span: int) -> None:
    cal = calendar_for(country)
    start = cal.next_business_day(a)
    end = start + timedelta(days=span)
    count = cal.business_days_between(start, end)
    assert cal.add_business_days(start, count) == cal.previous_business_day(end)
    assert cal.business_days_between(end, start) == 0


@props
@given(country=countries, d=starts)
def test_next_and_previous_business_day_are_idempotent(country: str | None, d: date) -> None:
    cal = calendar_for(country)
    nxt = cal.next_business_day(d)
    prev = cal.previous_business_day(d)
    assert cal.next_business_day(nxt) == nxt
    assert cal.previous_business_day(prev) == prev
    assert prev <= d <= nxt
    assert cal.is_business_day(nxt) and cal.is_business_day(prev)
    assert (nxt == d) == cal.is_business_day(d)
    assert all(not cal.is_business_day(d + timedelta(days=i)) for i in range((nxt - d).days))
    after = cal.next_business_day(d, include_self=False)
    assert after > d
    assert cal.business_days_between(d, after) == 1


@pytest.mark.parametrize(
    "start", [date(2026, 12, 14), date(2027, 1, 11), date(2028, 1, 31), date(2028, 2, 29), date(2027, 3, 1)]
)
def test_day_table_rows_are_plan_days_of_month_starts(start: date) -> None:
    rows = day_table(start, 90)
    assert rows[0] == {"date": start, "label": f"{start:%B} {start.day}, {start.year}", "day": 1}
    for row in rows[1:]:
        when = row["date"]
        assert isinstance(when, date) and when.day == 1
        # Plan day N is the start plus N-1 calendar days, as the scheduler counts before rolling.
        assert start + timedelta(days=int(row["day"]) - 1) == when  # type: ignore[call-overload]
        assert 1 < int(row["day"]) <= 90  # type: ignore[call-overload]
    # Every month start inside the 90 days is listed, none after.
    expected = [start + timedelta(days=n) for n in range(1, 90) if (start + timedelta(days=n)).day == 1]
    assert [row["date"] for row in rows[1:]] == expected


def test_day_table_on_a_first_of_the_month_and_a_year_end() -> None:
    rows = day_table(date(2026, 12, 1), 90)
    assert [(r["label"], r["day"]) for r in rows] == [
        ("December 1, 2026", 1),
        ("January 1, 2027", 32),
        ("February 1, 2027", 63),
    ]
