"""Regression checks between two prompt versions on one suite, reusing what the store already has.

A stored run is reused when it ran the same suite content (hash), the same prompt
files (sha256), the same provider and model, the same relevant parameters
(repeats, re-asks, scorers, thresholds, temperature, token ceiling) and every case
of the suite: a complete one as it is, an incomplete, interrupted or still
``running`` one by resuming it (only its missing or errored cases run again).
Otherwise a new run starts. Then the two runs are compared case by case.

``trend`` reads every stored run of a suite and groups them by prompt version.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from onboard_llm.errors import BadInputError
from onboard_llm.evals.compare import DEFAULT_MARGIN, Comparison, compare_runs
from onboard_llm.evals.runner import ProgressCallback, RunOptions, SuiteRunner
from onboard_llm.evals.store import EvalStore, RunInfo
from onboard_llm.evals.suite import Suite
from onboard_llm.prompts import PromptRegistry, PromptVersion, version_key

#: Statuses of a stored run that is reused as it is.
REUSABLE = ("complete",)
#: Statuses of a stored run that is resumed.
RESUMABLE = ("incomplete", "interrupted", "running")
#: The run parameters that change results; concurrency and the budget do not.
RELEVANT_PARAMS = (
    "temperature",
    "max_output_tokens",
    "max_reasks",
    "repeats",
    "scorers",
    "thresholds",
    "case_thresholds",
)
#: How many stored runs of a suite are searched (newest first).
SEARCH_LIMIT = 10_000

REUSED = "reused"
RESUMED = "resumed"
RAN = "ran"

OptionsFactory = Callable[[str], RunOptions]
"""Builds the run options for one prompt ref (NAME@VERSION)."""
EnsuredCallback = Callable[[str, RunInfo, str], None]
"""Told (role, run, action) as soon as each side's run is ready; action is reused, resumed or ran."""


def _normal(value: Any) -> Any:
    # Stored params went through JSON: compare like with like.
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def relevant_params(suite: Suite, version: PromptVersion, options: RunOptions) -> dict[str, Any]:
    """The parameters a run of ``version`` with ``options`` would store, limited to those that change results."""
    params = {
        "temperature": version.meta.temperature,
        "max_output_tokens": version.meta.max_output_tokens,
        "max_reasks": options.max_reasks,
        "repeats": options.repeats or suite.spec.repeats,
        "scorers": [s.model_dump() for s in suite.spec.scorers],
        "thresholds": suite.spec.thresholds.model_dump(),
        "case_thresholds": dict(suite.spec.case_thresholds),
    }
    normal: dict[str, Any] = _normal(params)
    return normal


def find_reusable_run(
    store: EvalStore,
    suite: Suite,
    version: PromptVersion,
    provider: str,
    model: str,
    params: dict[str, Any],
) -> RunInfo | None:
    """The newest stored run that may stand for a run of ``version`` now, or None.

    It must match the suite hash, the prompt sha256, provider, model, every parameter
    in :data:`RELEVANT_PARAMS` (``params`` as :func:`relevant_params` makes them),
    cover every case of the suite, and be complete (reuse) or resumable.
    """
    wanted = _normal({k: params.get(k) for k in RELEVANT_PARAMS})
    all_cases = [c.id for c in suite.cases]
    for run in store.list_runs(suite.name, limit=SEARCH_LIMIT):
        if run.status not in REUSABLE + RESUMABLE:
            continue
        if (run.suite_hash, run.prompt_sha256, run.provider, run.model) != (
            suite.sha256,
            version.sha256,
            provider,
            model,
        ):
            continue
        if run.case_ids != all_cases or run.repeats != wanted["repeats"]:
            continue
        if _normal({k: run.params.get(k) for k in RELEVANT_PARAMS}) != wanted:
            continue
        return run
    return None


def ensure_run(
    suite: Suite,
    options: RunOptions,
    store: EvalStore,
    *,
    on_progress: ProgressCallback | None = None,
) -> tuple[RunInfo, str]:
    """A finished run of ``options.prompt`` on every case: (run, "reused" | "resumed" | "ran")."""
    if options.case_pattern is not None:
        raise BadInputError("a regression check runs every case of the suite; drop the case filter")
    runner = SuiteRunner(suite, options, store)
    found = find_reusable_run(
        store,
        suite,
        runner.version,
        options.provider.name,
        options.provider.model,
        relevant_params(suite, runner.version, options),
    )
    if found is not None and found.status in REUSABLE:
        return found, REUSED
    resume = found.id if found is not None else None
    run = asyncio.run(runner.run(resume=resume, on_progress=on_progress))
    return run, RESUMED if resume else RAN


