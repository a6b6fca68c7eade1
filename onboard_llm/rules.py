"""Domain rules of a plan: the playbook's invariants, checked after the schema.

Every rule yields a :class:`Violation` whose message tells a model (or a
person) what to change, so the pipeline can send the list back verbatim in a
re-ask. Rules read day offsets only; the timing rules stated in business days
are checked again on dates by :mod:`onboard_llm.scheduling`.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

from onboard_llm.grounding import appears_in, number_appears
from onboard_llm.schema import KNOWN_OWNER_ROLES, PlanDraft, role_token

PLAN_DAYS = 90
REVIEW_DAYS = {"review_30": 30, "review_60": 60, "review_90": 90}
#: Day offsets that keep the seed's business-day rules true whatever the calendar
#: (see tests/test_calendar.py for the properties that make this safe).
KICKOFF_MAX_DAY = 4  # within 3 business days of the start
HANDOFF_MAX_DAY = 2  # within 1 business day of the start
CHECK_IN_MAX_GAP = 7  # weekly


@dataclass(frozen=True)
class Violation:
    """One broken rule: where it is and what to do about it."""

    path: str
    message: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class _Checker:
    def __init__(self, plan: PlanDraft, *, generated: bool, source_text: str | None) -> None:
        self.plan = plan
        self.generated = generated
        self.source_text = source_text
        self.out: list[Violation] = []
        self.names = {s.name.strip().lower() for s in plan.stakeholders}

    def add(self, rule: str, path: str, message: str) -> None:
        self.out.append(Violation(path=path, message=message, rule=rule))

    # -- days ----------------------------------------------------------------

    def day(self, path: str, value: int, *, lowest: int = 1) -> None:
        highest = PLAN_DAYS if self.generated else None
        if value < lowest or (highest is not None and value > highest):
            span = f"{lowest}..{highest}" if highest is not None else f">= {lowest}"
            self.add("day_range", path, f"day {value} is outside {span}; use a day offset in {span}")

    def days(self) -> None:
        p = self.plan
        for i, m in enumerate(p.success_metrics):
            self.day(f"success_metrics[{i}].by_day", m.by_day)
        for i, ph in enumerate(p.phases):
            self.day(f"phases[{i}].start_day", ph.start_day)
            self.day(f"phases[{i}].end_day", ph.end_day)
            for j, ms in enumerate(ph.milestones):
                self.day(f"phases[{i}].milestones[{j}].day", ms.day)
            for j, t in enumerate(ph.tasks):
                self.day(f"phases[{i}].tasks[{j}].due_day", t.due_day)
        for i, w in enumerate(p.weekly_plan):
            self.day(f"weekly_plan[{i}].start_day", w.start_day)
            self.day(f"weekly_plan[{i}].end_day", w.end_day)
            if w.end_day < w.start_day:
                self.add("day_range", f"weekly_plan[{i}]", "end_day is before start_day; swap them or fix one")
        for i, mt in enumerate(p.meetings):
            self.day(f"meetings[{i}].day", mt.day)
            if mt.repeat_until_day is not None:
                self.day(f"meetings[{i}].repeat_until_day", mt.repeat_until_day)
        for i, c in enumerate(p.communications):
            # Day 0 exists only for messages sent before the start date.
            self.day(f"communications[{i}].send_day", c.send_day, lowest=0)
        for i, cr in enumerate(p.success_criteria_by_phase):
            self.day(f"success_criteria_by_phase[{i}].day", cr.day)

    # -- phases --------------------------------------------------------------

    def phases(self) -> None:
        phases = list(self.plan.phases)
        for i, ph in enumerate(phases):
            if ph.end_day < ph.start_day:
                self.add(
                    "phases",
                    f"phases[{i}]",
                    f"phase '{ph.name}' ends (day {ph.end_day}) before it starts (day {ph.start_day})",
                )
        if phases and phases[0].start_day != 1:
            self.add(
                "phases", "phases[0].start_day", f"the first phase must start on day 1, not day {phases[0].start_day}"
            )
        for i in range(1, len(phases)):
            prev, cur = phases[i - 1], phases[i]
            if cur.start_day != prev.end_day + 1:
                gap = "overlaps" if cur.start_day <= prev.end_day else "leaves a gap after"
                self.add(
                    "phases",
                    f"phases[{i}].start_day",
                    f"phase '{cur.name}' starts on day {cur.start_day} and {gap} phase '{prev.name}' "
                    f"(ends day {prev.end_day}); phases must be ordered and contiguous, "
                    f"so start it on day {prev.end_day + 1}",
                )
        if self.generated and phases and phases[-1].end_day != PLAN_DAYS:
            self.add(
                "phases",
                f"phases[{len(phases) - 1}].end_day",
                f"the last phase must end on day {PLAN_DAYS}, not day {phases[-1].end_day}",
            )
        for i, ph in enumerate(phases):
            for j, ms in enumerate(ph.milestones):
                if not ph.start_day <= ms.day <= ph.end_day:
                    self.add(
                        "milestone_in_phase",
                        f"phases[{i}].milestones[{j}].day",
                        f"milestone '{ms.name}' is on day {ms.day}, outside its phase '{ph.name}' "
                        f"(days {ph.start_day}-{ph.end_day}); move the day or the milestone",
                    )
            for j, t in enumerate(ph.tasks):
                if not ph.start_day <= t.due_day <= ph.end_day:
                    self.add(
                        "task_in_phase",
                        f"phases[{i}].tasks[{j}].due_day",
                        f"task '{t.title}' is due on day {t.due_day}, outside its phase '{ph.name}' "
                        f"(days {ph.start_day}-{ph.end_day}); move the due day or the task",
                    )

    # -- ids and dependencies --------------------------------------------------

    def ids(self) -> None:
        seen: dict[str, str] = {}
        deps: dict[str, list[str]] = {}
        items: list[tuple[str, str, list[str]]] = []
        for i, ph in enumerate(self.plan.phases):
            items.append((f"phases[{i}]", ph.id, []))
            items += [(f"phases[{i}].milestones[{j}]", m.id, list(m.depends_on)) for j, m in enumerate(ph.milestones)]
            items += [(f"phases[{i}].tasks[{j}]", t.id, list(t.depends_on)) for j, t in enumerate(ph.tasks)]
        items += [(f"meetings[{i}]", m.id, []) for i, m in enumerate(self.plan.meetings)]
        items += [(f"communications[{i}]", c.id, []) for i, c in enumerate(self.plan.communications)]
        for path, item_id, _ in items:
            if item_id in seen:
                self.add("ids", f"{path}.id", f"id '{item_id}' is already used by {seen[item_id]}; ids must be unique")
            else:
                seen[item_id] = path
        for path, item_id, depends in items:
            # A self-dependency is reported below on its own; keep it out of the cycle search.
            deps[item_id] = [d for d in depends if d != item_id]
            for dep in depends:
                if dep == item_id:
                    self.add(
                        "depends_on", f"{path}.depends_on", f"'{item_id}' depends on itself; remove it from depends_on"
                    )
                elif dep not in seen:
                    self.add(
                        "depends_on",
                        f"{path}.depends_on",
                        f"'{dep}' is not the id of any milestone or task; use an existing id or remove it",
                    )
        cycle = _find_cycle(deps)
        if cycle:
            self.add(
                "depends_on",
                "phases",
                "dependency cycle: " + " -> ".join(cycle) + "; remove one of these dependencies",
            )

    # -- owners ----------------------------------------------------------------

    def owner_known(self, path: str, owner: str) -> None:
        if owner.strip().lower() in self.names or role_token(owner) in KNOWN_OWNER_ROLES:
            return
        self.add(
            "owner_known",
            path,
            f"owner '{owner}' is neither a listed stakeholder nor a known role; use a stakeholder's exact name "
            f"or one of: {', '.join(sorted(KNOWN_OWNER_ROLES))}",
        )

    def owners(self) -> None:
        for i, ph in enumerate(self.plan.phases):
            for j, ms in enumerate(ph.milestones):
                self.owner_known(f"phases[{i}].milestones[{j}].owner", ms.owner)
            for j, t in enumerate(ph.tasks):
                self.owner_known(f"phases[{i}].tasks[{j}].owner", t.owner)
        for i, r in enumerate(self.plan.risks):
            if r.owner:
                self.owner_known(f"risks[{i}].owner", r.owner)
        for i, row in enumerate(self.plan.raci):
            if re.search(r",|;|&|\band\b|/", row.accountable) and row.accountable.strip().lower() not in self.names:
                self.add(
                    "raci_accountable",
                    f"raci[{i}].accountable",
                    f"'{row.accountable}' names more than one accountable; exactly one person or role is accountable, "
                    "move the others to responsible or consulted",
                )
            else:
                self.owner_known(f"raci[{i}].accountable", row.accountable)
            for field in ("responsible", "consulted", "informed"):
                for k, who in enumerate(getattr(row, field)):
                    self.owner_known(f"raci[{i}].{field}[{k}]", who)
        seen: set[str] = set()
        for i, s in enumerate(self.plan.stakeholders):
            key = s.name.strip().lower()
            if key in seen:
                self.add(
                    "stakeholders", f"stakeholders[{i}].name", f"stakeholder '{s.name}' is listed twice; list each once"
                )
            seen.add(key)

    # -- metrics, provenance, grounding ------------------------------------------

    def metrics(self) -> None:
        for i, m in enumerate(self.plan.success_metrics):
            if not math.isfinite(m.target):
                self.add("metric_target", f"success_metrics[{i}].target", "target must be a finite number")
            if m.baseline is not None and not math.isfinite(m.baseline):
                self.add("metric_target", f"success_metrics[{i}].baseline", "baseline must be a finite number, or null")

    def provenance(self) -> None:
        quoted: list[tuple[str, str | None, str]] = []
        quoted += [
            (f"success_metrics[{i}]", m.source_quote, m.provenance) for i, m in enumerate(self.plan.success_metrics)
        ]
        quoted += [(f"stated_goals[{i}]", g.source_quote, g.provenance) for i, g in enumerate(self.plan.stated_goals)]
        quoted += [(f"risks[{i}]", r.source_quote, r.provenance) for i, r in enumerate(self.plan.risks)]
        for path, quote, prov in quoted:
            if prov == "notes" and not (quote and quote.strip()):
                self.add(
                    "provenance",
                    f"{path}.source_quote",
                    "provenance is 'notes' but source_quote is empty; quote the notes, "
                    "or set provenance to 'playbook_default' or 'assumption'",
                )
            elif quote and self.source_text is not None and not appears_in(quote, self.source_text):
                self.add(
                    "grounding",
                    f"{path}.source_quote",
                    f"source_quote '{_clip(quote)}' is not in the notes; copy the words exactly, or set it to null "
                    "and mark provenance 'assumption'",
                )

    def grounding(self) -> None:
        if self.source_text is None:
            return
        for i, s in enumerate(self.plan.stakeholders):
            if not appears_in(s.name, self.source_text):
                self.add(
                    "grounding",
                    f"stakeholders[{i}].name",
                    f"'{s.name}' does not appear in the notes or context; list only people who are named there "
                    "and ask about missing roles in open_questions",
                )
        for i, m in enumerate(self.plan.success_metrics):
            if m.provenance in ("notes", "context"):
                for field, value in (("target", m.target), ("baseline", m.baseline)):
                    if value is not None and not number_appears(value, self.source_text):
                        self.add(
                            "grounding",
                            f"success_metrics[{i}].{field}",
                            f"{field} {value:g} of '{m.name}' is not a figure in the notes; use the customer's number, "
                            "or mark the metric provenance 'assumption'",
                        )

    # -- the playbook's meetings -------------------------------------------------

    def meetings(self) -> None:
        meetings = list(self.plan.meetings)
        by_kind: dict[str, list[int]] = {}
        for i, mt in enumerate(meetings):
            by_kind.setdefault(mt.kind, []).append(i)
            planned = sum(a.minutes for a in mt.agenda)
            if planned > mt.duration_minutes:
                self.add(
                    "agenda",
                    f"meetings[{i}].agenda",
                    f"agenda of '{mt.title}' adds up to {planned} minutes but the meeting lasts "
                    f"{mt.duration_minutes}; shorten the agenda or lengthen the meeting",
                )
            if mt.repeat_every_days is not None and (mt.repeat_until_day is None or mt.repeat_until_day < mt.day):
                self.add(
                    "meetings",
                    f"meetings[{i}].repeat_until_day",
                    "a repeating meeting needs repeat_until_day on or after its first day",
                )
        for kind, day in REVIEW_DAYS.items():
            idx = by_kind.get(kind, [])
            if not idx:
                self.add("reviews", "meetings", f"add a '{kind}' meeting on day {day}")
            for i in idx:
                if meetings[i].day != day:
                    self.add(
                        "reviews",
                        f"meetings[{i}].day",
                        f"the {kind} meeting must be on day {day}, not day {meetings[i].day}",
                    )
        kickoffs = by_kind.get("kickoff", [])
        if len(kickoffs) != 1:
            self.add("kickoff", "meetings", f"the plan needs exactly one 'kickoff' meeting, found {len(kickoffs)}")
        for i in kickoffs:
            if meetings[i].day > KICKOFF_MAX_DAY:
                self.add(
                    "kickoff",
                    f"meetings[{i}].day",
                    f"kickoff is on day {meetings[i].day}; hold it within 3 business days of the start "
                    f"(day {KICKOFF_MAX_DAY} at the latest)",
                )
        handoffs = by_kind.get("internal_handoff", [])
        if not handoffs:
            self.add(
                "handoff",
                "meetings",
                f"add an 'internal_handoff' meeting on day 1 or {HANDOFF_MAX_DAY} (within 1 business day)",
            )
        for i in handoffs:
            if meetings[i].day > HANDOFF_MAX_DAY:
                self.add(
                    "handoff",
                    f"meetings[{i}].day",
                    f"the internal handoff is on day {meetings[i].day}; hold it within 1 business day "
                    f"(day {HANDOFF_MAX_DAY} at the latest)",
                )
        if kickoffs:
            kickoff_day = meetings[kickoffs[0]].day
            recaps = [(i, c) for i, c in enumerate(self.plan.communications) if c.kind == "kickoff_recap"]
            if not recaps:
                self.add(
                    "recap",
                    "communications",
                    f"add a 'kickoff_recap' communication on day {kickoff_day} or {kickoff_day + 1} "
                    "(within 24 hours of the kickoff)",
                )
            for i, c in recaps:
                if c.send_day not in (kickoff_day, kickoff_day + 1):
                    self.add(
                        "recap",
                        f"communications[{i}].send_day",
                        f"the kickoff recap goes out on day {c.send_day}; send it on day {kickoff_day} "
                        f"or {kickoff_day + 1}",
                    )
        # Without a kickoff the check-in cadence is still checked (from day 1), so one re-ask can fix both.
        self.weekly(meetings[kickoffs[0]].day if kickoffs else 1)

    def weekly(self, kickoff_day: int) -> None:
        touch = sorted(
            {
                d
                for mt in self.plan.meetings
                if mt.kind in ("check_in", "kickoff", *REVIEW_DAYS)
                for d in mt.occurrence_days()
                if d >= kickoff_day
            }
        )
        if not any(mt.kind == "check_in" for mt in self.plan.meetings):
            self.add(
                "check_ins",
                "meetings",
                "add weekly 'check_in' meetings (repeat_every_days 7) from the first week to day 90",
            )
            return
        end = PLAN_DAYS if self.generated else max(touch, default=kickoff_day)
        points = [*touch, end] if not touch or touch[-1] < end else touch
        for a, b in itertools.pairwise(points):
            if b - a > CHECK_IN_MAX_GAP:
                self.add(
                    "check_ins",
                    "meetings",
                    f"no check-in between day {a} and day {b}; keep check-ins weekly "
                    f"(at most {CHECK_IN_MAX_GAP} days apart) until day {end}",
                )
                break

    def run(self) -> list[Violation]:
        self.days()
        self.phases()
        self.ids()
        self.owners()
        self.metrics()
        self.provenance()
        self.grounding()
        self.meetings()
        return self.out


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _find_cycle(deps: dict[str, list[str]]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in deps.get(node, []):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt in deps and state.get(nxt) is None:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return []

    for node in deps:
        if state.get(node) is None:
            found = visit(node)
            if found:
                return found
    return []


def check_plan(plan: PlanDraft, *, generated: bool = True, source_text: str | None = None) -> list[Violation]:
    """Every domain-rule violation of a plan, in a stable order.

    ``generated`` applies the 1..90 day range (a rescheduled plan may run past
    day 90); ``source_text`` (notes plus context) turns on the grounding rules.
    """
    return _Checker(plan, generated=generated, source_text=source_text).run()


def iter_rule_names() -> Iterator[str]:
    """Names of the rule families, for reports."""
    yield from (
        "day_range",
        "phases",
        "milestone_in_phase",
        "task_in_phase",
        "ids",
        "depends_on",
        "owner_known",
        "raci_accountable",
        "stakeholders",
        "metric_target",
        "provenance",
        "grounding",
        "agenda",
        "meetings",
        "reviews",
        "kickoff",
        "handoff",
        "recap",
        "check_ins",
    )
