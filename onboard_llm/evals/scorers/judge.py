"""``judge``: an LLM rates the plan against the handoff notes with a versioned rubric.

The rubric is a prompt like any other (``prompts/judge/vN``, default
``judge@latest``), so its name, version and sha256 go into every score's
``meta`` beside the judge's provider and model: a changed rubric is visible in
the results, never silent. The judge answers one :class:`JudgeVerdict`: five
criteria, each an integer 1..5 with a one-sentence reason. Each criterion
becomes a subscore ``(x - 1) / 4``; the score is their (weighted) mean.

The plan goes to the judge as compact JSON of the dated plan, not Markdown:
the JSON carries each goal's ``source_quote`` and ``provenance`` and the
``open_questions``, which the grounding and honesty criteria are about.

Suite parameters::

    - name: judge
      params:
        provider: openai:gpt-4.1-mini   # required; any registered provider but the offline planner
        rubric: judge@latest            # a prompt ref whose schema_name is judge_verdict
        criteria: {grounded_in_notes: 2} # weights; unnamed criteria weigh 1, 0 leaves one out
        cache_dir: .cache/judge         # default: a "judge" folder in the user's cache dir
        cache: true                     # false asks the judge every time
        base_url: http://localhost:11434/v1   # for an OpenAI-compatible judge

Verdicts are cached apart from generations, keyed by judge provider, model and
the first request (rubric text, notes, plan, schema): scoring the same plan
again reuses the verdict without a call. Only a verdict that validated is
cached, under that first request's key even when it took a re-ask.

Failures never stop a run. An answer that is not a valid verdict gets one
re-ask with the errors; a second bad answer, a truncated or refused answer, or
a :class:`ProviderError` (the provider layer has already retried transient
errors) scores 0 with the reason in ``details``, so one flaky judge call costs
one case's judge score, not the run. Configuration errors (a rejected key, an
unknown rubric) still raise.

:meth:`JudgeScorer.score` calls the provider synchronously: inside the runner's
event loop it blocks the loop for the judge's duration. :meth:`JudgeScorer.ascore`
is the same scorer awaiting ``acomplete``; a runner should prefer it.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from onboard_llm.cache import CacheWarning, ResponseCache
from onboard_llm.errors import ConfigError, ProviderError
from onboard_llm.evals.scorers._common import clamp, clip, missing_plan_score
from onboard_llm.evals.scoring import CaseOutput, Score, SubScore, register_scorer
from onboard_llm.parsing import extract_json_text, format_validation_errors, load_json
from onboard_llm.paths import default_cache_dir
from onboard_llm.prompts import PromptRegistry, PromptVersion
from onboard_llm.providers.base import Completion, CompletionRequest, Message, Provider, Usage, get_provider
from onboard_llm.schema_export import strict_json_schema

SCHEMA_NAME = "judge_verdict"
CRITERIA = ("grounded_in_notes", "customer_specificity", "actionability", "playbook_fit", "honesty_about_unknowns")
#: How many times a bad verdict is asked for again: once, then the case's judge score is 0.
MAX_REASKS = 1


class CriterionRating(BaseModel):
    """One criterion's rating; the reason comes first so the judge argues before it scores."""

    # Extra keys are ignored when reading an answer; the schema sent still forbids them.
    model_config = ConfigDict(extra="ignore")

    reason: str = Field(description="One sentence naming what in the plan decided the rating.")
    score: int = Field(ge=1, le=5, description="1 poor .. 5 excellent")


class JudgeVerdict(BaseModel):
    """The judge's answer: every criterion rated."""

    model_config = ConfigDict(extra="ignore")

    grounded_in_notes: CriterionRating
    customer_specificity: CriterionRating
    actionability: CriterionRating
    playbook_fit: CriterionRating
    honesty_about_unknowns: CriterionRating

    def ratings(self) -> dict[str, CriterionRating]:
        return {name: getattr(self, name) for name in CRITERIA}


def normalise(rating: int) -> float:
    """A 1..5 rating as 0..1."""
    return clamp((rating - 1) / 4)


def plan_json(output: CaseOutput) -> str:
    """The dated plan as compact JSON, in the schema's field order."""
    assert output.plan is not None
    return json.dumps(output.plan.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":"))


def context_text(output: CaseOutput) -> str:
    """The onboarding context part of ``source_text`` (which is the notes, a blank line, the context)."""
    if output.source_text.startswith(output.notes):
        return output.source_text[len(output.notes) :].strip()
    return ""


