"""The recovery protocol's 14-day rescue plan: offline builder and generation loop (the model is in
:mod:`onboard_llm.recovery_schema`).

When ``onboard status`` says the recovery protocol is due (missed milestone +
low adoption + negative pulse), the CSM needs a rescue plan: one visible win
within 14 days, what each side commits to, executive sponsors on both sides,
and the 45-minute reset meeting's agenda. :func:`generate_recovery` renders the
versioned ``recovery`` prompt from the plan and the deterministic status
report, asks a provider for JSON matching :class:`RecoveryPlan`, and parses,
repairs, validates and re-asks (bounded) like the roadmap pipeline.

The offline planner only knows roadmaps, so ``provider="offline"`` uses
:class:`OfflineRecoveryProvider`, which writes the rescue plan from the plan
and the report by rule and answers with JSON text, so its answer takes the
same parse and validation path as a model's.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from onboard_llm.calendar import BusinessCalendar
from onboard_llm.errors import BadInputError, GenerationError
from onboard_llm.parsing import extract_json_text, format_validation_errors, load_json
from onboard_llm.prompts import PromptRegistry
from onboard_llm.providers.base import (
    Completion,
    CompletionRequest,
    Message,
    Provider,
    Usage,
    get_provider,
)
from onboard_llm.recovery_schema import RESCUE_DAYS, RecoveryPlan
from onboard_llm.schema import DatedMilestone, OnboardingPlan, Stakeholder
from onboard_llm.schema_export import strict_json_schema
from onboard_llm.tracking import StatusReport

__all__ = [
    "DEFAULT_RECOVERY_PROMPT",
    "RESCUE_DAYS",
    "RESET_MINUTES",
    "OfflineRecoveryProvider",
    "RecoveryPlan",
    "RecoveryResult",
    "build_offline_recovery",
    "check_recovery",
    "generate_recovery",
    "parse_recovery",
    "render_recovery_markdown",
]

DEFAULT_RECOVERY_PROMPT = "recovery@latest"
SCHEMA_NAME = "recovery_plan"
RESET_MINUTES = 45
OFFLINE_RECOVERY_MODEL = "recovery-rules-1"


def check_recovery(rp: RecoveryPlan, *, reset_minutes: int = RESET_MINUTES) -> list[str]:
    """Domain rules a schema cannot state; empty when the rescue plan follows the protocol."""
    problems: list[str] = []
    total = sum(a.minutes for a in rp.reset_meeting.agenda)
    if rp.reset_meeting.minutes != reset_minutes:
        problems.append(
            f"reset_meeting.minutes: the reset is a {reset_minutes}-minute meeting (got {rp.reset_meeting.minutes})"
        )
    if total > rp.reset_meeting.minutes:
        problems.append(
            f"reset_meeting.agenda: items add up to {total} minutes, more than the {rp.reset_meeting.minutes}-minute meeting"
        )
    customer, vendor = rp.exec_sponsors.customer, rp.exec_sponsors.vendor
    if customer.casefold() == vendor.casefold():
        problems.append("exec_sponsors: name a different sponsor on each side (customer and vendor)")
    days = [c.day for c in rp.daily_or_checkpoint_plan]
    if days != sorted(days):
        problems.append("daily_or_checkpoint_plan: list the checkpoints in day order")
    if not any(c.day >= rp.visible_win.by_day for c in rp.daily_or_checkpoint_plan):
        problems.append(
            f"daily_or_checkpoint_plan: add a checkpoint on or after day {rp.visible_win.by_day} to confirm the visible win"
        )
    return problems


# -- the offline builder -------------------------------------------------------


def _sponsor(plan: OnboardingPlan, side: str) -> Stakeholder | None:
    return next((s for s in plan.stakeholders if s.role == "executive_sponsor" and s.side == side), None)


def _person(plan: OnboardingPlan, role: str, side: str) -> str:
    found = next((s for s in plan.stakeholders if s.role == role and s.side == side), None)
    return found.name if found is not None else role


def _side_of(plan: OnboardingPlan, owner: str) -> str | None:
    folded = owner.casefold()
    found = next((s for s in plan.stakeholders if s.name.casefold() == folded), None)
    if found is not None:
        return found.side
    if folded in ("csm", "account_executive", "support", "vendor_team", "implementation", "solutions_engineer"):
        return "vendor"
    return "customer"


def _win_milestone(plan: OnboardingPlan, report: StatusReport) -> DatedMilestone:
    milestones = {m.id: m for m in plan.all_milestones()}
    missed = [milestones[i] for i in report.missed_milestones if i in milestones]
    open_ids = {s.id for s in report.milestones if s.status != "done"}
    for pool in (
        [m for m in missed if m.customer_visible],
        missed,
        [m for m in milestones.values() if m.id in open_ids and m.customer_visible],
        list(milestones.values()),
    ):
        if pool:
            return min(pool, key=lambda m: (m.date, m.id))
    raise BadInputError("the plan has no milestones to build a rescue plan around")


def _agenda(minutes: int, win_day: int) -> list[dict[str, Any]]:
    items = [
        ("Re-state the outcomes the customer bought for and where we are against them", 2),
        ("Agree the 14-day rescue plan and what each side commits to", 3),
        (f"Commit to one visible win by day {win_day}", 2),
        ("Name the executive sponsors on both sides and the checkpoint dates", 2),
    ]
    weight = sum(w for _, w in items)
    shares = [max(1, minutes * w // weight) for _, w in items]
    shares[1] += minutes - sum(shares)
    return [{"item": item, "minutes": m} for (item, _), m in zip(items, shares, strict=True)]


def build_offline_recovery(plan: OnboardingPlan, report: StatusReport) -> dict[str, Any]:
    """A rescue plan written by rule from the plan and the status report (deterministic)."""
    minutes = plan.recovery_protocol.reset_minutes
    win = _win_milestone(plan, report)
    win_day = 10
    csm = plan.customer.csm or _person(plan, "csm", "vendor")
    lead = _person(plan, "project_lead", "customer")
    champion = _person(plan, "champion", "customer")
    customer_sponsor = _sponsor(plan, "customer")
    vendor_sponsor = _sponsor(plan, "vendor")
    questions: list[str] = []
    if customer_sponsor is None:
        questions.append("Who is the customer's executive sponsor for the rescue plan?")
    if vendor_sponsor is None:
        questions.append("Who on our side is the executive sponsor for the rescue plan (a VP or director of CS)?")

    names = {m.id: m.name for m in plan.all_milestones()}
    missed = [names.get(i, i) for i in report.missed_milestones]
    parts = []
    if missed:
        parts.append(f"missed milestone(s): {', '.join(missed)}")
    if report.under_target_roles:
        parts.append(f"adoption under target for {', '.join(report.under_target_roles)}")
    if report.negative_pulse:
        parts.append("the latest pulse is negative")
    summary = (
        f"As of {report.as_of} (day {report.plan_day}), the plan is {report.overall.replace('_', ' ')}"
        + (f": {'; '.join(parts)}" if parts else "")
        + f". Health {report.health_score}/100 ({report.health_band}), pacing gap {report.pacing_gap:+g}."
    )
    if report.recovery is None:
        questions.append("The recovery trigger is not fully met; is a formal reset the right step now?")

    win_owner = win.owner
    customer_commitments = [
        {"what": f"Attend the {minutes}-minute reset and confirm the rescue plan", "owner": lead, "by_day": 1},
        {"what": f"Clear the customer-side blockers on '{win.name}'", "owner": lead, "by_day": 3},
    ]
    for role in report.under_target_roles:
        customer_commitments.append(
            {
                "what": f"Get {role} using the one agreed workflow every day until adoption is back on target",
                "owner": champion,
                "by_day": 7,
            }
        )
    customer_commitments.append(
        {
            "what": "Join the day-14 close-out and decide, with the vendor sponsor, what comes next",
            "owner": customer_sponsor.name if customer_sponsor else "executive_sponsor",
            "by_day": 14,
        }
    )
    vendor_commitments = [
        {
            "what": "Send the written rescue plan with owners and dates within one business day of the reset",
            "owner": csm,
            "by_day": 2,
        },
        {"what": f"Deliver '{win.name}' and staff it until it is done", "owner": win_owner, "by_day": win_day}
        if _side_of(plan, win_owner) == "vendor"
        else {
            "what": f"Give {win_owner} what the visible win needs from us (setup, training, answers) within "
            "one business day of each ask",
            "owner": csm,
            "by_day": win_day,
        },
        {
            "what": "Escalate any blocker to the vendor's executive sponsor within one business day",
            "owner": csm,
            "by_day": 14,
        },
    ]
    checkpoints = [
        {"day": 1, "action": f"Hold the {minutes}-minute reset meeting", "owner": csm},
        {"day": 2, "action": "Send the written rescue plan and commitments to both sponsors", "owner": csm},
        {"day": 5, "action": "Checkpoint 1: progress on the visible win, blockers, adoption this week", "owner": csm},
        {"day": win_day, "action": f"Visible win delivered: {win.name}", "owner": win_owner},
        {"day": 14, "action": "Close-out with both sponsors: success check and next steps", "owner": csm},
    ]
    adoption = (
        f", {', '.join(report.under_target_roles)} weekly active back to target" if report.under_target_roles else ""
    )
    return {
        "trigger_summary": summary,
        "visible_win": {"what": f"{win.name}: {win.success_check}", "by_day": win_day, "owner": win_owner},
        "customer_commitments": customer_commitments,
        "vendor_commitments": vendor_commitments,
        "exec_sponsors": {
            "customer": customer_sponsor.name if customer_sponsor else "Customer executive sponsor (to be named)",
            "vendor": vendor_sponsor.name if vendor_sponsor else "Vendor executive sponsor (to be named)",
        },
        "reset_meeting": {"minutes": minutes, "agenda": _agenda(minutes, win_day)},
        "daily_or_checkpoint_plan": sorted(checkpoints, key=lambda c: int(c["day"])),
        "success_check": (
            f"By day {RESCUE_DAYS}: '{win.name}' is done{adoption}, and the next pulse is no longer negative."
        ),
        "open_questions": questions,
    }


class OfflineRecoveryProvider:
    """Answers a recovery request with the rule-built rescue plan as JSON text."""

    name = "offline-recovery"
    cacheable = False

    def __init__(self, plan: OnboardingPlan, report: StatusReport, model: str = OFFLINE_RECOVERY_MODEL) -> None:
        self.model = model
        self._plan = plan
        self._report = report

    def complete(self, request: CompletionRequest) -> Completion:
        text = json.dumps(build_offline_recovery(self._plan, self._report), ensure_ascii=False)
        return Completion(text=text, usage=Usage(), finish_reason="stop", model=self.model)

    async def acomplete(self, request: CompletionRequest) -> Completion:
        return self.complete(request)


# -- prompt, parse, re-ask -------------------------------------------------------


def plan_summary(plan: OnboardingPlan) -> str:
    """The plan facts the recovery prompt needs, as plain text."""
    c = plan.customer
    lines = [
        f"Customer: {c.company}; start date {c.start_date}; CSM {c.csm or 'not named'}",
        f"Primary goal: {plan.primary_goal}",
        "Desired outcomes: " + ("; ".join(plan.outcome_brief.desired_outcomes) or "none listed"),
        "Stakeholders:",
        *(f"- {s.name} ({s.title or 'no title'}), role {s.role}, {s.side} side" for s in plan.stakeholders),
        "Milestones:",
        *(
            f"- {m.id}: {m.name}, due {m.date} (day {m.day}), owner {m.owner}"
            + ("" if m.customer_visible else " [internal]")
            for m in plan.all_milestones()
        ),
        f"Recovery protocol: trigger {plan.recovery_protocol.trigger}; reset {plan.recovery_protocol.reset}",
    ]
    return "\n".join(lines)


def status_findings(report: StatusReport) -> str:
    """The status report's findings, as JSON text."""
    data = report.model_dump(mode="json", exclude={"thresholds"})
    return json.dumps(data, indent=2, ensure_ascii=False)


