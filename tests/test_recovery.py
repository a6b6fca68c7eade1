"""The 14-day rescue plan: schema, offline builder, re-ask loop, prompt lock and CLI."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest
from click.testing import CliRunner

from onboard_llm.calendar import BusinessCalendar
from onboard_llm.cli_recover import recover_command
from onboard_llm.cli_track import load_plan, load_progress
from onboard_llm.errors import GenerationError
from onboard_llm.prompts import PromptRegistry, hash_version_dir, read_lock
from onboard_llm.providers.scripted import ScriptedProvider
from onboard_llm.recovery import (
    RecoveryPlan,
    build_offline_recovery,
    check_recovery,
    generate_recovery,
    render_recovery_markdown,
)
from onboard_llm.schema import OnboardingPlan
from onboard_llm.schema_export import strict_json_schema, strict_mode_problems
from onboard_llm.tracking import StatusReport, assess

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "progress"


@pytest.fixture(scope="module")
def plan() -> OnboardingPlan:
    return load_plan(FIXTURES / "plan.json")


@pytest.fixture(scope="module")
def report(plan: OnboardingPlan) -> StatusReport:
    progress = load_progress(FIXTURES / "recovery.yaml")
    return assess(plan, progress, BusinessCalendar(plan.holidays))


def test_offline_recovery_validates_against_model_and_strict_schema(plan: OnboardingPlan, report: StatusReport) -> None:
    assert report.recovery is not None
    result = generate_recovery(plan, report, provider="offline")
    assert result.provider == "offline-recovery"
    assert result.prompt_ref == "recovery@v1" and len(result.prompt_sha256) == 64
    assert result.attempts == 1
    data = result.recovery.model_dump(mode="json")
    assert RecoveryPlan.model_validate(data) == result.recovery
    schema = strict_json_schema(RecoveryPlan)
    assert strict_mode_problems(schema) == []
    jsonschema.validate(data, schema)
    assert check_recovery(result.recovery) == []


def test_offline_recovery_follows_the_protocol(plan: OnboardingPlan, report: StatusReport) -> None:
    rp = RecoveryPlan.model_validate(build_offline_recovery(plan, report))
    # The earliest missed customer-visible milestone is the win, within 14 days.
    assert rp.visible_win.what.startswith("Second champion named")
    assert 1 <= rp.visible_win.by_day <= 14
    assert rp.exec_sponsors.customer == "Renata Okafor"
    assert rp.exec_sponsors.vendor != rp.exec_sponsors.customer
    assert any("sponsor" in q for q in rp.open_questions)  # the plan names no vendor sponsor
    assert rp.reset_meeting.minutes == 45
    assert sum(a.minutes for a in rp.reset_meeting.agenda) == 45
    assert rp.customer_commitments and rp.vendor_commitments
    assert rp.daily_or_checkpoint_plan[-1].day == 14
    assert "agents" in rp.trigger_summary


def test_domain_checks_catch_a_long_agenda_and_one_sided_sponsors(plan: OnboardingPlan, report: StatusReport) -> None:
    data = build_offline_recovery(plan, report)
    data["reset_meeting"]["agenda"].append({"item": "Extra", "minutes": 20})
    data["exec_sponsors"]["vendor"] = data["exec_sponsors"]["customer"]
    problems = check_recovery(RecoveryPlan.model_validate(data))
    assert any("65 minutes" in p for p in problems)
    assert any("exec_sponsors" in p for p in problems)
    data["visible_win"]["by_day"] = 15
    with pytest.raises(ValueError):
        RecoveryPlan.model_validate(data)


def test_reask_after_an_invalid_answer(plan: OnboardingPlan, report: StatusReport) -> None:
    good = build_offline_recovery(plan, report)
    bad = dict(good, visible_win={"what": "Everything", "by_day": 30, "owner": "csm"})
    provider = ScriptedProvider([json.dumps(bad), "```json\n" + json.dumps(good) + "\n```"])
    result = generate_recovery(plan, report, provider=provider)
    assert len(provider.requests) == 2 and result.attempts == 2
    first = provider.requests[0]
    assert first.schema_name == "recovery_plan" and first.schema == strict_json_schema(RecoveryPlan)
    reask = provider.requests[1].messages[-1].content
    assert "visible_win.by_day" in reask
    assert result.usage.input_tokens > 0


def test_gives_up_after_the_reasks(plan: OnboardingPlan, report: StatusReport) -> None:
    provider = ScriptedProvider(["no json here", "{}", "{}"])
    with pytest.raises(GenerationError, match="after 3 attempts"):
        generate_recovery(plan, report, provider=provider, max_reasks=2)


def test_the_prompt_keeps_plan_and_report_as_data(plan: OnboardingPlan, report: StatusReport) -> None:
    provider = ScriptedProvider([json.dumps(build_offline_recovery(plan, report))])
    generate_recovery(plan, report, provider=provider)
    system, user = provider.requests[0].messages
    assert system.role == "system" and "45 minutes" in system.content and "14 days" in system.content
    assert "<onboarding_plan>" in user.content and "<status_report>" in user.content
    assert "Renata Okafor" in user.content and "m-second-champion-na" in user.content


def test_recovery_prompt_release_matches_its_lock() -> None:
    version = PromptRegistry().get("recovery@latest")
    assert version.meta.status == "released" and version.meta.schema_name == "recovery_plan"
    lock = read_lock(version.path.parent)
    assert lock[version.meta.version] == hash_version_dir(version.path) == version.sha256


def test_markdown_shows_dates(plan: OnboardingPlan, report: StatusReport) -> None:
    result = generate_recovery(plan, report)
    assert report.recovery is not None
    md = render_recovery_markdown(result.recovery, day_one=report.recovery.date, company="Halvorsen")
    assert "## Reset meeting (45 min)" in md
    assert f"Day 1 ({report.recovery.date})" in md


def test_cli_recover_json_and_md(tmp_path: Path) -> None:
    runner = CliRunner()
    args = [str(FIXTURES / "plan.json"), "--progress", str(FIXTURES / "recovery.yaml"), "--provider", "offline"]
    out = tmp_path / "rescue.json"
    result = runner.invoke(recover_command, [*args, "--format", "json", "-o", str(out)])
    assert result.exit_code == 0, result.output
    # The file validates against the schema shipped in schemas/ (what `onboard schema recovery` prints).
    shipped = json.loads((ROOT / "schemas" / "recovery_plan.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(json.loads(out.read_text(encoding="utf-8")), shipped)
    result = runner.invoke(recover_command, args)
    assert result.exit_code == 0, result.output
    assert "# 14-day rescue plan" in result.output
