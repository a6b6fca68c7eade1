"""Cost of a generation, and the budget that stops it before it overspends."""

from __future__ import annotations

from dataclasses import dataclass, field

from onboard_llm.errors import BudgetExceededError, ConfigError
from onboard_llm.pricing import PriceTable, estimate_tokens
from onboard_llm.providers.base import Completion, CompletionRequest


@dataclass
class Budget:
    """Adds up the cost of every attempt and refuses one that would pass ``max_cost``.

    The next attempt's cost is estimated from the request's length (or the last
    attempt's tokens, when larger) and the previous answer's length (a quarter
    of the output limit before the first).
    """

    provider: str
    model: str
    prices: PriceTable
    max_cost: float | None = None
    spent: float = 0.0
    priced: bool = True
    _last_output: int | None = field(default=None, repr=False)
    _last_input: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        if self.max_cost is not None and self.max_cost <= 0:
            raise ConfigError(f"--max-cost must be more than 0, not {self.max_cost}")
        known = self.prices.estimate(self.provider, self.model, 0, 0) is not None
        if self.max_cost is not None and not known:
            raise ConfigError(
                f"--max-cost needs a price for {self.provider}:{self.model}; add it to a price file named by ONBOARD_PRICES"
            )
        self.priced = known

    def estimate(self, request: CompletionRequest) -> float | None:
        """What the next attempt will probably cost."""
        # A re-ask resends the conversation plus the last answer, so it is at least that long.
        input_tokens = max(
            estimate_tokens("".join(m.content for m in request.messages)),
            self._last_input + (self._last_output or 0),
        )
        output_tokens = self._last_output if self._last_output is not None else request.max_output_tokens // 4
        return self.prices.estimate(self.provider, self.model, input_tokens, output_tokens)

    def before(self, request: CompletionRequest) -> None:
        """Raise when the next attempt would take the total past the budget."""
        if self.max_cost is None:
            return
        estimate = self.estimate(request) or 0.0
        if self.spent + estimate > self.max_cost:
            raise BudgetExceededError(
                f"stopped before attempt: it would cost about ${estimate:.4f}, taking the total to "
                f"${self.spent + estimate:.4f}, over the --max-cost of ${self.max_cost:.4f}"
            )

    def after(self, completion: Completion) -> float | None:
        """Add an answer's cost (cached answers are free); returns it."""
        self._last_output = completion.usage.output_tokens or self._last_output
        self._last_input = completion.usage.input_tokens or self._last_input
        if completion.cached:
            return 0.0
        cost = self.prices.cost(self.provider, self.model, completion.usage)
        if cost is not None:
            self.spent += cost
        return cost

    @property
    def total(self) -> float | None:
        """The cost so far, or None when the model has no price."""
        return self.spent if self.priced else None
