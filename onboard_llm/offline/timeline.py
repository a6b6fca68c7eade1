"""The plan's backbone: phases with milestones and tasks, the week-by-week plan, meetings and messages."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from onboard_llm.offline import playbook as pb
from onboard_llm.offline.common import IDENTITY_TOOLS, KICKOFF_DAY, fmt_amount, shorten

if TYPE_CHECKING:
    from onboard_llm.offline.build import PlanBuilder
    from onboard_llm.offline.goals import GoalFact


def phases(b: PlanBuilder, goals: list[GoalFact]) -> list[dict[str, Any]]:
    c = b.cast
    category = goals[0].category if goals else "adoption"
    replaced = b.replaced[0].name if b.replaced else "the old system"
    m: dict[str, list[dict[str, Any]]] = {"p1": [], "p2": [], "p3": []}
    t: dict[str, list[dict[str, Any]]] = {"p1": [], "p2": [], "p3": []}

    def milestone(
        phase: str, name: str, day: int, owner: str, check: str, visible: bool = True, deps: list[str] | None = None
    ) -> str:
        mid = b.uid("m", name)
        m[phase].append(
            {
                "id": mid,
                "name": name,
                "day": day,
                "owner": owner,
                "success_check": check,
                "customer_visible": visible,
                "depends_on": deps or [],
            }
        )
        return mid

    def task(phase: str, title: str, day: int, owner: str, deps: list[str] | None = None, visible: bool = True) -> str:
        tid = b.uid("t", title)
        t[phase].append(
            {
                "id": tid,
                "title": title,
                "owner": owner,
                "due_day": day,
                "depends_on": deps or [],
                "customer_visible": visible,
            }
        )
        return tid

    # Phase 1: setup and training.
    welcome = task("p1", "Send the welcome email and kickoff invite", 1, c.csm)
    brief = task("p1", "Share the outcome brief and RACI internally", 1, c.csm, visible=False)
    kickoff = milestone(
        "p1",
        "Kickoff held; outcomes and plan confirmed",
        KICKOFF_DAY,
        c.csm,
        "Customer confirms goals, owners and the weekly check-in slot",
        deps=[welcome, brief],
    )
    users = task("p1", "Provide the user list with roles", 5, c.lead, [kickoff])
    identity = next((tool for tool in b.core if tool.name.lower().startswith(IDENTITY_TOOLS)), None)
    access_day = min(b.free_after(identity, 10), 24) if identity else 10
    access_name = (
        f"Sign-in through {identity.name} live; users can log in"
        if identity
        else "Users provisioned and able to log in"
    )
    access = milestone("p1", access_name, access_day, c.admin, "Every user on the list logs in once", deps=[users])
    admin_trained = milestone(
        "p1",
        "Admins trained and confident",
        min(access_day + 2, 26),
        c.csm,
        "The admin adds a user and changes a setting without help",
        deps=[access],
    )
    integration_ids = []
    day = 12
    for tool in [tl for tl in b.core if tl is not identity][:4]:
        # A freeze on the tool pushes its connection past the freeze, into adoption if need be.
        start = b.free_after(tool, day)
        start = min(start, 26) if start <= 26 else min(start, 55)
        where = "p1" if start <= 30 else "p2"
        grant_day = max(start - 4, 4) if where == "p1" else max(start - 4, 31)
        grant = task(where, f"Grant access for the {tool.name} integration", grant_day, c.admin, [kickoff])
        connected = milestone(
            where,
            f"{tool.name} connected and syncing",
            start,
            c.engineer,
            f"Test records flow between {tool.name} and {b.product} without errors",
            deps=[grant],
        )
        if where == "p1":
            integration_ids.append(connected)
        day += 3
    if b.replaced:
        export = task("p1", f"Export a data sample and field list from {replaced}", 6, c.admin, [kickoff])
        task("p1", f"First test migration from {replaced} reviewed", 20, c.engineer, [export])
    if any(
        re.search(r"security|infosec|third-party risk|soc 2|questionnaire", x, re.I)
        for x in b.f.constraints + b.f.risks
    ):
        task("p1", "Send the security pack and answer the questionnaire", 5, c.csm, [kickoff])
    training = task("p1", "Run and record role-based end-user training", 14, c.csm, [admin_trained])
    first_value = milestone(
        "p1",
        pb.FIRST_VALUE.get(category, pb.FIRST_VALUE["outcome"]).format(product=b.product, replaced=replaced),
        28,
        c.lead,
        "The customer names the result in the day-30 review",
        deps=[training, *integration_ids[:2]],
    )
    task("p1", "Prepare the day-30 review: usage, early wins, blockers", 29, c.csm, [first_value])

    # Phase 2: adoption.
    targets = milestone(
        "p2",
        "Adoption targets set for each role",
        33,
        c.lead,
        "Each role has a weekly-active and key-feature target in writing",
        deps=[first_value],
    )
    task("p2", "Start the weekly usage snapshot to the project lead", 35, c.csm, [targets])
    champions_day = 40
    champion_risk = any(re.search(r"retir|leav|parental", r, re.I) for r in b.f.risks)
    milestone(
        "p2",
        "Second champion named and trained" if champion_risk else "Two or three power users named as champions",
        champions_day,
        c.champion,
        "Champions run a session for their peers",
        deps=[targets],
    )
    if b.replaced:
        task("p2", f"Second test migration from {replaced} signed off", 45, c.lead)
    second = next((g for g in goals[1:] if g.metric is None), None)
    milestone(
        "p2",
        f"Second use case live: {shorten(b.goal_text(second), 60)}" if second else "Second workflow live",
        50,
        c.lead,
        "The workflow runs in production for at least one team",
        deps=[targets],
    )
    task("p2", "Send the day-60 pulse survey", 56, c.csm, [targets])
    for metric in b.f.metrics[:5]:
        if 31 <= metric.by_day <= 60:
            milestone(
                "p2",
                f"{metric.name} at {fmt_amount(metric.target, metric.unit)}",
                metric.by_day,
                c.lead,
                "Measured in the usage snapshot",
            )

    # Phase 3: value review.
    cut = b.cutover_day()
    if b.replaced and cut is not None:
        where = "p1" if cut <= 30 else "p2" if cut <= 60 else "p3"
        milestone(
            where,
            f"Cut over: {replaced} switched off",
            cut,
            c.lead,
            f"All users work in {b.product}; no new records in {replaced}",
        )
    for deadline in b.f.deadlines:
        handled = b.replaced and re.search(r"contract|expires|ends|renew", deadline.what, re.I)
        if 1 <= deadline.day <= 90 and not handled:
            where = "p1" if deadline.day <= 30 else "p2" if deadline.day <= 60 else "p3"
            milestone(
                where,
                f"Customer date met: {shorten(deadline.what, 60)}",
                max(deadline.day - 1, 1) if deadline.day > 1 else 1,
                c.lead,
                "Confirmed with the customer before the date",
            )
    roi_data = task("p3", "Collect the before-and-after numbers for each goal", 75, c.lead)
    roi = milestone(
        "p3",
        "ROI and adoption summary drafted against the original outcomes",
        82,
        c.csm,
        "Two pages the sponsor agrees with before the review",
        deps=[roi_data],
    )
    task("p3", "Book the executive review with both sponsors", 70, c.csm)
    milestone(
        "p3",
        "Executive value review held",
        90,
        c.sponsor,
        "Sponsor confirms outcomes reached and next-quarter priorities",
        deps=[roi],
    )
    task("p3", "Agree the steady-state cadence and hand over resources", 88, c.csm, [roi])
    task("p3", "Review expansion signals (only if adoption is healthy)", 89, c.ae, [roi], visible=False)
    for metric in b.f.metrics[:5]:
        if 61 <= metric.by_day <= 90:
            milestone(
                "p3",
                f"{metric.name} at {fmt_amount(metric.target, metric.unit)}",
                metric.by_day,
                c.lead,
                "Shown in the ROI summary",
            )

    def phase(pid: str, name: str, start: int, end: int, objectives: list[str]) -> dict[str, Any]:
        return {
            "id": pid,
            "name": name,
            "start_day": start,
            "end_day": end,
            "objectives": objectives,
            "milestones": sorted(m[pid], key=lambda x: x["day"]),
            "tasks": sorted(t[pid], key=lambda x: x["due_day"]),
        }

    setup_objectives = [
        "Access and integrations working" + (f" ({', '.join(x.name for x in b.core[:4])})" if b.core else ""),
        "Role-based training delivered and recorded",
        "Reach the first time-to-first-value event",
    ]
    if b.replaced:
        setup_objectives.insert(1, f"Migration from {replaced} tested")
    return [
        phase("p1", "Setup and training", 1, 30, setup_objectives),
        phase(
            "p2",
            "Adoption and usage",
            31,
            60,
            [
                "Adoption targets by role",
                "Weekly usage snapshot to the project lead",
                "Usage intervention when a role misses its target two weeks running",
            ],
        ),
        phase(
            "p3",
            "Value review and executive alignment",
            61,
            90,
            [
                "ROI and adoption summary against the original outcomes",
                "60-minute executive review",
                "Expansion discussed only if adoption is healthy",
            ],
        ),
    ]


def weekly_plan(b: PlanBuilder, goals: list[GoalFact]) -> list[dict[str, Any]]:
    tools = ", ".join(t.name for t in b.core[:3])
    first = b.goal_text(goals[0]) if goals else "the primary use case"
    return [
        {
            "label": "Week 1",
            "start_day": 1,
            "end_day": 7,
            "focus": "Kickoff and foundation",
            "activities": ["Internal handoff", "Kickoff", "Accounts provisioned", "Admin training"],
            "success_checks": ["Kickoff recap sent within a day", "Admins can log in"],
        },
        {
            "label": "Weeks 2-3",
            "start_day": 8,
            "end_day": 21,
            "focus": f"Core workflow: {shorten(first, 60)}",
            "activities": [
                f"Integrations: {tools}" if tools else "Configuration",
                "End-user training",
                "Office hours",
            ],
            "success_checks": ["Users active weekly", "Core workflow executed end to end"],
        },
        {
            "label": "Weeks 4-6",
            "start_day": 22,
            "end_day": 42,
            "focus": "First value and adoption targets",
            "activities": ["Day-30 review", "Adoption targets by role", "Champions named"],
            "success_checks": ["First value event logged", "Targets agreed per role"],
        },
        {
            "label": "Weeks 7-9",
            "start_day": 43,
            "end_day": 63,
            "focus": "Value realisation",
            "activities": ["Second use case", "Day-60 pulse", "Day-60 review"],
            "success_checks": ["Measurable business outcome", "Pulse is positive"],
        },
        {
            "label": "Weeks 10-12",
            "start_day": 64,
            "end_day": 90,
            "focus": "Optimisation and transition",
            "activities": ["ROI summary", "Executive review", "Steady-state cadence agreed"],
            "success_checks": ["Customer can state the ROI", "Transition accepted"],
        },
    ]


def meetings(b: PlanBuilder) -> list[dict[str, Any]]:
    c = b.cast

    def meeting(
        kind: str,
        title: str,
        day: int,
        minutes: int,
        agenda: list[tuple[str, int]],
        attendees: list[str],
        visible: bool = True,
        every: int | None = None,
        until: int | None = None,
    ) -> dict[str, Any]:
        return {
            "id": b.uid("mt", title),
            "kind": kind,
            "title": title,
            "day": day,
            "duration_minutes": minutes,
            "attendees": list(dict.fromkeys(attendees)),
            "agenda": [{"item": i, "minutes": n} for i, n in agenda],
            "customer_visible": visible,
            "repeat_every_days": every,
            "repeat_until_day": until,
        }

    customer = [x for x in (c.sponsor, c.lead, c.admin, c.champion) if x not in ("executive_sponsor",)]
    out = [
        meeting(
            "internal_handoff",
            "Internal handoff",
            1,
            30,
            pb.HANDOFF_AGENDA,
            [c.ae, c.csm, c.engineer],
            visible=False,
        ),
        meeting(
            "kickoff",
            "Customer kickoff",
            KICKOFF_DAY,
            60,
            pb.kickoff_agenda(bool(b.f.risks)),
            [c.csm, c.ae, *customer],
        ),
        meeting(
            "training",
            "Admin training",
            5,
            60,
            [("Settings and user management", 25), ("Reporting basics", 20), ("Rollout practices", 15)],
            [c.csm, c.admin],
        ),
        meeting(
            "training",
            "End-user training (recorded)",
            14,
            45,
            [("Core workflow", 25), ("Common mistakes", 10), ("Questions", 10)],
            [c.csm, c.champion, "end_user"],
        ),
        meeting("check_in", "Weekly check-in", 8, 30, pb.CHECK_IN_AGENDA, [c.csm, c.lead], every=7, until=85),
        meeting(
            "internal_sync",
            "Internal account sync",
            5,
            15,
            pb.INTERNAL_SYNC_AGENDA,
            [c.csm, c.engineer, "support"],
            visible=False,
            every=7,
            until=89,
        ),
        meeting("review_30", "Day-30 review", 30, 45, pb.REVIEW_30_AGENDA, [c.csm, c.lead, c.sponsor]),
        meeting(
            "training",
            "Advanced features for champions",
            36,
            45,
            [("Automation and reporting", 30), ("Helping peers", 15)],
            [c.csm, c.champion],
        ),
        meeting("review_60", "Day-60 review", 60, 60, pb.REVIEW_60_AGENDA, [c.csm, c.lead, c.sponsor]),
        meeting(
            "review_90",
            "Day-90 executive value review",
            90,
            60,
            pb.REVIEW_90_AGENDA,
            [c.csm, c.ae, c.sponsor, c.lead],
        ),
    ]
    office = next((p for p in b.f.promises if re.search(r"office hours", p, re.I)), None)
    weeks = re.search(r"first (\d+) weeks", office or "")
    until = min(int(weeks.group(1)) * 7 + 2, 90) if weeks else 30
    out.append(
        meeting(
            "office_hours",
            "Office hours",
            9,
            30,
            [("Open questions and tips", 30)],
            [c.csm, "end_user"],
            every=7,
            until=until,
        )
    )
    return out


def communications(b: PlanBuilder) -> list[dict[str, Any]]:
    c = b.cast
    people = [x for x in (c.sponsor, c.lead) if x]

    def comm(
        kind: str, name: str, day: int, subject: str, points: list[str], to: list[str], visible: bool = True
    ) -> dict[str, Any]:
        return {
            "id": b.uid("c", name),
            "kind": kind,
            "name": name,
            "send_day": day,
            "subject": subject,
            "recipients": list(dict.fromkeys(to)),
            "key_points": points,
            "customer_visible": visible,
        }

    company = b.f.company or "your team"
    return [
        comm(
            "welcome",
            "Welcome",
            0,
            f"Welcome to {b.product}, {company}",
            ["Who is on the team", "Kickoff date and agenda", "Pre-kickoff checklist"],
            people,
        ),
        comm(
            "pre_kickoff",
            "Pre-kickoff checklist",
            1,
            "Before our kickoff: three things to prepare",
            ["User list with roles", "Integration access owners", "Success criteria in your words"],
            [c.lead],
        ),
        comm(
            "kickoff_recap",
            "Kickoff recap and final plan",
            KICKOFF_DAY + 1,
            "Kickoff recap and your 90-day plan",
            ["Outcomes and metrics agreed", "Milestones with owners and dates", "Risks captured and next steps"],
            [*people, c.admin, c.champion],
        ),
        comm(
            "week1_recap",
            "Week 1 recap",
            7,
            "Week 1: what is done and what is next",
            ["Setup progress", "Training schedule", "One commitment per side"],
            [c.lead],
        ),
        comm(
            "usage_snapshot",
            "Weekly usage snapshot",
            35,
            "Weekly usage snapshot",
            ["Active users by role against target", "Key feature use", "One suggested workflow change"],
            [c.lead],
        ),
        comm(
            "review_recap",
            "Day-30 review recap",
            31,
            "Day-30 review: progress and next 30 days",
            ["Wins", "Gaps", "Plan for days 31-60"],
            people,
        ),
        comm(
            "review_recap",
            "Day-60 review recap",
            61,
            "Day-60 review: value so far",
            ["Value against baseline", "Pulse results", "Plan for days 61-90"],
            people,
        ),
        comm(
            "review_recap",
            "Day-90 review recap",
            90,
            "Your first 90 days: results and next quarter",
            ["Outcomes reached", "ROI summary", "Steady-state cadence"],
            [*people, c.ae],
        ),
    ]
