"""What every built-in scorer shares: fuzzy names, one-to-one matching, F1, and a missing plan."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from rapidfuzz import fuzz, utils

# scipy ships no type information; the one function used is wrapped below with real types.
from scipy.optimize import linear_sum_assignment

from onboard_llm.errors import ConfigError
from onboard_llm.evals.scoring import CaseOutput, Score, SubScore
from onboard_llm.grounding import numbers_in

_TITLES = re.compile(r"^(?:dr|prof|mr|mrs|ms|mx)\.?\s+", re.IGNORECASE)
_PARENTHETICAL = re.compile(r"\s*\([^)]*\)")
_WORDS = re.compile(r"\w+")


def similarity(a: str, b: str) -> float:
    """How alike two names are, 0..1: rapidfuzz token_set_ratio on lower-cased, punctuation-free words.

    token_set_ratio forgives extra words ("Kickoff held" vs "Kickoff held;
    outcomes confirmed"), so two names that write different numbers ("at 10%"
    vs "at 15%") are told apart explicitly: they score 0.
    """
    score = fuzz.token_set_ratio(a, b, processor=utils.default_process) / 100.0
    na, nb = numbers_in(a), numbers_in(b)
    if na and nb and not na & nb:
        return 0.0
    return score


def best_pairs(weights: Sequence[Sequence[float]]) -> list[tuple[int, int]]:
    """Rows paired one-to-one with columns so the total weight is largest; pairs of weight 0 are dropped.

    This is the optimal assignment (Hungarian method, scipy's
    linear_sum_assignment), not a greedy pass: a greedy pass lets the first
    golden item take the answer item a later one needed.
    """
    if not weights or not weights[0]:
        return []
    rows, cols = linear_sum_assignment([list(row) for row in weights], maximize=True)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if weights[int(r)][int(c)] > 0]


#: Weight of similarity next to credit: it only breaks ties, never outweighs a credit difference.
TIE_BREAK = 1e-6


def pair_weight(credit: float, sim: float) -> float:
    """Weight of a candidate pair: its credit (0..1) first, name similarity only to break ties.

    Maximising the total then maximises the total credit, so the score is the
    best the answer can get; pairs of credit 0 still get a small weight, so a
    golden item is paired with its look-alike and the report can say what
    failed (a target, a day) rather than only "missed".
    """
    return credit + TIE_BREAK * (1.0 + sim)


def f1(true_positives: float, predicted: int, expected: int) -> float:
    """F1 from (possibly fractional) true positives; 1.0 when nothing was expected and nothing given."""
    if predicted + expected == 0:
        return 1.0
    return max(0.0, min(1.0, 2 * true_positives / (predicted + expected)))


def person_key(name: str) -> str:
    """A name reduced for comparison: no title ("Dr."), no parenthetical, no punctuation or case."""
    name = _PARENTHETICAL.sub(" ", name.replace("_", " ")).strip()
    name = _TITLES.sub("", name)
    return " ".join(_WORDS.findall(name.lower()))


def without_title(name: str) -> str:
    """The name without a leading title such as "Dr."."""
    return _TITLES.sub("", name.strip())


def fmt(value: float) -> str:
    """A number as a person writes it: 95, 0.8, 2400000."""
    return f"{value:g}" if math.isfinite(value) else str(value)


def clip(text: str, limit: int = 70) -> str:
    """The text cut to ``limit`` characters, with an ellipsis when cut."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def capped(lines: list[str], limit: int) -> list[str]:
    """At most ``limit`` lines, the rest summed up in one line."""
    if len(lines) <= limit:
        return lines
    return [*lines[:limit], f"... and {len(lines) - limit} more"]


def clamp(score: float) -> float:
    """A score forced into 0..1 (NaN counts as 0), so arithmetic slips never leak out of a scorer."""
    if not math.isfinite(score):
        return 0.0
    return max(0.0, min(1.0, score))


def check_unit_interval(scorer: str, **values: float) -> None:
    """Raise a ConfigError naming the first parameter outside 0..1."""
    for key, value in values.items():
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"scorer '{scorer}': {key} must be between 0 and 1, got {value}")


def check_non_negative(scorer: str, **values: float) -> None:
    """Raise a ConfigError naming the first negative parameter."""
    for key, value in values.items():
        if value < 0:
            raise ConfigError(f"scorer '{scorer}': {key} must be 0 or more, got {value}")


def no_plan_reason(output: CaseOutput) -> str:
    """Why a case has no plan to score, in one line."""
    parsed = output.parsed
    if output.raw is None:
        return "no plan to score: the provider returned no answer"
    if parsed is None:
        return "no plan to score: the answer was not parsed"
    first = f" (first: {clip(parsed.errors[0], 120)})" if parsed.errors else ""
    if parsed.stage == "no_json":
        return f"no plan to score: the answer contains no readable JSON object{first}"
    if parsed.stage == "schema":
        return f"no plan to score: the answer does not match the plan schema{first}"
    if parsed.stage == "domain":
        return f"no plan to score: the answer breaks {len(parsed.errors)} domain rule(s){first}"
    return "no plan to score: the answer parsed but no dated plan was produced"


def missing_plan_score(scorer: str, output: CaseOutput, subscore_names: Sequence[str]) -> Score:
    """Score 0 for a case without a plan, with every subscore at 0 so report columns stay the same."""
    reason = no_plan_reason(output)
    return Score(
        scorer=scorer,
        score=0.0,
        subscores=[SubScore(name, 0.0, [reason]) for name in subscore_names],
        details=[reason],
    )
