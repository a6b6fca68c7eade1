"""The built-in scorers on one golden-consistent plan and on copies with exactly one thing changed.

The fixtures (``fixtures/``) are a small synthetic handoff (``notes.md``), the
plan draft the offline planner wrote for it (``draft.json``), and a golden
plan and expectations written by hand to agree with that draft. Each test
changes one item and checks that the subscore naming that field drops, that
the others stay where they were, and that the details name the item.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from onboard_llm.errors import ConfigError
from onboard_llm.evals.golden import Expectations, GoldenPlan
from onboard_llm.evals.scorers._common import similarity
from onboard_llm.evals.scorers.fields import FIELDS, FieldsScorer, keyword_in, quotes_overlap, stem
from onboard_llm.evals.scorers.grounding import proper_nouns
from onboard_llm.evals.scoring import CaseOutput, Score, get_scorer, scorer_names
from onboard_llm.parsing import parse_plan
from onboard_llm.scheduling import schedule
from onboard_llm.schema import PlanDraft

FIXTURES = Path(__file__).parent / "fixtures"
START = dt.date(2027, 3, 1)
NOTES = (FIXTURES / "notes.md").read_text(encoding="utf-8")
SOURCE = f"{NOTES}\n\nstart_date: {START.isoformat()}"
DRAFT: dict[str, Any] = json.loads((FIXTURES / "draft.json").read_text(encoding="utf-8"))
GOLDEN_DATA: dict[str, Any] = json.loads((FIXTURES / "golden.json").read_text(encoding="utf-8"))
GOLDEN = GoldenPlan.model_validate(GOLDEN_DATA)
EXPECT = Expectations.model_validate_json((FIXTURES / "expect.json").read_text(encoding="utf-8"))
SCORERS = ("schema", "structure", "fields", "grounding", "facts")


def output_for(
    draft: dict[str, Any],
    *,
    golden: GoldenPlan = GOLDEN,
    expect: Expectations = EXPECT,
) -> CaseOutput:
    """The case output the runner would build when the model answered with this draft."""
    raw = json.dumps(draft)
    try:
        plan = schedule(PlanDraft.model_validate(draft), START)
    except ValidationError:
        plan = None
    parsed = parse_plan(raw, source_text=SOURCE)
    return CaseOutput("harbor-lane", NOTES, SOURCE, raw, parsed, plan, golden, expect)


def failed_output(raw: str | None) -> CaseOutput:
    """A case whose generation produced no plan: the provider failed (raw None) or the answer was bad."""
    parsed = parse_plan(raw, source_text=SOURCE) if raw is not None else None
    return CaseOutput("harbor-lane", NOTES, SOURCE, raw, parsed, None, GOLDEN, EXPECT)


def score(name: str, output: CaseOutput, **params: Any) -> Score:
    return get_scorer(name, **params).score(output)


def subs(result: Score) -> dict[str, float]:
    return {s.name: s.score for s in result.subscores}


def details_of(result: Score, subscore: str) -> str:
    return "\n".join(next(s.details for s in result.subscores if s.name == subscore))


def changed(edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    draft = copy.deepcopy(DRAFT)
    edit(draft)
    return draft


def milestone(draft: dict[str, Any], name_start: str) -> dict[str, Any]:
    return next(m for p in draft["phases"] for m in p["milestones"] if m["name"].startswith(name_start))


def assert_only_drop(name: str, before: CaseOutput, after: CaseOutput, subscore: str) -> Score:
    """The scorer's ``subscore`` dropped, every other subscore is unchanged; returns the new score."""
    old, new = score(name, before), score(name, after)
    assert subs(new)[subscore] < subs(old)[subscore], details_of(new, subscore)
    others = {k: v for k, v in subs(new).items() if k != subscore}
    assert others == {k: v for k, v in subs(old).items() if k != subscore}
    assert new.score < old.score
    return new


BASE = output_for(DRAFT)


# -- the golden-consistent plan ---------------------------------------------------


def test_builtin_scorers_are_registered() -> None:
    assert set(SCORERS) <= set(scorer_names())


@pytest.mark.parametrize("name", SCORERS)
def test_golden_consistent_plan_scores_one_on_every_subscore(name: str) -> None:
    result = score(name, BASE)
    assert result.scorer == name
    assert result.score == 1.0, result.details
    assert result.subscores and all(s.score == 1.0 for s in result.subscores), result.as_dict()


