"""One eval run spread over several processes, for runs whose scoring outgrows one core.

Parsing, validating and scoring a plan costs milliseconds of CPU, so one
process tops out at some tens of cases a second however many requests are in
flight. Here the parent process works as one of the workers and starts the
others; they share, through ``multiprocessing`` memory:

- the next item of the to-do list (whoever is free takes it, so a slow start
  of one process costs nothing),
- the money spent (``--max-cost`` holds for the whole run),
- a stop flag (a rejected key or Ctrl-C stops everyone),
- the provider's 429 pause (:meth:`RateGate.across_processes`).

On Linux, when the parent runs a single thread, a child is a ``fork``: it has
the loaded suite and every imported module from the first instant, so it takes
its share of the slots at once. Elsewhere a child is ``spawn``-ed: it imports
the package and unpickles the suite, which takes a second or so, and the
parent works with every slot meanwhile, handing the child its share one slot
at a time as its own requests come back.

The parent is the only writer of the store: a child sends each result, already
encoded as the row to insert, through a queue, and the parent writes it at
once, so no process waits on SQLite's write lock inside its event loop, and a
result is stored exactly when the parent has it. A child dies with its parent
(``PR_SET_PDEATHSIG`` on Linux, and a check of the parent's pid after each
case), so a killed run leaves nothing running behind a later ``--resume``.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from onboard_llm.errors import ConfigError, OnboardError
from onboard_llm.evals.runner import InFlightLimit, warm_up_provider
from onboard_llm.evals.store import CaseResult, EvalStore, RunInfo, result_row
from onboard_llm.evals.suite import EvalCase, Suite
from onboard_llm.pipeline import render_request
from onboard_llm.pricing import PriceTable
from onboard_llm.providers.base import ProviderRecipe
from onboard_llm.providers.retry import RateGate

#: How often the parent looks for news from its children, in seconds.
POLL_S = 0.02
#: At most this long, in seconds, the parent fills its slots before it starts the children.
FILL_WAIT_S = 2.0
#: How often a child looks for slots the parent has granted it, in seconds.
GRANT_POLL_S = 0.01

_PR_SET_PDEATHSIG = 1


def start_method() -> str:
    """``fork`` where it is safe and cheap (Linux, and this process runs one thread), else ``spawn``.

    A fork copies only the calling thread, so a lock another thread held would
    stay locked in the child for good: with any other thread alive, spawn.
    """
    if sys.platform == "linux" and threading.active_count() == 1:
        return "fork"
    return "spawn"


class SharedLedger:
    """The run's ledger in shared memory; handed to each child when it starts."""

    def __init__(self, context: Any) -> None:
        self._next = context.Value("q", 0)
        self._spent = context.Value("d", 0.0)
        self._stopped = context.Value("b", 0)

    def take(self, total: int) -> int | None:
        with self._next.get_lock():
            index = int(self._next.value)
            if index >= total:
                return None
            self._next.value = index + 1
        return index

    def spend(self, usd: float) -> None:
        if usd:
            with self._spent.get_lock():
                self._spent.value += usd

    def spent(self) -> float:
        return float(self._spent.value)

    def stop(self) -> None:
        self._stopped.value = 1

    def stopped(self) -> bool:
        return bool(self._stopped.value)


@dataclass(frozen=True)
class ChildJob:
    """Everything a child needs to rebuild the runner: plain data only."""

    suite: Suite
    prompt: str
    prompt_sha256: str
    prompts_dir: list[Path]
    max_reasks: int
    max_cost: float | None
    prices: PriceTable | None
    cache_folder: Path | None
    recipe: ProviderRecipe
    run: RunInfo
    todo: list[tuple[str, int]]
    concurrency: int
    parent_pid: int
    index: int = 0


# Messages from a child: ("ready", index), ("result", row, figures), ("budget",),
# ("fatal", kind, message) and ("done",).


def _die_with_parent(parent_pid: int) -> None:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the pid check before each case still stops the child
    if os.getppid() != parent_pid:
        os._exit(1)  # the parent died before the signal was armed


def child_main(job: ChildJob, ledger: SharedLedger, gate: RateGate, events: Any, granted: Any) -> None:
    """A child process: rebuild the runner and work until the to-do list is empty."""
    _die_with_parent(job.parent_pid)
    # Ctrl-C reaches the whole process group; the parent alone decides what it means.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        asyncio.run(_child_work(job, ledger, gate, events, granted))
    except OnboardError as exc:
        events.put(("fatal", "config" if isinstance(exc, ConfigError) else "error", str(exc)))
    except Exception as exc:  # a child must report, not print a traceback nobody reads
        events.put(("fatal", "error", f"{type(exc).__name__}: {exc}"))
    else:
        events.put(("done",))
    # Everything worth keeping is in the queue: flush it, then leave without tearing down an
    # interpreter that holds a whole suite (the parent waits for this exit).
    events.close()
    events.join_thread()
    os._exit(0)


