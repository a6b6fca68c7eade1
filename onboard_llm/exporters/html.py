"""HTML one-pager of a dated plan: standalone, offline and print-friendly.

One file with inline CSS and an inline SVG timeline: no scripts, no web fonts,
no external resources, so it opens from disk, prints on A4 or Letter and can be
mailed as an attachment. Every piece of plan text is escaped (notes-derived text
may contain markup). The ``customer`` audience drops what the Markdown one-pager
drops: items flagged ``customer_visible: false``, risks hidden from the
customer, the sales promises, internal notes and expansion signals.

The timeline's x-axis runs from day 1 to the last phase's end day; nothing on
the page depends on today's date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from html import escape

from onboard_llm.errors import BadInputError
from onboard_llm.exporters.markdown import (
    _PROVENANCE,
    AUDIENCES,
    Audience,
    _amount,
    _people,
    _repeats,
    _who,
    format_date,
)
from onboard_llm.schema import DatedMeeting, DatedMilestone, DatedPhase, OnboardingPlan

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_REVIEW_KINDS = frozenset({"review_30", "review_60", "review_90", "executive_review"})
_PHASE_COLOURS = ("#2f6fb0", "#2e8b6f", "#b0662f", "#7a4fb0", "#b03f5e")

_CSS = """
*{box-sizing:border-box}
html{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{margin:0;background:#fff;color:#1d232b;
 font:13px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1100px;margin:0 auto;padding:24px 28px 40px}
header.plan-header{border-bottom:3px solid #2f6fb0;padding-bottom:10px;margin-bottom:14px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:16px;margin:22px 0 8px;padding-bottom:3px;border-bottom:1px solid #d5dbe3;color:#17324f}
h3{font-size:14px;margin:14px 0 6px}
p{margin:4px 0 8px}
.facts{display:flex;flex-wrap:wrap;gap:4px 18px;margin:0;padding:0;list-style:none;color:#3b4756}
.facts b{color:#1d232b}
.note{color:#5b6776;font-size:12px}
.goal{font-size:15px;font-weight:600;background:#f1f5fa;border-left:4px solid #2f6fb0;padding:8px 12px;margin:0}
table{width:100%;border-collapse:collapse;margin:4px 0 10px;font-size:12px}
th,td{text-align:left;vertical-align:top;padding:4px 6px;border-bottom:1px solid #e1e6ec}
th{background:#f1f5fa;font-weight:600;color:#17324f}
td.num{white-space:nowrap}
.badge{display:inline-block;font-size:10px;font-weight:600;line-height:1;padding:2px 5px;margin-left:4px;
 border-radius:8px;background:#fbe7d3;color:#8a4a12;vertical-align:1px}
.prob-high{color:#a3202e;font-weight:600}.prob-medium{color:#8a5a00}.prob-low{color:#2e6b3f}
ul,ol{margin:4px 0 8px;padding-left:20px}
li{margin:2px 0}
blockquote{margin:4px 0 6px;padding:2px 10px;border-left:3px solid #c9d2dd;color:#4a5563;font-style:italic}
figure.timeline{margin:6px 0 4px}
figure.timeline svg{display:block;width:100%;height:auto}
figcaption{font-size:11px;color:#5b6776;margin-top:4px}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:11px;color:#3b4756;margin:4px 0 0}
.legend span::before{content:"";display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:-1px}
.lg-phase::before{background:#2f6fb0;border-radius:2px}
.lg-milestone::before{background:#1d232b;transform:rotate(45deg) scale(.8)}
.lg-review::before{background:#d2462f;border-radius:50%}
.lg-meeting::before{width:3px!important;background:#17324f}
.lg-repeat::before{width:2px!important;height:7px!important;background:#7d8896}
.goals article{margin:0 0 10px}
.internal-section{border:1px dashed #c98a4b;background:#fffaf3;padding:4px 12px 8px;margin-top:22px}
footer{margin-top:24px;font-size:11px;color:#5b6776}
@page{margin:12mm}
@media print{
 body{font-size:10.5px}
 main{max-width:none;padding:0}
 h1{font-size:20px}
 h2{font-size:13.5px;margin-top:14px;break-after:avoid;page-break-after:avoid}
 h3{break-after:avoid;page-break-after:avoid}
 table{font-size:10px}
 tr,figure,blockquote,.goals article{break-inside:avoid;page-break-inside:avoid}
 thead{display:table-header-group}
}
"""


def render_html(plan: OnboardingPlan, *, audience: Audience = "internal") -> str:
    """Render ``plan`` as a standalone HTML one-pager for the given audience."""
    if audience not in AUDIENCES:
        raise BadInputError(f"unknown audience {audience!r}; choose one of: {', '.join(AUDIENCES)}")
    return _Page(plan, internal=audience == "internal").render()


# -- small helpers ------------------------------------------------------------


def _e(value: object) -> str:
    """Escaped text for element content and quoted attributes."""
    return escape("" if value is None else str(value), quote=True)


def _short_date(day: dt.date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]}"


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, numeric: Iterable[int] = ()) -> str:
    """A table from already-escaped cell HTML; columns empty in every row are dropped."""
    if not rows:
        return ""
    keep = [i for i in range(len(headers)) if any(row[i] for row in rows)]
    nums = set(numeric)
    head = "".join(f'<th scope="col">{_e(headers[i])}</th>' for i in keep)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="num">{row[i]}</td>' if i in nums else f"<td>{row[i]}</td>" for i in keep)
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _list(items: Iterable[str], *, ordered: bool = False) -> str:
    lis = "".join(f"<li>{_e(' '.join(t.split()))}</li>" for t in items if t.strip())
    if not lis:
        return ""
    tag = "ol" if ordered else "ul"
    return f"<{tag}>{lis}</{tag}>"


def _is_review(meeting: DatedMeeting) -> bool:
    return meeting.kind in _REVIEW_KINDS


# -- the timeline -------------------------------------------------------------


class _Timeline:
    """An inline SVG Gantt chart: phase bars, milestone diamonds, meeting ticks."""

    width = 1000
    label_w = 300  # left column with row labels
    right_pad = 24
    row_h = 20
    axis_h = 42
    group_h = 22

    def __init__(
        self, phases: Sequence[DatedPhase], milestones: Sequence[DatedMilestone], meetings: Sequence[DatedMeeting]
    ) -> None:
        self.phases = phases
        self.milestones = sorted(milestones, key=lambda m: (m.day, m.name))
        self.meetings = sorted(meetings, key=lambda m: (not _is_review(m), m.day, m.title))
        self.last_day = max([p.end_day for p in phases] or [1])
        self.first_day = 1
        self.span = max(self.last_day - self.first_day + 1, 1)
        self.out: list[str] = []

    def x(self, day: float) -> float:
        """Left edge of ``day``; ``x(day + 0.5)`` is its middle."""
        chart_w = self.width - self.label_w - self.right_pad
        clamped = min(max(day, self.first_day), self.last_day + 1)
        return round(self.label_w + (clamped - self.first_day) / self.span * chart_w, 1)

    def mid(self, day: int) -> float:
        return self.x(day + 0.5)

    def render(self) -> str:
        n_rows = len(self.phases) + len(self.milestones) + len(self.meetings)
        groups = sum(1 for g in (self.phases, self.milestones, self.meetings) if g)
        height = self.axis_h + n_rows * self.row_h + groups * self.group_h + 10
        self.out = []
        self.background(height)
        y: float = self.axis_h
        y = self.phase_rows(y)
        y = self.milestone_rows(y)
        self.meeting_rows(y)
        title = f"Timeline: {len(self.phases)} phases, {len(self.milestones)} milestones, {len(self.meetings)} meetings"
        return (
            f'<svg viewBox="0 0 {self.width} {height}" role="img" '
            f'aria-label="{_e(title)}" font-family="system-ui,-apple-system,Segoe UI,Roboto,Arial,sans-serif" '
            f'font-size="11">' + "".join(self.out) + "</svg>"
        )

    def background(self, height: int) -> None:
        out = self.out
        top, bottom = self.axis_h - 6, height - 6
        for i, phase in enumerate(self.phases):
            x0, x1 = self.x(phase.start_day), self.x(phase.end_day + 1)
            fill = "#f4f7fb" if i % 2 == 0 else "#ffffff"
            out.append(f'<rect x="{x0}" y="{top}" width="{round(x1 - x0, 1)}" height="{bottom - top}" fill="{fill}"/>')
        # Week gridlines (day 1 is a calendar day; 7 plan days are a week).
        for week, day in enumerate(range(self.first_day, self.last_day + 1, 7), 1):
            x = self.x(day)
            out.append(f'<line x1="{x}" y1="{top}" x2="{x}" y2="{bottom}" stroke="#e3e8ee" stroke-width="0.8"/>')
            if week > 1 and week % 2 == 1:
                out.append(f'<text x="{x + 2}" y="{top - 2}" font-size="9" fill="#8a95a3">W{week}</text>')
        # Axis: each phase boundary with its real date, day numbers beneath.
        ticks: dict[int, dt.date] = {}
        for phase in self.phases:
            ticks.setdefault(phase.start_day, phase.start_date)
        last = max(self.phases, key=lambda p: p.end_day, default=None)
        out.append(
            f'<line x1="{self.label_w}" y1="{top}" x2="{self.x(self.last_day + 1)}" y2="{top}" stroke="#9aa5b3"/>'
        )
        for day, date in sorted(ticks.items()):
            x = self.x(day)
            out.append(f'<line x1="{x}" y1="{top - 18}" x2="{x}" y2="{bottom}" stroke="#9aa5b3" stroke-width="0.8"/>')
            out.append(f'<text x="{x + 3}" y="12" font-weight="600" fill="#17324f">{_e(_short_date(date))}</text>')
            out.append(f'<text x="{x + 3}" y="24" font-size="9.5" fill="#5b6776">day {day}</text>')
        if last is not None:
            x = self.x(last.end_day + 1)
            out.append(f'<line x1="{x}" y1="{top - 18}" x2="{x}" y2="{bottom}" stroke="#9aa5b3" stroke-width="0.8"/>')
            out.append(
                f'<text x="{x - 3}" y="12" text-anchor="end" font-weight="600" fill="#17324f">'
                f"{_e(_short_date(last.end_date))}</text>"
                f'<text x="{x - 3}" y="24" text-anchor="end" font-size="9.5" fill="#5b6776">day {last.end_day}</text>'
            )
        # Review days: a dashed line from top to bottom, so milestones line up against them.
        for meeting in self.meetings:
            if _is_review(meeting):
                x = self.mid(meeting.day)
                out.append(
                    f'<line x1="{x}" y1="{top}" x2="{x}" y2="{bottom}" stroke="#d2462f" stroke-width="0.8" '
                    f'stroke-dasharray="3 3" opacity="0.6"/>'
                )

    def group(self, y: float, label: str) -> float:
        self.out.append(
            f'<text x="4" y="{y + 15}" font-size="10" font-weight="700" letter-spacing="0.06em" fill="#5b6776">'
            f"{_e(label.upper())}</text>"
        )
        return y + self.group_h

    def row_label(self, y: float, text: str, full: str, *, weight: str = "400", internal: bool = False) -> None:
        mark = ' <tspan font-size="9" font-weight="600" fill="#b0662f">internal</tspan>' if internal else ""
        self.out.append(
            f'<text x="12" y="{y + 14}" font-weight="{weight}" fill="#1d232b"><title>{_e(full)}</title>'
            f"{_e(_clip(text, 40 if internal else 50))}{mark}</text>"
        )

    def phase_rows(self, y: float) -> float:
        if not self.phases:
            return y
        y = self.group(y, "Phases")
        for i, phase in enumerate(self.phases):
            colour = _PHASE_COLOURS[i % len(_PHASE_COLOURS)]
            x0, x1 = self.x(phase.start_day), self.x(phase.end_day + 1)
            dates = f"{format_date(phase.start_date)} – {format_date(phase.end_date)}"
            self.row_label(y, phase.name, f"{phase.name}: {dates}", weight="600")
            self.out.append(
                f'<rect x="{x0 + 1}" y="{y + 3}" width="{max(round(x1 - x0 - 2, 1), 2)}" height="{self.row_h - 6}" '
                f'rx="3" fill="{colour}"><title>{_e(phase.name)}: {_e(dates)}</title></rect>'
            )
            chars = int((x1 - x0 - 10) / 6)
            if chars >= 6:
                self.out.append(
                    f'<text x="{x0 + 6}" y="{y + 14}" font-size="10.5" fill="#fff">'
                    f"{_e(_clip(f'{phase.name} · days {phase.start_day}–{phase.end_day}', chars))}</text>"
                )
            y += self.row_h
        return y

    def milestone_rows(self, y: float) -> float:
        if not self.milestones:
            return y
        y = self.group(y, "Milestones")
        for m in self.milestones:
            cx, cy = self.mid(m.day), y + self.row_h / 2
            owner = _who(m.owner)
            self.row_label(y, m.name, f"{m.name} · {owner} · {format_date(m.date)}", internal=not m.customer_visible)
            self.out.append(
                f'<line x1="{self.label_w}" y1="{cy}" x2="{cx}" y2="{cy}" stroke="#d5dbe3" stroke-dasharray="1 3"/>'
                f'<polygon points="{cx},{cy - 6} {cx + 6},{cy} {cx},{cy + 6} {cx - 6},{cy}" fill="#1d232b">'
                f"<title>{_e(m.name)} · {_e(format_date(m.date))} · {_e(owner)}</title></polygon>"
            )
            label = f"{_short_date(m.date)} · {_clip(owner, 22)}"
            if cx > self.width - 170:
                self.out.append(
                    f'<text x="{cx - 10}" y="{cy + 4}" text-anchor="end" font-size="9.5" fill="#3b4756">{_e(label)}</text>'
                )
            else:
                self.out.append(f'<text x="{cx + 10}" y="{cy + 4}" font-size="9.5" fill="#3b4756">{_e(label)}</text>')
            y += self.row_h
        return y

    def meeting_rows(self, y: float) -> float:
        if not self.meetings:
            return y
        y = self.group(y, "Meetings")
        for m in self.meetings:
            cy = y + self.row_h / 2
            days = m.occurrence_days()
            dates = m.occurrence_dates or [m.date]
            weight = "600" if _is_review(m) else "400"
            self.row_label(y, m.title, f"{m.title} · {_repeats(m)}", weight=weight, internal=not m.customer_visible)
            for day, date in zip(days, dates, strict=False):
                if day > self.last_day:
                    continue
                x = self.mid(day)
                tip = f"<title>{_e(m.title)} · {_e(format_date(date))}</title>"
                if _is_review(m):
                    self.out.append(
                        f'<circle cx="{x}" cy="{cy}" r="6.5" fill="#d2462f" stroke="#fff" stroke-width="1.5">{tip}</circle>'
                    )
                    left = x > self.width - 70
                    self.out.append(
                        f'<text x="{x - 10 if left else x + 10}" y="{cy + 4}" text-anchor="{"end" if left else "start"}" '
                        f'font-size="9.5" font-weight="600" fill="#a3202e">{_e(_short_date(date))}</text>'
                    )
                elif len(days) > 1:
                    self.out.append(
                        f'<line x1="{x}" y1="{cy - 4}" x2="{x}" y2="{cy + 4}" stroke="#7d8896" stroke-width="2">{tip}</line>'
                    )
                else:
                    self.out.append(f'<rect x="{x - 2}" y="{cy - 7}" width="4" height="14" fill="#17324f">{tip}</rect>')
            y += self.row_h
        return y


# -- the page -----------------------------------------------------------------


class _Page:
    def __init__(self, plan: OnboardingPlan, *, internal: bool) -> None:
        self.plan = plan
        self.internal = internal

    def shown(self, customer_visible: bool) -> bool:
        return self.internal or customer_visible

    def mark(self, customer_visible: bool) -> str:
        return "" if customer_visible else '<span class="badge">internal</span>'

    def render(self) -> str:
        c = self.plan.customer
        audience = "internal" if self.internal else "customer"
        title = f"{c.company}: 90-day onboarding plan"
        sections = [
            self.section("goal", "Primary goal", f'<p class="goal">{_e(self.plan.primary_goal)}</p>'),
            self.section("timeline-section", "Timeline", self.timeline()),
            self.section("metrics", "Success metrics", self.metrics()),
            self.section("goals", "Stated goals" if self.internal else "Your goals", self.goals()),
            self.section("outcomes", "Outcome brief", self.outcome_brief()),
            self.section("phases", "Plan by phase", self.phase_details()),
            self.section("stakeholders", "Stakeholders", self.stakeholders()),
            self.section("raci", "Who does what (RACI)", self.raci()),
            self.section("meetings", "Meetings", self.meetings()),
            self.section("risks", "Risks", self.risks()),
            self.section("open-questions", "Open questions", self.open_questions()),
        ]
        if self.internal:
            sections.append(self.internal_section())
        body = "\n".join(s for s in sections if s)
        return (
            "<!DOCTYPE html>\n"
            f'<html lang="en" data-audience="{audience}">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
            f"{self.header(title)}\n{body}\n"
            f"<footer>Generated by onboard-llm from the plan (schema {_e(self.plan.schema_version)}); "
            f"{'internal version' if self.internal else 'customer version'}.</footer>\n"
            "</main>\n</body>\n</html>\n"
        )

    @staticmethod
    def section(ident: str, title: str, body: str) -> str:
        if not body.strip():
            return ""
        return f'<section id="{ident}" aria-labelledby="{ident}-h"><h2 id="{ident}-h">{_e(title)}</h2>{body}</section>'

    def header(self, title: str) -> str:
        c = self.plan.customer
        end = max((p.end_date for p in self.plan.phases), default=c.start_date)
        facts = [
            f'<li><b>Start:</b> <time datetime="{c.start_date.isoformat()}">{_e(format_date(c.start_date))}</time></li>',
            f'<li><b>Through:</b> <time datetime="{end.isoformat()}">{_e(format_date(end))}</time></li>',
        ]
        facts += [f"<li>{_e(v)}</li>" for v in (c.product_tier, c.industry, c.size) if v]
        facts.append(f"<li>complexity {_e(c.implementation_complexity)}</li>")
        if c.csm:
            facts.append(f"<li><b>CSM:</b> {_e(c.csm)}</li>")
        notes = []
        if self.plan.holidays:
            notes.append(f"Dates skip weekends and {_e(self.plan.holidays)} holidays.")
        if self.internal:
            notes.append(
                'Internal version: items hidden from the customer are marked <span class="badge">internal</span>.'
            )
        extra = "".join(f'<p class="note">{n}</p>' for n in notes)
        return (
            f'<header class="plan-header"><h1>{_e(title)}</h1><ul class="facts">{"".join(facts)}</ul>{extra}</header>'
        )

    def timeline(self) -> str:
        milestones = [m for m in self.plan.all_milestones() if self.shown(m.customer_visible)]
        meetings = [m for m in self.plan.meetings if self.shown(m.customer_visible)]
        svg = _Timeline(self.plan.phases, milestones, meetings).render()
        legend = (
            '<p class="legend"><span class="lg-phase">phase</span><span class="lg-milestone">milestone</span>'
            '<span class="lg-review">review</span><span class="lg-meeting">meeting</span>'
            '<span class="lg-repeat">recurring session</span></p>'
        )
        last = max((p.end_day for p in self.plan.phases), default=1)
        caption = (
            f"<figcaption>Plan days 1–{last}; dates are business days. Hover an item for its full name and date."
            "</figcaption>"
        )
        return f'<figure class="timeline" id="timeline" data-testid="timeline">{svg}{legend}{caption}</figure>'

    def metrics(self) -> str:
        rows = [
            (
                _e(f"{m.name} ({_who(m.role)})" if m.role else m.name),
                _e(_amount(m.baseline, m.unit)),
                _e(_amount(m.target, m.unit)),
                f'<time datetime="{m.date.isoformat()}">{_e(format_date(m.date))}</time>',
                _e(_PROVENANCE[m.provenance]),
            )
            for m in self.plan.success_metrics
        ]
        return _table(("Metric", "Baseline", "Target", "By", "Source"), rows, numeric=(1, 2, 3))

    def goals(self) -> str:
        items = []
        for g in self.plan.stated_goals:
            quote = f"<blockquote>{_e(g.source_quote)}</blockquote>" if g.source_quote else ""
            items.append(
                f'<article><h3>{_e(g.goal)} <span class="note">· source: {_e(_PROVENANCE[g.provenance])}</span></h3>'
                f"{quote}<ul><li>Why it matters: {_e(g.why_it_matters)}</li>"
                f"<li>How the product helps: {_e(g.how_product_helps)}</li>"
                f"<li>Measure: {_e(g.success_measure)}</li></ul></article>"
            )
        return f'<div class="goals">{"".join(items)}</div>' if items else ""

    def outcome_brief(self) -> str:
        brief = self.plan.outcome_brief
        groups = (
            ("Outcomes", brief.desired_outcomes),
            # Promises are captured from sales notes, often in candid words: internal only.
            ("Commitments made in the sale", brief.promises if self.internal else []),
            ("Constraints", brief.constraints),
        )
        return "".join(f"<h3>{_e(label)}</h3>{_list(items)}" for label, items in groups if _list(items))

    def phase_details(self) -> str:
        parts = []
        for i, phase in enumerate(self.plan.phases, 1):
            milestones = _table(
                ("Date", "Milestone", "Owner", "Success check"),
                [
                    (
                        _e(format_date(m.date)),
                        _e(m.name) + self.mark(m.customer_visible),
                        _e(_who(m.owner)),
                        _e(m.success_check),
                    )
                    for m in phase.milestones
                    if self.shown(m.customer_visible)
                ],
                numeric=(0,),
            )
            tasks = _table(
                ("Due", "Task", "Owner"),
                [
                    (_e(format_date(t.date)), _e(t.title) + self.mark(t.customer_visible), _e(_who(t.owner)))
                    for t in phase.tasks
                    if self.shown(t.customer_visible)
                ],
                numeric=(0,),
            )
            title = (
                f"{i}. {phase.name}: {format_date(phase.start_date)} – {format_date(phase.end_date)}"
                f" (days {phase.start_day}–{phase.end_day})"
            )
            parts.append(f"<h3>{_e(title)}</h3>{_list(phase.objectives)}{milestones}{tasks}")
        return "".join(parts)

    def stakeholders(self) -> str:
        rows = [
            (
                _e(s.name),
                _e(s.title),
                _e(_who(s.role)),
                _e(s.side),
                _e(s.email),
                _e(s.engagement_frequency),
                _e(s.channel),
                _e(s.focus),
            )
            for s in self.plan.stakeholders
        ]
        return _table(("Name", "Title", "Role", "Side", "Email", "How often", "Channel", "Focus"), rows)

    def raci(self) -> str:
        rows = [
            (
                _e(r.activity),
                _e(_people(r.responsible)),
                _e(_who(r.accountable)),
                _e(_people(r.consulted)),
                _e(_people(r.informed)),
            )
            for r in self.plan.raci
        ]
        table = _table(("Activity", "Responsible", "Accountable", "Consulted", "Informed"), rows)
        return table

    def meetings(self) -> str:
        meetings = sorted(self.plan.meetings, key=lambda m: (m.date, m.day))
        rows = [
            (
                ("<b>" + _e(m.title) + "</b>" if _is_review(m) else _e(m.title)) + self.mark(m.customer_visible),
                _e(format_date(m.date)),
                _e(f"{m.duration_minutes} min"),
                _e(_repeats(m)),
                _e(_people(m.attendees)),
                _e("; ".join(f"{a.item} ({a.minutes})" for a in m.agenda)),
            )
            for m in meetings
            if self.shown(m.customer_visible)
        ]
        return _table(("Meeting", "First", "Length", "Repeats", "Attendees", "Agenda (minutes)"), rows, numeric=(1,))

    def risks(self) -> str:
        rows = [
            (
                _e(r.risk) + self.mark(r.customer_visible),
                f'<span class="prob-{_e(r.probability)}">{_e(r.probability)}</span>',
                _e(r.mitigation),
                _e(_who(r.owner)) if r.owner else "",
            )
            for r in self.plan.risks
            if self.shown(r.customer_visible)
        ]
        table = _table(("Risk", "Probability", "Mitigation", "Owner"), rows)
        warnings = _list(self.plan.early_warning_signs)
        steps = _list(self.plan.escalation_steps, ordered=True)
        return (
            table
            + (f"<h3>Early warning signs</h3>{warnings}" if warnings else "")
            + (f"<h3>If a warning sign appears</h3>{steps}" if steps else "")
        )

    def open_questions(self) -> str:
        items = []
        for q in self.plan.open_questions:
            ask = f" <b>Ask:</b> {_e(q.ask)}." if q.ask else ""
            items.append(f"<li>{_e(q.question)} <i>Why it matters: {_e(q.why_it_matters)}</i>{ask}</li>")
        return f"<ol>{''.join(items)}</ol>" if items else ""

    def internal_section(self) -> str:
        notes = _list(self.plan.internal_notes)
        signals = _list(self.plan.expansion_signals)
        body = (f"<h3>Notes</h3>{notes}" if notes else "") + (f"<h3>Expansion signals</h3>{signals}" if signals else "")
        if not body:
            return ""
        return (
            '<section id="internal" class="internal-section" aria-labelledby="internal-h">'
            f'<h2 id="internal-h">Internal</h2>{body}</section>'
        )
