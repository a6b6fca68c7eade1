"""render → complete → parse → validate → re-ask → schedule, sync and async.

The loop lives in :class:`_Generation`, a small state machine that never does
I/O itself, so :func:`generate_plan` and :func:`agenerate_plan` share every
decision and differ only in how they call the provider.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from onboard_llm.accounting import Budget
from onboard_llm.cache import ResponseCache
from onboard_llm.calendar import BusinessCalendar, day_table
from onboard_llm.errors import BadInputError, GenerationError, OnboardError
from onboard_llm.genlog import GenerationLog, GenerationRecord
from onboard_llm.inputs import HandoffInput, OnboardingContext, build_handoff
from onboard_llm.parsing import ParseResult, Stage, parse_plan, reask_message
from onboard_llm.pricing import PriceTable
from onboard_llm.prompts import PromptRegistry, RenderedPrompt
from onboard_llm.providers.base import (
    Completion,
    CompletionRequest,
    FinishReason,
    Message,
    Provider,
    Usage,
    default_provider_spec,
    get_provider,
)
from onboard_llm.providers.retry import RetryPolicy
from onboard_llm.rules import PLAN_DAYS
from onboard_llm.scheduling import schedule, timing_issues
from onboard_llm.schema import OnboardingPlan, OpenQuestion, PlanDraft
from onboard_llm.schema_export import strict_json_schema

DEFAULT_PROMPT = "roadmap@latest"
DEFAULT_MAX_REASKS = 2


@dataclass(frozen=True)
class Attempt:
    """One call to the provider and what became of its answer."""

    number: int
    text: str
    usage: Usage
    finish_reason: FinishReason
    stage: Stage
    errors: list[str]
    seconds: float
    cached: bool = False
    raw: str | None = None
    http_attempts: int = 1
    cost_usd: float | None = None


@dataclass
class PlanResult:
    """A generated plan with everything needed to trust, reproduce or log it."""

    plan: OnboardingPlan
    draft: PlanDraft
    prompt_name: str
    prompt_version: str
    prompt_sha256: str
    provider: str
    model: str
    usage: Usage
    attempts: list[Attempt]
    warnings: list[str] = field(default_factory=list)
    handoff: HandoffInput | None = None
    #: Dollars spent over every attempt, or None when the model has no price.
    cost_usd: float | None = None
    #: The row of the generation log this run was written to.
    log_id: int | None = None
    seconds: float = 0.0

    @property
    def prompt_ref(self) -> str:
        return f"{self.prompt_name}@{self.prompt_version}"


def render_request(
    handoff: HandoffInput, prompt: str = DEFAULT_PROMPT, *, registry: PromptRegistry | None = None
) -> tuple[RenderedPrompt, CompletionRequest]:
    """Render a prompt version for a handoff and build the first request."""
    reg = registry or PromptRegistry()
    version = reg.get(prompt)
    context = handoff.context.model_dump(mode="json", exclude_none=True)
    rendered = reg.render(
        version,
        {
            "notes": handoff.notes,
            "context": context,
            "context_text": handoff.context.as_text(),
            "start_date_assumed": handoff.start_date_assumed,
            "plan_days": PLAN_DAYS,
            "day_table": day_table(handoff.start_date, PLAN_DAYS),
        },
    )
    request = CompletionRequest(
        messages=rendered.messages,
        schema=strict_json_schema(PlanDraft),
        schema_name=rendered.schema_name,
        temperature=rendered.temperature,
        max_output_tokens=rendered.max_output_tokens,
        handoff=handoff,
    )
    return rendered, request


class _Generation:
    def __init__(
        self, handoff: HandoffInput, rendered: RenderedPrompt, request: CompletionRequest, max_reasks: int
    ) -> None:
        if max_reasks < 0:
            raise BadInputError("max_reasks cannot be negative")
        self.handoff = handoff
        self.rendered = rendered
        self.request = request
        self.first_request = request
        self.max_reasks = max_reasks
        self.attempts: list[Attempt] = []
        self.usage = Usage()
        self.last: ParseResult | None = None
        self.started = time.monotonic()
        self._cost: float | None = None

    def handle(self, completion: Completion, seconds: float, cost: float | None = None) -> CompletionRequest | None:
        """Record an answer; return the re-ask request, or None once a plan is valid."""
        self._cost = cost
        self.usage = self.usage + completion.usage
        # OpenAI reports a refusal in its own field with finish_reason "stop"; either signal counts.
        if completion.finish_reason == "refusal" or completion.refusal:
            self._record(completion, seconds, ParseResult(stage="no_json", errors=["refused"]))
            raise GenerationError(
                f"the model refused to write the plan: {completion.refusal or completion.text[:200]}",
                last_text=completion.text,
            )
        parsed = parse_plan(completion.text, source_text=self.handoff.source_text)
        self._record(completion, seconds, parsed)
        self.last = parsed
        if parsed.ok:
            return None
        if completion.finish_reason == "length":
            # Asking again for the same long answer would be cut off again.
            raise GenerationError(
                f"the answer was cut off at {self.request.max_output_tokens} output tokens before the plan was complete; "
                "raise the prompt's max_output_tokens or use a model with a larger output limit",
                parsed.errors,
                last_text=completion.text,
            )
        if len(self.attempts) > self.max_reasks:
            shown = "; ".join(parsed.errors[:5])
            more = f" (and {len(parsed.errors) - 5} more)" if len(parsed.errors) > 5 else ""
            raise GenerationError(
                f"no valid plan after {len(self.attempts)} attempts ({self.max_reasks} re-asks); last problems: {shown}{more}",
                parsed.errors,
                last_text=completion.text,
            )
        self.request = CompletionRequest(
            messages=(
                *self.request.messages,
                Message(role="assistant", content=completion.text),
                Message(role="user", content=reask_message(parsed)),
            ),
            schema=self.request.schema,
            schema_name=self.request.schema_name,
            temperature=self.request.temperature,
            max_output_tokens=self.request.max_output_tokens,
            handoff=self.request.handoff,
        )
        return self.request

    def _record(self, completion: Completion, seconds: float, parsed: ParseResult) -> None:
        self.attempts.append(
            Attempt(
                number=len(self.attempts) + 1,
                text=completion.text,
                usage=completion.usage,
                finish_reason=completion.finish_reason,
                stage=parsed.stage,
                errors=list(parsed.errors),
                seconds=seconds,
                cached=completion.cached,
                raw=completion.raw,
                http_attempts=completion.http_attempts,
                cost_usd=self._cost,
            )
        )

    def finish(self, provider: Provider, calendar: BusinessCalendar, cost: float | None = None) -> PlanResult:
        assert self.last is not None and self.last.draft is not None
        warnings = list(self.last.warnings)
        if self.handoff.start_date_from_notes:
            warnings.append(
                f"start date {self.handoff.start_date.isoformat()} read from the notes "
                f"('{self.handoff.start_date_from_notes}'); pass --start-date to override"
            )
        draft = _apply_context(self.last.draft, self.handoff, warnings)
        plan = schedule(draft, self.handoff.start_date, calendar)
        warnings += timing_issues(plan, calendar)
        return PlanResult(
            plan=plan,
            draft=draft,
            prompt_name=self.rendered.name,
            prompt_version=self.rendered.version,
            prompt_sha256=self.rendered.sha256,
            provider=provider.name,
            model=provider.model,
            usage=self.usage,
            attempts=self.attempts,
            warnings=warnings,
            handoff=self.handoff,
            cost_usd=cost,
            seconds=time.monotonic() - self.started,
        )


def _apply_context(draft: PlanDraft, handoff: HandoffInput, warnings: list[str]) -> PlanDraft:
    """The CSM's context is the truth for the customer block; add the start-date question."""
    ctx = handoff.context
    customer = draft.customer.model_dump()
    for key in ("company", "industry", "size", "product_tier", "implementation_complexity", "csm"):
        value = getattr(ctx, key)
        if value is not None and customer.get(key) != value:
            if customer.get(key):
                warnings.append(
                    f"customer.{key}: used the context's '{value}' instead of the answer's '{customer[key]}'"
                )
            customer[key] = value
    questions = list(draft.open_questions)
    if handoff.start_date_assumed:
        # Every date hangs on this answer, so it is asked first, whoever wrote the question.
        asked = next((q for q in questions if "start date" in q.question.lower()), None)
        if asked is not None:
            questions.remove(asked)
        else:
            asked = OpenQuestion(
                question=f"The notes give no start date; is {handoff.start_date.isoformat()} (the next business day) right?",
                why_it_matters="Every date in the plan counts from the start date.",
                ask="account_executive",
            )
        questions.insert(0, asked)
    return draft.model_copy(
        update={"customer": type(draft.customer).model_validate(customer), "open_questions": questions}
    )


