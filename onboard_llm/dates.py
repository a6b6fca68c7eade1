"""Dates as people write them in notes: ISO, US numeric and month names, years inferred."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ]
    )
    for m in names
}
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
DATE_PATTERNS = (
    re.compile(r"\b(?P<y>20\d\d)-(?P<m>\d\d)-(?P<d>\d\d)\b"),
    re.compile(r"\b(?P<m>1[0-2]|0?[1-9])/(?P<d>3[01]|[12]\d|0?[1-9])(?:/(?P<y>(?:20)?\d\d))?\b"),
    re.compile(
        rf"\b(?P<mon>{_MONTH_RE})\.?\s+(?P<d>3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?"
        r"(?:\s*[-–]\s*(?P<d2>3[01]|[12]\d|0?[1-9]))?(?:,?\s+(?P<y>20\d\d))?\b",
        re.IGNORECASE,
    ),
    # "11 January 2027", "the 2nd of February", "19 Jan"
    re.compile(
        rf"\b(?P<d>3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>{_MONTH_RE})\b\.?(?:,?\s+(?P<y>20\d\d))?",
        re.IGNORECASE,
    ),
)


@dataclass(frozen=True)
class DateMention:
    value: dt.date
    end: dt.date | None
    text: str
    start: int


def _year_for(month: int, day: int, reference: dt.date) -> int:
    # Notes rarely give the year; pick the one that puts the date nearest the reference.
    best = reference.year
    best_gap: int | None = None
    for year in (reference.year - 1, reference.year, reference.year + 1):
        try:
            gap = abs((dt.date(year, month, day) - reference).days)
        except ValueError:
            continue
        if best_gap is None or gap < best_gap:
            best, best_gap = year, gap
    return best


def find_dates(text: str, reference: dt.date) -> list[DateMention]:
    """Dates written in the text, years inferred near the reference date."""
    found: list[DateMention] = []
    taken: list[range] = []
    for pattern in DATE_PATTERNS:
        for match in pattern.finditer(text):
            if any(match.start() in span for span in taken):
                continue
            groups = match.groupdict()
            try:
                month = _MONTHS[groups["mon"].lower()] if groups.get("mon") else int(groups["m"])
                day = int(groups["d"])
                year_text = groups.get("y")
                year = (
                    int(year_text) + (2000 if len(year_text) == 2 else 0)
                    if year_text
                    else _year_for(month, day, reference)
                )
                value = dt.date(year, month, day)
                end = dt.date(year, month, int(groups["d2"])) if groups.get("d2") else None
            except (ValueError, KeyError):
                continue
            found.append(DateMention(value, end, match.group(0), match.start()))
            taken.append(range(match.start(), match.end()))
    return sorted(found, key=lambda d: d.start)


_START = re.compile(
    r"(?im)^(?:[-*>\s]*)(?:contract start|subscription start|service start|start date|start|go-live|kickoff date)\s*:\s*(?P<rest>.{4,40})$"
    r"|\b(?:start date (?:is|will be)|(?:contract |subscription |term |service )?start(?:s|ing)?(?: on| the week of)?|"
    r"begin(?:s|ning)?(?: on)?|day 1 is|day one is)\s+(?P<rest2>[^.;\n]{4,40})"
    r"|^[-*\s]*start\s+(?P<rest3>[^,;\n]{3,30})"
)


def start_date_in(notes: str, today: dt.date) -> tuple[dt.date, str] | None:
    """A start date the notes state outright ("Contract Start: 12/01/2026"), with the words it came from."""
    for match in _START.finditer(notes):
        rest = match.group("rest") or match.group("rest2") or match.group("rest3") or ""
        found = find_dates(rest, today)
        if found:
            return found[0].value, match.group(0).strip(" -*>")
    return None
