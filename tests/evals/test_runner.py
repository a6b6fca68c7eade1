"""The eval runner: concurrency, the shared 429 pause, interruption and resume, failures that don't stop a run."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from onboard_llm.errors import BadInputError, ProviderError, TransientError
from onboard_llm.evals.runner import RunOptions, SuiteRunner
from onboard_llm.evals.store import EvalStore
from onboard_llm.evals.suite import load_suite
from onboard_llm.providers.base import Completion, CompletionRequest, Usage
from onboard_llm.providers.retry import RateGate, RetryPolicy

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "plans"
NOTES = (FIXTURES / "valid_notes.md").read_text(encoding="utf-8")
VALID = (FIXTURES / "valid_draft.json").read_text(encoding="utf-8")

GOLDEN = {
    "customer": {"company": "Kestrel Freight Logistics", "implementation_complexity": "medium"},
    "primary_goal": "Lift on-time pickups from 82% to 95% by day 90",
    "success_metrics": [{"name": "On-time pickup rate", "target": 95, "unit": "%", "by_day": 90, "baseline": 82}],
    "stated_goals": [
        {
            "goal": "Enter each load once",
            "source_quote": "We re-key every load into three systems and still miss pickups.",
        }
    ],
    "stakeholders": [
        {"name": "Dana Whitfield", "role": "executive_sponsor", "side": "customer"},
        {"name": "Priya Nair", "role": "project_lead", "side": "customer"},
    ],
    "phases": [
        {
            "name": "Setup and training",
            "start_day": 1,
            "end_day": 30,
            "milestones": [{"name": "First load dispatched in Routewise", "day": 14}],
        }
    ],
    "risks": [{"risk": "Project lead bandwidth during the warehouse move", "keywords": ["bandwidth", "warehouse"]}],
}


def make_suite(folder: Path, cases: int, scorers: str = "[{name: schema}, {name: facts}]") -> Path:
    for i in range(cases):
        case = folder / "cases" / f"case-{i:02d}"
        case.mkdir(parents=True)
        (case / "notes.md").write_text(NOTES, encoding="utf-8")
        (case / "context.yaml").write_text("company: Kestrel Freight Logistics\nstart_date: 2027-02-15\n")
        (case / "golden.json").write_text(json.dumps(GOLDEN))
        (case / "expect.yaml").write_text("must_mention: [Kestrel]\nmust_not_mention: [Zebulon Quill]\n")
    suite = folder / "suite.yaml"
    suite.write_text(f"name: test\ncases: [cases/*]\nscorers: {scorers}\nthresholds: {{case: 0.5, pass_rate: 0.5}}\n")
    return suite


class SlowProvider:
    """A real provider (the Provider protocol) that answers after a delay and counts calls in flight."""

    name = "slow"
    model = "slow-1"
    cacheable = False

    def __init__(self, delay: float = 0.05, answers: dict[str, object] | None = None, retry: RetryPolicy | None = None):
        self.delay = delay
        self.in_flight = 0
        self.max_in_flight = 0
        self.calls: list[tuple[str, float]] = []
        self.answers = answers or {}
        self.retry = retry or RetryPolicy(max_retries=3)

    def complete(self, request: CompletionRequest) -> Completion:
        raise NotImplementedError("the runner is async")

    async def acomplete(self, request: CompletionRequest) -> Completion:
        async def attempt() -> Completion:
            assert request.handoff is not None
            marker = request.handoff.notes[-12:]
            self.calls.append((marker, time.monotonic()))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                await asyncio.sleep(self.delay)
            finally:
                self.in_flight -= 1
            behaviour = self.answers.get(marker)
            if isinstance(behaviour, BaseException):
                raise behaviour
            if callable(behaviour):
                behaviour()
            return Completion(text=VALID, usage=Usage(100, 50), model=self.model)

        return await self.retry.acall(attempt, provider=self.name)


def distinct_notes(folder: Path) -> list[str]:
    """Give each case's notes a unique last line, so a provider can tell the cases apart."""
    markers = []
    for i, case in enumerate(sorted((folder / "cases").iterdir())):
        marker = f"case-{i:02d} end."
        notes = case / "notes.md"
        notes.write_text(notes.read_text(encoding="utf-8") + f"\n{marker}", encoding="utf-8")
        markers.append(marker[-12:])
    return markers


def run(suite_path: Path, store: EvalStore, provider: object, **options: object) -> object:
    suite = load_suite(suite_path)
    opts = RunOptions(prompt="roadmap@v1", provider=provider, **options)  # type: ignore[arg-type]
    return asyncio.run(SuiteRunner(suite, opts, store).run())


def test_concurrency_is_respected(tmp_path: Path) -> None:
    suite = make_suite(tmp_path, 12)
    provider = SlowProvider(delay=0.05)
    with EvalStore(tmp_path / "store.sqlite3") as store:
        result = run(suite, store, provider, concurrency=3)
        assert result.status == "complete"  # type: ignore[attr-defined]
        assert len(store.results(result.id)) == 12  # type: ignore[attr-defined]
    assert provider.max_in_flight == 3