@dataclass
class _Services:
    """The cache, the log, the budget and the progress callback around provider calls."""

    provider: Provider
    budget: Budget
    cache: ResponseCache | None = None
    log: GenerationLog | None = None
    on_attempt: Callable[[int], None] | None = None
    repeat: int = 0

    def before(self, request: CompletionRequest, number: int) -> tuple[str | None, Completion | None]:
        """A cached answer for the request, or clearance (budget, progress) to call the provider."""
        key = None
        if self.cache is not None and getattr(self.provider, "cacheable", True):
            key = ResponseCache.key(self.provider.name, self.provider.model, request, repeat=self.repeat)
            hit = self.cache.get(key)
            if hit is not None:
                return key, hit
        self.budget.before(request)
        if self.on_attempt is not None:
            self.on_attempt(number)
        return key, None

    def after(self, key: str | None, completion: Completion) -> float | None:
        if key is not None and self.cache is not None and not completion.cached:
            self.cache.put(key, completion, provider=self.provider.name, model=self.provider.model)
        return self.budget.after(completion)

    def record(self, gen: _Generation, result: PlanResult | None, error: str | None) -> int | None:
        """Write the run to the generation log, success or failure."""
        if self.log is None:
            return None
        first = gen.first_request
        record = GenerationRecord(
            id=None,
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            prompt_name=gen.rendered.name,
            prompt_version=gen.rendered.version,
            prompt_sha256=gen.rendered.sha256,
            provider=self.provider.name,
            model=self.provider.model,
            params={
                "temperature": first.temperature,
                "max_output_tokens": first.max_output_tokens,
                "max_reasks": gen.max_reasks,
                "schema_name": first.schema_name,
                "max_cost": self.budget.max_cost,
            },
            messages=[m.as_dict() for m in first.messages],
            attempts=[
                {
                    "number": a.number,
                    "text": a.text,
                    "raw": a.raw,
                    "usage": {
                        "input": a.usage.input_tokens,
                        "output": a.usage.output_tokens,
                        "cached": a.usage.cached_tokens,
                    },
                    "finish_reason": a.finish_reason,
                    "stage": a.stage,
                    "errors": a.errors,
                    "seconds": round(a.seconds, 3),
                    "cached": a.cached,
                }
                for a in gen.attempts
            ],
            plan=result.plan.model_dump(mode="json") if result is not None else None,
            error=error,
            usage={
                "input": gen.usage.input_tokens,
                "output": gen.usage.output_tokens,
                "cached": gen.usage.cached_tokens,
            },
            cost_usd=self.budget.total,
            latency_s=round(time.monotonic() - gen.started, 3),
        )
        return self.log.record(record)


