"""One eval run spread over several processes: same results, each case once, one 429 pause for all."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import pickle
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from onboard_llm.errors import BadInputError, ConfigError
from onboard_llm.evals.parallel import SharedLedger, _split, start_method
from onboard_llm.evals.runner import OPEN_CASES_PER_SLOT, LocalLedger, RunOptions, SuiteRunner
from onboard_llm.evals.store import EvalStore
from onboard_llm.evals.suite import Suite, load_suite
from onboard_llm.pricing import ModelPrice, PriceTable
from onboard_llm.providers.base import ProviderRecipe
from onboard_llm.providers.retry import RateGate

ROOT = Path(__file__).resolve().parent.parent.parent
SHIPPED = ROOT / "evals" / "suites" / "roadmap.yaml"


def _options(concurrency: int, processes: int | None, *, recipe: bool = True, repeats: int | None = None) -> RunOptions:
    offline = ProviderRecipe("offline")
    return RunOptions(
        prompt="roadmap@v1",
        provider=offline.build(RateGate()),
        concurrency=concurrency,
        repeats=repeats,
        recipe=offline if recipe else None,
        processes=processes,
    )


def _totals(store: EvalStore, run_id: str) -> dict[tuple[str, int], float | None]:
    return {(r.case_id, r.repeat): r.total for r in store.results(run_id)}


@pytest.fixture(scope="module")
def suite() -> Suite:
    return load_suite(SHIPPED)


@pytest.fixture(params=["fork", "spawn"])
def start(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with children forked (each gets its share at once) and spawned (handed over slot by slot)."""
    method = str(request.param)
    monkeypatch.setattr("onboard_llm.evals.parallel.start_method", lambda: method)
    return method


def test_two_processes_score_every_case_once_with_the_same_results(suite: Suite, tmp_path: Path, start: str) -> None:
    with EvalStore(tmp_path / "store.sqlite3") as store:
        single = asyncio.run(SuiteRunner(suite, _options(4, 1, repeats=3), store).run())
        seen: list[int] = []
        runner = SuiteRunner(suite, _options(4, 2, repeats=3), store)
        assert runner.processes_for(24) == 2
        shared = asyncio.run(runner.run(on_progress=lambda p: seen.append(p.done)))
        results = store.results(shared.id)
        assert shared.status == "complete"
        keys = sorted((r.case_id, r.repeat) for r in results)
        assert keys == sorted((c.id, r) for c in suite.cases for r in range(3))  # each exactly once
        # The offline planner is deterministic: the same scores whichever process did the work.
        assert _totals(store, shared.id) == _totals(store, single.id)
        assert shared.totals["scored"] == single.totals["scored"] == 24
        assert shared.totals["mean_total"] == pytest.approx(single.totals["mean_total"])
    # The parent counted its children's cases too, one at a time, up to all of them.
    assert seen == list(range(1, 25))


def test_resuming_in_processes_runs_only_what_is_missing(suite: Suite, tmp_path: Path, start: str) -> None:
    with EvalStore(tmp_path / "store.sqlite3") as store:
        runner = SuiteRunner(suite, _options(2, 1), store)
        run = runner.new_run()
        keep = [c.id for c in suite.cases[:3]]
        first = asyncio.run(SuiteRunner(suite, _options(2, 1), store).run())
        for result in store.results(first.id):
            if result.case_id in keep:
                result.run_id = run.id
                store.save_result(result)
        resumed = asyncio.run(SuiteRunner(suite, _options(2, 2), store).run(resume=run.id))
        results = store.results(resumed.id)
    assert resumed.status == "complete"
    assert sorted(r.case_id for r in results) == sorted(c.id for c in suite.cases)


def test_the_runner_chooses_processes_only_when_it_can_and_it_pays(suite: Suite, tmp_path: Path) -> None:
    with EvalStore(tmp_path / "store.sqlite3") as store:
        # No recipe: one process, and asking for more is a clear error.
        assert SuiteRunner(suite, _options(64, None, recipe=False), store).processes_for(1000) == 1
        with pytest.raises(BadInputError, match="recipe"):
            SuiteRunner(suite, _options(64, 2, recipe=False), store).processes_for(1000)
        with pytest.raises(BadInputError, match="at least 1"):
            SuiteRunner(suite, _options(8, 0), store).processes_for(10)
        # Left to choose: one process for small runs or few cases in flight.
        assert SuiteRunner(suite, _options(64, None), store).processes_for(10) == 1
        assert SuiteRunner(suite, _options(8, None), store).processes_for(1000) == 1
        auto = SuiteRunner(suite, _options(64, None), store).processes_for(1000)
        assert 1 <= auto <= 4
        # Never more processes than cases in flight or cases to run.
        assert SuiteRunner(suite, _options(3, 8), store).processes_for(1000) == 3
        assert SuiteRunner(suite, _options(64, 8), store).processes_for(2) == 2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork is chosen on Linux only")