async def _child_work(job: ChildJob, ledger: SharedLedger, gate: RateGate, events: Any, granted: Any) -> None:
    from onboard_llm.cache import ResponseCache
    from onboard_llm.evals.runner import RunOptions, SuiteRunner, settle_memory

    # The suite arrives loaded: unpickling it is several times faster than reading the case folders again,
    # and it is the very suite whose hash the run records.
    suite = job.suite
    settle_memory()
    options = RunOptions(
        prompt=job.prompt,
        provider=job.recipe.build(gate),
        concurrency=job.concurrency,
        max_cost=job.max_cost,
        max_reasks=job.max_reasks,
        cache=ResponseCache(job.cache_folder) if job.cache_folder is not None else None,
        prices=job.prices,
        prompts_dir=job.prompts_dir,
        recipe=job.recipe,
        processes=1,
    )
    by_id = {case.id: case for case in suite.cases}
    todo = [(by_id[case_id], repeat) for case_id, repeat in job.todo]
    # The child never writes to the store; the runner only needs one to exist.
    runner = SuiteRunner(suite, options, EvalStore(Path(os.devnull)))
    if runner.version.sha256 != job.prompt_sha256:
        raise ConfigError(f"the prompt {job.prompt} changed while the run was starting; run it again")

    def send(result: CaseResult) -> None:
        if os.getppid() != job.parent_pid:
            os._exit(1)  # orphaned: nobody would store this, and a later --resume may be running
        events.put(("result", result_row(result), _figures(result)))

    # What a first case would pay (the SDK's import, its client, the templates) is paid before the
    # parent hands over any slot.
    warm_up_provider(runner.options.provider)
    if todo:
        render_request(todo[0][0].handoff, job.prompt, registry=runner.registry)
    # Ready: the parent hands this child its share of the slots one by one, as its own requests come
    # back, so the run never has more than --concurrency requests in flight.
    slots = InFlightLimit(runner.options.provider, 0)
    follow = asyncio.create_task(_follow(granted, slots, job.concurrency))
    events.put(("ready", job.index))
    try:
        await runner.work(job.run, todo, ledger, job.concurrency, send, slots)
    finally:
        follow.cancel()
    if runner.stopped_for_budget:
        events.put(("budget",))


async def _follow(granted: Any, slots: InFlightLimit, share: int) -> None:
    """Add to ``slots`` each slot the parent grants, until this child has its share."""
    given = 0
    while given < share:
        now = min(int(granted.value), share)
        if now > given:
            slots.grow(now - given)
            given = now
        await asyncio.sleep(GRANT_POLL_S)


def _figures(result: CaseResult) -> dict[str, Any]:
    return {
        "error": result.error is not None,
        "passed": bool(result.passed),
        "input_tokens": result.usage.get("input", 0),
        "output_tokens": result.usage.get("output", 0),
        "cost_usd": result.cost_usd or 0.0,
    }