def test_fields_match_despite_title_and_playbook_default_metric() -> None:
    # The plan writes "Dr. Helen Ortiz", the golden "Helen Ortiz"; the plan adds a playbook-default metric.
    result = score("fields", BASE)
    assert "Dr. Helen Ortiz" in [s["name"] for s in DRAFT["stakeholders"]]
    assert "'Time to first value'" in details_of(result, "success_metrics")


# -- fields: one change at a time --------------------------------------------------


def test_wrong_metric_target_drops_success_metrics_and_names_it() -> None:
    draft = changed(lambda d: d["success_metrics"][0].update(target=12))
    result = assert_only_drop("fields", BASE, output_for(draft), "success_metrics")
    assert "metric 'No-show rate': target 12 vs golden 10 (outside 5% tolerance)" in details_of(
        result, "success_metrics"
    )


def test_metric_target_within_tolerance_or_as_fraction_still_matches() -> None:
    near = changed(lambda d: d["success_metrics"][0].update(target=10.4))
    fraction = changed(lambda d: d["success_metrics"][0].update(target=0.1))
    assert subs(score("fields", output_for(near)))["success_metrics"] == 1.0
    assert subs(score("fields", output_for(fraction)))["success_metrics"] == 1.0
    strict = score("fields", output_for(near), target_tolerance=0.01)
    assert subs(strict)["success_metrics"] < 1.0


def test_metric_due_late_is_reported_with_the_day() -> None:
    draft = changed(lambda d: d["success_metrics"][1].update(by_day=60))
    result = assert_only_drop("fields", BASE, output_for(draft), "success_metrics")
    assert "by day 60 vs golden day 90 (outside ±7 days)" in details_of(result, "success_metrics")


def test_dropped_goal_drops_stated_goals_and_names_it() -> None:
    draft = changed(lambda d: d["stated_goals"].pop(1))
    result = assert_only_drop("fields", BASE, output_for(draft), "stated_goals")
    assert "uncovered goal 'Cut patient check-in from 9 minutes to under 3'" in details_of(result, "stated_goals")
    assert subs(result)["stated_goals"] == pytest.approx(2 / 3)


def test_shifted_milestone_drops_milestones_and_names_it() -> None:
    # Dentrix moves from day 15 to 28: beyond ±7 days, still inside its phase, so structure is untouched.
    draft = changed(lambda d: milestone(d, "Dentrix connected").update(day=28))
    result = assert_only_drop("fields", BASE, output_for(draft), "milestones")
    assert "milestone 'Dentrix connected and syncing': day 28 vs golden day 15" in details_of(result, "milestones")
    assert subs(score("structure", output_for(draft))) == subs(score("structure", BASE))


def test_invented_stakeholder_drops_stakeholders_and_names_them() -> None:
    karen = {"name": "Karen Webb", "title": "IT Manager", "role": "admin", "side": "customer"}
    draft = changed(lambda d: d["stakeholders"].append(karen))
    result = assert_only_drop("fields", BASE, output_for(draft), "stakeholders")
    assert "invented stakeholder 'Karen Webb' (admin): not in the golden plan and not named in the notes" in (
        details_of(result, "stakeholders")
    )


def test_stakeholder_with_another_role_counts_half() -> None:
    draft = changed(lambda d: d["stakeholders"][4].update(role="admin"))  # Nina Alvarez, champion
    result = assert_only_drop("fields", BASE, output_for(draft), "stakeholders")
    assert "stakeholder 'Nina Alvarez': role 'admin' vs golden 'champion'" in details_of(result, "stakeholders")
    assert subs(result)["stakeholders"] == pytest.approx(2 * 4.5 / 10)


def test_swapped_owner_drops_milestones_and_names_both_owners() -> None:
    draft = changed(lambda d: milestone(d, "Users provisioned").update(owner="Jordan Park"))
    result = assert_only_drop("fields", BASE, output_for(draft), "milestones")
    assert "milestone 'Users provisioned': owner 'Jordan Park' vs golden 'Sam Patel'" in details_of(
        result, "milestones"
    )
    # Both are known people, so the plan's own structure is still sound.
    assert score("structure", output_for(draft)).score == 1.0


def test_dropped_risk_drops_risks_and_names_it() -> None:
    draft = changed(lambda d: d["risks"].pop(0))
    result = assert_only_drop("fields", BASE, output_for(draft), "risks")
    assert "uncovered risk 'High front-desk turnover erodes trained users'" in details_of(result, "risks")


