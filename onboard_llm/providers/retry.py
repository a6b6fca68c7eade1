"""The one retry policy: transient failures only, exponential backoff with jitter.

Providers turn their SDK's exceptions into :class:`~onboard_llm.errors.TransientError`
(retry) or another :class:`~onboard_llm.errors.OnboardError` (fail at once), with
the SDK's own retries switched off so nothing stacks. A ``Retry-After`` from the
server wins over the computed backoff; the whole thing is bounded by a number of
retries and by total seconds. An optional :class:`RateGate`, shared by many
workers, makes every caller wait out a 429 together; it only lengthens waits,
it never adds attempts.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity import stop_before_delay as _stop_before_delay
from tenacity.stop import stop_base

from onboard_llm.errors import ProviderError, TransientError

T = TypeVar("T")

DEFAULT_MAX_RETRIES = 4
DEFAULT_TIMEOUT = 300.0


class RateGate:
    """A pause shared by every worker that talks to one provider.

    Within one process the deadline is a float behind a lock. An eval run spread
    over several processes makes the gate with :meth:`across_processes`: the
    deadline then lives in shared memory, and ``time.monotonic`` is one clock for
    every process of the machine, so a 429 seen by any of them pauses them all.
    """

    def __init__(self, shared: Any = None) -> None:
        self._lock = threading.Lock()
        self._open_at = 0.0
        #: A ``multiprocessing`` double value holding the deadline, or None within one process.
        self._shared = shared

    @classmethod
    def across_processes(cls, context: Any) -> RateGate:
        """A gate whose deadline every child started with it (by ``context``) shares."""
        return cls(context.Value("d", 0.0))

    def hold(self, seconds: float) -> None:
        """Keep the gate shut for at least ``seconds`` from now."""
        until = time.monotonic() + seconds
        if self._shared is not None:
            with self._shared.get_lock():
                self._shared.value = max(self._shared.value, until)
            return
        with self._lock:
            self._open_at = max(self._open_at, until)

    def remaining(self) -> float:
        """Seconds until the gate opens (0 when open)."""
        if self._shared is not None:
            open_at = float(self._shared.value)
        else:
            with self._lock:
                open_at = self._open_at
        return max(0.0, open_at - time.monotonic())

    def __getstate__(self) -> dict[str, Any]:
        # The lock stays behind; a shared value travels to a child process it is handed to.
        return {"open_at": self._open_at, "shared": self._shared}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._lock = threading.Lock()
        self._open_at = state["open_at"]
        self._shared = state["shared"]


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often to retry a transient failure."""

    max_retries: int = DEFAULT_MAX_RETRIES
    timeout: float = DEFAULT_TIMEOUT
    initial: float = 1.0
    maximum: float = 30.0
    gate: RateGate | None = field(default=None, compare=False)
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    def backoff(self, attempt: int, error: BaseException | None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        wait = min(self.maximum, self.initial * 2 ** (attempt - 1))
        wait = random.uniform(wait / 2, wait)  # full jitter on the upper half keeps workers apart
        if isinstance(error, TransientError) and error.retry_after is not None:
            wait = max(0.0, error.retry_after)
        if isinstance(error, TransientError) and error.status == 429 and self.gate is not None:
            # A throttle is about the account, not this request: everyone sharing the gate waits.
            self.gate.hold(wait)
        if self.gate is not None:
            wait = max(wait, self.gate.remaining())
        return wait

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        return self.backoff(state.attempt_number, error)

    def _stop(self) -> stop_base:
        # stop_before_delay stops when the next wait would overrun the time budget.
        return stop_after_attempt(self.max_retries + 1) | _stop_before_delay(self.timeout)

    def call(self, attempt: Callable[[], T], *, provider: str) -> T:
        """Run ``attempt`` until it succeeds, fails for good, or the budget is spent."""
        retrying = Retrying(
            retry=retry_if_exception_type(TransientError),
            wait=self._wait,
            stop=self._stop(),
            sleep=self.sleep,
            reraise=True,
        )

        def gated() -> T:
            # Every caller sharing the gate waits out another worker's 429 before its next request.
            if self.gate is not None and (pause := self.gate.remaining()) > 0:
                self.sleep(pause)
            return attempt()

        try:
            return retrying(gated)
        except TransientError as exc:
            raise _gave_up(exc, provider, retrying.statistics.get("attempt_number", 1)) from None

    async def acall(self, attempt: Callable[[], Awaitable[T]], *, provider: str) -> T:
        """The async twin of :meth:`call`."""
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(TransientError),
            wait=self._wait,
            stop=self._stop(),
            reraise=True,
        )

        async def gated() -> T:
            if self.gate is not None and (pause := self.gate.remaining()) > 0:
                await asyncio.sleep(pause)
            return await attempt()

        try:
            return await retrying(gated)
        except TransientError as exc:
            raise _gave_up(exc, provider, retrying.statistics.get("attempt_number", 1)) from None


def _gave_up(exc: TransientError, provider: str, attempts: int) -> ProviderError:
    status = f"HTTP {exc.status}" if exc.status else "no response"
    # The transient error's text already names the provider and the status; keep only what it adds.
    detail = str(exc).removeprefix(f"{provider}: ").removeprefix(f"HTTP {exc.status}: ")
    return ProviderError(
        f"{provider}: gave up after {attempts} attempt{'s' if attempts != 1 else ''} ({status}): {detail}",
        provider=provider,
        status=exc.status,
    )
