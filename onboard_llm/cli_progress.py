"""What the CLI shows while a model works, and the --verbose summary after."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from onboard_llm.pipeline import PlanResult


class Spinner:
    """A spinner on stderr with the model, elapsed time and attempt; silent unless stderr is a terminal."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.number = 0
        self.started = time.monotonic()
        self._status: Any = None

    def __enter__(self) -> Spinner:
        if sys.stderr.isatty():
            from rich.console import Console

            self._status = Console(stderr=True).status(_Label(self))
            self._status.__enter__()
        return self

    def _text(self) -> str:
        attempt = f" · attempt {self.number}" if self.number else ""
        return f"{self.label}{attempt} · {time.monotonic() - self.started:.0f}s"

    def attempt(self, number: int) -> None:
        """Called by the pipeline before each provider call."""
        self.number = number

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._status is not None:
            self._status.__exit__(kind, error, trace)


class _Label:
    """Rich renders this on every refresh, so the elapsed seconds keep counting."""

    def __init__(self, spinner: Spinner) -> None:
        self.spinner = spinner

    def __rich__(self) -> str:
        return self.spinner._text()


def describe_run(result: PlanResult) -> list[str]:
    """The --verbose lines: each attempt, then totals."""
    lines = []
    for a in result.attempts:
        source = "cache" if a.cached else f"{a.http_attempts} HTTP attempt{'s' if a.http_attempts != 1 else ''}"
        cost = f", ${a.cost_usd:.4f}" if a.cost_usd is not None else ""
        lines.append(
            f"attempt {a.number}: {a.stage} ({source}, {a.seconds:.1f}s, tokens in {a.usage.input_tokens} "
            f"/ out {a.usage.output_tokens} / cached {a.usage.cached_tokens}{cost})"
        )
    total = f"${result.cost_usd:.4f}" if result.cost_usd is not None else "unknown (no price for this model)"
    lines.append(
        f"{result.provider}:{result.model} {result.prompt_ref} ({result.prompt_sha256[:12]}): "
        f"{len(result.attempts)} attempt(s), tokens in {result.usage.input_tokens} / out {result.usage.output_tokens} "
        f"/ cached {result.usage.cached_tokens}, cost {total}, {result.seconds:.1f}s"
        + (f", log id {result.log_id}" if result.log_id is not None else "")
    )
    return lines