def test_wrong_company_drops_customer() -> None:
    draft = changed(lambda d: d["customer"].update(company="Harbor Dental Partners", implementation_complexity="high"))
    result = assert_only_drop("fields", BASE, output_for(draft), "customer")
    assert subs(result)["customer"] == 0.0
    assert "implementation_complexity 'high' vs golden 'medium'" in details_of(result, "customer")


def test_field_weights_change_the_mean_and_bad_weights_are_config_errors() -> None:
    draft = changed(lambda d: d["stated_goals"].pop(1))
    only_goals = score("fields", output_for(draft), weights=dict.fromkeys(FIELDS, 0.0) | {"stated_goals": 1})
    assert only_goals.score == pytest.approx(2 / 3)
    assert [s.name for s in only_goals.subscores] == ["stated_goals"]
    with pytest.raises(ConfigError, match="unknown field 'goals'"):
        get_scorer("fields", weights={"goals": 1})
    with pytest.raises(ConfigError, match="every weight is 0"):
        get_scorer("fields", weights=dict.fromkeys(FIELDS, 0))
    with pytest.raises(ConfigError, match="name_threshold"):
        get_scorer("fields", name_threshold=1.5)
    with pytest.raises(ConfigError, match="bad parameters"):
        get_scorer("fields", no_such_option=True)


def test_optimal_matching_beats_greedy() -> None:
    # p1 reads like both golden metrics; p2 only like the first. Greedy gives g1 its closest (p1)
    # and leaves g2 with nothing; the optimal assignment pairs g1-p2 and g2-p1.
    g1, g2 = "Online bookings", "Text reminders sent"
    p1, p2 = "Online bookings and text reminders sent", "Online booking count"
    threshold = 0.6
    assert similarity(g1, p1) > similarity(g1, p2) >= threshold
    assert similarity(g2, p1) >= threshold > similarity(g2, p2)

    def greedy(golden: list[str], answer: list[str]) -> int:
        free, hits = list(answer), 0
        for g in golden:
            best = max(free, key=lambda a: similarity(g, a), default=None)
            if best is not None and similarity(g, best) >= threshold:
                free.remove(best)
                hits += 1
        return hits

    assert greedy([g1, g2], [p1, p2]) == 1
    metric = {"target": 80, "unit": "%", "by_day": 60}
    golden = GoldenPlan.model_validate(
        GOLDEN_DATA | {"success_metrics": [{"name": g1, **metric}, {"name": g2, **metric}]}
    )
    answer = [{"name": n, **metric, "provenance": "assumption"} for n in (p1, p2)]
    draft = changed(lambda d: d.update(success_metrics=answer))
    result = score("fields", output_for(draft, golden=golden), name_threshold=threshold)
    assert subs(result)["success_metrics"] == 1.0, details_of(result, "success_metrics")


def test_missed_and_extra_metrics_are_listed() -> None:
    extra = {"name": "Online bookings", "target": 50, "unit": "staff", "by_day": 60, "provenance": "assumption"}

    def edit(d: dict[str, Any]) -> None:
        d["success_metrics"][1] = extra

    draft = changed(edit)
    result = score("fields", output_for(draft))
    text = details_of(result, "success_metrics")
    assert "missed golden metric 'Patient check-in time' (3 minutes by day 90)" in text
    assert "extra metric 'Online bookings' (50 staff by day 60) is not in the golden plan" in text
    assert subs(result)["success_metrics"] == pytest.approx(0.5)  # 1 match, 2 counted in the answer, 2 golden


# -- structure ------------------------------------------------------------------------


def test_unknown_owner_drops_owners_and_names_it() -> None:
    draft = changed(lambda d: milestone(d, "Adoption targets set").update(owner="Bob Smith"))
    result = assert_only_drop("structure", BASE, output_for(draft), "owners")
    assert "milestone 'Adoption targets set for each role': owner 'Bob Smith' is neither" in details_of(
        result, "owners"
    )


def test_missing_review_drops_reviews_only() -> None:
    draft = changed(lambda d: d.update(meetings=[m for m in d["meetings"] if m["kind"] != "review_60"]))
    result = assert_only_drop("structure", BASE, output_for(draft), "reviews")
    assert subs(result)["reviews"] == pytest.approx(2 / 3)
    assert "missing the review_60 meeting (day 60)" in details_of(result, "reviews")


