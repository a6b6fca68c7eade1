"""Status from progress files: the four documented verdicts, thresholds and the CLI."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from onboard_llm.calendar import BusinessCalendar
from onboard_llm.cli_track import load_plan, load_progress, status_command
from onboard_llm.errors import BadInputError
from onboard_llm.schema import OnboardingPlan
from onboard_llm.tracking import Progress, PulseAnswer, StatusReport, Thresholds, assess

FIXTURES = Path(__file__).parent / "fixtures" / "progress"
PLAN = FIXTURES / "plan.json"


@pytest.fixture(scope="module")
def plan() -> OnboardingPlan:
    return load_plan(PLAN)


def _assess(plan: OnboardingPlan, name: str) -> StatusReport:
    return assess(plan, load_progress(FIXTURES / f"{name}.yaml"), BusinessCalendar())


def test_on_track(plan: OnboardingPlan) -> None:
    report = _assess(plan, "on_track")
    assert report.overall == "on_track"
    assert report.pacing_band == "green" and report.pacing_gap >= 0
    assert report.intervention is None and report.recovery is None
    assert report.health_band == "green"
    assert report.exit_code == 0
    # Names are accepted as well as ids in `completed`.
    assert {m.id for m in report.milestones if m.status == "done"} >= {"m-admins-trained-and"}


def test_behind(plan: OnboardingPlan) -> None:
    report = _assess(plan, "behind")
    assert report.overall == "behind"
    assert report.pacing_band in ("yellow", "red")
    by_id = {m.id: m for m in report.milestones}
    assert by_id["m-first-live-request"].status == "behind"
    assert by_id["m-first-live-request"].days_overdue == 7
    assert by_id["m-adoption-targets-s"].days_overdue == 3
    # One week under target is not yet an intervention; the pulse (3/5) is not negative.
    assert report.under_target_roles == ["agents"]
    assert report.intervention is None and report.recovery is None
    assert report.exit_code == 0


def test_intervention_due(plan: OnboardingPlan) -> None:
    report = _assess(plan, "intervention")
    assert report.overall == "on_track"
    assert report.intervention is not None
    assert report.intervention.roles == ["agents"]
    assert report.intervention.minutes == 45
    assert report.intervention.date == dt.date(2027, 2, 25)  # next business day after as_of
    assert report.recovery is None
    assert report.exit_code == 3


def test_recovery_due(plan: OnboardingPlan) -> None:
    report = _assess(plan, "recovery")
    assert report.overall == "stuck"
    assert report.pacing_band == "red"
    assert report.negative_pulse
    assert "m-second-champion-na" in report.missed_milestones
    assert report.recovery is not None
    assert report.recovery.minutes == 45
    assert report.recovery.date == dt.date(2027, 3, 11)
    assert report.recovery.rescue_plan_until == dt.date(2027, 3, 25)
    assert report.intervention is None
    assert report.exit_code == 3


def test_pacing_gap_rule(plan: OnboardingPlan) -> None:
    report = _assess(plan, "behind")
    # 5 of 16 milestones done on day 38 of 90.
    assert report.percent_complete == pytest.approx(31.2, abs=0.1)
    assert report.elapsed_percent == pytest.approx(100 * 38 / 90, abs=0.1)
    assert report.pacing_gap == pytest.approx(100 * 5 / 16 - 100 * 38 / 90, abs=0.1)


def test_health_inputs_and_weights(plan: OnboardingPlan) -> None:
    report = _assess(plan, "recovery")
    measures = {i.measure: i for i in report.health_inputs}
    assert set(measures) == {"milestones_on_time", "adoption", "pulse", "pacing"}
    expected = sum(i.weight * (i.score or 0) for i in report.health_inputs) / sum(
        i.weight for i in report.health_inputs
    )
    assert report.health_score == round(expected)
    assert 0 <= report.health_score <= 100


def test_health_skips_missing_measures(plan: OnboardingPlan) -> None:
    progress = Progress(as_of=dt.date(2027, 1, 12))
    report = assess(plan, progress, BusinessCalendar())
    measures = {i.measure: i for i in report.health_inputs}
    assert measures["adoption"].score is None and measures["pulse"].score is None
    pacing = measures["pacing"].score
    assert pacing is not None
    # Only milestones (30) and pacing (20) have data; their weights are rescaled.
    assert report.health_score == round((30 * 100 + 20 * pacing) / 50)
    assert report.exit_code == 0


def test_thresholds_are_configurable(plan: OnboardingPlan) -> None:
    progress = load_progress(FIXTURES / "behind.yaml")
    strict = progress.model_copy(update={"thresholds": Thresholds(stuck_days_overdue=5)})
    report = assess(plan, strict, BusinessCalendar())
    assert report.overall == "stuck"
    assert {m.id: m.status for m in report.milestones}["m-first-live-request"] == "stuck"
    # A 3/5 pulse becomes negative when the bar is raised.
    assert PulseAnswer(date=dt.date(2027, 1, 1), score=3).is_negative(Thresholds(negative_pulse_score_max=3))
    assert PulseAnswer(date=dt.date(2027, 1, 1), csat=59).is_negative(Thresholds())
    assert not PulseAnswer(date=dt.date(2027, 1, 1), csat=60).is_negative(Thresholds())


def test_thresholds_from_file(plan: OnboardingPlan, tmp_path: Path) -> None:
    text = (FIXTURES / "intervention.yaml").read_text()
    # A 15-point tolerance makes 58% of a 70% target acceptable.
    path = tmp_path / "p.yaml"
    path.write_text(text + "thresholds:\n  low_adoption_pct_below_target: 15\n")
    report = assess(plan, load_progress(path), BusinessCalendar())
    assert report.intervention is None
    assert report.exit_code == 0


def test_unknown_milestone_in_progress(plan: OnboardingPlan) -> None:
    progress = Progress(as_of=dt.date(2027, 2, 1), completed={"no-such-thing": dt.date(2027, 1, 20)})
    with pytest.raises(BadInputError, match="no-such-thing"):
        assess(plan, progress, BusinessCalendar())


@pytest.mark.parametrize(
    ("name", "code", "verdict"),
    [
        ("on_track", 0, "ON TRACK"),
        ("behind", 0, "BEHIND"),
        ("intervention", 3, "Usage intervention"),
        ("recovery", 3, "Recovery reset"),
    ],
)
def test_status_cli(name: str, code: int, verdict: str) -> None:
    result = CliRunner().invoke(status_command, [str(PLAN), "--progress", str(FIXTURES / f"{name}.yaml")])
    assert result.exit_code == code, result.output
    assert verdict in result.output
    assert "Health:" in result.output and "pacing gap" in result.output


def test_status_cli_json() -> None:
    result = CliRunner().invoke(status_command, [str(PLAN), "--progress", str(FIXTURES / "recovery.yaml"), "--json"])
    assert result.exit_code == 3
    data = json.loads(result.output)
    assert data["overall"] == "stuck" and data["recovery"]["kind"] == "recovery_reset"
    assert data["thresholds"]["stuck_days_overdue"] == 10


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("as_of: [oops", "not valid YAML"),
        ("completed: {}\n", "as_of"),
        ("as_of: 2027-02-01\nsurprise: 1\n", "unknown field 'surprise'"),
        ("as_of: 2027-02-30\n", "not a real date"),
        ("as_of: 2027-02-01\npulse:\n  - {date: 2027-01-20, score: 9}\n", "pulse.0.score"),
        ("as_of: 2027-02-01\nthresholds: {stuck_days: 3}\n", "unknown field 'thresholds.stuck_days'"),
        ("- a list\n", "key: value"),
    ],
)
def test_bad_progress_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "progress.yaml"
    path.write_text(content)
    with pytest.raises(BadInputError, match=message):
        load_progress(path)


def test_bad_plan_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="does not exist"):
        load_plan(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(BadInputError, match="not valid JSON"):
        load_plan(bad)
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps({"customer": {"company": "x"}}))
    with pytest.raises(BadInputError, match="not a dated onboarding plan"):
        load_plan(draft)
    result = CliRunner().invoke(status_command, [str(PLAN), "--progress", str(tmp_path / "missing.yaml")])
    assert isinstance(result.exception, BadInputError)
    assert result.exception.exit_code == 2
