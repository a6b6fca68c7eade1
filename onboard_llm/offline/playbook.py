"""The playbook's defaults: wording per goal category, meeting agendas, risk mitigations.

Everything here is process knowledge, not customer fact; the builder fills it
with what the notes say.
"""

from __future__ import annotations

import re

GOAL_TEXT = {
    "cutover": "Switch over before the old system's contract runs out",
    "speed": "Answer and resolve work faster",
    "cycle_time": "Shorten the cycle that matters most to the team",
    "cost": "Bring down the cost named in the handoff",
    "workload": "Take repetitive manual work off the team",
    "automation": "Automate the routine part of the work",
    "quality": "Raise quality and cut avoidable misses",
    "satisfaction": "Win back satisfaction from the people they serve",
    "reporting": "Give leadership a view of performance they can use every week",
    "adoption": "Make {product} the tool people reach for without being asked",
    "self_service": "Let people find answers on their own",
    "outcome": "Deliver the outcome the customer described in the handoff",
}
WHY_TEXT = {
    "cutover": "Missing the date means paying for two systems and a rushed, risky cutover.",
    "speed": "Slow responses cost goodwill and revenue, and they are what the customer notices first.",
    "cycle_time": "A shorter cycle frees the team's time and gives leaders numbers sooner.",
    "cost": "The spend is the business case for the purchase; the renewal will be judged on it.",
    "workload": "Manual work burns out the team and caps how much they can handle.",
    "automation": "Every item that needs a person is time taken from higher-value work.",
    "quality": "Misses show up as risk, rework or unhappy customers.",
    "satisfaction": "Satisfaction is the outcome their own customers and leaders judge them on.",
    "reporting": "Without a trusted view, leaders cannot see the value or steer the rollout.",
    "adoption": "Value only arrives when people use the product in their daily work.",
    "self_service": "Every question answered by self-service is one the team does not have to handle.",
    "outcome": "It is why the customer bought.",
}
HOW_TEXT = {
    "cutover": "a planned migration with test runs, a cutover checklist and a rollback point",
    "speed": "routing, queues and service targets configured for their workflow, with live tracking",
    "cycle_time": "task checklists, dependencies and status tracking that show where the cycle stalls",
    "cost": "reporting on the cost driver so the savings can be shown against the baseline",
    "workload": "workflows and automation that replace the manual steps",
    "automation": "rules that process routine items without a person and flag the exceptions",
    "quality": "standard workflows, checks and an audit trail",
    "satisfaction": "faster, more consistent service and feedback captured at the source",
    "reporting": "dashboards built on the metrics in this plan, shared on a schedule",
    "adoption": "role-based training, simple mobile and desktop flows, and champions in each team",
    "self_service": "self-service content built from the most common requests",
    "outcome": "the capabilities configured during setup and measured at each review",
}
FIRST_VALUE = {
    "cutover": "First live workflow runs in {product} instead of {replaced}",
    "speed": "First live requests handled end to end in {product}, response times tracked",
    "cycle_time": "First full cycle run in {product} with its duration recorded",
    "cost": "First report from {product} showing the cost baseline",
    "workload": "First manual task retired: the team does it in {product}",
    "automation": "First items processed automatically end to end",
    "quality": "First quality report from {product} reviewed with the project lead",
    "satisfaction": "First interactions handled in {product} with feedback captured",
    "reporting": "First dashboard from {product} in front of the sponsor",
    "adoption": "Pilot group doing its daily work in {product}",
    "self_service": "First self-service answers live",
    "outcome": "First outcome from the stated goals visible in {product}",
}

