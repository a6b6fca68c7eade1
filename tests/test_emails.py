"""Email drafts of a plan's communications: dated, addressed from stakeholders only, Markdown and .eml."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from pathlib import Path

import pytest
from click.testing import CliRunner

from onboard_llm.cli_recover import emails_command
from onboard_llm.emails import EmailDraft, draft_emails, eml_filename, to_eml, to_markdown
from onboard_llm.inputs import build_handoff
from onboard_llm.pipeline import generate_plan
from onboard_llm.schema import OnboardingPlan

ROOT = Path(__file__).resolve().parent.parent
TODAY = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def plan() -> OnboardingPlan:
    handoff = build_handoff((ROOT / "examples" / "terse-bullets.md").read_text(encoding="utf-8"), today=TODAY)
    return generate_plan(handoff, provider="offline").plan


@pytest.fixture(scope="module")
def drafts(plan: OnboardingPlan) -> list[EmailDraft]:
    return draft_emails(plan)


def test_every_communication_is_drafted_with_its_date_and_subject(
    plan: OnboardingPlan, drafts: list[EmailDraft]
) -> None:
    kinds = [d.kind for d in drafts]
    assert {"welcome", "kickoff_recap", "week1_recap"} <= set(kinds)
    assert kinds.count("review_recap") == 3
    assert len(drafts) == len(plan.communications)
    by_id = {c.id: c for c in plan.communications}
    for d in drafts:
        assert d.date == by_id[d.id].date
        assert d.subject == by_id[d.id].subject
        assert d.body.strip()
    assert [d.date for d in drafts] == sorted(d.date for d in drafts)


def test_recipients_come_only_from_stakeholders_and_no_address_is_invented(
    plan: OnboardingPlan, drafts: list[EmailDraft]
) -> None:
    names = {s.name for s in plan.stakeholders}
    known_emails = {s.email for s in plan.stakeholders if s.email}
    for d in drafts:
        assert d.to, d.id
        for r in d.to:
            assert r.name in names
            assert r.email is None or r.email in known_emails


def test_bodies_carry_plan_facts_and_the_csm_signature(plan: OnboardingPlan, drafts: list[EmailDraft]) -> None:
    kickoff = next(m for m in plan.meetings if m.kind == "kickoff")
    welcome = next(d for d in drafts if d.kind == "welcome")
    assert "13 January 2027" in welcome.body and kickoff.date == dt.date(2027, 1, 13)
    recap = next(d for d in drafts if d.kind == "kickoff_recap")
    assert "Milestones in the next two weeks:" in recap.body
    assert "Day-30 review" in recap.body  # coming review dates
    assert all(d.body.rstrip().endswith("Customer Success Manager") for d in drafts)
    assert all("Priya Raman" in d.body for d in drafts)
    for point in next(c for c in plan.communications if c.kind == "kickoff_recap").key_points:
        assert point in recap.body


def test_role_recipients_resolve_to_stakeholders(plan: OnboardingPlan) -> None:
    data = plan.model_dump(mode="json")
    data["communications"][0]["recipients"] = ["executive_sponsor", "Procurement"]
    data["stakeholders"][3]["email"] = "renata@example.com"
    altered = OnboardingPlan.model_validate(data)
    first = draft_emails(altered)[0]
    assert [(r.name, r.email) for r in first.to] == [("Renata Okafor", "renata@example.com"), ("Procurement", None)]
    msg = email.message_from_bytes(to_eml(first), policy=email.policy.default)
    assert msg["To"] == "Renata Okafor <renata@example.com>"
    assert "Procurement (no email address" in msg.get_content()


def test_eml_parses_with_date_subject_and_to(drafts: list[EmailDraft]) -> None:
    for d in drafts:
        msg = email.message_from_bytes(to_eml(d), policy=email.policy.default)
        assert msg["Subject"] == d.subject
        assert msg["Date"].datetime.date() == d.date and msg["Date"].datetime.hour == 9
        assert msg["To"] is not None
        assert "@" not in str(msg["To"])  # the example names nobody's address
        body = msg.get_content()
        assert all(r.name in body for r in d.to)
        assert eml_filename(d).startswith(d.date.isoformat())


def test_markdown_lists_every_draft(drafts: list[EmailDraft]) -> None:
    md = to_markdown(drafts)
    assert md.startswith("# Email drafts")
    for d in drafts:
        assert f"**Subject:** {d.subject}" in md
        assert d.date.isoformat() in md


def test_cli_writes_markdown_and_eml_files(plan: OnboardingPlan, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(plan.model_dump_json(), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(emails_command, [str(plan_file)])
    assert result.exit_code == 0, result.output
    assert "**Subject:**" in result.output
    out = tmp_path / "eml"
    result = runner.invoke(emails_command, [str(plan_file), "--format", "eml", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert len(list(out.glob("*.eml"))) == len(plan.communications)
    missing = runner.invoke(emails_command, [str(tmp_path / "nope.json")])
    assert missing.exit_code != 0
