"""Slips: a milestone and its dependents move on business days; the baseline is kept."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from onboard_llm.calendar import BusinessCalendar
from onboard_llm.cli_track import load_plan, reschedule_command
from onboard_llm.errors import BadInputError
from onboard_llm.reschedule import reschedule, shift_business_days
from onboard_llm.schema import OnboardingPlan

PLAN = Path(__file__).parent / "fixtures" / "progress" / "plan.json"
ROOT = "m-sign-in-through-ok"  # 2027-01-20 (Wed)
# Everything that depends on ROOT, directly or through other items.
DEPENDENTS = {
    "m-admins-trained-and",
    "t-run-and-record-rol",
    "m-first-live-request",
    "t-prepare-the-day-30",
    "m-adoption-targets-s",
    "m-second-champion-na",
    "m-second-use-case-li",
    "t-start-the-weekly-u",
    "t-send-the-day-60-pu",
}


@pytest.fixture(scope="module")
def plan() -> OnboardingPlan:
    return load_plan(PLAN)


def _dates(plan: OnboardingPlan) -> dict[str, dt.date]:
    return {m.id: m.date for m in plan.all_milestones()} | {t.id: t.date for t in plan.all_tasks()}


def test_dependents_move_by_the_same_business_days(plan: OnboardingPlan) -> None:
    cal = BusinessCalendar()
    new, _variance = reschedule(plan, ROOT, dt.date(2027, 1, 27), cal)
    before, after = _dates(plan), _dates(new)
    assert after[ROOT] == dt.date(2027, 1, 27)
    for item in DEPENDENTS:
        assert after[item] == shift_business_days(cal, before[item], 5), item
        assert cal.business_days_between(before[item], after[item]) == 5
    for item in set(before) - DEPENDENTS - {ROOT}:
        assert after[item] == before[item], item
    # Moved items' days are recomputed from their dates: day = calendar days from the start + 1.
    start = new.customer.start_date
    moved = DEPENDENTS | {ROOT}
    for m in new.all_milestones():
        if m.id in moved:
            assert m.day == (m.date - start).days + 1
    for t in new.all_tasks():
        if t.id in moved:
            assert t.due_day == (t.date - start).days + 1
    # The input plan is untouched: it is the baseline.
    assert _dates(plan)[ROOT] == dt.date(2027, 1, 20)


def test_variance_lists_every_moved_item(plan: OnboardingPlan) -> None:
    new, variance = reschedule(
        plan, "sign-in through okta live; users can log in", dt.date(2027, 1, 27), BusinessCalendar()
    )
    assert {v.id for v in variance} == DEPENDENTS | {ROOT}
    before, after = _dates(plan), _dates(new)
    for v in variance:
        assert v.baseline_date == before[v.id] and v.new_date == after[v.id]
        assert v.business_days_moved == 5


def test_weekend_target_rolls_forward_and_past_day_90(plan: OnboardingPlan) -> None:
    cal = BusinessCalendar()
    new, _variance = reschedule(plan, "m-roi-and-adoption-s", dt.date(2027, 4, 17), cal)  # a Saturday
    after = _dates(new)
    assert after["m-roi-and-adoption-s"] == dt.date(2027, 4, 19)
    assert after["m-executive-value-re"] > dt.date(2027, 4, 12)
    ms = {m.id: m for m in new.all_milestones()}
    assert ms["m-executive-value-re"].day > 90
    assert new.phases[-1].end_date >= after["m-executive-value-re"]


def test_moving_earlier(plan: OnboardingPlan) -> None:
    _new, variance = reschedule(plan, ROOT, dt.date(2027, 1, 18), BusinessCalendar())
    assert {v.business_days_moved for v in variance} == {-2}


def test_unknown_milestone(plan: OnboardingPlan) -> None:
    with pytest.raises(BadInputError, match=r"no milestone 'nope'.*m-sign-in-through-ok"):
        reschedule(plan, "nope", dt.date(2027, 2, 1), BusinessCalendar())


def test_cli_writes_plan_and_keeps_first_baseline(tmp_path: Path) -> None:
    src = tmp_path / "plan.json"
    src.write_text(PLAN.read_text())
    out = tmp_path / "plan.json"  # rescheduling in place
    runner = CliRunner()
    first = runner.invoke(reschedule_command, [str(src), "--milestone", ROOT, "--to", "2027-01-27", "-o", str(out)])
    assert first.exit_code == 0, first.output
    assert "baseline written" in first.output and "+5 business days" in first.output
    baseline = tmp_path / "plan.baseline.json"
    original = PLAN.read_text()
    assert OnboardingPlan.model_validate_json(baseline.read_text()) == OnboardingPlan.model_validate_json(original)
    moved = load_plan(out)
    assert _dates(moved)[ROOT] == dt.date(2027, 1, 27)

    second = runner.invoke(reschedule_command, [str(out), "--milestone", ROOT, "--to", "2027-02-03", "-o", str(out)])
    assert second.exit_code == 0, second.output
    assert "baseline kept" in second.output
    # The first baseline survives, and the variance is shown against it too.
    assert OnboardingPlan.model_validate_json(baseline.read_text()) == OnboardingPlan.model_validate_json(original)
    assert "Variance against the baseline" in second.output and "+10 business days" in second.output
    assert _dates(load_plan(out))[ROOT] == dt.date(2027, 2, 3)


def test_cli_stdout_and_explicit_baseline(tmp_path: Path) -> None:
    baseline = tmp_path / "base.json"
    result = CliRunner().invoke(
        reschedule_command,
        [str(PLAN), "--milestone", ROOT, "--to", "2027-01-27", "--baseline-out", str(baseline)],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert OnboardingPlan.model_validate(data).all_milestones()[1].date == dt.date(2027, 1, 27)
    assert baseline.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--milestone", "nope", "--to", "2027-02-01"], "no milestone"),
        (["--milestone", ROOT, "--to", "2027-02-30"], "unparseable date"),
        (["--milestone", ROOT, "--to", "next week"], "unparseable date"),
    ],
)
def test_cli_bad_input(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(reschedule_command, [str(PLAN), *args, "--baseline-out", str(tmp_path / "b.json")])
    assert isinstance(result.exception, BadInputError)
    assert message in str(result.exception)
    assert result.exception.exit_code == 2


def test_cli_missing_plan(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        reschedule_command, [str(tmp_path / "x.json"), "--milestone", ROOT, "--to", "2027-02-01"]
    )
    assert isinstance(result.exception, BadInputError)
    assert "does not exist" in str(result.exception)
