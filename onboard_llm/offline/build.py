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
from onboard_llm.offline import sections, timeline
from onboard_llm.offline.common import fmt_amount, fmt_number, shorten, slugify
from onboard_llm.offline.extract import Facts, Tool, read_notes
from onboard_llm.offline.goals import GoalFact
from onboard_llm.offline.metrics import MetricFact
from onboard_llm.offline.people import Person
from onboard_llm.offline.vocab import categorize
from onboard_llm.schema import SCHEMA_VERSION

_ENGAGEMENT = {
    "executive_sponsor": (
        "monthly, and at the 30/60/90 reviews",
        "video call",
        "outcomes, ROI and risks that need air cover",
    ),
    "project_lead": ("weekly", "weekly check-in and Slack/email", "plan, owners, blockers"),
    "admin": ("weekly during setup", "email and working sessions", "access, integrations, configuration"),
    "champion": ("weekly", "office hours and chat", "team adoption and feedback from users"),
    "end_user": ("at training and office hours", "training sessions", "daily workflows"),
    "csm": ("weekly", "check-ins, email", "the 90-day plan and its outcomes"),
    "account_executive": ("at kickoff and reviews", "email", "promises made in sales, expansion"),
    "support": ("as needed", "support tickets", "issues and fixes"),
    "other": ("as needed", "email", "their part of the rollout"),
}


def metric_goal(metric: MetricFact) -> str:
    """A goal sentence from a metric: 'Bring no-show rate from 11% to 6%'."""
    name = metric.name[0].lower() + metric.name[1:] if not metric.name[:2].isupper() else metric.name
    if metric.relative:
        verb = "Cut" if "reduction" in metric.unit else "Grow"
        return f"{verb} {name} by {fmt_number(metric.target)}%"
    if metric.baseline is not None:
        return (
            f"Bring {name} from {fmt_amount(metric.baseline, metric.unit)} to {fmt_amount(metric.target, metric.unit)}"
        )
    counted = metric.unit not in ("%", "USD", "days", "business days", "hours", "minutes", "weeks", "seconds", "points")
    if counted and metric.comparator in ("at least", None):
        # A count: "Get 75 agents working in Harbordesk".
        return f"Get {fmt_number(metric.target)} {metric.unit} {name}".replace(
            f"{metric.unit} {metric.unit}", metric.unit
        )
    if metric.comparator == "under":
        return f"Get {name} under {fmt_amount(metric.target, metric.unit)}"
    if metric.comparator == "at least":
        return f"Get {name} to at least {fmt_amount(metric.target, metric.unit)}"
    return f"Reach {fmt_amount(metric.target, metric.unit)}: {name}"


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
            (
                p
                for p in people
                if p.side == "vendor"
                and p.role == "other"
                and re.search(r"engineer|\bSE\b|implementation", p.title or "", re.I)
            ),
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
        base = f"{prefix}-{slugify(text)}"
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
            names_this_tool = first_word in text or not any(t.name.split()[0].lower() in text for t in self.f.tools)
            overlaps = window.start_day <= day <= window.end_day or window.start_day <= 1 <= window.end_day
            if names_this_tool and overlaps:
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
                {
                    "name": name,
                    "target": target,
                    "unit": unit,
                    "by_day": day,
                    "baseline": None,
                    "role": None,
                    "source_quote": None,
                    "provenance": "playbook_default",
                }
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
                f"{metric.name}: {fmt_amount(metric.target, metric.unit)} by day {metric.by_day}"
                if metric
                else "A measure agreed with the customer at kickoff (see open questions)"
            )
            if metric is None:
                self.ask(
                    f"How will we measure '{self.goal_text(goal)}'? The notes say: \"{shorten(goal.quote, 80)}\"",
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
                    "provenance": ("context" if metric and metric.provenance == "context" else "notes")
                    if quote
                    else "assumption",
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
            rows.append(
                (f"Data migration from {self.replaced[0].name}", [c.engineer, c.admin], c.lead, [c.csm], [c.sponsor])
            )
        if any(
            re.search(r"security|infosec|third-party risk|soc 2", x, re.I) for x in self.f.constraints + self.f.risks
        ):
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

    def questions(self) -> None:
        asked = " ".join(q["question"] for q in self.open_questions).lower()
        for unknown in self.f.unknowns:
            what, _, sentence = unknown.partition("|")
            if what == "the start date" or shorten(sentence, 40).rstrip("…").lower() in asked:
                continue
            if what == "an executive sponsor":
                continue  # asked (or answered) by the stakeholder section already
            self.ask(
                f'The notes leave {what} open: "{shorten(sentence, 90)}" What is it?',
                "The plan should not guess it; it decides a target or an owner.",
                self.cast.ae,
            )
        # A question that is also a risk or a sales promise is tracked there; quoting it again here would
        # put the CSM's candid words into the customer's version, where open questions are shown.
        candid = [*self.f.risks, *self.f.promises]
        for text in self.f.questions_in_notes[:5]:
            if any(text in item or item in text for item in candid):
                continue
            self.ask(f'From the notes: "{shorten(text, 100)}"', "Left open in the handoff.", self.cast.lead)
        for tool in self.later:
            self.ask(
                f"Is {tool.name} in scope for the first 90 days?",
                "It affects the setup phase and the RACI.",
                self.cast.lead,
            )
        for window in self.f.windows:
            if window.start_day <= 90:
                self.ask(
                    f'Which plan items must avoid days {window.start_day}-{window.end_day} ("{shorten(window.what, 80)}")?',
                    "Tasks in that window may need to move.",
                    self.cast.lead,
                )

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
                "industry": ctx.industry or self.f.industry,
                "size": ctx.size or self.f.size,
                "product_tier": self.f.product,
                "implementation_complexity": ctx.implementation_complexity or self.f.complexity or self._complexity(),
                "csm": ctx.csm or (self.cast.csm if self.cast.csm != "csm" else None),
            },
            "primary_goal": self.primary_goal(stated),
            "success_metrics": metrics,
            "stated_goals": stated,
            "outcome_brief": {
                "desired_outcomes": [g["goal"] for g in stated],
                "promises": [shorten(p, 200) for p in self.f.promises],
                "constraints": [shorten(x, 200) for x in self.f.constraints],
            },
            "stakeholders": stakeholders,
            "raci": self.raci(),
            "phases": timeline.phases(self, goals),
            "weekly_plan": timeline.weekly_plan(self, goals),
            "meetings": timeline.meetings(self),
            "communications": timeline.communications(self),
            "risks": sections.risks(self),
            "early_warning_signs": sections.warning_signs(self),
            "escalation_steps": sections.escalation(self),
            "scorecard": sections.scorecard(self, metrics),
            "success_criteria_by_phase": sections.criteria_by_phase(self),
            "resources": sections.resources(self),
            "expansion_signals": sections.expansion(self),
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
            "internal_notes": sections.internal_notes(self),
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
