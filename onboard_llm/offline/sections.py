"""The plan's supporting sections: risks, warning signs, escalation, scorecard, resources and notes."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from onboard_llm.offline import playbook as pb
from onboard_llm.offline.common import fmt_amount, shorten

if TYPE_CHECKING:
    from onboard_llm.offline.build import PlanBuilder


_CANDID = re.compile(
    r"pressure|budget|headcount|leav|retir|parental|only (?:ops )?person|skeptic|politic|told|promis", re.I
)


def risks(b: PlanBuilder) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for text in [*b.f.risks, *b.f.promises]:
        probability, mitigation = pb.risk_rule(text)
        key = mitigation
        if key in seen and len(out) >= 3:
            continue
        seen.add(key)
        quote = b.quote(text)
        owner = b.cast.csm if text in b.f.promises else b.cast.lead
        out.append(
            {
                "risk": shorten(text, 160),
                "probability": probability,
                "mitigation": mitigation,
                "owner": owner,
                "source_quote": quote,
                "provenance": "notes" if quote else "assumption",
                # Candid remarks about people, budgets and sales promises stay in the internal version.
                "customer_visible": text not in b.f.promises and not _CANDID.search(text),
            }
        )
        if len(out) >= 7:
            break
    for risk, probability, mitigation in pb.DEFAULT_RISKS:
        if len(out) >= 3:
            break
        out.append(
            {
                "risk": risk,
                "probability": probability,
                "mitigation": mitigation,
                "owner": b.cast.csm,
                "source_quote": None,
                "provenance": "playbook_default",
                "customer_visible": True,
            }
        )
    return out


def warning_signs(b: PlanBuilder) -> list[str]:
    c = b.cast
    signs = [
        "Low attendance at training sessions",
        f"{c.lead} misses a weekly check-in",
        "No usage from a role after week 1",
        "Negative feedback in early calls",
    ]
    if b.core:
        signs.append(f"{b.core[0].name} issue still open after 3 business days")
    if any(re.search(r"retir|leav|parental", r, re.I) for r in b.f.risks):
        signs.append("A champion's leave or departure date is announced")
    return signs


def escalation(b: PlanBuilder) -> list[str]:
    c = b.cast
    return [
        f"{c.csm} raises it at the next weekly check-in with {c.lead}",
        f"Within 2 business days, escalate to the CSM's manager and {c.ae}",
        f"Call with {c.sponsor} to agree the fix",
        "Write a get-well plan and move to two touchpoints a week until back on track",
    ]


def scorecard(b: PlanBuilder, metrics: list[dict[str, Any]]) -> list[dict[str, str]]:
    rows = [
        {"criterion": m["name"], "target": f"{fmt_amount(m['target'], m['unit'])} by day {m['by_day']}"}
        for m in metrics
    ]
    rows += [
        {"criterion": "Time to first value", "target": "first value event by day 30"},
        {"criterion": "User satisfaction (day-60 pulse)", "target": "positive pulse from every customer role"},
        {"criterion": "Support tickets", "target": "no issue open longer than 3 business days"},
    ]
    unique: dict[str, dict[str, str]] = {}
    for row in rows:
        unique.setdefault(row["criterion"].lower(), row)
    return list(unique.values())


def criteria_by_phase(b: PlanBuilder) -> list[dict[str, Any]]:
    tools = ", ".join(t.name for t in b.core[:3])
    return [
        {"label": "End of week 1", "day": 7, "criteria": ["Kickoff held and recap sent", "Admins can log in"]},
        {
            "label": "End of week 4",
            "day": 28,
            "criteria": ["First value event logged", f"Integrations live{': ' + tools if tools else ''}"],
        },
        {
            "label": "End of week 8",
            "day": 56,
            "criteria": ["Adoption targets met for each role", "Champions active", "Measurable outcome"],
        },
        {
            "label": "End of week 12",
            "day": 84,
            "criteria": ["Success metrics at target or with a dated plan", "Customer can state the ROI"],
        },
    ]


def resources(b: PlanBuilder) -> list[dict[str, Any]]:
    out = [
        {"name": "Admin guide", "audience": "admins", "format": "guide"},
        {"name": "Recorded training sessions", "audience": "all users", "format": "video"},
        {"name": "Quick reference card per role", "audience": "end users", "format": "checklist"},
    ]
    out += [{"name": f"{t.name} integration runbook", "audience": "admins", "format": "guide"} for t in b.core[:4]]
    if b.replaced:
        out.append(
            {
                "name": f"Migration runbook from {b.replaced[0].name}",
                "audience": "project team",
                "format": "guide",
            }
        )
    return out


def expansion(b: PlanBuilder) -> list[str]:
    signals = [f"{t.name} in scope later: {shorten(t.sentence, 100)}" for t in b.later]
    signals += [
        shorten(x, 140)
        for x in b.f.constraints + b.f.promises + b.f.risks
        if re.search(r"phase 2|add-on|pilot|more seats|other teams|adjacent", x, re.I)
    ][:3]
    signals += ["Other teams ask for access", "Users ask for features in a higher tier"]
    return list(dict.fromkeys(signals))


def internal_notes(b: PlanBuilder) -> list[str]:
    notes = []
    if b.f.money:
        notes.append("Commercials from the notes: " + ", ".join(b.f.money))
    if b.f.competitors:
        notes.append("Competitors in the deal: " + ", ".join(b.f.competitors))
    for promise in b.f.promises[:4]:
        notes.append(f"Sales promise to manage: {shorten(promise, 160)}")
    notes.append("Reference potential: decide at the day-90 review from the scorecard")
    return notes