@dataclass
class RecoveryResult:
    recovery: RecoveryPlan
    prompt_name: str
    prompt_version: str
    prompt_sha256: str
    provider: str
    model: str
    usage: Usage
    attempts: int
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def prompt_ref(self) -> str:
        return f"{self.prompt_name}@{self.prompt_version}"


def parse_recovery(
    text: str, *, reset_minutes: int = RESET_MINUTES
) -> tuple[RecoveryPlan | None, list[str], list[str]]:
    """(plan or None, errors, repair warnings) for one answer; nothing here calls a provider."""
    candidate = extract_json_text(text)
    if candidate is None:
        return None, ["the answer contains no JSON object; reply with the rescue plan as one JSON object"], []
    data, notes = load_json(candidate)
    if data is None:
        return None, notes, []
    if isinstance(data, dict) and len(data) == 1 and isinstance(next(iter(data.values())), dict):
        key = next(iter(data))
        if key not in RecoveryPlan.model_fields:
            notes.append(f"unwrapped the rescue plan from a '{key}' envelope")
            data = data[key]
    try:
        rp = RecoveryPlan.model_validate(data)
    except ValidationError as exc:
        return None, format_validation_errors(exc), notes
    problems = check_recovery(rp, reset_minutes=reset_minutes)
    return (None, problems, notes) if problems else (rp, [], notes)