#: (cue regex, probability, mitigation) for risks read from the notes.
RISK_RULES: tuple[tuple[str, str, str], ...] = (
    (
        r"retir|leav|parental|resign|new job",
        "high",
        "Name a second champion by day 30, record every training and keep the plan's owners current.",
    ),
    (
        r"beta|no date|not ready|doesn't do|out of the box|roadmap",
        "high",
        "Tell the customer the real status at kickoff, agree an interim workaround and track the gap as a plan item.",
    ),
    (
        r"told|promis|said it would|takes a weekend|feel just like|across the board|two weeks",
        "high",
        "Reset the expectation at kickoff with the scoped timeline, in writing in the recap.",
    ),
    (
        r"freeze|frozen|upgrade|competing|busy|capacity|bandwidth|only ops|every .* analyst|what's left",
        "high",
        "Sequence the work around their other project, book the people's time before the freeze ends, and keep "
        "setup tasks small.",
    ),
    (
        r"security|infosec|third-party risk|soc 2|questionnaire|pen test",
        "medium",
        "Send the security pack in week 1, hold a weekly status with the reviewer, and plan non-production work "
        "until sign-off.",
    ),
    (
        r"messy|inconsistent|duplicate|data quality|clean",
        "medium",
        "Run a test migration early, agree a clean-up list with the admin and fix mapping before cutover.",
    ),
    (
        r"union|notice",
        "medium",
        "Put the required notice dates into the plan before each group switches and involve their representatives.",
    ),
    (
        r"pressure|budget|headcount|scrutiny|cfo",
        "medium",
        "Build the ROI summary on their own numbers and preview it with the sponsor before the day-90 review.",
    ),
    (
        r"pay rule|mapping|rotation|configur|custom",
        "medium",
        "Scope the configuration in week 1, test it with real schedules and sign it off before rollout.",
    ),
)
DEFAULT_RISKS = (
    (
        "Low user engagement after the first training wave",
        "medium",
        "Role-based training, weekly usage snapshots and a usage intervention when a role misses its target twice.",
    ),
    (
        "Scope creep: new requests crowd out the 90-day outcomes",
        "high",
        "Hold to the phase plan and log extras for the next quarter.",
    ),
    (
        "Competing priorities leave the customer's team too busy to adopt",
        "medium",
        "Keep quick wins visible and ask the sponsor to protect the team's time.",
    ),
)


def risk_rule(text: str) -> tuple[str, str]:
    """Probability and mitigation for a risk sentence, by its cue words."""
    lowered = text.lower()
    for pattern, probability, mitigation in RISK_RULES:
        if re.search(pattern, lowered):
            if re.search(r"\bmay\b|\bmight\b|\bmaybe\b|\bpossibl", lowered) and probability == "high":
                probability = "medium"
            return probability, mitigation
    return "medium", "Review it at every weekly check-in and escalate when it stays open for a week."


def kickoff_agenda(has_risks: bool) -> list[tuple[str, int]]:
    """The 60-minute kickoff, in the order the playbook runs it."""
    return [
        ("Welcome and intent: the outcome we reach together in 90 days", 5),
        ("Reconfirm outcomes and success criteria", 10),
        ("Walk the plan: milestones, owners, dates", 15),
        ("Roles and RACI: who to call for what", 10),
        ("Risks and assumptions" + (", starting with those in the handoff" if has_risks else ""), 10),
        ("Next steps with dates; confirm the weekly check-in", 10),
    ]


HANDOFF_AGENDA = [
    ("Review the outcome brief and the promises made in sales", 10),
    ("Confirm the RACI and the customer's owners", 10),
    ("Draft the kickoff invite and attach the 90-day plan", 10),
]
CHECK_IN_AGENDA = [
    ("One outcome this week", 10),
    ("Blockers", 10),
    ("One commitment per side", 10),
]
REVIEW_30_AGENDA = [
    ("Progress against goals: adoption, usage, early wins", 15),
    ("Challenges and barriers", 10),
    ("Plan the next 30 days", 15),
    ("Questions", 5),
]
REVIEW_60_AGENDA = [
    ("Value delivered so far against the baseline", 20),
    ("Adoption by role and feature use", 15),
    ("Day-60 pulse results", 10),
    ("Plan the next 30 days", 15),
]
REVIEW_90_AGENDA = [
    ("Wins against the original outcomes", 10),
    ("ROI and adoption summary by role", 20),
    ("Gaps and next-quarter priorities", 20),
    ("Steady-state cadence and support", 10),
]
INTERNAL_SYNC_AGENDA = [("Account health, next actions and who needs help", 15)]