def test_children_are_forked_only_while_this_process_runs_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(threading, "active_count", lambda: 1)
        assert start_method() == "fork"
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        assert start_method() == "spawn"  # a fork would copy a lock the other thread may hold
    finally:
        stop.set()
        other.join()


def test_split_shares_the_cases_in_flight() -> None:
    assert _split(64, 2) == [32, 32]
    assert _split(7, 3) == [3, 2, 2]
    assert sum(_split(65, 4)) == 65


def test_ledgers_hand_out_each_item_once_and_add_up_spending() -> None:
    for ledger in (LocalLedger(), SharedLedger(multiprocessing.get_context("spawn"))):
        taken = [ledger.take(5) for _ in range(7)]
        assert taken == [0, 1, 2, 3, 4, None, None]
        ledger.spend(0.25)
        ledger.spend(0.5)
        assert ledger.spent() == pytest.approx(0.75)
        assert not ledger.stopped()
        ledger.stop()
        assert ledger.stopped()


def _take_all(ledger: SharedLedger, total: int, out: object) -> None:
    taken = []
    while (index := ledger.take(total)) is not None:
        taken.append(index)
        time.sleep(0.001)
    out.put(taken)  # type: ignore[attr-defined]


def test_a_shared_ledger_never_gives_one_item_to_two_processes() -> None:
    context = multiprocessing.get_context("spawn")
    ledger = SharedLedger(context)
    out = context.Queue()
    children = [context.Process(target=_take_all, args=(ledger, 300, out)) for _ in range(3)]
    for child in children:
        child.start()
    taken = [out.get(timeout=60) for _ in children]
    for child in children:
        child.join(30)
    everything = [i for part in taken for i in part]
    assert sorted(everything) == list(range(300))


def _hold(gate: RateGate, seconds: float) -> None:
    gate.hold(seconds)


def test_a_429_pause_in_one_process_holds_every_process() -> None:
    context = multiprocessing.get_context("spawn")
    gate = RateGate.across_processes(context)
    assert gate.remaining() == 0.0
    child = context.Process(target=_hold, args=(gate, 30.0))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    # The child's hold is this process's pause: one clock, one shared deadline.
    assert 25.0 < gate.remaining() <= 30.0
    gate_copy = pickle.loads(pickle.dumps(RateGate()))
    gate_copy.hold(5)
    assert 4.0 < gate_copy.remaining() <= 5.0


def test_a_recipe_builds_the_provider_it_names() -> None:
    recipe = ProviderRecipe("offline", max_retries=1, timeout=5.0)
    provider = pickle.loads(pickle.dumps(recipe)).build(RateGate())
    assert provider.name == "offline"


# -- against an OpenAI-compatible server on loopback ------------------------------------------------

FIXTURES = ROOT / "tests" / "fixtures" / "plans"


