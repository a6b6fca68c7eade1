"""Markdown one-pager of a dated plan, for the CSM (internal) or to hand to the customer.

The page is built from tables and short lists so it stays scannable; a section
with nothing to show is left out rather than printed as an empty heading. The
``customer`` audience drops everything flagged ``customer_visible: false`` plus
the internal notes and expansion signals, so the same plan can be shared safely.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Literal, get_args

from onboard_llm.errors import BadInputError
from onboard_llm.schema import (
    KNOWN_OWNER_ROLES,
    DatedMeeting,
    DatedPhase,
    OnboardingPlan,
    StatedGoal,
)

Audience = Literal["internal", "customer"]
AUDIENCES: tuple[str, ...] = get_args(Audience)

# Fixed English names keep the output identical whatever the process locale is.
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_PROVENANCE = {
    "notes": "notes",
    "context": "context",
    "playbook_default": "playbook default",
    "assumption": "assumption",
}
_ROLE_LABELS = {
    "csm": "CSM",
    "account_executive": "Account executive",
    "executive_sponsor": "Executive sponsor",
    "project_lead": "Project lead",
    "end_user": "End users",
    "customer_team": "Customer team",
    "vendor_team": "Vendor team",
}
_INTERNAL_MARK = " *(internal)*"


def format_date(day: dt.date) -> str:
    """The one date style of the page, e.g. ``Mon 18 Jan 2027``."""
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def escape_cell(value: object) -> str:
    """Text safe inside a Markdown table cell: pipes escaped, line breaks kept as ``<br>``."""
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    return text.replace("|", "\\|").replace("\n", "<br>")


def render_markdown(plan: OnboardingPlan, *, audience: Audience = "internal") -> str:
    """Render ``plan`` as a compact Markdown one-pager for the given audience."""
    if audience not in AUDIENCES:
        raise BadInputError(f"unknown audience {audience!r}; choose one of: {', '.join(AUDIENCES)}")
    return _Page(plan, internal=audience == "internal").render()


# -- small text helpers -------------------------------------------------------


def _inline(text: str) -> str:
    # A line break inside a list item or heading would end the block early.
    return " ".join(text.split())


def _who(name: str) -> str:
    """A person's name as written, or a role token ("end_user") as words."""
    if name in _ROLE_LABELS:
        return _ROLE_LABELS[name]
    if name in KNOWN_OWNER_ROLES:
        return name.replace("_", " ").capitalize()
    return name


def _people(names: Iterable[str]) -> str:
    return ", ".join(_who(n) for n in names)


def _number(value: float) -> str:
    if value.is_integer():
        return f"{int(value):,}"
    return f"{value:,}"