def _prepare(
    notes: str | HandoffInput,
    context: OnboardingContext | Mapping[str, Any] | None,
    provider: Provider | str | None,
    prompt: str,
    holidays: str | None,
    prompts_dir: Path | Sequence[Path] | None,
    today: dt.date | None,
    max_reasks: int,
    options: _Options,
) -> tuple[BusinessCalendar, _Generation, _Services]:
    calendar = BusinessCalendar(holidays)
    if isinstance(notes, HandoffInput):
        handoff = notes
    else:
        ctx: OnboardingContext | dict[str, Any] | None
        ctx = context if isinstance(context, OnboardingContext) or context is None else dict(context)
        handoff = build_handoff(notes, ctx, today=today, calendar=calendar)
    registry = options.registry
    if registry is None:
        dirs = [prompts_dir] if isinstance(prompts_dir, Path | str) else list(prompts_dir or [])
        registry = PromptRegistry([Path(d) for d in dirs])
    rendered, request = render_request(handoff, prompt, registry=registry)
    if provider is None or isinstance(provider, str):
        provider_options: dict[str, Any] = {
            key: value
            for key, value in (("api_key", options.api_key), ("base_url", options.base_url), ("retry", options.retry))
            if value is not None
        }
        resolved = get_provider(provider or default_provider_spec(), **provider_options)
    else:
        resolved = provider
    budget = Budget(resolved.name, resolved.model, options.prices or PriceTable.load(), options.max_cost)
    services = _Services(resolved, budget, options.cache, options.log, options.on_attempt, options.repeat)
    return calendar, _Generation(handoff, rendered, request, max_reasks), services


