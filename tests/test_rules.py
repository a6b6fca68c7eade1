"""Tests for onboard_llm.rules: each rule family, broken one thing at a time on the valid draft."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from onboard_llm.rules import Violation, check_plan, iter_rule_names
from onboard_llm.schema import PlanDraft

FIXTURES = Path(__file__).parent / "fixtures" / "plans"
VALID: dict[str, Any] = json.loads((FIXTURES / "valid_draft.json").read_text(encoding="utf-8"))
NOTES = (FIXTURES / "valid_notes.md").read_text(encoding="utf-8")

Data = dict[str, Any]

# Indexes into the valid draft, named so the cases read as what they break.
HANDOFF, KICKOFF, CHECK_IN, OFFICE_HOURS, REVIEW_30, REVIEW_60, REVIEW_90 = range(7)
WELCOME, RECAP = 0, 1


def plan(mutate: Callable[[Data], object] | None = None) -> PlanDraft:
    data = copy.deepcopy(VALID)
    if mutate is not None:
        mutate(data)
    return PlanDraft.model_validate(data)


@dataclass(frozen=True)
class Broken:
    mutate: Callable[[Data], object]
    rule: str
    path: str
    #: words of the message that tell the reader what to do
    advice: str
    #: every rule that fires, when fixing one thing honestly breaks a second rule too
    rules: frozenset[str] | None = None


def _set(path: str, value: Any) -> Callable[[Data], None]:
    keys = [int(k) if k.isdigit() else k for k in path.replace("[", ".").replace("]", "").split(".")]

    def mutate(data: Data) -> None:
        target: Any = data
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return mutate


def _both(*mutations: Callable[[Data], object]) -> Callable[[Data], None]:
    def mutate(data: Data) -> None:
        for m in mutations:
            m(data)

    return mutate


def _drop_meeting(index: int) -> Callable[[Data], None]:
    return lambda data: data["meetings"].pop(index)


def _add_stakeholder(name: str) -> Callable[[Data], None]:
    return lambda data: data["stakeholders"].append(
        {"name": name, "title": "IT Director", "role": "admin", "side": "customer"}
    )


CASES: dict[str, Broken] = {
    # -- days --------------------------------------------------------------------
    "metric after day 90": Broken(
        _set("success_metrics[3].by_day", 95), "day_range", "success_metrics[3].by_day", "use a day offset in 1..90"
    ),
    "message before day 0": Broken(
        _set("communications[0].send_day", -1), "day_range", "communications[0].send_day", "use a day offset in 0..90"
    ),
    "week block ends before it starts": Broken(
        _set("weekly_plan[1].end_day", 6), "day_range", "weekly_plan[1]", "swap them or fix one"
    ),
    # -- phases --------------------------------------------------------------------
    "gap between phases": Broken(
        _set("phases[1].start_day", 33), "phases", "phases[1].start_day", "start it on day 31"
    ),
    "overlapping phases": Broken(
        _set("phases[2].start_day", 58), "phases", "phases[2].start_day", "start it on day 61"
    ),
    "first phase starts late": Broken(
        _set("phases[0].start_day", 2), "phases", "phases[0].start_day", "must start on day 1"
    ),
    "last phase ends early": Broken(_set("phases[2].end_day", 88), "phases", "phases[2].end_day", "must end on day 90"),
    "milestone outside its phase": Broken(
        _set("phases[0].milestones[1].day", 35),
        "milestone_in_phase",
        "phases[0].milestones[1].day",
        "move the day or the milestone",
    ),
    "task outside its phase": Broken(
        _set("phases[0].tasks[3].due_day", 40), "task_in_phase", "phases[0].tasks[3].due_day", "move the due day"
    ),
    # -- ids and dependencies ------------------------------------------------------
    "duplicate id": Broken(
        _set("phases[2].tasks[0].id", "t-user-list"), "ids", "phases[2].tasks[0].id", "ids must be unique"
    ),
    "unknown dependency": Broken(
        _set("phases[0].tasks[1].depends_on", ["t-users"]),
        "depends_on",
        "phases[0].tasks[1].depends_on",
        "use an existing id or remove it",
    ),
    "self dependency": Broken(
        _set("phases[0].tasks[0].depends_on", ["t-user-list"]),
        "depends_on",
        "phases[0].tasks[0].depends_on",
        "remove it from depends_on",
    ),
    "dependency cycle": Broken(
        _set("phases[0].tasks[0].depends_on", ["t-qbo"]), "depends_on", "phases", "remove one of these dependencies"
    ),
    # -- owners --------------------------------------------------------------------
    "task owner nobody knows": Broken(
        _set("phases[0].tasks[1].owner", "Marcus Bell"),
        "owner_known",
        "phases[0].tasks[1].owner",
        "use a stakeholder's exact name or one of",
    ),
    "risk owner nobody knows": Broken(
        _set("risks[0].owner", "Customer Success Manager"), "owner_known", "risks[0].owner", "exact name"
    ),
    "two accountables joined by and": Broken(
        _set("raci[0].accountable", "Priya Nair and Dana Whitfield"),
        "raci_accountable",
        "raci[0].accountable",
        "move the others to responsible or consulted",
    ),
    "two accountables joined by a slash": Broken(
        _set("raci[1].accountable", "Alma Reyes / Priya Nair"),
        "raci_accountable",
        "raci[1].accountable",
        "exactly one person or role is accountable",
    ),
    "stakeholder listed twice": Broken(
        lambda data: data["stakeholders"].append(dict(data["stakeholders"][2])),
        "stakeholders",
        "stakeholders[5].name",
        "list each once",
    ),
    # -- metrics, provenance, grounding ----------------------------------------------
    "infinite target": Broken(
        _set("success_metrics[3].target", float("inf")), "metric_target", "success_metrics[3].target", "finite number"
    ),
    "notes provenance without a quote": Broken(
        _set("stated_goals[0].source_quote", None),
        "provenance",
        "stated_goals[0].source_quote",
        "quote the notes, or set provenance to 'playbook_default' or 'assumption'",
    ),
    "quote not in the notes": Broken(
        _set("risks[1].source_quote", "Dispatchers hate new tools"),
        "grounding",
        "risks[1].source_quote",
        "copy the words exactly",
    ),
    "invented stakeholder": Broken(
        _add_stakeholder("Greg Holloway"), "grounding", "stakeholders[5].name", "list only people who are named there"
    ),
    "first name that is only part of another name": Broken(
        _add_stakeholder("Dan"), "grounding", "stakeholders[5].name", "ask about missing roles in open_questions"
    ),
    "target not a figure in the notes": Broken(
        _set("success_metrics[0].target", 97),
        "grounding",
        "success_metrics[0].target",
        "use the customer's number, or mark the metric provenance 'assumption'",
    ),
    "baseline not a figure in the notes": Broken(
        _set("success_metrics[2].baseline", 13), "grounding", "success_metrics[2].baseline", "use the customer's number"
    ),
    # -- meetings ------------------------------------------------------------------
    "agenda longer than the meeting": Broken(
        lambda data: data["meetings"][KICKOFF]["agenda"].append({"item": "Demo", "minutes": 30}),
        "agenda",
        f"meetings[{KICKOFF}].agenda",
        "shorten the agenda or lengthen the meeting",
    ),
    "repeat without an end": Broken(
        _set(f"meetings[{OFFICE_HOURS}].repeat_until_day", None),
        "meetings",
        f"meetings[{OFFICE_HOURS}].repeat_until_day",
        "needs repeat_until_day",
    ),
    "review_60 on day 59": Broken(
        _set(f"meetings[{REVIEW_60}].day", 59), "reviews", f"meetings[{REVIEW_60}].day", "must be on day 60"
    ),
    "no 30-day review": Broken(_drop_meeting(REVIEW_30), "reviews", "meetings", "add a 'review_30' meeting on day 30"),
    "kickoff too late": Broken(
        _both(_set(f"meetings[{KICKOFF}].day", 6), _set(f"communications[{RECAP}].send_day", 6)),
        "kickoff",
        f"meetings[{KICKOFF}].day",
        "hold it within 3 business days of the start (day 4 at the latest)",
    ),
    "kickoff moved without its recap": Broken(
        _set(f"meetings[{KICKOFF}].day", 6),
        "kickoff",
        f"meetings[{KICKOFF}].day",
        "day 4 at the latest",
        rules=frozenset({"kickoff", "recap"}),
    ),
    "two kickoffs": Broken(
        lambda data: data["meetings"].append(dict(data["meetings"][KICKOFF], id="mt-kickoff-2")),
        "kickoff",
        "meetings",
        "exactly one 'kickoff' meeting",
    ),
    "no kickoff": Broken(_drop_meeting(KICKOFF), "kickoff", "meetings", "exactly one 'kickoff' meeting, found 0"),
    "handoff too late": Broken(
        _set(f"meetings[{HANDOFF}].day", 3), "handoff", f"meetings[{HANDOFF}].day", "day 2 at the latest"
    ),
    "no handoff": Broken(_drop_meeting(HANDOFF), "handoff", "meetings", "add an 'internal_handoff' meeting on day 1"),
    "recap two days after kickoff": Broken(
        _set(f"communications[{RECAP}].send_day", 5),
        "recap",
        f"communications[{RECAP}].send_day",
        "send it on day 3 or 4",
    ),
    "no recap": Broken(
        lambda data: data["communications"].pop(RECAP), "recap", "communications", "add a 'kickoff_recap'"
    ),
    "fortnightly check-ins": Broken(
        _set(f"meetings[{CHECK_IN}].repeat_every_days", 14),
        "check_ins",
        "meetings",
        "keep check-ins weekly (at most 7 days apart)",
    ),
    "check-ins stop at day 50": Broken(
        _set(f"meetings[{CHECK_IN}].repeat_until_day", 50),
        "check_ins",
        "meetings",
        "no check-in between day 50 and day 60",
    ),
    "no check-ins": Broken(_drop_meeting(CHECK_IN), "check_ins", "meetings", "add weekly 'check_in' meetings"),
    "no kickoff and no check-ins": Broken(
        _both(_drop_meeting(CHECK_IN), _drop_meeting(KICKOFF)),
        "check_ins",
        "meetings",
        "add weekly 'check_in' meetings",
        rules=frozenset({"kickoff", "check_ins"}),
    ),
}


def test_the_valid_draft_breaks_no_rule() -> None:
    assert check_plan(plan(), source_text=NOTES) == []
    assert check_plan(plan()) == []
    assert check_plan(plan(), generated=False, source_text=NOTES) == []


@pytest.mark.parametrize(("name", "broken"), list(CASES.items()), ids=list(CASES))
def test_one_broken_thing_gives_one_rule(name: str, broken: Broken) -> None:
    violations = check_plan(plan(broken.mutate), source_text=NOTES)
    assert {v.rule for v in violations} == (broken.rules or {broken.rule}), violations
    mine = [v for v in violations if v.rule == broken.rule]
    assert any(v.path == broken.path and broken.advice in v.message for v in mine), mine


def test_every_rule_family_is_tested() -> None:
    tested = {b.rule for b in CASES.values()}
    assert tested == set(iter_rule_names())


def test_grounding_needs_the_notes() -> None:
    # Without source text there is nothing to ground against; the same plan passes.
    invented = plan(_both(_add_stakeholder("Greg Holloway"), _set("success_metrics[0].target", 97)))
    assert check_plan(invented) == []
    assert {v.rule for v in check_plan(invented, source_text=NOTES)} == {"grounding"}


def test_grounded_target_written_as_a_fraction() -> None:
    # 0.95 in the plan is the "95%" of the notes.
    assert check_plan(plan(_set("success_metrics[0].target", 0.95)), source_text=NOTES) == []


def test_a_rescheduled_plan_may_run_past_day_90() -> None:
    slipped = plan(
        _both(
            _set("phases[2].end_day", 95),
            _set("phases[2].milestones[0].day", 95),
            _set("success_criteria_by_phase[2].day", 95),
        )
    )
    assert check_plan(slipped, generated=False, source_text=NOTES) == []
    generated = check_plan(slipped, generated=True, source_text=NOTES)
    assert {(v.rule, v.path) for v in generated} == {
        ("day_range", "phases[2].end_day"),
        ("day_range", "phases[2].milestones[0].day"),
        ("day_range", "success_criteria_by_phase[2].day"),
        ("phases", "phases[2].end_day"),
    }


def test_violation_reads_as_path_and_message() -> None:
    v = Violation(path="meetings[5].day", message="the review_60 meeting must be on day 60, not day 59", rule="reviews")
    assert str(v) == "meetings[5].day: the review_60 meeting must be on day 60, not day 59"


def test_violations_come_in_a_stable_order() -> None:
    broken = plan(
        _both(_set("phases[1].start_day", 33), _set(f"meetings[{REVIEW_60}].day", 59), _add_stakeholder("Greg"))
    )
    first = check_plan(broken, source_text=NOTES)
    assert [v.rule for v in first] == ["phases", "grounding", "reviews"]
    assert check_plan(broken, source_text=NOTES) == first