def _reask(errors: list[str]) -> str:
    lines = "\n".join(f"- {e}" for e in errors)
    return (
        "Your previous answer is not a valid recovery_plan. Fix every problem below and reply with the "
        f"complete, corrected rescue plan as one JSON object, nothing else.\n{lines}"
    )


def generate_recovery(
    plan: OnboardingPlan,
    report: StatusReport,
    *,
    provider: Provider | str = "offline",
    prompt: str = DEFAULT_RECOVERY_PROMPT,
    max_reasks: int = 2,
    registry: PromptRegistry | None = None,
) -> RecoveryResult:
    """A validated 14-day rescue plan for ``plan`` given its status ``report``."""
    if max_reasks < 0:
        raise BadInputError("max_reasks cannot be negative")
    started = time.monotonic()
    reg = registry or PromptRegistry()
    version = reg.get(prompt)
    reset_minutes = plan.recovery_protocol.reset_minutes
    rendered = reg.render(
        version,
        {
            "plan_summary": plan_summary(plan),
            "status_findings": status_findings(report),
            "rescue_days": RESCUE_DAYS,
            "reset_minutes": reset_minutes,
        },
    )
    if isinstance(provider, str):
        spec = provider.strip().lower()
        resolved: Provider = (
            OfflineRecoveryProvider(plan, report) if spec in ("offline", "offline-recovery") else get_provider(provider)
        )
    else:
        resolved = provider
    request = CompletionRequest(
        messages=rendered.messages,
        schema=strict_json_schema(RecoveryPlan),
        schema_name=SCHEMA_NAME,
        temperature=rendered.temperature,
        max_output_tokens=rendered.max_output_tokens,
    )
    usage = Usage()
    attempts = 0
    while True:
        completion = resolved.complete(request)
        attempts += 1
        usage = usage + completion.usage
        if completion.finish_reason == "refusal" or completion.refusal:
            raise GenerationError(
                f"the model refused to write the rescue plan: {completion.refusal or completion.text[:200]}",
                last_text=completion.text,
            )
        rp, errors, warnings = parse_recovery(completion.text, reset_minutes=reset_minutes)
        if rp is not None:
            return RecoveryResult(
                recovery=rp,
                prompt_name=rendered.name,
                prompt_version=rendered.version,
                prompt_sha256=rendered.sha256,
                provider=resolved.name,
                model=resolved.model,
                usage=usage,
                attempts=attempts,
                warnings=warnings,
                seconds=time.monotonic() - started,
            )
        if completion.finish_reason == "length":
            raise GenerationError(
                f"the answer was cut off at {request.max_output_tokens} output tokens before the rescue plan was complete",
                errors,
                last_text=completion.text,
            )
        if attempts > max_reasks:
            shown = "; ".join(errors[:5])
            raise GenerationError(
                f"no valid rescue plan after {attempts} attempts ({max_reasks} re-asks); last problems: {shown}",
                errors,
                last_text=completion.text,
            )
        request = CompletionRequest(
            messages=(
                *request.messages,
                Message(role="assistant", content=completion.text),
                Message(role="user", content=_reask(errors)),
            ),
            schema=request.schema,
            schema_name=request.schema_name,
            temperature=request.temperature,
            max_output_tokens=request.max_output_tokens,
        )


