"""Run a suite: every case (times its repeats) through the pipeline, scored and stored as it completes.

Workers pull (case, repeat) pairs from a queue, so memory stays flat however
many cases there are; each result is written to the store the moment it is
scored, so an interrupted run loses nothing it finished and ``--resume`` runs
only what is missing. A provider error is recorded for its case and the run
goes on; a 429 pauses every worker together through the retry policy's gate.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from onboard_llm.cache import ResponseCache
from onboard_llm.errors import BadInputError, ConfigError, GenerationError, OnboardError, ProviderError
from onboard_llm.evals.scoring import CaseOutput, Score, Scorer, get_scorer
from onboard_llm.evals.store import CaseResult, EvalStore, RunInfo
from onboard_llm.evals.suite import EvalCase, Suite
from onboard_llm.parsing import ParseResult, parse_plan
from onboard_llm.pipeline import agenerate_plan, render_request
from onboard_llm.pricing import PriceTable
from onboard_llm.prompts import PromptRegistry
from onboard_llm.providers.base import Completion, CompletionRequest, Provider, ProviderRecipe
from onboard_llm.schema import OnboardingPlan


@dataclass
class RunOptions:
    """How to run a suite."""

    prompt: str
    provider: Provider
    concurrency: int = 8
    repeats: int | None = None  # None: the suite's own
    case_pattern: str | None = None
    max_cost: float | None = None
    max_reasks: int = 2
    cache: ResponseCache | None = None
    prices: PriceTable | None = None
    prompts_dir: list[Path] = field(default_factory=list)
    #: How to build ``provider`` again in a worker process; without it the run stays in one process.
    recipe: ProviderRecipe | None = None
    #: Processes sharing the cases (None: chosen from the concurrency and the cores, see ``processes_for``).
    processes: int | None = None


#: Cases open per request slot: the others are parsed and scored while a slot waits on the provider.
OPEN_CASES_PER_SLOT = 2
#: The collector's thresholds while a suite runs (the interpreter's default is 700, 10, 10).
EVAL_GC_THRESHOLDS = (200_000, 20, 100)
#: Fewer cases than this never pay for starting another process.
AUTO_PROCESSES_MIN_CASES = 64
#: Cases in flight per process when the runner chooses the number of processes.
AUTO_IN_FLIGHT_PER_PROCESS = 16


@dataclass
class Progress:
    """What the progress bar shows; updated as each case finishes."""

    total: int
    done: int = 0
    passed: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    started: float = field(default_factory=time.monotonic)

    @property
    def pass_rate(self) -> float | None:
        scored = self.done - self.errors
        return self.passed / scored if scored else None

    @property
    def eta_seconds(self) -> float | None:
        if not self.done:
            return None
        return (time.monotonic() - self.started) / self.done * (self.total - self.done)

    def add(self, result: CaseResult) -> None:
        """Count one finished case."""
        self.count(
            error=result.error is not None,
            passed=bool(result.passed),
            input_tokens=result.usage.get("input", 0),
            output_tokens=result.usage.get("output", 0),
            cost_usd=result.cost_usd or 0.0,
        )

    def count(self, *, error: bool, passed: bool, input_tokens: int, output_tokens: int, cost_usd: float) -> None:
        """Count one finished case from its figures (a worker process sends only these)."""
        self.done += 1
        self.errors += error
        self.passed += passed
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        self.cost_usd += cost_usd


class Ledger(Protocol):
    """What every worker of a run shares: the next item to take, the money spent, a stop flag."""

    def take(self, total: int) -> int | None: ...

    def spend(self, usd: float) -> None: ...

    def spent(self) -> float: ...

    def stop(self) -> None: ...

    def stopped(self) -> bool: ...


class LocalLedger:
    """The ledger of a run within one process (one event loop, so no locks)."""

    def __init__(self) -> None:
        self._next = 0
        self._spent = 0.0
        self._stopped = False

    def take(self, total: int) -> int | None:
        if self._next >= total:
            return None
        self._next += 1
        return self._next - 1

    def spend(self, usd: float) -> None:
        self._spent += usd

    def spent(self) -> float:
        return self._spent

    def stop(self) -> None:
        self._stopped = True

    def stopped(self) -> bool:
        return self._stopped


ProgressCallback = Callable[[Progress], None]


class InFlightLimit:
    """At most ``limit`` requests in flight to a provider at once (retries included).

    Each case holds a slot (:meth:`hold`) before it takes work, so no more cases are
    started than there are slots for; the slot goes back the moment the answer
    arrives, and a re-ask waits for a slot again. :meth:`shrink` gives slots
    away for good, one by one as requests come back, and :meth:`grow` takes
    them in: that is how a worker process that has just started gets its share
    without the run ever having more requests in flight than its concurrency.
    """

    def __init__(self, inner: Provider, limit: int) -> None:
        self.inner = inner
        self._slots = asyncio.Semaphore(limit)
        self._owed = 0  # slots to keep, rather than give back, when requests come back
        self._paid = asyncio.Event()
        self._shrinking = asyncio.Lock()
        self._on_each: Callable[[], None] | None = None

    async def hold(self) -> Slot:
        """Wait for a free slot; the returned provider's first request uses it."""
        await self._slots.acquire()
        return Slot(self)

    async def shrink(self, slots: int, on_each: Callable[[], None] | None = None) -> None:
        """Take ``slots`` slots away for good, calling ``on_each`` as each one stops being used.

        Returns once all of them are out of use: an idle slot goes at once, a
        busy one when its answer arrives.
        """
        async with self._shrinking:
            self._paid.clear()
            self._on_each = on_each
            self._owed = slots
            while self._owed and not self._slots.locked():
                await self._slots.acquire()  # an idle slot: taken at once
                self._paid_one()
            if self._owed:
                await self._paid.wait()
            self._on_each = None

    def saturated(self) -> bool:
        """Whether every slot is in use (or spoken for)."""
        return self._slots.locked()

    def grow(self, slots: int) -> None:
        """Add ``slots`` slots (ones another process has given up)."""
        for _ in range(slots):
            self._slots.release()

    def give_back(self) -> None:
        if self._owed:
            self._paid_one()
        else:
            self._slots.release()

    def _paid_one(self) -> None:
        self._owed -= 1
        if self._on_each is not None:
            self._on_each()
        if not self._owed:
            self._paid.set()


