"""Turn the day offsets of an onboarding plan into business-day calendar dates.

Day 1 is the start date; day N is the start date plus N-1 calendar days, moved
forward to the next business day when it lands on a weekend or public holiday.
Day 0 (communications sent before the start) is the last business day strictly
before the start date.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import TYPE_CHECKING

from onboard_llm.errors import BadInputError

if TYPE_CHECKING:
    from holidays import HolidayBase

__all__ = ["BusinessCalendar", "default_start_date", "parse_date"]

_ONE_DAY = timedelta(days=1)
# Longest run of non-business days we accept before deciding the calendar is broken;
# real calendars never come close, and the bound turns a hang into an error.
_MAX_GAP_DAYS = 366
_EXAMPLE_COUNTRIES = "US, GB, DE, FR"
# Strict, because date.fromisoformat() in 3.11 also takes 20270105 and 2027-W01-2.
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class BusinessCalendar:
    """Weekends plus, optionally, one country's (or subdivision's) public holidays."""

    def __init__(self, country: str | None = None, subdivision: str | None = None) -> None:
        self.country: str | None = None
        self.subdivision: str | None = None
        self._holidays: HolidayBase | None = None
        self._names: dict[int, dict[date, str]] = {}
        self._closed: dict[int, frozenset[date]] = {}
        if country is None:
            if subdivision is not None:
                raise BadInputError(
                    f"subdivision {subdivision!r} needs a country: use an ISO country code such as {_EXAMPLE_COUNTRIES}"
                )
            return
        self._holidays = _load_holidays(country, subdivision)
        self.country = str(self._holidays.country)
        if self._holidays.subdiv is not None:
            # Store the code even when the user gave an alias such as "England".
            aliases: dict[str, str] = self._holidays.subdivisions_aliases
            self.subdivision = aliases.get(self._holidays.subdiv, self._holidays.subdiv)

    def __repr__(self) -> str:
        return f"BusinessCalendar(country={self.country!r}, subdivision={self.subdivision!r})"

    def describe(self) -> str:
        """Which days are closed, e.g. 'weekends + US public holidays'."""
        if self.country is None:
            return "weekends only"
        region = self.country if self.subdivision is None else f"{self.country}-{self.subdivision}"
        return f"weekends + {region} public holidays"

    def is_business_day(self, d: date) -> bool:
        """True unless `d` is a weekend day or a public holiday."""
        if self._holidays is None:
            return d.weekday() < 5
        return d not in self._closed_days(self._holidays, d.year)

    def holiday_name(self, d: date) -> str | None:
        """The public holiday on `d` (several are joined with '; '), or None."""
        if self._holidays is None:
            return None
        return self._holiday_names(self._holidays, d.year).get(d)

    def next_business_day(self, d: date, *, include_self: bool = True) -> date:
        """First business day on or after `d` (strictly after unless include_self)."""
        return self._walk(d if include_self else d + _ONE_DAY, _ONE_DAY)

    def previous_business_day(self, d: date, *, include_self: bool = True) -> date:
        """Last business day on or before `d` (strictly before unless include_self)."""
        return self._walk(d if include_self else d - _ONE_DAY, -_ONE_DAY)

    def day_to_date(self, start: date, day: int) -> date:
        """Date of plan day `day` (1 = start date, 0 = last business day before it)."""
        if day < 0:
            raise ValueError(f"plan days start at 0, got {day}")
        if day == 0:
            return self.previous_business_day(start, include_self=False)
        return self.next_business_day(start + timedelta(days=day - 1))

    def business_days_between(self, a: date, b: date) -> int:
        """Number of business days d with a < d <= b (0 when b <= a)."""
        count = 0
        d = a + _ONE_DAY
        while d <= b:
            count += self.is_business_day(d)
            d += _ONE_DAY
        return count

    def add_business_days(self, d: date, n: int) -> date:
        """Roll `d` forward to a business day, then step `n` business days further.

        Rolling first (as numpy's busday_offset does) keeps the result strictly
        increasing in `n`, so business_days_between(d, result) == n whenever d is
        itself a business day.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        result = self.next_business_day(d)
        for _ in range(n):
            result = self.next_business_day(result, include_self=False)
        return result

    def _walk(self, d: date, step: timedelta) -> date:
        for _ in range(_MAX_GAP_DAYS):
            if self.is_business_day(d):
                return d
            d += step
        raise BadInputError(f"no business day within {_MAX_GAP_DAYS} days of {d.isoformat()} ({self.describe()})")

    def _holiday_names(self, table: HolidayBase, year: int) -> dict[date, str]:
        names = self._names.get(year)
        if names is None:
            # Also expand the neighbouring years: an observed day can fall across
            # the year boundary (a Saturday New Year's Day observed on Friday
            # Dec 31). holidays 0.109 files such days under their own year, but
            # nothing in its API promises that, and the guard is cheap.
            for y in (year - 1, year, year + 1):
                if date.min.year <= y <= date.max.year:
                    table.get(date(y, 1, 1))
            names = {d: str(name) for d, name in table.items() if d.year == year}
            self._names[year] = names
        return names

    def _closed_days(self, table: HolidayBase, year: int) -> frozenset[date]:
        closed = self._closed.get(year)
        if closed is None:
            days = set(self._holiday_names(table, year))
            day = date(year, 1, 1)
            while day.year == year:
                # Ask the package rather than assume Sat/Sun: some countries use
                # other weekends, and a few changed theirs over the years.
                if table.is_weekend(day):
                    days.add(day)
                if day == date.max:
                    break
                day += _ONE_DAY
            closed = frozenset(days)
            self._closed[year] = closed
        return closed


def _load_holidays(country: str, subdivision: str | None) -> HolidayBase:
    # Imported here because loading the holidays package costs noticeable startup
    # time, and most commands never need a holiday calendar.
    import holidays

    code = country.strip().upper()
    # country_holidays() resolves the code with getattr() on the package, so an
    # unchecked value could hit an unrelated attribute; check the registry first.
    if code not in holidays.list_supported_countries():
        raise BadInputError(
            f"unknown holiday calendar {country!r}: use an ISO country code such as {_EXAMPLE_COUNTRIES}"
        )
    language = _english_language(getattr(holidays, code))
    if subdivision is None:
        return holidays.country_holidays(code, language=language)
    candidates = dict.fromkeys([subdivision.strip(), subdivision.strip().upper()])
    for candidate in candidates:
        try:
            return holidays.country_holidays(code, subdiv=candidate, language=language)
        except NotImplementedError:
            continue
    known = sorted(holidays.list_supported_countries()[code])
    examples = ", ".join(known[:4]) if known else "none are supported"
    raise BadInputError(f"unknown subdivision {subdivision!r} of {code}: use an ISO 3166-2 code such as {examples}")


def _english_language(entity: type[HolidayBase]) -> str | None:
    # Holiday names otherwise follow the process locale, which would make the
    # same plan render differently on different machines.
    default = entity.default_language
    if default is not None and default.startswith("en"):
        return default
    if "en_US" in entity.supported_languages:
        return "en_US"
    return default


def parse_date(text: str) -> date:
    """Parse an ISO YYYY-MM-DD date, ignoring surrounding whitespace."""
    stripped = text.strip()
    if _ISO_DATE.fullmatch(stripped):
        try:
            return date.fromisoformat(stripped)
        except ValueError:
            pass
    raise BadInputError(f"unparseable date {stripped!r}: use YYYY-MM-DD")


def default_start_date(today: date | None = None, calendar: BusinessCalendar | None = None) -> date:
    """First business day strictly after `today` (weekends-only calendar by default)."""
    if today is None:
        today = date.today()
    if calendar is None:
        calendar = BusinessCalendar()
    return calendar.next_business_day(today, include_self=False)


def day_table(start: date, plan_days: int) -> list[dict[str, object]]:
    """Where calendar dates fall as plan days: the start date, then the 1st of each month inside the plan.

    A prompt shows this table so that a model can place a date the notes name
    ("go-live March 1") on its plan day without doing calendar arithmetic. Plan
    day N is the start date plus N-1 calendar days, as :meth:`BusinessCalendar.day_to_date`
    counts them (before it moves a day off a weekend or holiday).
    """
    rows: list[dict[str, object]] = [{"date": start, "label": _long_date(start), "day": 1}]
    first = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    while (day := (first - start).days + 1) <= plan_days:
        rows.append({"date": first, "label": _long_date(first), "day": day})
        first = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return rows


def _long_date(d: date) -> str:
    return f"{d:%B} {d.day}, {d.year}"