def regress(
    suite: Suite,
    baseline_ref: str,
    candidate_ref: str,
    options_factory: OptionsFactory,
    store: EvalStore,
    margin: float = DEFAULT_MARGIN,
    gates: dict[str, float] | None = None,
    *,
    on_ensured: EnsuredCallback | None = None,
    on_progress: ProgressCallback | None = None,
) -> tuple[RunInfo, RunInfo, Comparison]:
    """Reuse, resume or run the baseline and the candidate, then compare them.

    Both refs are resolved before anything runs, so a bad one costs nothing
    (a PromptError, exit 2). ``compare_runs`` raises a BadInputError when no
    case is scored on both sides.
    """
    if margin < 0:
        raise BadInputError(f"the margin must not be negative (got {margin})")
    base_options = options_factory(baseline_ref)
    cand_options = options_factory(candidate_ref)
    for options in (base_options, cand_options):
        PromptRegistry(options.prompts_dir).get(options.prompt)
    runs: list[RunInfo] = []
    for role, options in (("baseline", base_options), ("candidate", cand_options)):
        run, action = ensure_run(suite, options, store, on_progress=on_progress)
        if on_ensured is not None:
            on_ensured(role, run, action)
        runs.append(run)
    baseline, candidate = runs
    comparison = compare_runs(store, baseline.id, candidate.id, margin=margin, gates=gates)
    return baseline, candidate, comparison


# -- trend -------------------------------------------------------------------------------------------

SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float | None]) -> str:
    """One block per value on the absolute 0..1 scale; ``·`` for a run with no mean."""
    out = []
    for value in values:
        if value is None:
            out.append("·")
        else:
            clamped = min(max(value, 0.0), 1.0)
            out.append(SPARK[round(clamped * (len(SPARK) - 1))])
    return "".join(out)


@dataclass
class VersionTrend:
    """Every stored run of one prompt version on one suite, oldest first."""

    prompt: str  # name@version
    runs: list[RunInfo] = field(default_factory=list)

    @property
    def means(self) -> list[float | None]:
        return [_float(r.totals.get("mean_total")) for r in self.runs]


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def trend(store: EvalStore, suite_name: str) -> list[VersionTrend]:
    """The suite's stored runs grouped by prompt version (by name, then version order), each oldest first."""
    groups: dict[tuple[str, str], VersionTrend] = {}
    for run in store.list_runs(suite_name, limit=SEARCH_LIMIT):
        key = (run.prompt_name, run.prompt_version)
        groups.setdefault(key, VersionTrend(f"{run.prompt_name}@{run.prompt_version}")).runs.append(run)
    for group in groups.values():
        group.runs.sort(key=lambda r: (r.started_at, r.id))

    return [groups[key] for key in sorted(groups, key=lambda k: (k[0], version_key(k[1]), k[1]))]


def render_trend(trends: list[VersionTrend]) -> list[str]:
    """A compact text table: per version a sparkline header, then one line per run."""
    lines: list[str] = []
    for group in trends:
        means = [m for m in group.means if m is not None]
        latest = f"{means[-1]:.3f}" if means else "-"
        count = f"{len(group.runs)} run" + ("s" if len(group.runs) != 1 else "")
        lines.append(f"{group.prompt}  {sparkline(group.means)}  {count}, latest mean {latest}")
        for run in group.runs:
            t = run.totals
            mean = _float(t.get("mean_total"))
            rate = _float(t.get("pass_rate"))
            lines.append(
                f"  {run.started_at[:19].replace('T', ' ')}  {run.id}  {run.provider}:{run.model}  "
                f"{run.status:11} mean {f'{mean:.3f}' if mean is not None else '-':5}  "
                f"pass {f'{rate:.2f}' if rate is not None else '-'}"
            )
    return lines


__all__ = [
    "RAN",
    "RELEVANT_PARAMS",
    "RESUMABLE",
    "RESUMED",
    "REUSABLE",
    "REUSED",
    "VersionTrend",
    "ensure_run",
    "find_reusable_run",
    "regress",
    "relevant_params",
    "render_trend",
    "sparkline",
    "trend",
]