def test_late_kickoff_drops_kickoff_on_dates() -> None:
    def late(d: dict[str, Any]) -> None:
        next(m for m in d["meetings"] if m["kind"] == "kickoff").update(day=8)
        next(c for c in d["communications"] if c["kind"] == "kickoff_recap").update(send_day=8)

    result = assert_only_drop("structure", BASE, output_for(changed(late)), "kickoff")
    assert "kickoff on 2027-03-08 is 5 business days after the start" in details_of(result, "kickoff")


def test_raci_with_two_accountables_drops_raci() -> None:
    draft = changed(lambda d: d["raci"][0].update(accountable="Jordan Park, Sam Patel"))
    result = assert_only_drop("structure", BASE, output_for(draft), "raci")
    assert "'Jordan Park, Sam Patel' names more than one accountable" in details_of(result, "raci")


def test_phase_gap_drops_phases() -> None:
    draft = changed(lambda d: d["phases"][1].update(start_day=33))
    result = score("structure", output_for(draft))
    assert subs(result)["phases"] == 0.0
    assert "leaves a gap" in details_of(result, "phases")


def test_structure_checks_param() -> None:
    result = score("structure", BASE, checks=["reviews", "raci"])
    assert [s.name for s in result.subscores] == ["reviews", "raci"]
    with pytest.raises(ConfigError, match="unknown: owner"):
        get_scorer("structure", checks=["owner"])


# -- schema ----------------------------------------------------------------------------


def test_schema_distinguishes_the_stages() -> None:
    no_json = score("schema", failed_output("Sorry, I cannot help with that."))
    assert no_json.score == 0.0 and subs(no_json) == {"json": 0.0, "schema": 0.0, "domain": 0.0}
    assert "no JSON object" in details_of(no_json, "json")

    broken = copy.deepcopy(DRAFT)
    del broken["customer"]
    schema_error = score("schema", failed_output(json.dumps(broken)))
    assert schema_error.score == 0.25 and subs(schema_error) == {"json": 1.0, "schema": 0.0, "domain": 0.0}
    assert "customer" in details_of(schema_error, "schema")
    assert "not checked: the schema stage failed first" in details_of(schema_error, "domain")

    no_review = changed(lambda d: d.update(meetings=[m for m in d["meetings"] if m["kind"] != "review_60"]))
    domain = score("schema", output_for(no_review))
    assert domain.score == pytest.approx(0.5 + 0.5 * (1 - 1 / 10))
    assert subs(domain) == {"json": 1.0, "schema": 1.0, "domain": pytest.approx(0.9)}
    assert "1 domain-rule violation(s) (reviews ×1)" in domain.details
    assert any("review_60" in d for d in domain.details)

    many = score("schema", output_for(no_review), max_violations=1)
    assert many.score == 0.5


def test_schema_when_the_provider_failed() -> None:
    result = score("schema", failed_output(None))
    assert result.score == 0.0
    assert "the provider returned no answer" in result.details[0]


def test_schema_reads_the_plan_when_the_runner_gave_no_parse() -> None:
    plan_only = CaseOutput("c", NOTES, SOURCE, None, None, BASE.plan, GOLDEN, EXPECT)
    assert score("schema", plan_only).score == 1.0


# -- grounding -----------------------------------------------------------------------------


def test_grounding_lists_an_invented_figure() -> None:
    draft = changed(lambda d: d["success_metrics"][0].update(target=12))
    result = assert_only_drop("grounding", BASE, output_for(draft), "figures")
    assert "figure 12 (target of metric 'No-show rate') is not in the notes or context" in details_of(result, "figures")


def test_grounding_skips_assumed_metrics() -> None:
    draft = changed(lambda d: d["success_metrics"][0].update(target=12, provenance="assumption", source_quote=None))
    assert score("grounding", output_for(draft)).score == 1.0


def test_grounding_lists_an_invented_person() -> None:
    karen = {"name": "Karen Webb", "role": "admin", "side": "customer"}
    result = assert_only_drop(
        "grounding", BASE, output_for(changed(lambda d: d["stakeholders"].append(karen))), "people"
    )
    assert "person 'Karen Webb' (stakeholder) is not in the notes or context" in details_of(result, "people")


