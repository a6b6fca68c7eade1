"""Assemble a plan draft from what the notes say, on the seeds' 90-day playbook.

The result is a plain dict in the ``plan_draft`` shape; the offline provider
serialises it and it goes through the same parse and validation path as a
model's answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from onboard_llm.grounding import appears_in
from onboard_llm.inputs import HandoffInput
from onboard_llm.offline import playbook as pb
from onboard_llm.offline.extract import Facts, GoalFact, MetricFact, Tool, categorize, read_notes
from onboard_llm.offline.people import Person
from onboard_llm.schema import SCHEMA_VERSION

KICKOFF_DAY = 3
IDENTITY_TOOLS = ("okta", "entra", "azure ad", "active directory", "google sign-in", "google workspace", "onelogin", "ping")
_ENGAGEMENT = {
    "executive_sponsor": ("monthly, and at the 30/60/90 reviews", "video call", "outcomes, ROI and risks that need air cover"),
    "project_lead": ("weekly", "weekly check-in and Slack/email", "plan, owners, blockers"),
    "admin": ("weekly during setup", "email and working sessions", "access, integrations, configuration"),
    "champion": ("weekly", "office hours and chat", "team adoption and feedback from users"),
    "end_user": ("at training and office hours", "training sessions", "daily workflows"),
    "csm": ("weekly", "check-ins, email", "the 90-day plan and its outcomes"),
    "account_executive": ("at kickoff and reviews", "email", "promises made in sales, expansion"),
    "support": ("as needed", "support tickets", "issues and fixes"),
    "other": ("as needed", "email", "their part of the rollout"),
}


def _num(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


def _amount(value: float, unit: str) -> str:
    if unit == "USD":
        return f"${_num(value)}"
    if unit.startswith("%"):
        return f"{_num(value)}{unit}"
    return f"{_num(value)} {unit}"


def metric_goal(metric: MetricFact) -> str:
    """A goal sentence from a metric: 'Bring no-show rate from 11% to 6%'."""
    name = metric.name[0].lower() + metric.name[1:] if not metric.name[:2].isupper() else metric.name
    if metric.relative:
        verb = "Cut" if "reduction" in metric.unit else "Grow"
        return f"{verb} {name} by {_num(metric.target)}%"
    if metric.baseline is not None:
        return f"Bring {name} from {_amount(metric.baseline, metric.unit)} to {_amount(metric.target, metric.unit)}"
    if metric.comparator == "under":
        return f"Get {name} under {_amount(metric.target, metric.unit)}"
    if metric.comparator == "at least":
        return f"Get {name} to at least {_amount(metric.target, metric.unit)}"
    return f"Reach {_amount(metric.target, metric.unit)}: {name}"


def _short(text: str, limit: int = 90) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _slug(text: str, limit: int = 18) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "item"


@dataclass
class _Cast:
    """Who owns what: names where the notes give them, roles where they do not."""

    sponsor: str
    lead: str
    admin: str
    champion: str
    csm: str
    ae: str
    engineer: str
    has_sponsor: bool
    has_lead: bool

    @classmethod
    def from_people(cls, people: list[Person]) -> _Cast:
        def pick(side: str, *roles: str) -> Person | None:
            for role in roles:
                for p in people:
                    if p.side == side and p.role == role:
                        return p
            return None

        sponsor = pick("customer", "executive_sponsor")
        lead = pick("customer", "project_lead")
        admin = pick("customer", "admin") or lead
        champion = pick("customer", "champion")
        csm = pick("vendor", "csm")
        ae = pick("vendor", "account_executive")
        engineer = next(
            (p for p in people if p.side == "vendor" and p.role == "other" and re.search(r"engineer|\bSE\b|implementation", p.title or "", re.I)),
            None,
        )
        return cls(
            sponsor=sponsor.name if sponsor else "executive_sponsor",
            lead=lead.name if lead else "project_lead",
            admin=admin.name if admin else "admin",
            champion=champion.name if champion else "champion",
            csm=csm.name if csm else "csm",
            ae=ae.name if ae else "account_executive",
            engineer=engineer.name if engineer else "solutions_engineer",
            has_sponsor=sponsor is not None,
            has_lead=lead is not None,
        )


class PlanBuilder:
    """Builds one plan draft from the facts of one handoff."""

    def __init__(self, handoff: HandoffInput, facts: Facts) -> None:
        self.h = handoff
        self.f = facts
        self.source = handoff.source_text
        self.cast = _Cast.from_people(facts.people)
        # "Harbordesk Professional + AI Assist pilot" reads as "Harbordesk Professional" in a sentence.
        self.product = re.split(r"\s+\+\s+|\s*\(|;", facts.product)[0].strip() if facts.product else "the product"
        self.core = [t for t in facts.tools if t.status == "core"]
        self.replaced = [t for t in facts.tools if t.status == "replaced"]
        self.later = [t for t in facts.tools if t.status == "later"]
        self.ids: set[str] = set()
        self.open_questions: list[dict[str, Any]] = []

    # -- helpers ---------------------------------------------------------------

    def uid(self, prefix: str, text: str) -> str:
        base = f"{prefix}-{_slug(text)}"
        candidate, n = base, 2
        while candidate in self.ids:
            candidate, n = f"{base}-{n}", n + 1
        self.ids.add(candidate)
        return candidate

    def quote(self, text: str | None) -> str | None:
        """The text as a source quote when it is verbatim in the notes, else None."""
        if text and appears_in(text, self.source):
            return text.strip()
        return None

    def ask(self, question: str, why: str, who: str | None = None) -> None:
        if not any(q["question"] == question for q in self.open_questions):
            self.open_questions.append({"question": question, "why_it_matters": why, "ask": who})

    def free_after(self, tool: Tool, day: int) -> int:
        """The first day the tool can be touched, after any freeze window that names it."""
        first_word = tool.name.split()[0].lower()
        for window in self.f.windows:
            text = window.what.lower()
            if first_word in text or not any(t.name.split()[0].lower() in text for t in self.f.tools):
                if window.start_day <= day <= window.end_day or window.start_day <= 1 <= window.end_day:
                    day = max(day, window.end_day + 2)
        return day

    # -- sections ----------------------------------------------------------------

    def metrics(self) -> list[dict[str, Any]]:
        out = []
        for m in self.f.metrics[:5]:
            out.append(
                {
                    "name": m.name,
                    "target": m.target,
                    "unit": m.unit,
                    "by_day": m.by_day,
                    "baseline": m.baseline,
                    "role": None,
                    "source_quote": self.quote(m.quote),
                    "provenance": m.provenance if self.quote(m.quote) else "assumption",
                }
            )
            if m.beyond_window:
                self.ask(
                    f"'{m.name}' is aimed at '{m.beyond_window}', past day 90: what should the day-90 checkpoint be?",
                    "The 90-day plan needs a checkpoint it can actually reach and show at the executive review.",
                    self.cast.sponsor,
                )
        defaults = [
            ("Time to first value", 30.0, "days", 30),
            ("Customer-visible milestones delivered on time", 100.0, "%", 90),
            ("Onboarding completed within", 90.0, "days", 90),
        ]
        for name, target, unit, day in defaults:
            if len(out) >= 3:
                break
            out.append(
                {"name": name, "target": target, "unit": unit, "by_day": day, "baseline": None, "role": None,
                 "source_quote": None, "provenance": "playbook_default"}
            )
        if not self.f.metrics:
            self.ask(
                "Which numbers will show the customer that onboarding worked (targets and where they are today)?",
                "The notes give no measurable target, so the plan uses playbook defaults until the customer names theirs.",
                self.cast.lead,
            )
        return out

    def goal_text(self, goal: GoalFact) -> str:
        if goal.metric is not None:
            return metric_goal(goal.metric)
        text = pb.GOAL_TEXT.get(goal.category, pb.GOAL_TEXT["outcome"]).format(product=self.product)
        if goal.category == "cutover" and self.replaced:
            text = f"Move off {self.replaced[0].name} before its contract runs out"
        return text

    def stated_goals(self) -> list[dict[str, Any]]:
        out = []
        for goal in self.f.goals[:5]:
            metric = goal.metric
            measure = (
                f"{metric.name}: {_amount(metric.target, metric.unit)} by day {metric.by_day}"
                if metric
                else "A measure agreed with the customer at kickoff (see open questions)"
            )
            if metric is None:
                self.ask(
                    f"How will we measure '{self.goal_text(goal)}'? The notes say: \"{_short(goal.quote, 80)}\"",
                    "A goal without a number cannot be shown as met at the day-90 review.",
                    goal.speaker or self.cast.lead,
                )
            why = pb.WHY_TEXT.get(goal.category, pb.WHY_TEXT["outcome"])
            speaker = next((p for p in self.f.people if p.name == goal.speaker), None)
            if speaker is not None:
                why = f"{speaker.name}{f' ({speaker.title})' if speaker.title else ''} raised it. {why}"
            quote = self.quote(goal.quote)
            out.append(
                {
                    "goal": self.goal_text(goal),
                    "why_it_matters": why,
                    "how_product_helps": f"{self.product}: {pb.HOW_TEXT.get(goal.category, pb.HOW_TEXT['outcome'])}",
                    "success_measure": measure,
                    "source_quote": quote,
                    "provenance": ("context" if metric and metric.provenance == "context" else "notes") if quote else "assumption",
                }
            )
        if not out:
            out.append(
                {
                    "goal": pb.GOAL_TEXT["adoption"].format(product=self.product),
                    "why_it_matters": pb.WHY_TEXT["adoption"],
                    "how_product_helps": f"{self.product}: {pb.HOW_TEXT['adoption']}",
                    "success_measure": "Weekly active use by role, target agreed at kickoff",
                    "source_quote": None,
                    "provenance": "playbook_default",
                }
            )
            self.ask(
                "What does the customer most want to achieve in the first 90 days, in their words?",
                "The notes state no goal, so the plan falls back to adoption until the customer names an outcome.",
                self.cast.ae,
            )
        return out

    def primary_goal(self, goals: list[dict[str, Any]]) -> str:
        top = goals[0]["goal"]
        deadline = self.cutover_day()
        if deadline is not None and self.replaced:
            return f"Go live on {self.product} and switch off {self.replaced[0].name} by day {deadline}, then: {top[0].lower() + top[1:]}"
        return f"{top} within 90 days"

    def cutover_day(self) -> int | None:
        for deadline in self.f.deadlines:
            if re.search(r"contract|expires|ends|switch|renew", deadline.what, re.I) and 1 <= deadline.day <= 90:
                return max(deadline.day - 3, 61) if deadline.day > 61 else deadline.day
        return None

    def stakeholders(self) -> list[dict[str, Any]]:
        out = []
        for p in self.f.people:
            frequency, channel, focus = _ENGAGEMENT.get(p.role, _ENGAGEMENT["other"])
            out.append(
                {
                    "name": p.name,
                    "title": p.title,
                    "role": p.role,
                    "side": p.side,
                    "email": p.email if p.email and appears_in(p.email, self.source) else None,
                    "engagement_frequency": frequency,
                    "channel": channel,
                    "focus": focus,
                }
            )
        if not self.cast.has_sponsor:
            self.ask(
                "Who is the customer's executive sponsor?",
                "The playbook needs an executive on each side for the day-90 review and for any recovery plan.",
                self.cast.ae,
            )
        if not self.cast.has_lead:
            self.ask(
                "Who leads the project day to day on the customer's side?",
                "Every customer task needs an owner; without one the plan assigns them to 'project_lead'.",
                self.cast.ae,
            )
        if not any(p.side == "vendor" and p.role == "csm" for p in self.f.people):
            self.ask("Who is the assigned CSM?", "The CSM owns the plan, the check-ins and the reviews.", None)
        return out

    def raci(self) -> list[dict[str, Any]]:
        c = self.cast
        tools = ", ".join(t.name for t in self.core[:5]) or "access and configuration"
        rows = [
            ("Onboarding plan, weekly check-ins and reviews", [c.csm], c.csm, [c.lead], [c.sponsor]),
            (f"Technical setup: {tools}", [c.admin, c.engineer], c.lead, [c.csm], [c.sponsor]),
            ("Role-based training and recordings", [c.csm], c.lead, [c.champion], [c.sponsor]),
            ("Adoption targets and weekly usage snapshot", [c.csm, c.champion], c.lead, [c.admin], [c.sponsor]),
        ]
        if self.replaced:
            rows.append((f"Data migration from {self.replaced[0].name}", [c.engineer, c.admin], c.lead, [c.csm], [c.sponsor]))
        if any(re.search(r"security|infosec|third-party risk|soc 2", x, re.I) for x in self.f.constraints + self.f.risks):
            rows.append(("Security review and sign-off", [c.csm, c.engineer], c.lead, [c.admin], [c.sponsor]))
        rows.append(("ROI summary and executive review", [c.csm], c.sponsor, [c.lead], [c.ae]))
        out = []
        for activity, responsible, accountable, consulted, informed in rows:
            r = list(dict.fromkeys(responsible))
            out.append(
                {
                    "activity": activity,
                    "responsible": r,
                    "accountable": accountable,
                    "consulted": [x for x in dict.fromkeys(consulted) if x not in r and x != accountable],
                    "informed": [x for x in dict.fromkeys(informed) if x not in r and x != accountable],
                }
            )
        return out

    def phases(self, goals: list[GoalFact]) -> list[dict[str, Any]]:
        c = self.cast
        category = goals[0].category if goals else "adoption"
        replaced = self.replaced[0].name if self.replaced else "the old system"
        m: dict[str, list[dict[str, Any]]] = {"p1": [], "p2": [], "p3": []}
        t: dict[str, list[dict[str, Any]]] = {"p1": [], "p2": [], "p3": []}

        def milestone(phase: str, name: str, day: int, owner: str, check: str, visible: bool = True, deps: list[str] | None = None) -> str:
            mid = self.uid("m", name)
            m[phase].append({"id": mid, "name": name, "day": day, "owner": owner, "success_check": check,
                             "customer_visible": visible, "depends_on": deps or []})
            return mid

        def task(phase: str, title: str, day: int, owner: str, deps: list[str] | None = None, visible: bool = True) -> str:
            tid = self.uid("t", title)
            t[phase].append({"id": tid, "title": title, "owner": owner, "due_day": day, "depends_on": deps or [],
                             "customer_visible": visible})
            return tid

        # Phase 1: setup and training.
        welcome = task("p1", "Send the welcome email and kickoff invite", 1, c.csm)
        brief = task("p1", "Share the outcome brief and RACI internally", 1, c.csm, visible=False)
        kickoff = milestone("p1", "Kickoff held; outcomes and plan confirmed", KICKOFF_DAY, c.csm,
                            "Customer confirms goals, owners and the weekly check-in slot", deps=[welcome, brief])
        users = task("p1", "Provide the user list with roles", 5, c.lead, [kickoff])
        identity = next((tool for tool in self.core if tool.name.lower().startswith(IDENTITY_TOOLS)), None)
        access_day = min(self.free_after(identity, 10), 24) if identity else 10
        access_name = f"Sign-in through {identity.name} live; users can log in" if identity else "Users provisioned and able to log in"
        access = milestone("p1", access_name, access_day, c.admin, "Every user on the list logs in once", deps=[users])
        admin_trained = milestone("p1", "Admins trained and confident", min(access_day + 2, 26), c.csm,
                                  "The admin adds a user and changes a setting without help", deps=[access])
        integration_ids = []
        day = 12
        for tool in [tl for tl in self.core if tl is not identity][:4]:
            start = min(self.free_after(tool, day), 26)
            grant = task("p1", f"Grant access for the {tool.name} integration", max(start - 4, 4), c.admin, [kickoff])
            integration_ids.append(
                milestone("p1", f"{tool.name} connected and syncing", start, c.engineer,
                          f"Test records flow between {tool.name} and {self.product} without errors", deps=[grant])
            )
            day += 3
        if self.replaced:
            export = task("p1", f"Export a data sample and field list from {replaced}", 6, c.admin, [kickoff])
            task("p1", f"First test migration from {replaced} reviewed", 20, c.engineer, [export])
        if any(re.search(r"security|infosec|third-party risk|soc 2|questionnaire", x, re.I) for x in self.f.constraints + self.f.risks):
            task("p1", "Send the security pack and answer the questionnaire", 5, c.csm, [kickoff])
        training = task("p1", "Run and record role-based end-user training", 14, c.csm, [admin_trained])
        first_value = milestone(
            "p1",
            pb.FIRST_VALUE.get(category, pb.FIRST_VALUE["outcome"]).format(product=self.product, replaced=replaced),
            28, c.lead, "The customer names the result in the day-30 review",
            deps=[training, *integration_ids[:2]],
        )
        task("p1", "Prepare the day-30 review: usage, early wins, blockers", 29, c.csm, [first_value])

        # Phase 2: adoption.
        targets = milestone("p2", "Adoption targets set for each role", 33, c.lead,
                            "Each role has a weekly-active and key-feature target in writing", deps=[first_value])
        task("p2", "Start the weekly usage snapshot to the project lead", 35, c.csm, [targets])
        champions_day = 40
        champion_risk = any(re.search(r"retir|leav|parental", r, re.I) for r in self.f.risks)
        milestone("p2", "Second champion named and trained" if champion_risk else "Two or three power users named as champions",
                  champions_day, c.champion, "Champions run a session for their peers", deps=[targets])
        if self.replaced:
            task("p2", f"Second test migration from {replaced} signed off", 45, c.lead)
        second = next((g for g in goals[1:] if g.metric is None), None)
        milestone("p2", f"Second use case live: {_short(self.goal_text(second), 60)}" if second else "Second workflow live",
                  50, c.lead, "The workflow runs in production for at least one team", deps=[targets])
        task("p2", "Send the day-60 pulse survey", 56, c.csm, [targets])
        for metric in self.f.metrics[:5]:
            if 31 <= metric.by_day <= 60:
                milestone("p2", f"{metric.name} at {_amount(metric.target, metric.unit)}", metric.by_day, c.lead,
                          "Measured in the usage snapshot")

        # Phase 3: value review.
        cut = self.cutover_day()
        if self.replaced and cut is not None:
            phase = "p1" if cut <= 30 else "p2" if cut <= 60 else "p3"
            milestone(phase, f"Cut over: {replaced} switched off", cut, c.lead,
                      f"All users work in {self.product}; no new records in {replaced}")
        for deadline in self.f.deadlines:
            if 1 <= deadline.day <= 90 and not re.search(r"contract|expires|ends|renew", deadline.what, re.I):
                phase = "p1" if deadline.day <= 30 else "p2" if deadline.day <= 60 else "p3"
                milestone(phase, f"Customer date met: {_short(deadline.what, 60)}", max(deadline.day - 1, 1) if deadline.day > 1 else 1,
                          c.lead, "Confirmed with the customer before the date")
        roi_data = task("p3", "Collect the before-and-after numbers for each goal", 75, c.lead)
        roi = milestone("p3", "ROI and adoption summary drafted against the original outcomes", 82, c.csm,
                        "Two pages the sponsor agrees with before the review", deps=[roi_data])
        task("p3", "Book the executive review with both sponsors", 70, c.csm)
        milestone("p3", "Executive value review held", 90, c.sponsor,
                           "Sponsor confirms outcomes reached and next-quarter priorities", deps=[roi])
        task("p3", "Agree the steady-state cadence and hand over resources", 88, c.csm, [roi])
        task("p3", "Review expansion signals (only if adoption is healthy)", 89, c.ae, [roi], visible=False)
        for metric in self.f.metrics[:5]:
            if 61 <= metric.by_day <= 90:
                milestone("p3", f"{metric.name} at {_amount(metric.target, metric.unit)}", metric.by_day, c.lead,
                          "Shown in the ROI summary")

        def phase(pid: str, name: str, start: int, end: int, objectives: list[str]) -> dict[str, Any]:
            return {"id": pid, "name": name, "start_day": start, "end_day": end, "objectives": objectives,
                    "milestones": sorted(m[pid], key=lambda x: x["day"]), "tasks": sorted(t[pid], key=lambda x: x["due_day"])}

        setup_objectives = ["Access and integrations working" + (f" ({', '.join(x.name for x in self.core[:4])})" if self.core else ""),
                            "Role-based training delivered and recorded", "Reach the first time-to-first-value event"]
        if self.replaced:
            setup_objectives.insert(1, f"Migration from {replaced} tested")
        return [
            phase("p1", "Setup and training", 1, 30, setup_objectives),
            phase("p2", "Adoption and usage", 31, 60,
                  ["Adoption targets by role", "Weekly usage snapshot to the project lead",
                   "Usage intervention when a role misses its target two weeks running"]),
            phase("p3", "Value review and executive alignment", 61, 90,
                  ["ROI and adoption summary against the original outcomes", "60-minute executive review",
                   "Expansion discussed only if adoption is healthy"]),
        ]

    def weekly_plan(self, goals: list[GoalFact]) -> list[dict[str, Any]]:
        tools = ", ".join(t.name for t in self.core[:3])
        first = self.goal_text(goals[0]) if goals else "the primary use case"
        return [
            {"label": "Week 1", "start_day": 1, "end_day": 7, "focus": "Kickoff and foundation",
             "activities": ["Internal handoff", "Kickoff", "Accounts provisioned", "Admin training"],
             "success_checks": ["Kickoff recap sent within a day", "Admins can log in"]},
            {"label": "Weeks 2-3", "start_day": 8, "end_day": 21, "focus": f"Core workflow: {_short(first, 60)}",
             "activities": [f"Integrations: {tools}" if tools else "Configuration", "End-user training", "Office hours"],
             "success_checks": ["Users active weekly", "Core workflow executed end to end"]},
            {"label": "Weeks 4-6", "start_day": 22, "end_day": 42, "focus": "First value and adoption targets",
             "activities": ["Day-30 review", "Adoption targets by role", "Champions named"],
             "success_checks": ["First value event logged", "Targets agreed per role"]},
            {"label": "Weeks 7-9", "start_day": 43, "end_day": 63, "focus": "Value realisation",
             "activities": ["Second use case", "Day-60 pulse", "Day-60 review"],
             "success_checks": ["Measurable business outcome", "Pulse is positive"]},
            {"label": "Weeks 10-12", "start_day": 64, "end_day": 90, "focus": "Optimisation and transition",
             "activities": ["ROI summary", "Executive review", "Steady-state cadence agreed"],
             "success_checks": ["Customer can state the ROI", "Transition accepted"]},
        ]

    def meetings(self) -> list[dict[str, Any]]:
        c = self.cast

        def meeting(kind: str, title: str, day: int, minutes: int, agenda: list[tuple[str, int]], attendees: list[str],
                    visible: bool = True, every: int | None = None, until: int | None = None) -> dict[str, Any]:
            return {"id": self.uid("mt", title), "kind": kind, "title": title, "day": day, "duration_minutes": minutes,
                    "attendees": list(dict.fromkeys(attendees)), "agenda": [{"item": i, "minutes": n} for i, n in agenda],
                    "customer_visible": visible, "repeat_every_days": every, "repeat_until_day": until}

        customer = [x for x in (c.sponsor, c.lead, c.admin, c.champion) if x not in ("executive_sponsor",)]
        out = [
            meeting("internal_handoff", "Internal handoff", 1, 30, pb.HANDOFF_AGENDA, [c.ae, c.csm, c.engineer], visible=False),
            meeting("kickoff", "Customer kickoff", KICKOFF_DAY, 60, pb.kickoff_agenda(bool(self.f.risks)), [c.csm, c.ae, *customer]),
            meeting("training", "Admin training", 5, 60, [("Settings and user management", 25), ("Reporting basics", 20), ("Rollout practices", 15)], [c.csm, c.admin]),
            meeting("training", "End-user training (recorded)", 14, 45, [("Core workflow", 25), ("Common mistakes", 10), ("Questions", 10)], [c.csm, c.champion, "end_user"]),
            meeting("check_in", "Weekly check-in", 8, 30, pb.CHECK_IN_AGENDA, [c.csm, c.lead], every=7, until=85),
            meeting("internal_sync", "Internal account sync", 5, 15, pb.INTERNAL_SYNC_AGENDA, [c.csm, c.engineer, "support"], visible=False, every=7, until=89),
            meeting("review_30", "Day-30 review", 30, 45, pb.REVIEW_30_AGENDA, [c.csm, c.lead, c.sponsor]),
            meeting("training", "Advanced features for champions", 36, 45, [("Automation and reporting", 30), ("Helping peers", 15)], [c.csm, c.champion]),
            meeting("review_60", "Day-60 review", 60, 60, pb.REVIEW_60_AGENDA, [c.csm, c.lead, c.sponsor]),
            meeting("review_90", "Day-90 executive value review", 90, 60, pb.REVIEW_90_AGENDA, [c.csm, c.ae, c.sponsor, c.lead]),
        ]
        office = next((p for p in self.f.promises if re.search(r"office hours", p, re.I)), None)
        weeks = re.search(r"first (\d+) weeks", office or "")
        until = min(int(weeks.group(1)) * 7 + 2, 90) if weeks else 30
        out.append(meeting("office_hours", "Office hours", 9, 30, [("Open questions and tips", 30)], [c.csm, "end_user"], every=7, until=until))
        return out

    def communications(self) -> list[dict[str, Any]]:
        c = self.cast
        people = [x for x in (c.sponsor, c.lead) if x]

        def comm(kind: str, name: str, day: int, subject: str, points: list[str], to: list[str], visible: bool = True) -> dict[str, Any]:
            return {"id": self.uid("c", name), "kind": kind, "name": name, "send_day": day, "subject": subject,
                    "recipients": list(dict.fromkeys(to)), "key_points": points, "customer_visible": visible}

        company = self.f.company or "your team"
        return [
            comm("welcome", "Welcome", 0, f"Welcome to {self.product}, {company}", ["Who is on the team", "Kickoff date and agenda", "Pre-kickoff checklist"], people),
            comm("pre_kickoff", "Pre-kickoff checklist", 1, "Before our kickoff: three things to prepare", ["User list with roles", "Integration access owners", "Success criteria in your words"], [c.lead]),
            comm("kickoff_recap", "Kickoff recap and final plan", KICKOFF_DAY + 1, "Kickoff recap and your 90-day plan", ["Outcomes and metrics agreed", "Milestones with owners and dates", "Risks captured and next steps"], [*people, c.admin, c.champion]),
            comm("week1_recap", "Week 1 recap", 7, "Week 1: what is done and what is next", ["Setup progress", "Training schedule", "One commitment per side"], [c.lead]),
            comm("usage_snapshot", "Weekly usage snapshot", 35, "Weekly usage snapshot", ["Active users by role against target", "Key feature use", "One suggested workflow change"], [c.lead]),
            comm("review_recap", "Day-30 review recap", 31, "Day-30 review: progress and next 30 days", ["Wins", "Gaps", "Plan for days 31-60"], people),
            comm("review_recap", "Day-60 review recap", 61, "Day-60 review: value so far", ["Value against baseline", "Pulse results", "Plan for days 61-90"], people),
            comm("review_recap", "Day-90 review recap", 90, "Your first 90 days: results and next quarter", ["Outcomes reached", "ROI summary", "Steady-state cadence"], [*people, c.ae]),
        ]

    def risks(self) -> list[dict[str, Any]]:
        out = []
        seen: set[str] = set()
        for text in [*self.f.risks, *self.f.promises]:
            probability, mitigation = pb.risk_rule(text)
            key = mitigation
            if key in seen and len(out) >= 3:
                continue
            seen.add(key)
            quote = self.quote(text)
            owner = self.cast.csm if text in self.f.promises else self.cast.lead
            out.append({"risk": _short(text, 160), "probability": probability, "mitigation": mitigation, "owner": owner,
                        "source_quote": quote, "provenance": "notes" if quote else "assumption"})
            if len(out) >= 7:
                break
        for risk, probability, mitigation in pb.DEFAULT_RISKS:
            if len(out) >= 3:
                break
            out.append({"risk": risk, "probability": probability, "mitigation": mitigation, "owner": self.cast.csm,
                        "source_quote": None, "provenance": "playbook_default"})
        return out

    def warning_signs(self) -> list[str]:
        c = self.cast
        signs = ["Low attendance at training sessions", f"{c.lead} misses a weekly check-in", "No usage from a role after week 1",
                 "Negative feedback in early calls"]
        if self.core:
            signs.append(f"{self.core[0].name} issue still open after 3 business days")
        if any(re.search(r"retir|leav|parental", r, re.I) for r in self.f.risks):
            signs.append("A champion's leave or departure date is announced")
        return signs

    def escalation(self) -> list[str]:
        c = self.cast
        return [
            f"{c.csm} raises it at the next weekly check-in with {c.lead}",
            f"Within 2 business days, escalate to the CSM's manager and {c.ae}",
            f"Call with {c.sponsor} to agree the fix",
            "Write a get-well plan and move to two touchpoints a week until back on track",
        ]

    def scorecard(self, metrics: list[dict[str, Any]]) -> list[dict[str, str]]:
        rows = [{"criterion": m["name"], "target": f"{_amount(m['target'], m['unit'])} by day {m['by_day']}"} for m in metrics]
        rows += [
            {"criterion": "Time to first value", "target": "first value event by day 30"},
            {"criterion": "User satisfaction (day-60 pulse)", "target": "positive pulse from every customer role"},
            {"criterion": "Support tickets", "target": "no issue open longer than 3 business days"},
        ]
        unique: dict[str, dict[str, str]] = {}
        for row in rows:
            unique.setdefault(row["criterion"].lower(), row)
        return list(unique.values())

    def criteria_by_phase(self) -> list[dict[str, Any]]:
        tools = ", ".join(t.name for t in self.core[:3])
        return [
            {"label": "End of week 1", "day": 7, "criteria": ["Kickoff held and recap sent", "Admins can log in"]},
            {"label": "End of week 4", "day": 28, "criteria": ["First value event logged", f"Integrations live{': ' + tools if tools else ''}"]},
            {"label": "End of week 8", "day": 56, "criteria": ["Adoption targets met for each role", "Champions active", "Measurable outcome"]},
            {"label": "End of week 12", "day": 84, "criteria": ["Success metrics at target or with a dated plan", "Customer can state the ROI"]},
        ]

    def resources(self) -> list[dict[str, Any]]:
        out = [
            {"name": "Admin guide", "audience": "admins", "format": "guide"},
            {"name": "Recorded training sessions", "audience": "all users", "format": "video"},
            {"name": "Quick reference card per role", "audience": "end users", "format": "checklist"},
        ]
        out += [{"name": f"{t.name} integration runbook", "audience": "admins", "format": "guide"} for t in self.core[:4]]
        if self.replaced:
            out.append({"name": f"Migration runbook from {self.replaced[0].name}", "audience": "project team", "format": "guide"})
        return out

    def expansion(self) -> list[str]:
        signals = [f"{t.name} in scope later: {_short(t.sentence, 100)}" for t in self.later]
        signals += [_short(x, 140) for x in self.f.constraints + self.f.promises + self.f.risks
                    if re.search(r"phase 2|add-on|pilot|more seats|other teams|adjacent", x, re.I)][:3]
        signals += ["Other teams ask for access", "Users ask for features in a higher tier"]
        return list(dict.fromkeys(signals))

    def internal_notes(self) -> list[str]:
        notes = []
        if self.f.money:
            notes.append("Commercials from the notes: " + ", ".join(self.f.money))
        if self.f.competitors:
            notes.append("Competitors in the deal: " + ", ".join(self.f.competitors))
        for promise in self.f.promises[:4]:
            notes.append(f"Sales promise to manage: {_short(promise, 160)}")
        notes.append("Reference potential: decide at the day-90 review from the scorecard")
        return notes

    def questions(self) -> None:
        asked = " ".join(q["question"] for q in self.open_questions).lower()
        for unknown in self.f.unknowns:
            what, _, sentence = unknown.partition("|")
            if what == "the start date" or _short(sentence, 40).rstrip("…").lower() in asked:
                continue
            if what == "an executive sponsor" and self.cast.has_sponsor:
                continue
            self.ask(f"The notes leave {what} open: \"{_short(sentence, 90)}\" What is it?",
                     "The plan should not guess it; it decides a target or an owner.", self.cast.ae)
        for text in self.f.questions_in_notes[:5]:
            self.ask(f"From the notes: \"{_short(text, 100)}\"", "Left open in the handoff.", self.cast.lead)
        for tool in self.later:
            self.ask(f"Is {tool.name} in scope for the first 90 days?", "It affects the setup phase and the RACI.", self.cast.lead)
        for window in self.f.windows:
            if window.start_day <= 90:
                self.ask(f"Which plan items must avoid days {window.start_day}-{window.end_day} (\"{_short(window.what, 80)}\")?",
                         "Tasks in that window may need to move.", self.cast.lead)

    def build(self) -> dict[str, Any]:
        ctx = self.h.context
        goals = self.f.goals[:5]
        stated = self.stated_goals()
        metrics = self.metrics()
        stakeholders = self.stakeholders()
        draft = {
            "schema_version": SCHEMA_VERSION,
            "customer": {
                "company": self.f.company or "Unnamed customer",
                "industry": ctx.industry,
                "size": ctx.size,
                "product_tier": self.f.product,
                "implementation_complexity": ctx.implementation_complexity or self._complexity(),
                "csm": ctx.csm or (self.cast.csm if self.cast.csm != "csm" else None),
            },
            "primary_goal": self.primary_goal(stated),
            "success_metrics": metrics,
            "stated_goals": stated,
            "outcome_brief": {
                "desired_outcomes": [g["goal"] for g in stated],
                "promises": [_short(p, 200) for p in self.f.promises],
                "constraints": [_short(x, 200) for x in self.f.constraints],
            },
            "stakeholders": stakeholders,
            "raci": self.raci(),
            "phases": self.phases(goals),
            "weekly_plan": self.weekly_plan(goals),
            "meetings": self.meetings(),
            "communications": self.communications(),
            "risks": self.risks(),
            "early_warning_signs": self.warning_signs(),
            "escalation_steps": self.escalation(),
            "scorecard": self.scorecard(metrics),
            "success_criteria_by_phase": self.criteria_by_phase(),
            "resources": self.resources(),
            "expansion_signals": self.expansion(),
            "celebrations": [
                {"milestone": "First value event", "how": "Thank-you note naming the people who made it happen"},
                {"milestone": "Adoption target reached for a role", "how": "Shout-out in the weekly snapshot"},
                {"milestone": "90 days complete", "how": "Share the results with both executive sponsors"},
            ],
            "transition": {
                "cadence": [
                    {"activity": "Check-in with the project lead", "frequency": "monthly"},
                    {"activity": "Business review with the sponsor", "frequency": "quarterly"},
                    {"activity": "Office hours", "frequency": "monthly"},
                ],
                "self_service": ["Knowledge base", "Recorded training library", "Support portal"],
            },
            "recovery_protocol": {
                "trigger": "A missed milestone together with low adoption and a negative pulse",
                "reset": "45-minute reset: restate outcomes, agree a 14-day rescue plan with one visible win, "
                "and name executive sponsors on both sides",
                "reset_minutes": 45,
                "rescue_plan_days": 14,
            },
            "internal_notes": self.internal_notes(),
            "open_questions": [],
        }
        self.questions()
        draft["open_questions"] = self.open_questions
        return draft

    def _complexity(self) -> str:
        n = len(self.core) + len(self.replaced)
        return "high" if n >= 5 else "medium" if n >= 2 else "low"


def build_plan(handoff: HandoffInput) -> dict[str, Any]:
    """The offline planner: read the notes, then lay the playbook over what they say."""
    facts = read_notes(handoff)
    return PlanBuilder(handoff, facts).build()


__all__ = ["build_plan", "categorize", "metric_goal"]