class Slot:
    """The provider one case talks to: its first request uses the slot the case holds."""

    def __init__(self, limit: InFlightLimit) -> None:
        self._limit = limit
        self._held = True
        self.name = limit.inner.name
        self.model = limit.inner.model

    def complete(self, request: CompletionRequest) -> Completion:
        return self._limit.inner.complete(request)

    async def acomplete(self, request: CompletionRequest) -> Completion:
        if not self._held:  # a re-ask: wait for a slot like everyone else
            await self._limit._slots.acquire()
            self._held = True
        try:
            return await self._limit.inner.acomplete(request)
        finally:
            self.close()

    def close(self) -> None:
        """Give the slot back if this case still holds it (an answer from the cache, an error)."""
        if self._held:
            self._held = False
            self._limit.give_back()

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._limit.inner, attribute)


def _git_commit(folder: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def settle_memory() -> None:
    """Take what is loaded so far (modules, the suite's cases) out of the garbage collector's sight.

    A full collection walks every live object; with a thousand cases loaded
    that is a few milliseconds per scored case. After a collection,
    ``gc.freeze`` moves the survivors to a generation the collector skips, and
    a much higher first threshold lets the collector run rarely: each young
    collection walks the dozens of plans open at the time, for tens of
    milliseconds, while the objects a case leaves behind are nearly all freed
    by reference counting anyway. Measured on 1000 cases at 64 in flight in
    one process: a threshold of 50,000 gave 85-89% of the ideal wall time,
    200,000 gave 90-91% and a few MB more peak memory. Meant for processes
    that exist to run a suite (the ``onboard eval`` commands, the runner's
    worker processes), not for a library's host.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*EVAL_GC_THRESHOLDS)


def warm_up_provider(provider: Provider) -> None:
    """Let a provider pay its one-time costs (its SDK's import, this event loop's client) now.

    Called before a run's first requests go out, which would otherwise all wait
    behind the first one's.
    """
    warm_up = getattr(provider, "warm_up", None)
    if warm_up is not None:
        warm_up()


def build_scorers(suite: Suite) -> list[tuple[float, Scorer]]:
    """The suite's scorers with their weights."""
    return [(spec.weight, get_scorer(spec.name, **spec.params)) for spec in suite.spec.scorers]


def _case_output(
    case: EvalCase, raw: str | None, plan: OnboardingPlan | None, parsed: ParseResult | None
) -> CaseOutput:
    source = case.handoff.source_text
    if parsed is None and raw is not None:
        parsed = parse_plan(raw, source_text=source)
    return CaseOutput(case.id, case.handoff.notes, source, raw, parsed, plan, case.golden, case.expect)


def _weigh(case: EvalCase, scorers: list[tuple[float, Scorer]], scores: list[Score]) -> tuple[list[Score], float, bool]:
    weight = sum(w for w, _ in scorers) or 1.0
    total = sum(w * s.score for (w, _), s in zip(scorers, scores, strict=True)) / weight
    return scores, total, total >= case.threshold


async def ascore_output(
    case: EvalCase,
    raw: str | None,
    plan: OnboardingPlan | None,
    scorers: list[tuple[float, Scorer]],
    parsed: ParseResult | None = None,
) -> tuple[list[Score], float, bool]:
    """The async twin of :func:`score_output`: a scorer with ``ascore`` (the judge) is awaited.

    Before each other scorer the event loop gets a turn, so that answers which
    arrived meanwhile are read (and their request slots freed) between scorers
    rather than after the whole case.
    """
    output = _case_output(case, raw, plan, parsed)
    scores = []
    for _, scorer in scorers:
        ascore = getattr(scorer, "ascore", None)
        if ascore is not None:
            scores.append(await ascore(output))
        else:
            await asyncio.sleep(0)
            scores.append(scorer.score(output))
    return _weigh(case, scorers, scores)


def score_output(
    case: EvalCase,
    raw: str | None,
    plan: OnboardingPlan | None,
    scorers: list[tuple[float, Scorer]],
    parsed: ParseResult | None = None,
) -> tuple[list[Score], float, bool]:
    """Every scorer's verdict, the weighted total and whether the case passes its threshold.

    ``parsed`` saves parsing the answer again when the pipeline already did.
    """
    output = _case_output(case, raw, plan, parsed)
    return _weigh(case, scorers, [scorer.score(output) for _, scorer in scorers])


class SuiteRunner:
    """Runs one suite with one prompt and one provider into one stored run."""

    def __init__(self, suite: Suite, options: RunOptions, store: EvalStore) -> None:
        if options.concurrency < 1:
            raise BadInputError("--concurrency must be at least 1")
        self.suite = suite
        self.options = options
        self.store = store
        self.scorers = build_scorers(suite)
        self.registry = PromptRegistry(options.prompts_dir)
        self.version = self.registry.get(options.prompt)
        self.prices = options.prices or PriceTable.load()
        if options.max_cost is not None and self.prices.price(options.provider.name, options.provider.model) is None:
            raise ConfigError(
                f"--max-cost needs a price for {options.provider.name}:{options.provider.model}; "
                "add it to a price file named by ONBOARD_PRICES"
            )
        self.stopped_for_budget = False

    # -- the run record ------------------------------------------------------------

    def new_run(self) -> RunInfo:
        cases = self.suite.select(self.options.case_pattern)
        repeats = self.options.repeats or self.suite.spec.repeats
        provider = self.options.provider
        run = RunInfo(
            id="",
            suite_name=self.suite.name,
            suite_path=str(self.suite.path),
            suite_hash=self.suite.sha256,
            prompt_name=self.version.meta.name,
            prompt_version=self.version.meta.version,
            prompt_sha256=self.version.sha256,
            provider=provider.name,
            model=provider.model,
            params={
                "temperature": self.version.meta.temperature,
                "max_output_tokens": self.version.meta.max_output_tokens,
                "max_reasks": self.options.max_reasks,
                "concurrency": self.options.concurrency,
                "repeats": repeats,
                "max_cost": self.options.max_cost,
                "scorers": [s.model_dump() for s in self.suite.spec.scorers],
                "thresholds": self.suite.spec.thresholds.model_dump(),
                "case_thresholds": dict(self.suite.spec.case_thresholds),
            },
            git_commit=_git_commit(self.suite.path.parent),
            started_at=_now(),
            case_ids=[c.id for c in cases],
            repeats=repeats,
        )
        run.id = self.store.create_run(run)
        return run

    def resumed_run(self, run_id: str) -> RunInfo:
        run = self.store.get_run(run_id)
        if run is None:
            raise BadInputError(f"no eval run '{run_id}' in the store")
        provider = self.options.provider
        mismatches = [
            what
            for what, stored, now in (
                ("suite", run.suite_hash, self.suite.sha256),
                ("prompt", run.prompt_sha256, self.version.sha256),
                ("provider", f"{run.provider}:{run.model}", f"{provider.name}:{provider.model}"),
            )
            if stored != now
        ]
        if mismatches:
            raise BadInputError(
                f"cannot resume {run.id}: the {', '.join(mismatches)} changed since it started; start a new run"
            )
        self.store.update_run(run.id, status="running")
        return run

    # -- running -----------------------------------------------------------------------

    async def run(self, *, resume: str | None = None, on_progress: ProgressCallback | None = None) -> RunInfo:
        """Run every missing (case, repeat) of a new or resumed run; returns the stored run."""
        run = self.resumed_run(resume) if resume else self.new_run()
        by_id = {c.id: c for c in self.suite.cases}
        unknown = [c for c in run.case_ids if c not in by_id]
        if unknown:
            raise BadInputError(f"run {run.id} has cases the suite no longer has: {', '.join(unknown)}")
        done = self.store.completed(run.id)
        todo = [(by_id[c], r) for c in run.case_ids for r in range(run.repeats) if (c, r) not in done]
        progress = Progress(total=len(todo))
        processes = self.processes_for(len(todo))
        status = "complete"
        try:
            if processes > 1:
                from onboard_llm.evals.parallel import run_in_processes

                await run_in_processes(self, run, todo, processes, progress, on_progress)
            else:
                await self.work(run, todo, LocalLedger(), self.options.concurrency, self.keeper(progress, on_progress))
        except asyncio.CancelledError:
            status = "interrupted"
        except ConfigError:
            self._finish(run, "failed")
            raise
        if status == "complete" and self.stopped_for_budget:
            status = "incomplete"
        return self._finish(run, status)

    def processes_for(self, cases: int) -> int:
        """How many processes share this run: ``options.processes``, or one per core when it pays off.

        Several processes need a provider recipe (built providers cannot cross a
        process boundary). Left to choose, the runner uses more than one only for
        a large run with many cases in flight: 16 in flight per process, at most
        one process per core.
        """
        asked = self.options.processes
        if asked is not None and asked < 1:
            raise BadInputError("--processes must be at least 1")
        if asked is not None and asked > 1 and self.options.recipe is None:
            raise BadInputError(
                "several processes need a provider recipe (RunOptions.recipe) to build the provider in each"
            )
        if asked is None:
            if self.options.recipe is None or cases < AUTO_PROCESSES_MIN_CASES:
                return 1
            asked = min(os.cpu_count() or 1, self.options.concurrency // AUTO_IN_FLIGHT_PER_PROCESS)
        return max(1, min(asked, self.options.concurrency, cases))

    async def work(
        self,
        run: RunInfo,
        todo: list[tuple[EvalCase, int]],
        ledger: Ledger,
        concurrency: int,
        keep: Callable[[CaseResult], None],
        limit: InFlightLimit | None = None,
    ) -> None:
        """Score the items of ``todo`` that ``ledger`` hands out, ``concurrency`` requests at a time.

        ``concurrency`` bounds the requests in flight to the provider, not the
        cases open: a case gives its slot back the moment its answer arrives, so
        the next request goes out while this one is parsed and scored (the
        parsing and each scorer give the event loop a turn first, so answers
        arriving meanwhile are read promptly). ``limit`` is the slots to use when the caller wants to
        resize them as it goes. ``keep`` stores each result the moment it is
        scored (see :meth:`keeper`), so a killed run keeps every finished case.
        Cancelling this coroutine cancels the open cases, which are then simply
        missing.
        """
        slots = limit or InFlightLimit(self.options.provider, concurrency)
        warm_up_provider(self.options.provider)

        async def worker() -> None:
            while not ledger.stopped():
                slot = await slots.hold()
                try:
                    if self.options.max_cost is not None and ledger.spent() >= self.options.max_cost:
                        self.stopped_for_budget = True
                        return
                    index = ledger.take(len(todo))
                    if index is None:
                        return
                    case, repeat = todo[index]
                    result = await self._one(run, case, repeat, slot)
                finally:
                    slot.close()
                keep(result)
                ledger.spend(result.cost_usd or 0.0)

        workers = [asyncio.create_task(worker()) for _ in range(OPEN_CASES_PER_SLOT * concurrency)]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    def keeper(self, progress: Progress, on_progress: ProgressCallback | None) -> Callable[[CaseResult], None]:
        """Write a result to the store, then count it: what this process does with each finished case."""

        def keep(result: CaseResult) -> None:
            # Written first, before anything else can go wrong: a killed run keeps every finished case.
            self.store.save_result(result)
            progress.add(result)
            if on_progress is not None:
                on_progress(progress)

        return keep

    async def _one(self, run: RunInfo, case: EvalCase, repeat: int, provider: Slot) -> CaseResult:
        began = time.monotonic()
        raw: str | None = None
        plan: OnboardingPlan | None = None
        parsed: ParseResult | None = None
        error: str | None = None
        usage = {"input": 0, "output": 0, "cached": 0}
        cost: float | None = None
        attempts = 0
        try:
            result = await agenerate_plan(
                case.handoff,
                provider=provider,
                prompt=self.options.prompt,
                max_reasks=self.options.max_reasks,
                prompts_dir=self.options.prompts_dir,
                cache=self.options.cache,
                prices=self.prices,
                repeat=repeat,
                registry=self.registry,
            )
            raw = result.attempts[-1].text
            plan = result.plan
            # The pipeline parsed and checked this answer already; scorers need not do it twice.
            parsed = ParseResult(stage="ok", draft=result.draft, warnings=list(result.warnings))
            usage = {
                "input": result.usage.input_tokens,
                "output": result.usage.output_tokens,
                "cached": result.usage.cached_tokens,
            }
            cost = result.cost_usd
            attempts = len(result.attempts)
        except GenerationError as exc:
            # The model answered but never validly: that is a score, not an error.
            raw = exc.last_text
        except ConfigError:
            raise  # a rejected key or a bad setting stops the whole run
        except ProviderError as exc:
            error = str(exc)
        except OnboardError as exc:
            error = str(exc)
        if error is not None:
            return CaseResult(
                run.id,
                case.id,
                repeat,
                None,
                None,
                [],
                None,
                None,
                usage,
                cost,
                time.monotonic() - began,
                error,
                attempts,
            )
        scores, total, passed = await ascore_output(case, raw, plan, self.scorers, parsed)
        return CaseResult(
            run_id=run.id,
            case_id=case.id,
            repeat=repeat,
            raw=raw,
            plan=plan.model_dump(mode="json") if plan is not None else None,
            scores=[s.as_dict() for s in scores],
            total=total,
            passed=passed,
            usage=usage,
            cost_usd=cost,
            latency_s=time.monotonic() - began,
            error=None,
            attempts=attempts,
        )

    def _finish(self, run: RunInfo, status: str) -> RunInfo:
        totals = summarize(self.store.results(run.id, outputs=False, scores=False), run, self.suite)
        if status == "complete" and totals["scored"] < totals["expected"]:
            status = "incomplete"
        self.store.update_run(run.id, status=status, totals=totals, ended_at=_now())
        stored = self.store.get_run(run.id)
        assert stored is not None
        return stored


def summarize(results: list[CaseResult], run: RunInfo, suite: Suite) -> dict[str, Any]:
    """Run totals: counts, pass rate, mean total, tokens, cost and the suite's verdict."""
    scored = [r for r in results if r.error is None and r.total is not None]
    passed = sum(1 for r in scored if r.passed)
    mean = sum(r.total or 0.0 for r in scored) / len(scored) if scored else None
    thresholds = suite.spec.thresholds
    rate = passed / len(scored) if scored else None
    suite_passed = (
        rate is not None
        and rate >= thresholds.pass_rate
        and (thresholds.mean is None or (mean is not None and mean >= thresholds.mean))
    )
    costs = [r.cost_usd for r in results if r.cost_usd is not None]
    return {
        "expected": len(run.case_ids) * run.repeats,
        "results": len(results),
        "scored": len(scored),
        "errors": sum(1 for r in results if r.error is not None),
        "passed": passed,
        "pass_rate": rate,
        "mean_total": mean,
        "input_tokens": sum(r.usage.get("input", 0) for r in results),
        "output_tokens": sum(r.usage.get("output", 0) for r in results),
        "cost_usd": sum(costs) if costs else None,
        "suite_passed": suite_passed,
    }


def dry_run(
    suite: Suite,
    *,
    prompt: str,
    provider: str,
    model: str,
    repeats: int | None = None,
    case_pattern: str | None = None,
    prompts_dir: list[Path] | None = None,
    prices: PriceTable | None = None,
) -> list[dict[str, Any]]:
    """What a run would send, with estimated tokens and cost, calling no provider (and needing no key)."""
    from onboard_llm.pricing import estimate_tokens

    registry = PromptRegistry(prompts_dir or [])
    table = prices or PriceTable.load()
    repeats = repeats or suite.spec.repeats
    rows = []
    for case in suite.select(case_pattern):
        rendered, request = render_request(case.handoff, prompt, registry=registry)
        input_tokens = estimate_tokens("".join(m.content for m in request.messages))
        output_tokens = request.max_output_tokens // 4  # a plan is far shorter than its ceiling
        cost = table.estimate(provider, model, input_tokens, output_tokens)
        rows.append(
            {
                "case": case.id,
                "prompt": rendered.ref,
                "messages": len(request.messages),
                "input_tokens": input_tokens * repeats,
                "output_tokens": output_tokens * repeats,
                "cost_usd": cost * repeats if cost is not None else None,
                "repeats": repeats,
            }
        )
    return rows
