"""Tests for onboard_llm.parsing: raw model answers to a validated plan draft, or to fixable errors.

Every file in tests/fixtures/malformed/ is one answer shaped like what real
models return, built from tests/fixtures/plans/valid_draft.json; the table
below says what parsing must make of it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onboard_llm.parsing import extract_json_text, load_json, parse_plan, reask_message
from onboard_llm.schema import PlanDraft

FIXTURES = Path(__file__).parent / "fixtures"
MALFORMED = FIXTURES / "malformed"
VALID_TEXT = (FIXTURES / "plans" / "valid_draft.json").read_text(encoding="utf-8")
NOTES = (FIXTURES / "plans" / "valid_notes.md").read_text(encoding="utf-8")
VALID = PlanDraft.model_validate_json(VALID_TEXT)


def at(obj: Any, path: str) -> Any:
    """The value at a path such as ``phases[1].milestones[0].day`` in a dict or a model."""
    for name, index in re.findall(r"([A-Za-z_]\w*)|\[(\d+)\]", path):
        if index:
            obj = obj[int(index)]
        elif isinstance(obj, dict):
            obj = obj[name]
        else:
            obj = getattr(obj, name)
    return obj


@dataclass(frozen=True)
class Expect:
    stage: str
    #: path -> value in the draft (or, when validation failed, in the repaired data).
    values: dict[str, Any] = field(default_factory=dict)
    #: each must be a substring of one warning; None means "no warnings at all".
    warnings: tuple[str, ...] | None = None
    #: each must be a substring of one error.
    errors: tuple[str, ...] = ()
    #: for stage "domain": the rule names of the violations, exactly.
    rules: frozenset[str] = frozenset()
    #: for stage "ok": the draft equals the valid fixture's.
    same_as_valid: bool = True


REPAIRED = ("repaired malformed JSON",)

CASES: dict[str, Expect] = {
    # -- finding the JSON -----------------------------------------------------
    "fenced_json.md": Expect("ok"),
    "fence_no_lang.md": Expect("ok"),
    "crlf_fenced.md": Expect("ok", values={"customer.company": "Kestrel Freight Logistics"}),
    "prose_around.md": Expect("ok"),
    "prose_placeholder_brace.md": Expect("ok"),
    "two_fences_outline.md": Expect("ok"),
    "two_fences_json_snippet.md": Expect("ok", values={"phases[0].name": "Setup and training"}),
    "array_wrapped.json": Expect("ok"),
    "plan_envelope.json": Expect("ok", warnings=("unwrapped the plan from a 'plan' envelope",)),
    "envelope_with_metadata.json": Expect(
        "ok", warnings=("unwrapped the plan from a 'onboardingPlan' envelope", "ignored notes beside")
    ),
    # -- broken JSON ----------------------------------------------------------
    "trailing_commas.json": Expect(
        "ok",
        values={"outcome_brief.constraints[1]": "Priya's time is tight in March"},
        warnings=REPAIRED,
    ),
    "single_quotes.txt": Expect(
        "ok",
        values={"outcome_brief.constraints[1]": "Priya's time is tight in March", "customer.csm": "Alma Reyes"},
        warnings=REPAIRED,
    ),
    "python_literals.txt": Expect(
        "ok",
        values={
            "meetings[0].customer_visible": False,
            "phases[2].tasks[1].customer_visible": False,
            "phases[0].tasks[0].customer_visible": True,
            "success_metrics[0].role": None,
        },
        warnings=REPAIRED,
    ),
    "comments.jsonc": Expect(
        "ok", values={"success_metrics[0].by_day": 90, "meetings[2].repeat_until_day": 85}, warnings=REPAIRED
    ),
    "smart_quotes.txt": Expect(
        "ok",
        # json-repair alone cut "Integrations (Samsara, QuickBooks Online)" at the comma.
        values={"raci[0].activity": "Integrations (Samsara, QuickBooks Online)", "phases[1].start_day": 31},
        warnings=("replaced curly quotes",),
    ),
    "truncated_mid_object.md": Expect(
        "schema",
        values={"meetings[5].kind": "review_60", "meetings[5].title": "60-day review"},
        warnings=("looked cut off",),
        errors=("meetings[5].day: Field required", "risks: Field required", "recovery_protocol: Field required"),
    ),
    "truncated_mid_string.md": Expect(
        "schema",
        values={"phases[0].milestones[1].success_check": "Loads sync to Samsara and Quick"},
        warnings=("looked cut off",),
        errors=("meetings: Field required", "transition: Field required"),
    ),
    # -- values written the human way -----------------------------------------
    "numbers_as_strings.json": Expect(
        "ok",
        values={
            "success_metrics[0].target": 95,
            "success_metrics[0].by_day": 90,
            "success_metrics[0].baseline": 82,
            "meetings[4].day": 30,
            "meetings[4].duration_minutes": 45,
            "meetings[2].repeat_every_days": 7,
            "meetings[2].repeat_until_day": 85,
            "communications[1].send_day": 4,
        },
    ),
    "day_ranges.json": Expect(
        "ok",
        values={
            "phases[0].start_day": 1,
            "phases[0].end_day": 30,
            "phases[1].start_day": 31,
            "phases[1].end_day": 60,
            "success_metrics[1].by_day": 60,
            "phases[1].milestones[0].day": 60,
            "phases[2].tasks[1].due_day": 80,
        },
        warnings=(
            "phases[0].start_day: read the range '1-30' as 1",
            "phases[1].start_day: read the range '31-60' as 31",
            "phases[1].end_day: read the range '31-60' as 60",
            "success_metrics[1].by_day: read the range '31-60' as 60",
            "phases[1].milestones[0].day: read the range '31-60' as 60",
            "phases[2].tasks[1].due_day: read the range 'days 61-80' as 80",
        ),
    ),
    "day_strings.json": Expect(
        "ok",
        values={
            "meetings[4].day": 30,
            "meetings[5].day": 60,
            "meetings[6].day": 90,
            "success_metrics[0].by_day": 90,
            "phases[1].tasks[0].due_day": 45,
            "communications[1].send_day": 4,
        },
        warnings=(
            "meetings[4].day: read 'Day 30' as 30",
            "meetings[6].day: read 'day 90' as 90",
            "phases[1].tasks[0].due_day: read '45 days' as 45",
            "communications[1].send_day: read 'Day 4' as 4",
        ),
    ),
    "percent_and_units.json": Expect(
        "ok",
        values={
            "success_metrics[0].target": 95,
            "success_metrics[0].baseline": 82,
            "success_metrics[2].target": 4,
            "success_metrics[2].baseline": 12,
            "meetings[1].duration_minutes": 60,
            "meetings[2].repeat_every_days": 7,
            "recovery_protocol.reset_minutes": 45,
        },
        warnings=(
            "success_metrics[0].target: read '95%' as 95",
            "success_metrics[0].baseline: read '82%' as 82",
            "success_metrics[2].target: read '4 minutes' as 4",
            "meetings[1].duration_minutes: read '1 hour' as 60",
            "meetings[2].repeat_every_days: read '1 week' as 7",
        ),
    ),
    "camel_case_keys.json": Expect(
        "ok",
        values={
            "phases[1].start_day": 31,
            "phases[0].tasks[0].due_day": 5,
            "success_metrics[0].by_day": 90,
            "meetings[2].repeat_every_days": 7,
            "raci[0].accountable": "Priya Nair",
            "customer.implementation_complexity": "medium",
        },
        warnings=(
            "phases[0].startDay: renamed to start_day",
            "phases[0].tasks[0].dueDay: renamed to due_day",
            "success_metrics[0].byDay: renamed to by_day",
            "RACI: renamed to raci",
            "customer.ImplementationComplexity: renamed to implementation_complexity",
        ),
    ),
    "extra_keys.json": Expect(
        "ok",
        warnings=(
            "confidence: dropped",
            "assumptions: dropped",
            "customer.arr: dropped",
            "phases[0].tasks[0].status: dropped",
            "meetings[1].agenda[0].owner: dropped",
            "recovery_protocol.notes: dropped",
        ),
    ),
    "enum_case.json": Expect(
        "ok",
        values={
            "customer.implementation_complexity": "medium",
            "stakeholders[0].role": "executive_sponsor",
            "stakeholders[0].side": "customer",
            "stakeholders[1].role": "project_lead",
            "meetings[0].kind": "internal_handoff",
            "meetings[4].kind": "review_30",
            "communications[1].kind": "kickoff_recap",
            "risks[0].probability": "high",
            "success_metrics[3].provenance": "playbook_default",
        },
        warnings=(
            "risks[0].probability: read 'High' as 'high'",
            "stakeholders[0].role: read 'Executive Sponsor' as 'executive_sponsor'",
            "meetings[4].kind: read 'Review 30' as 'review_30'",
        ),
    ),
    "null_lists.json": Expect(
        "ok",
        values={"weekly_plan": [], "celebrations": [], "phases[2].tasks[0].depends_on": []},
        warnings=(
            "weekly_plan: read null as an empty list",
            "celebrations: read null as an empty list",
            "phases[2].tasks[0].depends_on: read null as an empty list",
            "weekly_plan_unused: dropped",
        ),
        same_as_valid=False,
    ),
    # -- schema errors ----------------------------------------------------------
    "missing_section.json": Expect("schema", errors=("raci: Field required",)),
    "week_not_day.json": Expect(
        "schema", values={"phases[1].milestones[0].day": "Week 9"}, errors=("phases[1].milestones[0].day", '"Week 9"')
    ),
    # -- domain errors ----------------------------------------------------------
    "domain_phase_gap.json": Expect(
        "domain", errors=("phases[1].start_day: ", "start it on day 31"), rules=frozenset({"phases"})
    ),
    "domain_review_60_day_59.json": Expect(
        "domain", errors=("meetings[5].day: the review_60 meeting must be on day 60",), rules=frozenset({"reviews"})
    ),
    "domain_owner_not_stakeholder.json": Expect(
        "domain", errors=("phases[0].tasks[1].owner: owner 'Marcus Bell'",), rules=frozenset({"owner_known"})
    ),
    "domain_two_accountables.json": Expect(
        "domain",
        errors=("raci[0].accountable: 'Priya Nair and Dana Whitfield' names more than one accountable",),
        rules=frozenset({"raci_accountable"}),
    ),
    "domain_invented_stakeholder.json": Expect(
        "domain",
        errors=("stakeholders[5].name: 'Greg Holloway' does not appear in the notes",),
        rules=frozenset({"grounding"}),
    ),
    # -- no JSON at all ---------------------------------------------------------
    "refusal.txt": Expect("no_json", errors=("contains no JSON object",)),
    "empty.txt": Expect("no_json", errors=("contains no JSON object",)),
}


def test_every_fixture_has_an_expectation() -> None:
    on_disk = {p.name for p in MALFORMED.iterdir()}
    assert on_disk == set(CASES)
    assert len(on_disk) >= 22


def test_valid_fixture_parses_clean() -> None:
    result = parse_plan(VALID_TEXT, source_text=NOTES)
    assert (result.stage, result.errors, result.warnings) == ("ok", [], [])
    assert result.draft == VALID


@pytest.mark.parametrize(("name", "expect"), list(CASES.items()), ids=list(CASES))
def test_malformed_answer(name: str, expect: Expect) -> None:
    text = (MALFORMED / name).read_text(encoding="utf-8")
    result = parse_plan(text, source_text=NOTES)

    assert result.stage == expect.stage, result.errors
    assert result.ok is (expect.stage == "ok")
    if expect.stage == "ok":
        assert result.errors == []
        assert result.draft is not None
        if expect.same_as_valid:
            assert result.draft == VALID
    elif expect.stage == "domain":
        assert result.draft is not None
        assert {v.rule for v in result.violations} == expect.rules
        assert result.errors == [str(v) for v in result.violations]
    else:
        assert result.draft is None
        assert result.errors

    source = result.draft if result.draft is not None else result.data
    for path, value in expect.values.items():
        assert at(source, path) == value, path

    if expect.warnings is None:
        assert result.warnings == []
    for wanted in expect.warnings or ():
        assert any(wanted in w for w in result.warnings), (wanted, result.warnings)
    for wanted in expect.errors:
        assert any(wanted in e for e in result.errors), (wanted, result.errors)


def test_repaired_numbers_have_the_contract_types() -> None:
    result = parse_plan((MALFORMED / "numbers_as_strings.json").read_text(encoding="utf-8"), source_text=NOTES)
    assert result.draft is not None
    assert type(result.draft.meetings[4].day) is int
    assert type(result.draft.success_metrics[0].target) is float


def test_money_and_scaled_figures() -> None:
    data = json.loads(VALID_TEXT)
    data["success_metrics"][0].update(target="$2.4M", baseline="1.2k", unit="USD")
    data["success_metrics"][1].update(target="2.4m")  # millions, minutes or metres: not a guess to make
    result = parse_plan(json.dumps(data))
    assert result.stage == "schema"
    assert result.data["success_metrics"][0]["target"] == 2_400_000
    assert result.data["success_metrics"][0]["baseline"] == 1200
    assert any("success_metrics[0].target: read '$2.4M' as 2400000" in w for w in result.warnings)
    assert result.errors == [
        'success_metrics[1].target: Input should be a valid number, unable to parse string as a number (got "2.4m")'
    ]


def with_value(path: str, value: Any) -> str:
    """The valid draft as JSON text, with the value at ``path`` replaced."""
    data = json.loads(VALID_TEXT)
    *parents, last = re.findall(r"[A-Za-z_]\w*|\d+", path)
    target = data
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    target[int(last) if last.isdigit() else last] = value
    return json.dumps(data)


@pytest.mark.parametrize(
    ("path", "written", "read"),
    [
        ("phases[1].start_day", "Days 31-60", 31),
        ("phases[1].start_day", "31–60", 31),
        ("phases[1].end_day", "Day 31 - Day 60", 60),
        ("phases[1].end_day", "31 to 60", 60),
        ("phases[1].end_day", "days 31 through 60", 60),
        ("weekly_plan[1].start_day", "8-30", 8),
        ("meetings[4].day", "30.0", 30),
        ("meetings[4].day", 30.0, 30),
        ("meetings[2].repeat_every_days", "2 weeks", 14),
        ("recovery_protocol.rescue_plan_days", "14 days", 14),
        ("success_metrics[1].target", "100 users", 100),
        ("success_metrics[1].target", "1,200", 1200),
    ],
)
def test_numbers_written_as_text(path: str, written: Any, read: int) -> None:
    result = parse_plan(with_value(path, written))
    assert result.data is not None
    assert at(result.data, path) == read
    assert type(at(result.data, path)) is (float if "target" in path else int)


@pytest.mark.parametrize(
    ("path", "written"),
    [
        ("phases[1].milestones[0].day", "Week 9"),  # which day of week 9? the model must say
        ("meetings[1].duration_minutes", "45 days"),
        ("meetings[2].repeat_every_days", "fortnightly"),
        ("success_metrics[0].target", "95-98%"),
        ("phases[0].tasks[0].due_day", "$5"),
        ("phases[1].start_day", "Week 5-8"),
    ],
)
def test_ambiguous_numbers_are_left_for_the_schema_to_reject(path: str, written: str) -> None:
    result = parse_plan(with_value(path, written))
    assert result.stage == "schema"
    assert any(e.startswith(f"{path}: ") and json.dumps(written) in e for e in result.errors), result.errors


def test_reask_message_lists_every_error() -> None:
    result = parse_plan((MALFORMED / "truncated_mid_object.md").read_text(encoding="utf-8"))
    message = reask_message(result)
    assert "does not match the plan_draft schema" in message
    for error in result.errors:
        assert f"- {error}" in message


def test_load_json_notes_every_repair() -> None:
    assert load_json('{"a": 1}') == ({"a": 1}, [])
    data, notes = load_json('{"a": [1, 2,], }')
    assert data == {"a": [1, 2]}
    assert len(notes) == 1 and notes[0].startswith("repaired malformed JSON (")
    data, notes = load_json('{"a": {"b": "cut')
    assert data == {"a": {"b": "cut"}}
    assert "looked cut off" in notes[0]


@pytest.mark.parametrize(
    "text",
    [
        "{" * 5000,  # json-repair gives up with an exception
        '{"a":' * 100_000 + "1" + "}" * 100_000,  # the json module runs out of stack
    ],
    ids=["unclosed", "deep"],
)
def test_pathological_nesting_is_no_json_not_a_crash(text: str) -> None:
    result = parse_plan(text)
    assert result.stage == "no_json"
    assert result.errors and result.draft is None


# -- properties ------------------------------------------------------------------

# Prose a model writes around its JSON; no braces and no backticks, which would be JSON or a fence.
prose = st.text(alphabet="abcdefgh XYZ.,:;!?-'\"\n\t0123456789", max_size=80)


@st.composite
def reformatted_valid_plans(draw: st.DrawFn) -> str:
    obj = json.loads(VALID_TEXT)
    body = json.dumps(
        obj,
        indent=draw(st.sampled_from([None, 0, 1, 2, 4, "\t"])),
        sort_keys=draw(st.booleans()),
        ensure_ascii=draw(st.booleans()),
        separators=draw(st.sampled_from([None, (",", ":"), (", ", ": ")])),
    )
    fence = draw(st.sampled_from([None, "```json", "```JSON", "```", "``` json"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    if fence is not None:
        body = f"{fence}{newline}{body}{newline}```"
    return draw(prose) + newline + body + newline + draw(prose)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reformatted_valid_plans())
def test_any_formatting_of_the_valid_plan_parses_to_the_same_draft(text: str) -> None:
    result = parse_plan(text, source_text=NOTES)
    assert result.stage == "ok", result.errors
    assert result.draft == VALID
    assert result.warnings == []


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_extract_json_text_never_raises(text: str) -> None:
    found = extract_json_text(text)
    assert found is None or (found.startswith("{") and found in text)


json_ish = st.text(alphabet="{}[]\"':,.-0123456789 \n\taeflnrstu`\\/*#“”", max_size=200)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), json_ish))
def test_parse_plan_never_raises(text: str) -> None:
    result = parse_plan(text, source_text=NOTES)
    assert result.stage in ("ok", "no_json", "schema", "domain")
    assert result.stage == "ok" or result.errors