def test_a_failing_case_is_recorded_and_the_run_goes_on(tmp_path: Path) -> None:
    suite = make_suite(tmp_path, 5)
    markers = distinct_notes(tmp_path)
    provider = SlowProvider(
        answers={markers[2]: ProviderError("slow: HTTP 400: bad request", provider="slow", status=400)}
    )
    with EvalStore(tmp_path / "store.sqlite3") as store:
        result = run(suite, store, provider, concurrency=2)
        results = {r.case_id: r for r in store.results(result.id)}  # type: ignore[attr-defined]
    assert len(results) == 5
    assert results["case-02"].error is not None and "HTTP 400" in results["case-02"].error
    assert all(r.error is None and r.total is not None for k, r in results.items() if k != "case-02")
    assert result.totals["errors"] == 1 and result.status == "incomplete"  # type: ignore[attr-defined]


def test_one_429_pauses_every_worker(tmp_path: Path) -> None:
    suite = make_suite(tmp_path, 6)
    markers = distinct_notes(tmp_path)
    gate = RateGate()
    throttled = {"done": False}

    def throttle_once() -> None:
        if not throttled["done"]:
            throttled["done"] = True
            raise TransientError("slow: HTTP 429: slow down", provider="slow", status=429, retry_after=0.6)

    provider = SlowProvider(
        delay=0.05, answers={markers[0]: throttle_once}, retry=RetryPolicy(max_retries=3, gate=gate)
    )
    with EvalStore(tmp_path / "store.sqlite3") as store:
        result = run(suite, store, provider, concurrency=3)
    assert result.totals["scored"] == 6  # type: ignore[attr-defined]
    first_429 = next(t for m, t in provider.calls if m == markers[0])
    # Every request that started after the 429 answered waited out the pause with it.
    after = [t for _, t in provider.calls if t > first_429 + 0.06]
    assert after, "no request after the 429"
    assert min(after) >= first_429 + 0.05 + 0.55


def test_interrupt_then_resume_scores_every_case_exactly_once(tmp_path: Path) -> None:
    suite_path = make_suite(tmp_path, 10)
    suite = load_suite(suite_path)
    provider = SlowProvider(delay=0.05)
    with EvalStore(tmp_path / "store.sqlite3") as store:
        runner = SuiteRunner(suite, RunOptions(prompt="roadmap@v1", provider=provider, concurrency=2), store)

        async def interrupted() -> object:
            task = asyncio.ensure_future(runner.run())
            # Interrupt once a case is stored and others are in flight.
            while not ((runs := store.list_runs()) and store.results(runs[0].id) and len(provider.calls) >= 4):
                await asyncio.sleep(0.01)
            task.cancel()
            return await task

        first = asyncio.run(interrupted())
        assert first.status == "interrupted"  # type: ignore[attr-defined]
        kept = store.results(first.id)  # type: ignore[attr-defined]
        assert 0 < len(kept) < 10
        resumed_provider = SlowProvider(delay=0.01)
        runner2 = SuiteRunner(suite, RunOptions(prompt="roadmap@v1", provider=resumed_provider, concurrency=4), store)
        second = asyncio.run(runner2.run(resume=first.id))  # type: ignore[attr-defined]
        results = store.results(second.id)
    assert second.id == first.id  # type: ignore[attr-defined]
    assert second.status == "complete"
    assert sorted(r.case_id for r in results) == [f"case-{i:02d}" for i in range(10)]
    # Resume ran only what was missing.
    assert len(resumed_provider.calls) == 10 - len(kept)


def test_resume_refuses_a_changed_prompt(tmp_path: Path) -> None:
    suite_path = make_suite(tmp_path, 2)
    with EvalStore(tmp_path / "store.sqlite3") as store:
        first = run(suite_path, store, SlowProvider(delay=0.0))
        suite = load_suite(suite_path)
        other = SlowProvider(delay=0.0)
        other.model = "slow-2"
        runner = SuiteRunner(suite, RunOptions(prompt="roadmap@v1", provider=other), store)
        with pytest.raises(BadInputError, match="provider changed"):
            asyncio.run(runner.run(resume=first.id))  # type: ignore[attr-defined]


def test_repeats_run_each_case_k_times(tmp_path: Path) -> None:
    suite = make_suite(tmp_path, 3)
    provider = SlowProvider(delay=0.0)
    with EvalStore(tmp_path / "store.sqlite3") as store:
        result = run(suite, store, provider, repeats=2)
        keys = sorted((r.case_id, r.repeat) for r in store.results(result.id))  # type: ignore[attr-defined]
    assert keys == [(f"case-{i:02d}", r) for i in range(3) for r in range(2)]


class WarmingProvider(SlowProvider):
    """Records when it is warmed up, and in which event loop, next to its requests."""

    def __init__(self) -> None:
        super().__init__(delay=0.01)
        self.events: list[tuple[str, asyncio.AbstractEventLoop]] = []

    def warm_up(self) -> None:
        self.events.append(("warm_up", asyncio.get_running_loop()))

    async def acomplete(self, request: CompletionRequest) -> Completion:
        self.events.append(("request", asyncio.get_running_loop()))
        return await super().acomplete(request)


def test_the_provider_is_warmed_up_in_the_run_loop_before_the_first_request(tmp_path: Path) -> None:
    suite = make_suite(tmp_path, 4)
    provider = WarmingProvider()
    with EvalStore(tmp_path / "store.sqlite3") as store:
        result = run(suite, store, provider, concurrency=2)
    assert result.status == "complete"  # type: ignore[attr-defined]
    kinds = [kind for kind, _ in provider.events]
    assert kinds == ["warm_up"] + ["request"] * 4
    assert len({loop for _, loop in provider.events}) == 1  # the client it makes belongs to the run's loop