def _amount(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    # "%" and "% reduction" read as "30%"; other units take a space: "4 hours".
    sep = "" if unit.startswith("%") else " "
    return f"{_number(value)}{sep}{unit}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, keep_empty: bool = False) -> list[str]:
    """A GFM table; columns empty in every row are dropped unless ``keep_empty``."""
    if not rows:
        return []
    cells = [[escape_cell(v) for v in row] for row in rows]
    keep = [i for i in range(len(headers)) if keep_empty or any(row[i] for row in cells)]
    lines = ["| " + " | ".join(headers[i] for i in keep) + " |", "|" + "|".join("---" for _ in keep) + "|"]
    lines += ["| " + " | ".join(row[i] for i in keep) + " |" for row in cells]
    return lines


def _bullets(items: Iterable[str], *, numbered: bool = False) -> list[str]:
    return [f"{i}. {_inline(t)}" if numbered else f"- {_inline(t)}" for i, t in enumerate(items, 1) if t.strip()]


def _quote(text: str) -> list[str]:
    return ["> " + line if line.strip() else ">" for line in text.strip().splitlines()]


def _repeats(meeting: DatedMeeting) -> str:
    every = meeting.repeat_every_days
    dates = meeting.occurrence_dates or [meeting.date]
    if every is None or len(dates) < 2:
        return "once"
    if every == 1:
        cadence = "daily"
    elif every % 7 == 0:
        weeks = every // 7
        cadence = "weekly" if weeks == 1 else f"every {weeks} weeks"
    else:
        cadence = f"every {every} days"
    return f"{cadence} until {format_date(dates[-1])} ({len(dates)} sessions)"


# -- the page -----------------------------------------------------------------


class _Page:
    def __init__(self, plan: OnboardingPlan, *, internal: bool) -> None:
        self.plan = plan
        self.internal = internal

    def shown(self, customer_visible: bool) -> bool:
        return self.internal or customer_visible

    def mark(self, customer_visible: bool) -> str:
        return "" if customer_visible else _INTERNAL_MARK

    def render(self) -> str:
        parts: list[list[str]] = [
            self.header(),
            self.section("Primary goal", [_inline(self.plan.primary_goal)]),
            self.section("Success metrics", self.metrics()),
            self.section("Stated goals" if self.internal else "Your goals", self.goals()),
            self.section("Outcome brief", self.outcome_brief()),
            self.section("Plan by phase", self.phases()),
            self.section("Week by week", self.weeks()),
            self.section("Stakeholders", self.stakeholders()),
            self.section("Who does what (RACI)", self.raci()),
            self.section("Meetings", self.meetings()),
            self.section("Communications", self.communications()),
            self.section("Risks", self.risks()),
            self.section("Scorecard", self.scorecard()),
            self.section("Success criteria by phase", self.criteria()),
            self.section("Resources", self.resources()),
            self.section("Celebrating wins", self.celebrations()),
            self.section("After day 90 and if we slip", self.transition()),
            self.section("Open questions", self.open_questions()),
        ]
        if self.internal:
            parts.append(self.section("Internal", self.internal_section()))
        return "\n\n".join("\n".join(p) for p in parts if p).rstrip() + "\n"

    @staticmethod
    def section(title: str, body: list[str], level: int = 2) -> list[str]:
        if not any(line.strip() for line in body):
            return []
        return ["#" * level + " " + title, "", *body]

    @staticmethod
    def join_blocks(*blocks: list[str]) -> list[str]:
        out: list[str] = []
        for block in blocks:
            if block:
                out += ([""] if out else []) + block
        return out

    # -- sections ------------------------------------------------------------

    def header(self) -> list[str]:
        c = self.plan.customer
        title = f"# {_inline(c.company)}: 90-day onboarding plan"
        end = max((p.end_date for p in self.plan.phases), default=c.start_date)
        facts = [f"**Start:** {format_date(c.start_date)}", f"**Through:** {format_date(end)}"]
        facts += [_inline(v) for v in (c.product_tier, c.industry, c.size) if v]
        facts.append(f"complexity {c.implementation_complexity}")
        if c.csm:
            facts.append(f"**CSM:** {_inline(c.csm)}")
        lines = [title, "", " · ".join(facts)]
        if self.plan.holidays:
            lines += ["", f"Dates skip weekends and {self.plan.holidays} holidays."]
        if self.internal:
            lines += ["", "*Internal version: items hidden from the customer are marked (internal).*"]
        return lines

    def metrics(self) -> list[str]:
        rows = [
            (
                f"{m.name} ({_who(m.role)})" if m.role else m.name,
                _amount(m.baseline, m.unit),
                _amount(m.target, m.unit),
                format_date(m.date),
                _PROVENANCE[m.provenance],
            )
            for m in self.plan.success_metrics
        ]
        return _table(("Metric", "Baseline", "Target", "By", "Source"), rows, keep_empty=True)

    def goals(self) -> list[str]:
        blocks = [self.goal(i, g) for i, g in enumerate(self.plan.stated_goals, 1)]
        return self.join_blocks(*blocks)

    @staticmethod
    def goal(number: int, goal: StatedGoal) -> list[str]:
        lines = [f"**{number}. {_inline(goal.goal)}** · *source: {_PROVENANCE[goal.provenance]}*", ""]
        if goal.source_quote:
            lines += [*_quote(goal.source_quote), ""]
        lines += [
            f"- Why it matters: {_inline(goal.why_it_matters)}",
            f"- How the product helps: {_inline(goal.how_product_helps)}",
            f"- Measure: {_inline(goal.success_measure)}",
        ]
        return lines

    def outcome_brief(self) -> list[str]:
        brief = self.plan.outcome_brief
        groups = (
            ("Outcomes", brief.desired_outcomes),
            # Promises are captured from sales notes, often in candid words: internal only.
            ("Commitments made in the sale", brief.promises if self.internal else []),
            ("Constraints", brief.constraints),
        )
        return self.join_blocks(*(self.labelled(label, _bullets(items)) for label, items in groups))

    @staticmethod
    def labelled(label: str, body: list[str]) -> list[str]:
        return [f"**{label}**", "", *body] if body else []

    def phases(self) -> list[str]:
        return self.join_blocks(*(self.phase(i, p) for i, p in enumerate(self.plan.phases, 1)))

    def phase(self, number: int, phase: DatedPhase) -> list[str]:
        title = (
            f"{number}. {_inline(phase.name)}: {format_date(phase.start_date)} – {format_date(phase.end_date)}"
            f" (days {phase.start_day}–{phase.end_day})"
        )
        milestones = _table(
            ("Date", "Milestone", "Owner", "Success check"),
            [
                (format_date(m.date), m.name + self.mark(m.customer_visible), _who(m.owner), m.success_check)
                for m in phase.milestones
                if self.shown(m.customer_visible)
            ],
        )
        tasks = _table(
            ("Due", "Task", "Owner"),
            [
                (format_date(t.date), t.title + self.mark(t.customer_visible), _who(t.owner))
                for t in phase.tasks
                if self.shown(t.customer_visible)
            ],
        )
        body = self.join_blocks(
            self.labelled("Objectives", _bullets(phase.objectives)),
            self.labelled("Milestones", milestones),
            self.labelled("Tasks", tasks),
        )
        return self.section(title, body, level=3)

    def weeks(self) -> list[str]:
        rows = [
            (
                w.label,
                f"{format_date(w.start_date)} – {format_date(w.end_date)}",
                w.focus,
                "; ".join(w.activities),
                "; ".join(w.success_checks),
            )
            for w in self.plan.weekly_plan
        ]
        return _table(("Weeks", "Dates", "Focus", "Activities", "Checks"), rows)

    def stakeholders(self) -> list[str]:
        rows = [
            (
                s.name,
                s.title,
                _who(s.role),
                s.side,
                s.email,
                s.engagement_frequency,
                s.channel,
                s.focus,
            )
            for s in self.plan.stakeholders
        ]
        headers = ("Name", "Title", "Role", "Side", "Email", "How often", "Channel", "Focus")
        return _table(headers, rows)

    def raci(self) -> list[str]:
        rows = [
            (r.activity, _people(r.responsible), _who(r.accountable), _people(r.consulted), _people(r.informed))
            for r in self.plan.raci
        ]
        legend = ["R responsible · A accountable · C consulted · I informed", ""]
        table = _table(("Activity", "R", "A", "C", "I"), rows, keep_empty=True)
        return legend + table if table else []

    def meetings(self) -> list[str]:
        meetings = sorted(self.plan.meetings, key=lambda m: (m.date, m.day))
        rows = [
            (
                m.title + self.mark(m.customer_visible),
                format_date(m.date),
                f"{m.duration_minutes} min",
                _repeats(m),
                _people(m.attendees),
                "; ".join(f"{a.item} ({a.minutes})" for a in m.agenda),
            )
            for m in meetings
            if self.shown(m.customer_visible)
        ]
        table = _table(("Meeting", "First", "Length", "Repeats", "Attendees", "Agenda (minutes)"), rows)
        return table

    def communications(self) -> list[str]:
        comms = sorted(self.plan.communications, key=lambda c: (c.date, c.send_day))
        rows = [
            (
                format_date(c.date),
                c.name + self.mark(c.customer_visible),
                c.subject,
                _people(c.recipients),
                "; ".join(c.key_points),
            )
            for c in comms
            if self.shown(c.customer_visible)
        ]
        return _table(("Send", "Message", "Subject", "To", "Key points"), rows)

    def risks(self) -> list[str]:
        table = _table(
            ("Risk", "Probability", "Mitigation", "Owner"),
            [
                (r.risk, r.probability, r.mitigation, _who(r.owner) if r.owner else "")
                for r in self.plan.risks
                if self.internal or r.customer_visible
            ],
        )
        return self.join_blocks(
            table,
            self.labelled("Early warning signs", _bullets(self.plan.early_warning_signs)),
            self.labelled("If a warning sign appears", _bullets(self.plan.escalation_steps, numbered=True)),
        )

    def scorecard(self) -> list[str]:
        rows = [(s.criterion, s.target, "", "") for s in self.plan.scorecard]
        table = _table(("Criterion", "Target", "Actual", "Status"), rows, keep_empty=True)
        return ["Filled in at the day-90 review.", "", *table] if table else []

    def criteria(self) -> list[str]:
        return [
            f"- **{_inline(c.label)}** ({format_date(c.date)}): {_inline('; '.join(c.criteria))}"
            for c in self.plan.success_criteria_by_phase
        ]

    def resources(self) -> list[str]:
        items = []
        for r in self.plan.resources:
            details = ", ".join(v for v in (r.format, f"for {r.audience}" if r.audience else None) if v)
            items.append(f"{r.name} ({details})" if details else r.name)
        return _bullets(items)

    def celebrations(self) -> list[str]:
        return _bullets(f"{c.milestone}: {c.how}" for c in self.plan.celebrations)

    def transition(self) -> list[str]:
        t, rp = self.plan.transition, self.plan.recovery_protocol
        lines = ["- **Steady state:** " + _inline("; ".join(f"{c.activity} ({c.frequency})" for c in t.cadence))]
        if t.self_service:
            lines.append("- **Self-service:** " + _inline(", ".join(t.self_service)))
        reset = _inline(rp.reset)
        if f"{rp.reset_minutes}-minute" not in reset or f"{rp.rescue_plan_days}-day" not in reset:
            reset += f" ({rp.reset_minutes}-minute reset, {rp.rescue_plan_days}-day rescue plan)"
        lines += [f"- **Recovery trigger:** {_inline(rp.trigger)}", f"- **Recovery:** {reset}"]
        return lines

    def open_questions(self) -> list[str]:
        lines = []
        for i, q in enumerate(self.plan.open_questions, 1):
            ask = f" Ask: {_inline(q.ask)}." if q.ask else ""
            lines.append(f"{i}. {_inline(q.question)} *Why it matters: {_inline(q.why_it_matters)}*{ask}")
        return lines

    def internal_section(self) -> list[str]:
        return self.join_blocks(
            self.labelled("Notes", _bullets(self.plan.internal_notes)),
            self.labelled("Expansion signals", _bullets(self.plan.expansion_signals)),
        )