@dataclass(frozen=True)
class _Options:
    api_key: str | None = None
    base_url: str | None = None
    retry: RetryPolicy | None = None
    max_cost: float | None = None
    prices: PriceTable | None = None
    cache: ResponseCache | None = None
    log: GenerationLog | None = None
    on_attempt: Callable[[int], None] | None = None
    repeat: int = 0
    registry: PromptRegistry | None = None


def generate_plan(
    notes: str | HandoffInput,
    context: OnboardingContext | Mapping[str, Any] | None = None,
    *,
    provider: Provider | str | None = None,
    prompt: str = DEFAULT_PROMPT,
    max_reasks: int = DEFAULT_MAX_REASKS,
    holidays: str | None = None,
    prompts_dir: Path | Sequence[Path] | None = None,
    today: dt.date | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    retry: RetryPolicy | None = None,
    max_cost: float | None = None,
    prices: PriceTable | None = None,
    cache: ResponseCache | None = None,
    log: GenerationLog | None = None,
    on_attempt: Callable[[int], None] | None = None,
    repeat: int = 0,
    registry: PromptRegistry | None = None,
) -> PlanResult:
    """Generate a validated, dated onboarding plan from handoff notes.

    ``provider`` is a provider object or a spec such as ``"offline"`` or
    ``"openai:gpt-4.1-mini"`` (built with ``api_key``, ``base_url`` and
    ``retry`` when given); ``context`` holds the onboarding-context fields;
    ``holidays`` is a country code whose public holidays are skipped.
    ``max_cost`` (USD, with ``prices``) stops before an attempt would pass the
    budget; ``cache`` reuses earlier answers; ``log`` records the run;
    ``on_attempt`` is called with the attempt number before each provider call;
    ``repeat`` gives an eval's repeated runs of one case their own cache entries;
    ``registry`` reuses a loaded prompt registry (``prompts_dir`` is then ignored).
    """
    options = _Options(api_key, base_url, retry, max_cost, prices, cache, log, on_attempt, repeat, registry)
    calendar, gen, services = _prepare(
        notes, context, provider, prompt, holidays, prompts_dir, today, max_reasks, options
    )
    request: CompletionRequest | None = gen.request
    try:
        while request is not None:
            key, completion = services.before(request, len(gen.attempts) + 1)
            began = time.monotonic()
            if completion is None:
                completion = services.provider.complete(request)
            cost = services.after(key, completion)
            request = gen.handle(completion, time.monotonic() - began, cost)
        result = gen.finish(services.provider, calendar, services.budget.total)
    except OnboardError as exc:
        services.record(gen, None, str(exc))
        raise
    result.log_id = services.record(gen, result, None)
    return result


async def agenerate_plan(
    notes: str | HandoffInput,
    context: OnboardingContext | Mapping[str, Any] | None = None,
    *,
    provider: Provider | str | None = None,
    prompt: str = DEFAULT_PROMPT,
    max_reasks: int = DEFAULT_MAX_REASKS,
    holidays: str | None = None,
    prompts_dir: Path | Sequence[Path] | None = None,
    today: dt.date | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    retry: RetryPolicy | None = None,
    max_cost: float | None = None,
    prices: PriceTable | None = None,
    cache: ResponseCache | None = None,
    log: GenerationLog | None = None,
    on_attempt: Callable[[int], None] | None = None,
    repeat: int = 0,
    registry: PromptRegistry | None = None,
) -> PlanResult:
    """The async twin of :func:`generate_plan`.

    Parsing, checking and dating an answer take milliseconds of CPU; the event
    loop gets a turn before each, so that other answers which arrived meanwhile
    (many generations run at once in an eval) are read first.
    """
    options = _Options(api_key, base_url, retry, max_cost, prices, cache, log, on_attempt, repeat, registry)
    calendar, gen, services = _prepare(
        notes, context, provider, prompt, holidays, prompts_dir, today, max_reasks, options
    )
    request: CompletionRequest | None = gen.request
    try:
        while request is not None:
            key, completion = services.before(request, len(gen.attempts) + 1)
            began = time.monotonic()
            if completion is None:
                completion = await services.provider.acomplete(request)
            cost = services.after(key, completion)
            elapsed = time.monotonic() - began
            await asyncio.sleep(0)
            request = gen.handle(completion, elapsed, cost)
        await asyncio.sleep(0)
        result = gen.finish(services.provider, calendar, services.budget.total)
    except OnboardError as exc:
        services.record(gen, None, str(exc))
        raise
    result.log_id = services.record(gen, result, None)
    return result