def test_grounding_lists_an_invented_tool_and_date() -> None:
    task = {"id": "t-okta", "title": "Connect Okta SSO for all clinics", "owner": "Sam Patel", "due_day": 9}

    def edit(d: dict[str, Any]) -> None:
        d["phases"][0]["tasks"].append(task)
        d["risks"][0]["mitigation"] = "Train new hires by April 30 with recorded sessions."

    result = score("grounding", output_for(changed(edit)))
    assert subs(result)["integrations"] < 1.0 and subs(result)["dates"] < 1.0
    assert subs(result)["people"] == 1.0 and subs(result)["figures"] == 1.0
    assert "name 'Okta' (in task 'Connect Okta SSO for all clinics') is not in the notes" in details_of(
        result, "integrations"
    )
    assert "date 'April 30' (in risks[0].mitigation) is not in the notes or context" in details_of(result, "dates")


def test_grounding_text_numbers_are_optional() -> None:
    draft = changed(lambda d: d["stated_goals"][0].update(goal="Bring no-show rate from 18% to 7.5%"))
    assert score("grounding", output_for(draft)).score == 1.0
    result = score("grounding", output_for(draft), check_text_numbers=True)
    assert "figure 7.5 (in goal 'Bring no-show rate from 18% to 7.5%')" in details_of(result, "figures")


def test_proper_nouns_skip_sentence_case_and_plan_vocabulary() -> None:
    assert proper_nouns("Grant access for the QuickBooks Online integration, then Okta SSO and SAP") == [
        "QuickBooks Online",
        "Okta",
        "SAP",
    ]
    assert proper_nouns("Kickoff held on Monday; ROI review with the CSM") == []


# -- facts ---------------------------------------------------------------------------------


def test_must_not_mention_hit_drops_avoid() -> None:
    draft = changed(lambda d: d["risks"][0].update(mitigation="Keep HIPAA training in the new-hire checklist."))
    result = assert_only_drop("facts", BASE, output_for(draft), "avoid")
    assert subs(result)["avoid"] == 0.5
    assert "must not mention 'HIPAA', but the plan does" in details_of(result, "avoid")


def test_must_mention_miss_drops_mention() -> None:
    expect = EXPECT.model_copy(update={"must_mention": [*EXPECT.must_mention, "Okta"]})
    result = score("facts", output_for(DRAFT, expect=expect))
    assert subs(result) == {"mention": 0.75, "avoid": 1.0}
    assert "must mention 'Okta', but the plan does not" in details_of(result, "mention")


def test_facts_with_nothing_expected() -> None:
    result = score("facts", output_for(DRAFT, expect=Expectations()))
    assert result.score == 1.0 and "expects nothing" in result.details[0]


# -- no plan ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["structure", "fields", "grounding", "facts"])
@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "the provider returned no answer"),
        ("I could not produce a plan.", "no readable JSON object"),
        ('{"primary_goal": "x"}', "does not match the plan schema"),
    ],
)
def test_missing_plan_scores_zero_with_the_reason(name: str, raw: str | None, reason: str) -> None:
    result = score(name, failed_output(raw))
    assert result.score == 0.0
    assert reason in result.details[0] and result.details[0].startswith("no plan to score")
    assert result.subscores and all(s.score == 0.0 for s in result.subscores)


# -- small helpers ------------------------------------------------------------------------------


def test_keyword_stems_and_quote_overlap() -> None:
    assert stem("retire") == "retir" and keyword_in("retire", "Sponsor retiring in May")
    assert keyword_in("champion", "Name two CHAMPIONS") and not keyword_in("champion", "a new champ")
    assert keyword_in("peak season", "Avoid changes in peak seasons")
    assert keyword_in("IT", "IT is wary") and not keyword_in("IT", "open items")
    assert quotes_overlap(
        "it costs us chairs every single week", 'Helen: "Our no-show rate ... costs us chairs every single week."', 6
    )
    assert not quotes_overlap("No-show rate is 18% today", "Our no-show rate is 18% and it costs us", 6)
    assert similarity("No-show rate at 10%", "No-show rate at 15%") == 0.0


# -- properties ---------------------------------------------------------------------------------

_LISTS = ("success_metrics", "stated_goals", "stakeholders", "raci", "meetings", "communications", "risks")


