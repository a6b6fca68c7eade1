"""ICS (RFC 5545) export of a dated plan: meetings at a chosen time and timezone, milestones as all-day events.

A repeating meeting becomes one VEVENT per occurrence rather than one RRULE:
the scheduler moves each occurrence off weekends and holidays on its own, and
an RRULE would need an EXDATE/RDATE pair for every shifted date, which calendar
clients honour unevenly. UIDs are a hash of the company, the item id and the
occurrence number (not its date), so re-importing a re-exported or rescheduled
plan updates the events it already created instead of duplicating them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from onboard_llm.errors import BadInputError
from onboard_llm.exporters.markdown import AUDIENCES, Audience, _who
from onboard_llm.schema import DatedMeeting, DatedMilestone, OnboardingPlan

if TYPE_CHECKING:
    from icalendar import Event

PRODID = "-//onboard-llm//onboard-llm//EN"
UID_DOMAIN = "onboard-llm"
_TIME = re.compile(r"(?P<h>[01]?[0-9]|2[0-3]):(?P<m>[0-5][0-9])")


def render_ics(
    plan: OnboardingPlan, *, audience: Audience = "internal", meeting_time: str = "10:00", tz: str = "UTC"
) -> str:
    """Render ``plan``'s meetings and milestones as an iCalendar file for the given audience."""
    from icalendar import Calendar  # ~90 ms to import: only paid by an ICS export

    if audience not in AUDIENCES:
        raise BadInputError(f"unknown audience {audience!r}; choose one of: {', '.join(AUDIENCES)}")
    zone = parse_timezone(tz)
    at = parse_meeting_time(meeting_time)
    internal = audience == "internal"
    company = plan.customer.company
    # Fixed from the plan so that exporting the same plan twice gives byte-identical files.
    stamp = dt.datetime.combine(plan.customer.start_date, dt.time(0, 0), tzinfo=dt.UTC)

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"{company} onboarding")
    cal.add("x-wr-timezone", tz)

    entries: list[_Entry] = []
    for meeting in plan.meetings:
        if internal or meeting.customer_visible:
            entries += _meeting_entries(meeting, company, at, zone, internal=internal)
    for milestone in plan.all_milestones():
        if internal or milestone.customer_visible:
            entries.append(_milestone_entry(milestone, company, internal=internal))
    entries.sort(key=lambda e: (e.date, e.order, e.uid))
    for entry in entries:
        entry.event.add("dtstamp", stamp)
        cal.add_component(entry.event)

    if entries:
        # A VTIMEZONE spanning the plan only; the default (1970-2038) adds a few kilobytes of RDATEs.
        first = min(e.date for e in entries) - dt.timedelta(days=366)
        last = max(e.date for e in entries) + dt.timedelta(days=366)
        cal.add_missing_timezones(first_date=first, last_date=last)
    ical: bytes = cal.to_ical()
    return ical.decode("utf-8")


def parse_timezone(tz: str) -> ZoneInfo:
    """The IANA timezone named ``tz`` (e.g. ``Europe/Berlin``), or a one-line BadInputError."""
    try:
        return ZoneInfo(tz.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInputError(f"unknown timezone {tz!r}; use an IANA name such as UTC or America/New_York") from None


def parse_meeting_time(text: str) -> dt.time:
    """``HH:MM`` on a 24-hour clock, or a one-line BadInputError."""
    match = _TIME.fullmatch(text.strip())
    if match is None:
        raise BadInputError(f"bad meeting time {text!r}; use HH:MM on a 24-hour clock, e.g. 10:00 or 14:30")
    return dt.time(int(match["h"]), int(match["m"]))


def event_uid(company: str, item_id: str, occurrence: int = 1) -> str:
    """The stable UID of one event: the same company, item and occurrence number give the same UID."""
    digest = hashlib.sha1(f"{company}\x1f{item_id}\x1f{occurrence}".encode(), usedforsecurity=False).hexdigest()
    return f"{digest}@{UID_DOMAIN}"


# -- events -------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    date: dt.date
    order: int
    uid: str
    event: Event


def _meeting_entries(
    meeting: DatedMeeting, company: str, at: dt.time, zone: ZoneInfo, *, internal: bool
) -> list[_Entry]:
    from icalendar import Event

    dates = meeting.occurrence_dates or [meeting.date]
    summary = f"{company}: {meeting.title}" if internal else meeting.title
    description = _meeting_description(meeting, internal=internal)
    entries = []
    for number, day in enumerate(dates, 1):
        uid = event_uid(company, meeting.id, number)
        event = Event()
        event.add("uid", uid)
        event.add("summary", summary if len(dates) == 1 else f"{summary} ({number}/{len(dates)})")
        event.add("dtstart", dt.datetime.combine(day, at, tzinfo=zone))
        event.add("duration", dt.timedelta(minutes=meeting.duration_minutes))
        if description:
            event.add("description", description)
        event.add("categories", ["Onboarding", meeting.kind.replace("_", " ")])
        event.add("x-onboard-id", meeting.id)
        event.add("x-onboard-kind", meeting.kind)
        entries.append(_Entry(day, 0, uid, event))
    return entries


def _meeting_description(meeting: DatedMeeting, *, internal: bool) -> str:
    # Names only: a plan rarely has emails for everyone, and ATTENDEE without an
    # ORGANIZER makes some clients treat an import as an invitation to answer.
    lines = []
    if meeting.attendees:
        lines.append("Attendees: " + ", ".join(_who(a) for a in meeting.attendees))
    if meeting.agenda:
        lines += ["", "Agenda:", *(f"- {a.item} ({a.minutes} min)" for a in meeting.agenda)]
    if internal and not meeting.customer_visible:
        lines += ["", "Internal: not shared with the customer."]
    return "\n".join(lines).strip()


def _milestone_entry(milestone: DatedMilestone, company: str, *, internal: bool) -> _Entry:
    from icalendar import Event

    uid = event_uid(company, milestone.id)
    event = Event()
    event.add("uid", uid)
    event.add("summary", f"{company} milestone: {milestone.name}" if internal else f"Milestone: {milestone.name}")
    # All-day: DTSTART;VALUE=DATE with an exclusive DTEND, the form Google and Outlook both import.
    event.add("dtstart", milestone.date)
    event.add("dtend", milestone.date + dt.timedelta(days=1))
    event.add("transp", "TRANSPARENT")  # a milestone should not block anyone's time
    lines = [f"Owner: {_who(milestone.owner)}", f"Success check: {milestone.success_check}"]
    if internal and not milestone.customer_visible:
        lines.append("Internal: not shared with the customer.")
    event.add("description", "\n".join(lines))
    event.add("categories", ["Onboarding", "milestone"])
    event.add("x-onboard-id", milestone.id)
    event.add("x-onboard-kind", "milestone")
    return _Entry(milestone.date, 1, uid, event)


__all__ = ["PRODID", "event_uid", "parse_meeting_time", "parse_timezone", "render_ics"]