# -- output ---------------------------------------------------------------------------


def render_recovery_markdown(
    rp: RecoveryPlan, *, day_one: dt.date | None = None, calendar: BusinessCalendar | None = None, company: str = ""
) -> str:
    """The rescue plan as Markdown; days get dates when ``day_one`` (the reset's date) is given."""
    cal = calendar or BusinessCalendar()

    def when(day: int) -> str:
        return f"Day {day}" + (f" ({cal.day_to_date(day_one, day)})" if day_one is not None else "")

    out = [f"# {RESCUE_DAYS}-day rescue plan" + (f": {company}" if company else ""), "", rp.trigger_summary, ""]
    out += [
        "## Visible win",
        "",
        f"**{rp.visible_win.what}** by {when(rp.visible_win.by_day)}, owner {rp.visible_win.owner}.",
        "",
        "## Executive sponsors",
        "",
        f"- Customer: {rp.exec_sponsors.customer}",
        f"- Vendor: {rp.exec_sponsors.vendor}",
        "",
        f"## Reset meeting ({rp.reset_meeting.minutes} min)",
        "",
        *(f"{i}. {a.item} ({a.minutes} min)" for i, a in enumerate(rp.reset_meeting.agenda, 1)),
        "",
    ]
    for title, items in (
        ("What the customer commits", rp.customer_commitments),
        ("What we commit", rp.vendor_commitments),
    ):
        out += [f"## {title}", "", *(f"- {c.what} ({c.owner}, by {when(c.by_day)})" for c in items), ""]
    out += [
        "## Checkpoints",
        "",
        *(f"- {when(c.day)}: {c.action} ({c.owner})" for c in rp.daily_or_checkpoint_plan),
        "",
    ]
    out += ["## Success check", "", rp.success_check, ""]
    if rp.open_questions:
        out += ["## Open questions", "", *(f"- {q}" for q in rp.open_questions), ""]
    return "\n".join(out)