@st.composite
def perturbed_drafts(draw: st.DrawFn) -> dict[str, Any]:
    """The fixture draft with random list items dropped and a few values changed."""
    draft = copy.deepcopy(DRAFT)
    for key in _LISTS:
        items = draft[key]
        keep = draw(st.lists(st.booleans(), min_size=len(items), max_size=len(items)))
        draft[key] = [item for item, kept in zip(items, keep, strict=True) if kept]
    for phase in draft["phases"]:
        for key in ("milestones", "tasks"):
            keep = draw(st.lists(st.booleans(), min_size=len(phase[key]), max_size=len(phase[key])))
            phase[key] = [item for item, kept in zip(phase[key], keep, strict=True) if kept]
    if draw(st.booleans()) and draft["success_metrics"]:
        draft["success_metrics"][0]["target"] = draw(st.floats(-1e9, 1e9, allow_nan=False))
    milestones = [m for p in draft["phases"] for m in p["milestones"]]
    if draw(st.booleans()) and milestones:
        draw(st.sampled_from(milestones)).update(day=draw(st.integers(0, 120)), owner=draw(st.text(min_size=1)))
    if draw(st.booleans()):
        draft["phases"] = draft["phases"][: draw(st.integers(0, len(draft["phases"])))]
    return draft


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(draft=perturbed_drafts(), raw_noise=st.sampled_from([None, "", "not json", "{"]))
def test_every_score_is_within_zero_and_one(draft: dict[str, Any], raw_noise: str | None) -> None:
    outputs = [output_for(draft), failed_output(raw_noise)]
    for output in outputs:
        for name in SCORERS:
            result = score(name, output)
            assert 0.0 <= result.score <= 1.0 and math.isfinite(result.score), (name, result.as_dict())
            assert all(0.0 <= s.score <= 1.0 for s in result.subscores), (name, result.as_dict())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(draft=perturbed_drafts(), data=st.data())
def test_dropping_one_more_answer_item_never_raises_coverage(draft: dict[str, Any], data: st.DataObject) -> None:
    """Milestones, goals and risks are recall under an optimal pairing: fewer answer items cover no more."""
    before = output_for(draft)
    assume(before.plan is not None)
    fields = FieldsScorer()
    base = subs(fields.score(before))
    for key in ("milestones", "stated_goals", "risks"):
        smaller = copy.deepcopy(draft)
        if key == "milestones":
            lists = [p["milestones"] for p in smaller["phases"] if p["milestones"]]
        else:
            lists = [smaller[key]] if len(smaller[key]) > 1 else []  # the schema wants one at least
        if not lists:
            continue
        items = data.draw(st.sampled_from(lists))
        items.pop(data.draw(st.integers(0, len(items) - 1)))
        after = subs(fields.score(output_for(smaller)))
        assert after[key] <= base[key] + 1e-12, (key, after[key], base[key])


# The grounding scorer finds dates with prefilters and a word-start check done in code, for speed; its
# definition is plain finditer of the three patterns below, month-day first, then day-month, then ISO.
_MONTH_NAMES = (
    "September|February|November|December|January|October|August|April|March|Sept|July|June|"
    "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
)
_REFERENCE_DATES = (
    rf"\b(?P<m>{_MONTH_NAMES})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<y>\d{{4}})\b)?",
    rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m>{_MONTH_NAMES})\.?(?![a-z])(?:,?\s+(?P<y>\d{{4}})\b)?",
    r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b",
)
_DATE_PIECES = st.sampled_from(
    ["March", "Mar.", "May", "Mayor", "xMay", "_Jan", "31", "1st", "2027", "2027-03-31", "12-4", " ", ", ", "of ", "x",
     "3", "Sept", "September 9, 2026", "9 Sept 2026", "\x00", "é", "1-2-3", "Dec"]
)  # fmt: skip


@settings(max_examples=800)
@given(st.lists(_DATE_PIECES, max_size=8).map("".join))
def test_date_matching_matches_its_regex_definition(text: str) -> None:
    import re

    from onboard_llm.evals.scorers.grounding import _MONTHS, _date_matches

    expected = []
    for index, pattern in enumerate(_REFERENCE_DATES):
        for m in re.finditer(pattern, text):
            month = int(m["m"]) if m["m"].isdigit() else _MONTHS[m["m"]]
            if 1 <= month <= 12 and 1 <= int(m["d"]) <= 31:
                expected.append((index, m.start(), m[0], (int(m["y"]) if m["y"] else None, month, int(m["d"]))))
    assert list(_date_matches(text)) == expected
