"""Tests for the ICS and CSV exporters and ``onboard export``.

Plans come from the real pipeline (offline provider) on every shipped example,
so a planner change the calendar or task list cannot carry breaks these tests.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from icalendar import Calendar, Component

from onboard_llm.calendar import BusinessCalendar
from onboard_llm.cli_export import export as export_command
from onboard_llm.errors import BadInputError
from onboard_llm.exporters import export, render_json
from onboard_llm.exporters.csvfmt import COLUMNS, SEPARATOR, render_csv
from onboard_llm.exporters.ics import event_uid, render_ics
from onboard_llm.inputs import build_handoff
from onboard_llm.pipeline import generate_plan
from onboard_llm.schema import DatedMilestone, DatedTask, OnboardingPlan

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TODAY = dt.date(2026, 11, 23)
EXAMPLE_FILES = ["terse-bullets.md", "call-transcript.md", "crm-export.txt", "forwarded-email.md"]

_PLANS: dict[str, OnboardingPlan] = {}


def example_plan(name: str) -> OnboardingPlan:
    if name not in _PLANS:
        context = EXAMPLES / f"{Path(name).stem}.context.yaml"
        handoff = build_handoff(
            (EXAMPLES / name).read_text(encoding="utf-8"),
            context_file=context if context.is_file() else None,
            today=TODAY,
        )
        _PLANS[name] = generate_plan(handoff, provider="offline").plan
    return _PLANS[name]


@pytest.fixture(params=EXAMPLE_FILES)
def plan(request: pytest.FixtureRequest) -> OnboardingPlan:
    return example_plan(request.param)


def events(ics: str) -> list[Component]:
    return list(Calendar.from_ical(ics).walk("VEVENT"))


def kind(event: Component) -> str:
    return str(event["X-ONBOARD-KIND"])


def start(event: Component) -> dt.date | dt.datetime:
    value: dt.date | dt.datetime = event.decoded("DTSTART")
    return value


def start_date(event: Component) -> dt.date:
    value = start(event)
    return value.date() if isinstance(value, dt.datetime) else value


def day_date(plan: OnboardingPlan, day: int) -> dt.date:
    return BusinessCalendar(plan.holidays).day_to_date(plan.customer.start_date, day)


# -- ICS: acceptance on every example -----------------------------------------------


def test_ics_parses_with_kickoff_within_three_business_days(plan: OnboardingPlan) -> None:
    cal = Calendar.from_ical(render_ics(plan))
    assert str(cal["VERSION"]) == "2.0"
    assert str(cal["PRODID"])
    kickoffs = [e for e in cal.walk("VEVENT") if kind(e) == "kickoff"]
    assert len(kickoffs) == 1
    kickoff = start_date(kickoffs[0])
    start = plan.customer.start_date
    assert kickoff >= start
    assert BusinessCalendar(plan.holidays).business_days_between(start, kickoff) <= 3


def test_ics_has_reviews_on_days_30_60_90(plan: OnboardingPlan) -> None:
    found = {kind(e): start_date(e) for e in events(render_ics(plan)) if kind(e).startswith("review_")}
    assert found == {
        "review_30": day_date(plan, 30),
        "review_60": day_date(plan, 60),
        "review_90": day_date(plan, 90),
    }


def test_ics_has_one_event_per_meeting_occurrence_and_milestone(plan: OnboardingPlan) -> None:
    evs = events(render_ics(plan))
    occurrences = sum(len(m.occurrence_dates or [m.date]) for m in plan.meetings)
    milestones = plan.all_milestones()
    assert len(evs) == occurrences + len(milestones)
    check_in = next(m for m in plan.meetings if m.kind == "check_in")
    check_in_dates = sorted(start_date(e) for e in evs if str(e["X-ONBOARD-ID"]) == check_in.id)
    assert check_in_dates == sorted(check_in.occurrence_dates)
    assert len(check_in_dates) > 1


def test_ics_meetings_carry_time_duration_and_agenda(plan: OnboardingPlan) -> None:
    evs = events(render_ics(plan, meeting_time="14:30", tz="Europe/Berlin"))
    meetings = {m.id: m for m in plan.meetings}
    for event in evs:
        if kind(event) == "milestone":
            continue
        meeting = meetings[str(event["X-ONBOARD-ID"])]
        begins = start(event)
        assert isinstance(begins, dt.datetime)
        assert (begins.hour, begins.minute) == (14, 30)
        assert str(begins.tzinfo) == "Europe/Berlin"
        assert event.decoded("DURATION") == dt.timedelta(minutes=meeting.duration_minutes)
        assert "ATTENDEE" not in event  # no invented addresses
        if meeting.agenda:
            assert meeting.agenda[0].item in str(event["DESCRIPTION"])


def test_ics_milestones_are_all_day_with_owner_and_check(plan: OnboardingPlan) -> None:
    evs = {str(e["X-ONBOARD-ID"]): e for e in events(render_ics(plan)) if kind(e) == "milestone"}
    for milestone in plan.all_milestones():
        event = evs[milestone.id]
        assert start(event) == milestone.date
        assert not isinstance(start(event), dt.datetime)
        assert event["DTSTART"].params.get("VALUE") == "DATE"
        assert event.decoded("DTEND") == milestone.date + dt.timedelta(days=1)
        description = str(event["DESCRIPTION"])
        assert milestone.success_check in description
        assert "Owner:" in description


def test_ics_uids_are_stable_and_unique(plan: OnboardingPlan) -> None:
    first, second = render_ics(plan), render_ics(plan)
    assert first == second  # DTSTAMP comes from the plan, not the clock
    uids = [str(e["UID"]) for e in events(first)]
    assert len(uids) == len(set(uids))
    assert all(uid.endswith("@onboard-llm") for uid in uids)
    kickoff = next(m for m in plan.meetings if m.kind == "kickoff")
    assert event_uid(plan.customer.company, kickoff.id) in uids
    # Another company's plan with the same item ids must not overwrite this one's events.
    assert event_uid("Another Co", kickoff.id) not in uids


def test_ics_uids_survive_a_reschedule() -> None:
    plan = example_plan("terse-bullets.md")
    kickoff = next(m for m in plan.meetings if m.kind == "kickoff")
    moved_date = kickoff.date + dt.timedelta(days=1)
    moved = kickoff.model_copy(update={"date": moved_date, "occurrence_dates": [moved_date]})
    slipped = plan.model_copy(update={"meetings": [moved if m.id == kickoff.id else m for m in plan.meetings]})
    before = {str(e["UID"]): start_date(e) for e in events(render_ics(plan))}
    after = {str(e["UID"]): start_date(e) for e in events(render_ics(slipped))}
    uid = event_uid(plan.customer.company, kickoff.id)
    assert set(before) == set(after)
    assert (before[uid], after[uid]) == (kickoff.date, moved_date)


def test_ics_customer_audience_drops_internal_items(plan: OnboardingPlan) -> None:
    hidden_meetings = {m.id for m in plan.meetings if not m.customer_visible}
    assert hidden_meetings, "every example plan has an internal handoff or sync"
    internal_ids = {str(e["X-ONBOARD-ID"]) for e in events(render_ics(plan))}
    customer = events(render_ics(plan, audience="customer"))
    customer_ids = {str(e["X-ONBOARD-ID"]) for e in customer}
    assert hidden_meetings <= internal_ids
    assert not hidden_meetings & customer_ids
    hidden_milestones = {m.id for m in plan.all_milestones() if not m.customer_visible}
    assert not hidden_milestones & customer_ids
    assert all(kind(e) not in ("internal_handoff", "internal_sync") for e in customer)
    assert "Internal" not in render_ics(plan, audience="customer")


def test_ics_customer_audience_drops_an_internal_milestone() -> None:
    plan = example_plan("crm-export.txt")
    phase = plan.phases[0]
    hidden = phase.milestones[0].model_copy(update={"customer_visible": False})
    phases = [phase.model_copy(update={"milestones": [hidden, *phase.milestones[1:]]}), *plan.phases[1:]]
    changed = plan.model_copy(update={"phases": phases})
    assert hidden.id in {str(e["X-ONBOARD-ID"]) for e in events(render_ics(changed))}
    assert hidden.id not in {str(e["X-ONBOARD-ID"]) for e in events(render_ics(changed, audience="customer"))}


def test_ics_timezone_is_respected() -> None:
    plan = example_plan("terse-bullets.md")
    ics = render_ics(plan, tz="America/New_York", meeting_time="10:00")
    cal = Calendar.from_ical(ics)
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["America/New_York"]
    kickoff = next(e for e in cal.walk("VEVENT") if kind(e) == "kickoff")
    assert kickoff["DTSTART"].params["TZID"] == "America/New_York"
    assert "DTSTART;TZID=America/New_York:20270113T100000" in ics
    begins = start(kickoff)
    assert isinstance(begins, dt.datetime)
    assert begins.astimezone(dt.UTC).hour == 15  # EST is UTC-5 in January


def test_ics_default_is_utc_at_ten() -> None:
    ics = render_ics(example_plan("terse-bullets.md"))
    assert "DTSTART:20270113T100000Z" in ics
    assert "BEGIN:VTIMEZONE" not in ics


@pytest.mark.parametrize("tz", ["Mars/Olympus", "", "../etc/passwd", "Not A Zone"])
def test_ics_unknown_timezone_is_bad_input(tz: str) -> None:
    with pytest.raises(BadInputError, match="unknown timezone") as info:
        render_ics(example_plan("terse-bullets.md"), tz=tz)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("time", ["25:00", "10", "10:60", "ten", "10:00pm", ""])
def test_ics_bad_meeting_time_is_bad_input(time: str) -> None:
    with pytest.raises(BadInputError, match="bad meeting time") as info:
        render_ics(example_plan("terse-bullets.md"), meeting_time=time)
    assert "\n" not in str(info.value)


def test_ics_accepts_single_digit_hour() -> None:
    ics = render_ics(example_plan("terse-bullets.md"), meeting_time="9:05")
    assert "DTSTART:20270113T090500Z" in ics


def test_ics_unknown_audience_is_bad_input() -> None:
    with pytest.raises(BadInputError, match="audience"):
        render_ics(example_plan("terse-bullets.md"), audience="everyone")  # type: ignore[arg-type]


def test_ics_is_crlf_folded_rfc5545() -> None:
    ics = render_ics(example_plan("call-transcript.md"), tz="Europe/London")
    lines = ics.split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR"
    assert all(len(line.encode()) <= 75 for line in lines)
    # VTIMEZONE before the events that use it.
    assert ics.index("BEGIN:VTIMEZONE") < ics.index("BEGIN:VEVENT")
    for event in events(ics):
        for required in ("UID", "DTSTAMP", "DTSTART", "SUMMARY"):
            assert required in event


# -- CSV --------------------------------------------------------------------------


def csv_rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def test_csv_one_row_per_task_and_milestone(plan: OnboardingPlan) -> None:
    header, rows = csv_rows(render_csv(plan))
    assert tuple(header) == COLUMNS
    tasks, milestones = plan.all_tasks(), plan.all_milestones()
    assert len(rows) == len(tasks) + len(milestones)
    assert sorted(r["title"] for r in rows if r["type"] == "task") == sorted(t.title for t in tasks)
    assert sorted(r["title"] for r in rows if r["type"] == "milestone") == sorted(m.name for m in milestones)
    assert {r["type"] for r in rows} == {"task", "milestone"}


def test_csv_columns_dates_and_phases(plan: OnboardingPlan) -> None:
    _, rows = csv_rows(render_csv(plan))
    by_title = {r["title"]: r for r in rows}
    phases = {p.name for p in plan.phases}
    for phase in plan.phases:
        for task in phase.tasks:
            row = by_title[task.title]
            assert row["due_date"] == task.date.isoformat()
            assert dt.date.fromisoformat(row["due_date"]) == task.date
            assert row["phase"] == phase.name
            assert row["customer_visible"] == ("true" if task.customer_visible else "false")
        for milestone in phase.milestones:
            row = by_title[milestone.name]
            assert row["milestone"] == milestone.name
            assert row["description"] == milestone.success_check
            assert row["due_date"] == milestone.date.isoformat()
            assert row["phase"] == phase.name
    assert all(r["owner"] for r in rows)
    assert {r["phase"] for r in rows} <= phases


def test_csv_depends_on_resolves_to_names(plan: OnboardingPlan) -> None:
    _, rows = csv_rows(render_csv(plan))
    names = {t.id: t.title for t in plan.all_tasks()} | {m.id: m.name for m in plan.all_milestones()}
    items: list[DatedTask | DatedMilestone] = [*plan.all_tasks(), *plan.all_milestones()]
    by_title = {r["title"]: r for r in rows}
    linked = 0
    for item in items:
        title = item.title if isinstance(item, DatedTask) else item.name
        cell = by_title[title]["depends_on"]
        expected = [names[d] for d in item.depends_on]
        assert (cell.split(SEPARATOR) if cell else []) == list(dict.fromkeys(expected))
        linked += bool(expected)
    assert linked, "the example plans have dependencies"


def test_csv_task_milestone_column_names_the_milestones_it_leads_to(plan: OnboardingPlan) -> None:
    _, rows = csv_rows(render_csv(plan))
    by_title = {r["title"]: r for r in rows}
    for task in plan.all_tasks():
        leads_to = [m.name for m in plan.all_milestones() if task.id in m.depends_on]
        cell = by_title[task.title]["milestone"]
        assert (cell.split(SEPARATOR) if cell else []) == leads_to


def test_csv_customer_audience_drops_internal_rows_and_links() -> None:
    plan = example_plan("terse-bullets.md")
    phase = plan.phases[0]
    hidden = phase.tasks[0].model_copy(update={"customer_visible": False})
    phases = [phase.model_copy(update={"tasks": [hidden, *phase.tasks[1:]]}), *plan.phases[1:]]
    changed = plan.model_copy(update={"phases": phases})
    dependants = [m for m in changed.all_milestones() if hidden.id in m.depends_on]
    assert dependants, "the first task of the example leads to a milestone"
    _, internal = csv_rows(render_csv(changed))
    _, customer = csv_rows(render_csv(changed, audience="customer"))
    all_items: list[DatedTask | DatedMilestone] = [*changed.all_tasks(), *changed.all_milestones()]
    hidden_count = sum(not i.customer_visible for i in all_items)
    assert len(customer) == len(internal) - hidden_count
    assert hidden.title in {r["title"] for r in internal}
    assert all(hidden.title not in value for r in customer for value in r.values())
    assert all(r["customer_visible"] == "true" for r in customer)


def test_csv_quotes_awkward_text() -> None:
    plan = example_plan("terse-bullets.md")
    phase = plan.phases[0]
    odd = phase.tasks[0].model_copy(update={"title": 'Say "hi", then\nleave'})
    phases = [phase.model_copy(update={"tasks": [odd, *phase.tasks[1:]]}), *plan.phases[1:]]
    _, rows = csv_rows(render_csv(plan.model_copy(update={"phases": phases})))
    assert 'Say "hi", then\nleave' in {r["title"] for r in rows}


def test_registry_passes_options_and_rejects_others() -> None:
    plan = example_plan("terse-bullets.md")
    assert export(plan, "ics", audience="customer", tz="Asia/Tokyo") == render_ics(
        plan, audience="customer", tz="Asia/Tokyo"
    )
    assert export(plan, "CSV", audience="customer") == render_csv(plan, audience="customer")
    with pytest.raises(BadInputError, match="does not take tz"):
        export(plan, "csv", tz="UTC")


# -- onboard export ------------------------------------------------------------------


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(render_json(example_plan("forwarded-email.md")), encoding="utf-8")
    return path


def run(*args: str) -> Any:
    return CliRunner().invoke(export_command, list(args))


def test_cli_export_ics_to_file(plan_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.ics"
    result = run(
        str(plan_file), "--format", "ics", "--tz", "America/New_York", "--meeting-time", "09:30", "-o", str(out)
    )
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert b"\r\r\n" not in data  # written without newline translation
    cal = Calendar.from_ical(data)
    kickoff = next(e for e in cal.walk("VEVENT") if kind(e) == "kickoff")
    assert kickoff["DTSTART"].params["TZID"] == "America/New_York"
    assert data.decode() == render_ics(example_plan("forwarded-email.md"), tz="America/New_York", meeting_time="09:30")


def test_cli_export_csv_customer_to_stdout(plan_file: Path) -> None:
    result = run(str(plan_file), "--format", "csv", "--audience", "customer")
    assert result.exit_code == 0, result.output
    assert result.stdout == render_csv(example_plan("forwarded-email.md"), audience="customer")


def test_cli_export_md_and_json(plan_file: Path) -> None:
    md = run(str(plan_file), "--format", "md", "--audience", "customer")
    assert md.exit_code == 0
    assert md.stdout.startswith("# Meridian Mutual Insurance Group")
    again = run(str(plan_file), "--format", "json")
    assert again.exit_code == 0
    assert OnboardingPlan.model_validate_json(again.stdout) == example_plan("forwarded-email.md")


def test_cli_export_reads_stdin(plan_file: Path) -> None:
    result = CliRunner().invoke(export_command, ["-", "--format", "csv"], input=plan_file.read_text())
    assert result.exit_code == 0
    assert result.stdout.startswith(",".join(COLUMNS))


def one_line_error(result: Any) -> str:
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    return str(lines[0])


def test_cli_export_bad_json_is_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"customer": ', encoding="utf-8")
    assert "not valid JSON" in one_line_error(run(str(bad), "--format", "ics"))


def test_cli_export_json_that_is_not_a_plan_is_one_line_exit_2(tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"hello": "world"}), encoding="utf-8")
    assert "not a dated onboarding plan" in one_line_error(run(str(other), "--format", "csv"))


def test_cli_export_undated_draft_is_not_a_plan(tmp_path: Path, plan_file: Path) -> None:
    data = json.loads(plan_file.read_text())
    del data["customer"]["start_date"]
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps(data), encoding="utf-8")
    assert "customer.start_date" in one_line_error(run(str(draft), "--format", "ics"))


def test_cli_export_missing_file_and_bad_options(plan_file: Path, tmp_path: Path) -> None:
    assert "does not exist" in one_line_error(run(str(tmp_path / "nope.json"), "--format", "ics"))
    assert "unknown timezone" in one_line_error(run(str(plan_file), "--format", "ics", "--tz", "Mars/Base"))
    assert "bad meeting time" in one_line_error(run(str(plan_file), "--format", "ics", "--meeting-time", "25:00"))
    # --audience customer on JSON would silently hand over the internal plan.
    assert "--audience" in one_line_error(run(str(plan_file), "--format", "json", "--audience", "customer"))
    assert "does not exist" in one_line_error(
        run(str(plan_file), "--format", "csv", "-o", str(tmp_path / "x" / "y.csv"))
    )


def test_cli_export_format_is_required(plan_file: Path) -> None:
    result = run(str(plan_file))
    assert result.exit_code == 2
    assert "--format" in result.output


@pytest.mark.parametrize("title", ['=HYPERLINK("http://evil.example","x")', "+1 sync", "-flag", "@SUM(A1)", "\tTab"])
def test_csv_text_a_spreadsheet_would_run_gets_a_leading_quote(title: str) -> None:
    plan = example_plan("terse-bullets.md")
    phase = plan.phases[0]
    odd = phase.tasks[0].model_copy(update={"title": title})
    phases = [phase.model_copy(update={"tasks": [odd, *phase.tasks[1:]]}), *plan.phases[1:]]
    _, rows = csv_rows(render_csv(plan.model_copy(update={"phases": phases})))
    titles = {r["title"] for r in rows}
    assert "'" + title in titles and title not in titles
    # Nor does any other cell start a formula: the depends_on of a milestone the task leads to names it too.
    assert all(not value.startswith(("=", "+", "@")) for r in rows for value in r.values())