def _split(total: int, parts: int) -> list[int]:
    """``total`` in ``parts`` near-equal positive shares, largest first."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


async def run_in_processes(
    runner: Any,
    run: RunInfo,
    todo: list[tuple[EvalCase, int]],
    processes: int,
    progress: Any,
    on_progress: Any,
) -> None:
    """Work through ``todo`` in this process and ``processes - 1`` children; raises what stopped them.

    ``runner`` is the parent's :class:`~onboard_llm.evals.runner.SuiteRunner`;
    its provider is rebuilt from the recipe so that it shares the 429 pause
    with the children.
    """
    options = runner.options
    recipe: ProviderRecipe = options.recipe
    forked = start_method() == "fork"
    context = multiprocessing.get_context("fork") if forked else multiprocessing.get_context("spawn")
    ledger = SharedLedger(context)
    gate = RateGate.across_processes(context)
    runner.options = replace(options, provider=recipe.build(gate))
    # Before any fork: the SDK's modules, loaded once here, are a forked child's too.
    warm_up_provider(runner.options.provider)
    events = context.Queue()
    shares = _split(options.concurrency, processes)
    job = ChildJob(
        suite=runner.suite,
        prompt=options.prompt,
        prompt_sha256=runner.version.sha256,
        prompts_dir=list(options.prompts_dir),
        max_reasks=options.max_reasks,
        max_cost=options.max_cost,
        prices=runner.prices,
        cache_folder=options.cache.folder if options.cache is not None else None,
        recipe=recipe,
        run=run,
        todo=[(case.id, repeat) for case, repeat in todo],
        concurrency=0,
        parent_pid=os.getpid(),
    )
    # Slots granted to each child so far (a child follows its count; see _follow).
    granted = [context.Value("i", 0) for _ in shares[1:]]
    children = [
        context.Process(
            target=child_main,
            args=(replace(job, concurrency=share, index=i), ledger, gate, events, granted[i]),
            name=f"onboard-eval-{i + 1}",
            daemon=True,
        )
        for i, share in enumerate(shares[1:])
    ]
    if forked:
        # A forked child is ready within milliseconds: it gets its share from the start.
        _grant_all(granted, shares)
        _start(children)
    # A spawned child takes a second or more to start: meanwhile the parent works with every slot, and
    # gives each child its share when the child says it is ready.
    slots = InFlightLimit(runner.options.provider, shares[0] if forked else options.concurrency)
    keep = runner.keeper(progress, on_progress)
    local = asyncio.create_task(runner.work(run, todo, ledger, options.concurrency, keep, slots))
    handovers: list[asyncio.Task[None]] = []

    async def hand_over(index: int) -> None:
        def grant() -> None:
            granted[index].value += 1

        await slots.shrink(shares[index + 1], grant)

    def on_ready(index: int) -> None:
        if not forked:
            handovers.append(asyncio.create_task(hand_over(index)))

    fatal: list[tuple[str, str]] = []
    finished = 0
    try:
        if not forked:
            # Spawning a child pickles the suite for it, which holds the interpreter for a moment: first
            # let the parent fill its slots, then start the children while those requests are out.
            waited = 0.0
            while not slots.saturated() and not local.done() and waited < FILL_WAIT_S:
                await asyncio.sleep(0.01)
                waited += 0.01
            await asyncio.to_thread(_start, children)
        while True:
            finished += _drain(events, progress, on_progress, runner, fatal, on_ready)
            if (fatal or (local.done() and not local.cancelled() and local.exception())) and not ledger.stopped():
                ledger.stop()  # one process failed for good: the others take no new case
            if local.done():
                _grant_all(granted, shares)  # nothing left here: a child still waiting for slots finds none to do
            if local.done() and (finished == len(children) or not any(c.is_alive() for c in children)):
                break
            await asyncio.sleep(POLL_S)
        await local  # raises what stopped the parent's own workers
        finished += _drain(events, progress, on_progress, runner, fatal, on_ready)
    except BaseException:
        # Interrupted (Ctrl-C cancels this coroutine) or failed: the cases in flight are dropped,
        # the finished ones are stored already.
        ledger.stop()
        local.cancel()
        await asyncio.gather(local, return_exceptions=True)
        for child in children:
            child.terminate()
        raise
    finally:
        for task in handovers:
            task.cancel()
        await asyncio.gather(*handovers, return_exceptions=True)
        _grant_all(granted, shares)
        for child in children:
            if child.pid is None:
                continue  # never started
            child.join(timeout=5)
            if child.is_alive():
                child.kill()
                child.join()
        with contextlib.suppress(Exception):
            events.close()
    crashed = [c for c in children if c.exitcode not in (0, None)]
    for kind, message in fatal:
        if kind == "config":
            raise ConfigError(message)
    if fatal or (crashed and finished < len(children)):
        reason = fatal[0][1] if fatal else f"exit code {crashed[0].exitcode}"
        raise OnboardError(
            f"a worker process of eval run {run.id} failed ({reason}); "
            f"the finished cases are stored: finish it with --resume {run.id}"
        )


def _grant_all(granted: list[Any], shares: list[int]) -> None:
    for value, share in zip(granted, shares[1:], strict=True):
        value.value = share


def _start(children: list[Any]) -> None:
    for child in children:
        child.start()


def _drain(
    events: Any,
    progress: Any,
    on_progress: Any,
    runner: Any,
    fatal: list[tuple[str, str]],
    on_ready: Callable[[int], None],
) -> int:
    """Apply every message waiting from the children; returns how many children said they are done."""
    done = 0
    while True:
        try:
            message = events.get_nowait()
        except queue.Empty:
            return done
        except (EOFError, OSError):
            return done
        kind = message[0]
        if kind == "result":
            _, row, figures = message
            runner.store.save_row(row)
            progress.count(**figures)
            if on_progress is not None:
                on_progress(progress)
        elif kind == "ready":
            on_ready(message[1])
        elif kind == "budget":
            runner.stopped_for_budget = True
        elif kind == "fatal":
            fatal.append((message[1], message[2]))
            done += 1
        elif kind == "done":
            done += 1