class _Chat(BaseHTTPRequestHandler):
    status = 200
    requests = 0
    delay = 0.05
    in_flight = 0
    max_in_flight = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with _Chat.lock:
            _Chat.requests += 1
            _Chat.in_flight += 1
            _Chat.max_in_flight = max(_Chat.max_in_flight, _Chat.in_flight)
        try:
            self._answer()
        finally:
            with _Chat.lock:
                _Chat.in_flight -= 1

    def _answer(self) -> None:
        time.sleep(_Chat.delay)
        if _Chat.status != 200:
            body = json.dumps({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})
        else:
            content = (FIXTURES / "valid_draft.json").read_text(encoding="utf-8")
            body = json.dumps(
                {
                    "id": "chatcmpl-parallel",
                    "object": "chat.completion",
                    "created": 0,
                    "model": "m",
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                    ],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                }
            )
        data = body.encode()
        self.send_response(_Chat.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def chat_server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Chat)
    _Chat.status, _Chat.requests, _Chat.delay, _Chat.in_flight, _Chat.max_in_flight = 200, 0, 0.05, 0, 0
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def _loopback_suite(folder: Path, cases: int) -> Suite:
    notes = (FIXTURES / "valid_notes.md").read_text(encoding="utf-8")
    golden = (ROOT / "tests" / "evals" / "fixtures" / "kestrel_golden.json").read_text(encoding="utf-8")
    for i in range(cases):
        case = folder / "cases" / f"case-{i:02d}"
        case.mkdir(parents=True)
        (case / "notes.md").write_text(notes + f"\nCase {i}.\n", encoding="utf-8")
        (case / "context.yaml").write_text("company: Kestrel Freight Logistics\nstart_date: 2027-02-15\n")
        (case / "golden.json").write_text(golden, encoding="utf-8")
    path = folder / "suite.yaml"
    path.write_text("name: parallel\ncases: [cases/*]\nscorers: [{name: schema}, {name: structure}]\n")
    return load_suite(path)


def _loopback_options(url: str, concurrency: int, processes: int, **extra: Any) -> RunOptions:
    recipe = ProviderRecipe("openai-compatible:m", max_retries=0, options={"base_url": url})
    return RunOptions(
        prompt="roadmap@v1",
        provider=recipe.build(RateGate()),
        concurrency=concurrency,
        recipe=recipe,
        processes=processes,
        **extra,
    )


@pytest.mark.block_network(allowed_hosts=["127.0.0.1"])
def test_a_rejected_key_stops_every_process_and_fails_the_run(tmp_path: Path, chat_server: str, start: str) -> None:
    _Chat.status = 401
    suite = _loopback_suite(tmp_path, 12)
    with EvalStore(tmp_path / "store.sqlite3") as store:
        runner = SuiteRunner(suite, _loopback_options(chat_server, 4, 2), store)
        with pytest.raises(ConfigError, match=r"401|key"):
            asyncio.run(runner.run())
        (run,) = store.list_runs()
    assert run.status == "failed"
    assert _Chat.requests < 12  # nobody went on asking once the key was refused


@pytest.mark.block_network(allowed_hosts=["127.0.0.1"])
def test_the_budget_holds_across_processes(tmp_path: Path, chat_server: str, start: str) -> None:
    suite = _loopback_suite(tmp_path, 20)
    # 10 input and 10 output tokens at $5000 per million each: $0.10 a case.
    prices = PriceTable({"openai-compatible:m": ModelPrice(5000.0, 5000.0, 5000.0)}, read_on="2026-11-23")
    with EvalStore(tmp_path / "store.sqlite3") as store:
        options = _loopback_options(chat_server, 4, 2, max_cost=0.35, prices=prices)
        runner = SuiteRunner(suite, options, store)
        run = asyncio.run(runner.run())
        results = store.results(run.id)
    assert runner.stopped_for_budget
    assert run.status == "incomplete"
    spent = sum(r.cost_usd or 0.0 for r in results)
    # Every process stops taking cases once the shared total reaches the budget; only cases already
    # open may finish past it: at most OPEN_CASES_PER_SLOT per slot in each process (a spawning parent
    # starts with all 4 slots, and the child gets 2 of them).
    open_cases = OPEN_CASES_PER_SLOT * (4 + 2)
    assert 0.35 <= spent <= 0.35 + 0.1 * open_cases + 1e-9
    assert 4 <= len(results) < 20


@pytest.mark.block_network(allowed_hosts=["127.0.0.1"])
def test_never_more_requests_in_flight_than_the_concurrency(tmp_path: Path, chat_server: str, start: str) -> None:
    # A forked child gets 2 of the 4 slots from the start; a spawning parent starts with all 4 and hands
    # the child 2 of them as its own requests come back: either way the server never sees a fifth at once.
    _Chat.delay = 0.3
    suite = _loopback_suite(tmp_path, 24)
    with EvalStore(tmp_path / "store.sqlite3") as store:
        run = asyncio.run(SuiteRunner(suite, _loopback_options(chat_server, 4, 2), store).run())
        results = store.results(run.id)
    assert run.status == "complete" and len(results) == 24
    assert _Chat.requests == 24
    assert _Chat.max_in_flight == 4