def read_verdict(text: str) -> tuple[JudgeVerdict | None, list[str]]:
    """The verdict in a judge's answer, or None and what was wrong with it."""
    found = extract_json_text(text)
    if found is None:
        return None, ["the answer contains no JSON object"]
    data, notes = load_json(found)
    if data is None:
        return None, notes
    try:
        return JudgeVerdict.model_validate(data), []
    except ValidationError as exc:
        return None, format_validation_errors(exc)


def reask_request(request: CompletionRequest, answer: str, errors: list[str]) -> CompletionRequest:
    """The conversation so far plus a message naming exactly what to fix."""
    lines = "\n".join(f"- {e}" for e in errors)
    follow_up = (
        f"Your previous answer is not a valid {SCHEMA_NAME}. Fix every problem below and reply with the "
        f"complete verdict as one JSON object, nothing else.\n{lines}"
    )
    messages = (*request.messages, Message("assistant", answer), Message("user", follow_up))
    return replace(request, messages=messages)


@dataclass
class _Job:
    """One judging in progress: the first request, its cache key and what the calls cost."""

    request: CompletionRequest
    key: str | None
    calls: int = 0
    usage: Usage = field(default_factory=Usage)


@register_scorer("judge")
class JudgeScorer:
    """An LLM judge with its own rubric prompt, provider and verdict cache (see the module docstring)."""

    name: str = "judge"

    def __init__(
        self,
        *,
        provider: str | None = None,
        rubric: str = "judge@latest",
        criteria: Mapping[str, float] | None = None,
        cache_dir: str | Path | None = None,
        cache: bool = True,
        base_url: str | None = None,
    ) -> None:
        if not provider or not str(provider).strip():
            raise ConfigError(
                "scorer 'judge' needs a provider for the judge, e.g. params: {provider: openai:gpt-4.1-mini}"
            )
        self.weights = self._weights(criteria)
        self.registry = PromptRegistry()
        self.rubric: PromptVersion = self.registry.get(rubric)
        if self.rubric.meta.schema_name != SCHEMA_NAME:
            raise ConfigError(
                f"scorer 'judge': rubric {self.rubric.ref} answers '{self.rubric.meta.schema_name}', "
                f"not '{SCHEMA_NAME}'; name a judge rubric such as judge@latest"
            )
        options: dict[str, Any] = {"base_url": base_url} if base_url else {}
        self.provider: Provider = get_provider(str(provider), **options)
        if self.provider.name == "offline":
            raise ConfigError(
                "scorer 'judge': the offline planner cannot judge; name a model, e.g. openai:gpt-4.1-mini"
            )
        self.cache = self._open_cache(cache_dir) if cache and getattr(self.provider, "cacheable", True) else None
        self.schema = strict_json_schema(JudgeVerdict)
        self.meta: dict[str, Any] = {
            "rubric": self.rubric.meta.name,
            "rubric_version": self.rubric.meta.version,
            "rubric_sha256": self.rubric.sha256,
            "judge_provider": self.provider.name,
            "judge_model": self.provider.model,
        }

    @staticmethod
    def _weights(criteria: Mapping[str, float] | None) -> dict[str, float]:
        weights = dict.fromkeys(CRITERIA, 1.0)
        if criteria is None:
            return weights
        if not isinstance(criteria, Mapping):
            raise ConfigError("scorer 'judge': criteria must map criterion names to weights")
        for key, value in criteria.items():
            if key not in weights:
                raise ConfigError(f"scorer 'judge': unknown criterion '{key}' (known: {', '.join(CRITERIA)})")
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigError(f"scorer 'judge': the weight of {key} must be a number, 0 or more, got {value!r}")
            weights[key] = float(value)
        if sum(weights.values()) <= 0:
            raise ConfigError("scorer 'judge': at least one criterion needs a weight above 0")
        return weights

    @staticmethod
    def _open_cache(cache_dir: str | Path | None) -> ResponseCache | None:
        if cache_dir is not None:
            # A folder the user named: not being able to make it is their configuration error.
            return ResponseCache(Path(cache_dir).expanduser())
        folder = default_cache_dir() / "judge"
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            # The default cache is disposable: without it the judge is only slower and dearer.
            warnings.warn(f"judge cache off: cannot create {folder}: {exc.strerror}", CacheWarning, stacklevel=3)
            return None
        return ResponseCache(folder)

    # -- scoring ---------------------------------------------------------------------------

    def score(self, output: CaseOutput) -> Score:
        """Judge one case, calling the provider synchronously (blocks an event loop it runs in)."""
        job = self._start(output)
        if isinstance(job, Score):
            return job
        request = job.request
        for attempt in range(MAX_REASKS + 1):
            try:
                completion = self.provider.complete(request)
            except ProviderError as exc:
                return self._failed(job, f"the judge's provider failed: {exc}")
            verdict_or_next = self._answer(job, request, completion, last=attempt == MAX_REASKS)
            if not isinstance(verdict_or_next, CompletionRequest):
                return verdict_or_next
            request = verdict_or_next
        raise AssertionError("unreachable: the last attempt always returns a score")

    async def ascore(self, output: CaseOutput) -> Score:
        """Judge one case, awaiting the provider: the runner's event loop keeps running meanwhile."""
        job = self._start(output)
        if isinstance(job, Score):
            return job
        request = job.request
        for attempt in range(MAX_REASKS + 1):
            try:
                completion = await self.provider.acomplete(request)
            except ProviderError as exc:
                return self._failed(job, f"the judge's provider failed: {exc}")
            verdict_or_next = self._answer(job, request, completion, last=attempt == MAX_REASKS)
            if not isinstance(verdict_or_next, CompletionRequest):
                return verdict_or_next
            request = verdict_or_next
        raise AssertionError("unreachable: the last attempt always returns a score")

    # -- the steps both share ------------------------------------------------------------------

    def _start(self, output: CaseOutput) -> _Job | Score:
        """A score straight away (no plan, or a cached verdict), or the request to send."""
        if output.plan is None:
            return replace(missing_plan_score(self.name, output, CRITERIA), meta=dict(self.meta))
        rendered = self.registry.render(
            self.rubric,
            {"notes": output.notes, "context_text": context_text(output), "plan_json": plan_json(output)},
        )
        request = CompletionRequest(
            messages=rendered.messages,
            schema=self.schema,
            schema_name=SCHEMA_NAME,
            temperature=rendered.temperature,
            max_output_tokens=rendered.max_output_tokens,
        )
        if self.cache is None:
            return _Job(request, None)
        key = ResponseCache.key(self.provider.name, self.provider.model, request)
        hit = self.cache.get(key)
        if hit is not None:
            verdict, _ = read_verdict(hit.text)
            if verdict is not None:
                return self._verdict_score(verdict, ["note: verdict reused from the judge cache"])
        return _Job(request, key)

    def _answer(
        self, job: _Job, request: CompletionRequest, completion: Completion, *, last: bool
    ) -> Score | CompletionRequest:
        """The score an answer gives, or the re-ask request when it was not a verdict and one is left."""
        job.calls += 1
        job.usage = job.usage + completion.usage
        if completion.refusal is not None or completion.finish_reason == "refusal":
            return self._failed(job, f"the judge refused: {clip(completion.refusal or completion.text, 200)}")
        if completion.finish_reason == "length":
            # A re-ask would be cut off at the same place; the rubric's max_output_tokens is too small.
            return self._failed(job, f"the judge's answer was cut off at {request.max_output_tokens} output tokens")
        verdict, errors = read_verdict(completion.text)
        if verdict is None:
            if last:
                first = f" ({clip(errors[0], 160)})" if errors else ""
                return self._failed(job, f"the judge gave no valid verdict after {job.calls} answer(s){first}")
            return reask_request(request, completion.text, errors)
        if self.cache is not None and job.key is not None:
            self.cache.put(job.key, completion, provider=self.provider.name, model=self.provider.model)
        usage = job.usage
        note = (
            f"note: judged in {job.calls} call(s), {usage.input_tokens} input and {usage.output_tokens} output tokens"
        )
        return self._verdict_score(verdict, [note])

    def _verdict_score(self, verdict: JudgeVerdict, notes: list[str]) -> Score:
        ratings = verdict.ratings()
        subscores = [
            SubScore(name, normalise(rating.score), [f"{rating.score}/5: {rating.reason.strip()}"])
            for name, rating in ratings.items()
        ]
        total_weight = sum(self.weights.values())
        value = sum(self.weights[s.name] * s.score for s in subscores) / total_weight
        low = [
            f"{s.name} {ratings[s.name].score}/5: {clip(ratings[s.name].reason, 160)}"
            for s in subscores
            if s.score < 0.5
        ]
        return Score(self.name, clamp(value), subscores, [*low, *notes], meta=dict(self.meta))

    def _failed(self, job: _Job, reason: str) -> Score:
        detail = f"judge failed: {reason}"
        return Score(
            self.name,
            0.0,
            [SubScore(name, 0.0, [detail]) for name in CRITERIA],
            [detail, f"note: {job.calls} judge call(s) made"],
            meta=dict(self.meta),
        )


__all__ = ["CRITERIA", "CriterionRating", "JudgeScorer", "JudgeVerdict", "read_verdict"]
