"""Tests for onboard_llm.pipeline: render → complete → parse → validate → re-ask → schedule.

The model is a ScriptedProvider, a real Provider that plays back answers
written in advance and records every request it gets, so these tests see
exactly what a vendor would have been sent.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from pathlib import Path

import pytest

from onboard_llm.errors import BadInputError, ConfigError, GenerationError, PromptError
from onboard_llm.inputs import load_context_file
from onboard_llm.parsing import parse_plan
from onboard_llm.pipeline import PlanResult, agenerate_plan, generate_plan
from onboard_llm.prompts import PromptRegistry
from onboard_llm.providers.base import Completion, Message, Usage
from onboard_llm.providers.scripted import ScriptedProvider

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = Path(__file__).parent.parent / "examples"
NOTES = (FIXTURES / "plans" / "valid_notes.md").read_text(encoding="utf-8")
VALID = (FIXTURES / "plans" / "valid_draft.json").read_text(encoding="utf-8")
START = dt.date(2027, 2, 15)  # "Contract start 2027-02-15" in the notes; a Monday


def malformed(name: str) -> str:
    return (FIXTURES / "malformed" / name).read_text(encoding="utf-8")


# One answer per stage of failure, with the error line parsing gives for it.
DOMAIN_BAD = malformed("domain_review_60_day_59.json")
DOMAIN_ERROR = "meetings[5].day: the review_60 meeting must be on day 60, not day 59"
SCHEMA_BAD = malformed("week_not_day.json")
SCHEMA_PATH = "phases[1].milestones[0].day"


def run(*replies: str | Completion, **kwargs: object) -> tuple[PlanResult, ScriptedProvider]:
    provider = ScriptedProvider(replies)
    result = generate_plan(NOTES, provider=provider, **kwargs)  # type: ignore[arg-type]
    return result, provider


def test_fixtures_fail_where_these_tests_assume() -> None:
    # The re-ask tests lean on these answers failing at a known stage with a known line.
    assert parse_plan(VALID, source_text=NOTES).ok
    domain = parse_plan(DOMAIN_BAD, source_text=NOTES)
    assert (domain.stage, domain.errors) == ("domain", [DOMAIN_ERROR])
    schema = parse_plan(SCHEMA_BAD, source_text=NOTES)
    assert schema.stage == "schema"
    assert any(e.startswith(f"{SCHEMA_PATH}:") for e in schema.errors)


# -- re-ask --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "stage", "error_text"),
    [(DOMAIN_BAD, "domain", DOMAIN_ERROR), (SCHEMA_BAD, "schema", SCHEMA_PATH)],
    ids=["domain", "schema"],
)
def test_invalid_answer_is_reasked_with_its_exact_errors(bad: str, stage: str, error_text: str) -> None:
    first = Completion(text=bad, usage=Usage(input_tokens=1000, output_tokens=300, cached_tokens=200))
    second = Completion(text=VALID, usage=Usage(input_tokens=1500, output_tokens=310, cached_tokens=900))
    result, provider = run(first, second)

    assert len(provider.requests) == 2
    asked, reasked = provider.requests
    # The re-ask is the whole first conversation plus the answer and the errors, nothing dropped.
    assert reasked.messages[: len(asked.messages)] == asked.messages
    assert len(reasked.messages) == len(asked.messages) + 2
    assert reasked.messages[-2] == Message(role="assistant", content=bad)
    feedback = reasked.messages[-1]
    assert feedback.role == "user"
    expected_lines = parse_plan(bad, source_text=NOTES).errors
    for line in expected_lines:
        assert f"- {line}" in feedback.content.splitlines()
    assert error_text in feedback.content
    # The schema and limits sent with the first request are kept.
    assert (reasked.schema, reasked.max_output_tokens, reasked.handoff) == (
        asked.schema,
        asked.max_output_tokens,
        asked.handoff,
    )

    assert [(a.number, a.stage) for a in result.attempts] == [(1, stage), (2, "ok")]
    assert result.attempts[0].errors == expected_lines
    assert result.attempts[1].errors == []
    assert result.attempts[0].text == bad
    assert result.usage == Usage(input_tokens=2500, output_tokens=610, cached_tokens=1100)
    assert result.usage == result.attempts[0].usage + result.attempts[1].usage
    # The accepted plan is the second answer: its review_60 is on day 60.
    assert [m.day for m in result.plan.meetings if m.kind == "review_60"] == [60]


def test_usage_sums_the_scripted_token_counts() -> None:
    result, _ = run(DOMAIN_BAD, VALID)
    total = result.attempts[0].usage + result.attempts[1].usage
    assert result.usage == total
    assert result.usage.output_tokens == len(DOMAIN_BAD) // 4 + len(VALID) // 4
    # The re-ask carries the first answer, so it costs more input than the first call.
    assert result.attempts[1].usage.input_tokens > result.attempts[0].usage.input_tokens > 0


def test_reasks_are_bounded_and_report_the_last_errors() -> None:
    answers = [
        malformed("domain_phase_gap.json"),
        malformed("domain_owner_not_stakeholder.json"),
        DOMAIN_BAD,
        VALID,  # never asked for
    ]
    provider = ScriptedProvider(answers)
    with pytest.raises(GenerationError) as info:
        generate_plan(NOTES, provider=provider, max_reasks=2)
    assert len(provider.requests) == 3
    message = str(info.value)
    assert "3 attempts" in message
    assert "2 re-asks" in message
    assert DOMAIN_ERROR in message
    # Only the last answer's problems: the first answer's phase gap is fixed by then.
    assert "phases[1].start_day" not in message
    assert info.value.errors == [DOMAIN_ERROR]
    # Each re-ask carries the errors of the answer just before it.
    assert "phases[1].start_day" in provider.requests[1].messages[-1].content
    assert "Marcus Bell" in provider.requests[2].messages[-1].content
    assert "phases[1].start_day" not in provider.requests[2].messages[-1].content


def test_max_reasks_zero_means_one_call() -> None:
    provider = ScriptedProvider([DOMAIN_BAD, VALID])
    with pytest.raises(GenerationError) as info:
        generate_plan(NOTES, provider=provider, max_reasks=0)
    assert len(provider.requests) == 1
    assert info.value.errors == [DOMAIN_ERROR]


def test_a_valid_first_answer_is_not_reasked() -> None:
    result, provider = run(VALID, VALID)
    assert len(provider.requests) == 1
    assert [a.stage for a in result.attempts] == ["ok"]


def test_negative_max_reasks_is_bad_input() -> None:
    with pytest.raises(BadInputError, match="max_reasks"):
        generate_plan(NOTES, provider=ScriptedProvider([VALID]), max_reasks=-1)


# -- truncation and refusal ------------------------------------------------------


def test_truncated_answer_fails_fast_without_a_blind_reask() -> None:
    cut = Completion(text=malformed("truncated_mid_object.md"), finish_reason="length", usage=Usage(10, 16000))
    provider = ScriptedProvider([cut, VALID])
    with pytest.raises(GenerationError, match="cut off") as info:
        generate_plan(NOTES, provider=provider)
    assert len(provider.requests) == 1
    assert "max_output_tokens" in str(info.value)
    assert info.value.errors  # what was missing is kept for the log


def test_truncated_answer_without_json_also_fails_fast() -> None:
    provider = ScriptedProvider([Completion(text="Here is the plan:\n", finish_reason="length"), VALID])
    with pytest.raises(GenerationError, match="cut off"):
        generate_plan(NOTES, provider=provider)
    assert len(provider.requests) == 1


def test_valid_answer_that_hit_the_length_limit_is_accepted() -> None:
    result, provider = run(Completion(text=VALID, finish_reason="length"))
    assert len(provider.requests) == 1
    assert [(a.stage, a.finish_reason) for a in result.attempts] == [("ok", "length")]
    assert result.plan.customer.company == "Kestrel Freight Logistics"


def test_refusal_is_a_clear_error() -> None:
    refusal = Completion(text="", finish_reason="refusal", refusal="I can't help with that request.")
    provider = ScriptedProvider([refusal, VALID])
    with pytest.raises(GenerationError, match="refused") as info:
        generate_plan(NOTES, provider=provider)
    assert "I can't help with that request." in str(info.value)
    assert len(provider.requests) == 1


def test_refusal_reported_only_in_the_refusal_field_is_still_a_refusal() -> None:
    # OpenAI's structured outputs put the refusal beside finish_reason "stop".
    refusal = Completion(text="", finish_reason="stop", refusal="I can't assist with that.")
    provider = ScriptedProvider([refusal, VALID])
    with pytest.raises(GenerationError, match="refused"):
        generate_plan(NOTES, provider=provider)
    assert len(provider.requests) == 1


def test_refusal_without_a_refusal_text_quotes_the_answer() -> None:
    refusal = Completion(text="Sorry, I won't write that.", finish_reason="refusal")
    with pytest.raises(GenerationError, match=re.escape("Sorry, I won't write that.")):
        generate_plan(NOTES, provider=ScriptedProvider([refusal]))


# -- async -----------------------------------------------------------------------


def test_async_twin_gives_the_same_plan() -> None:
    script = [SCHEMA_BAD, VALID]
    sync_provider = ScriptedProvider(script)
    async_provider = ScriptedProvider(script)
    sync_result = generate_plan(NOTES, provider=sync_provider)
    async_result = asyncio.run(agenerate_plan(NOTES, provider=async_provider))
    assert async_result.plan == sync_result.plan
    assert async_result.plan.model_dump(mode="json") == sync_result.plan.model_dump(mode="json")
    assert [a.stage for a in async_result.attempts] == [a.stage for a in sync_result.attempts] == ["schema", "ok"]
    assert async_result.usage == sync_result.usage
    assert async_result.warnings == sync_result.warnings
    assert async_provider.requests == sync_provider.requests


def test_async_twin_raises_the_same_errors() -> None:
    provider = ScriptedProvider([DOMAIN_BAD, DOMAIN_BAD])
    with pytest.raises(GenerationError) as info:
        asyncio.run(agenerate_plan(NOTES, provider=provider, max_reasks=1))
    assert len(provider.requests) == 2
    assert info.value.errors == [DOMAIN_ERROR]


# -- the result --------------------------------------------------------------------


def test_result_names_the_prompt_the_provider_and_dates_the_plan() -> None:
    provider = ScriptedProvider([VALID], model="scripted-large")
    result = generate_plan(NOTES, provider=provider)
    version = PromptRegistry().get("roadmap@latest")
    assert (result.prompt_name, result.prompt_version, result.prompt_sha256) == (
        version.meta.name,
        version.meta.version,
        version.sha256,
    )
    assert result.prompt_ref == version.ref
    assert len(result.prompt_sha256) == 64
    assert (result.provider, result.model) == ("scripted", "scripted-large")

    plan = result.plan
    assert plan.customer.start_date == START == result.handoff.start_date  # type: ignore[union-attr]
    milestones = plan.all_milestones()
    assert len(milestones) == 4
    for milestone in milestones:
        assert isinstance(milestone.date, dt.date)
        assert milestone.date >= START
        assert milestone.date.weekday() < 5
    assert {m.id: m.date for m in milestones}["m-first-load"] == dt.date(2027, 3, 1)  # day 14 is a Sunday
    assert all(isinstance(t.date, dt.date) for t in plan.all_tasks())
    assert plan.holidays is None
    # The draft keeps the model's offsets; the plan adds dates to exactly those.
    assert [m.day for p in result.draft.phases for m in p.milestones] == [m.day for m in milestones]
    # The start date came from the notes, which the CSM is told.
    assert any("2027-02-15" in w and "Contract start" in w for w in result.warnings)


def test_rendered_request_carries_notes_schema_and_handoff() -> None:
    _, provider = run(VALID)
    request = provider.requests[0]
    assert [m.role for m in request.messages] == ["system", "user"]
    assert "Dana Whitfield" in request.messages[-1].content
    assert request.schema is not None
    assert request.handoff is not None and request.handoff.start_date == START


def test_context_wins_over_the_answer_and_says_so() -> None:
    result, _ = run(VALID, context={"company": "Kestrel Freight"})
    assert result.plan.customer.company == "Kestrel Freight"
    assert result.draft.customer.company == "Kestrel Freight"
    assert any(
        "customer.company" in w and "'Kestrel Freight'" in w and "'Kestrel Freight Logistics'" in w
        for w in result.warnings
    )
    # Fields the context leaves out keep the answer's values.
    assert result.plan.customer.industry == "Regional trucking and warehousing"


def test_context_equal_to_the_answer_gives_no_warning() -> None:
    result, _ = run(VALID, context={"company": "Kestrel Freight Logistics"})
    assert not any("customer.company" in w for w in result.warnings)


NOTES_WITHOUT_START = NOTES.replace(" Contract start 2027-02-15.", "")


def test_missing_start_date_asks_first_and_starts_next_business_day() -> None:
    assert "2027-02-15" not in NOTES_WITHOUT_START
    friday = dt.date(2027, 2, 5)
    result = generate_plan(NOTES_WITHOUT_START, provider=ScriptedProvider([VALID]), today=friday)
    assert result.plan.customer.start_date == dt.date(2027, 2, 8)  # the Monday after
    first = result.plan.open_questions[0]
    assert "start date" in first.question.lower()
    assert "2027-02-08" in first.question
    # The model's own question is kept after it.
    assert [q.question for q in result.plan.open_questions[1:]] == ["Which depot goes first?"]
    assert result.handoff is not None and result.handoff.start_date_assumed


def test_missing_start_date_moves_the_models_own_start_question_first() -> None:
    data = json.loads(VALID)
    data["open_questions"].append(
        {"question": "What is the contract start date?", "why_it_matters": "Dates", "ask": "Tomas Verhoeven"}
    )
    result = generate_plan(
        NOTES_WITHOUT_START, provider=ScriptedProvider([json.dumps(data)]), today=dt.date(2027, 2, 5)
    )
    questions = [q.question for q in result.plan.open_questions]
    assert questions == ["What is the contract start date?", "Which depot goes first?"]


def test_a_given_start_date_adds_no_question() -> None:
    result, _ = run(VALID, context={"start_date": "2027-03-01"})
    assert result.plan.customer.start_date == dt.date(2027, 3, 1)
    assert [q.question for q in result.plan.open_questions] == ["Which depot goes first?"]


# -- provider and prompt by name ------------------------------------------------------


def test_plain_dict_context_with_the_offline_provider() -> None:
    result = generate_plan(
        NOTES, {"company": "Kestrel Freight Logistics", "start_date": "2027-01-11"}, provider="offline"
    )
    assert result.provider == "offline"
    assert result.plan.customer.start_date == dt.date(2027, 1, 11)
    assert result.plan.customer.company == "Kestrel Freight Logistics"
    assert len(result.attempts) == 1


def test_unknown_provider_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="nosuch"):
        generate_plan(NOTES, provider="nosuch")


def test_unknown_prompt_version_is_a_prompt_error() -> None:
    provider = ScriptedProvider([VALID])
    with pytest.raises(PromptError, match="v99"):
        generate_plan(NOTES, provider=provider, prompt="roadmap@v99")
    assert provider.requests == []


# -- holidays ---------------------------------------------------------------------------


def test_holidays_are_skipped_when_dating_the_plan() -> None:
    # Day 14 (the first-load milestone) from Tuesday 2027-05-18 is Memorial Day, Monday 2027-05-31.
    start = {"start_date": "2027-05-18"}
    plain, _ = run(VALID, context=start)
    us, _ = run(VALID, context=start, holidays="US")

    def first_load(result: PlanResult) -> dt.date:
        return {m.id: m.date for m in result.plan.all_milestones()}["m-first-load"]

    assert first_load(plain) == dt.date(2027, 5, 31)
    assert first_load(us) == dt.date(2027, 6, 1)
    assert (plain.plan.holidays, us.plan.holidays) == (None, "US")
    memorial_day = dt.date(2027, 5, 31)
    us_dates = [t.date for t in us.plan.all_tasks()] + [m.date for m in us.plan.all_milestones()]
    for meeting in us.plan.meetings:
        us_dates += [meeting.date, *meeting.occurrence_dates]
    assert memorial_day not in us_dates
    assert memorial_day in [d for m in plain.plan.meetings for d in m.occurrence_dates]


# -- the offline planner on the examples -----------------------------------------------------


EXAMPLE_NOTES = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".md", ".txt"))


def test_examples_are_all_found() -> None:
    assert {p.name for p in EXAMPLE_NOTES} >= {
        "call-transcript.md",
        "crm-export.txt",
        "forwarded-email.md",
        "terse-bullets.md",
    }


@pytest.mark.parametrize("path", EXAMPLE_NOTES, ids=lambda p: p.name)
def test_offline_planner_needs_no_reask_on_the_examples(path: Path) -> None:
    context_file = path.with_name(f"{path.stem}.context.yaml")
    context = load_context_file(context_file) if context_file.exists() else None
    result = generate_plan(path.read_text(encoding="utf-8"), context, provider="offline", today=dt.date(2027, 1, 4))
    assert len(result.attempts) == 1, result.attempts[0].errors
    assert result.attempts[0].stage == "ok"
    assert result.plan.all_milestones()
    if context is not None:
        assert result.plan.customer.company == context.company
        assert result.plan.customer.start_date == context.start_date
