"""``facts``: what the case's ``expect.yaml`` says the plan must mention, and must not.

Each string is looked up, ignoring case, quotes and spacing, as whole words
anywhere in the plan's text: every string and number of the dated plan's
JSON, field by field (a phrase never spans two fields). Subscores:
``mention`` is the share of ``must_mention`` found, ``avoid`` the share of
``must_not_mention`` absent. The score is the mean of the subscores whose list
is not empty (1.0 when the case expects nothing).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from onboard_llm.evals.scorers._common import capped, check_non_negative, clamp, missing_plan_score
from onboard_llm.evals.scoring import CaseOutput, PathParts, Score, SubScore, register_scorer
from onboard_llm.grounding import appears_in

SUBSCORES = ("mention", "avoid")
# A separator no phrase contains, so "Nina" ending one field and "Alvarez" starting the next is no match.
_FIELD_BREAK = " \u2016 "


def plan_text(leaves: Iterable[tuple[PathParts, Any]]) -> str:
    """The plan's strings and numbers (its :attr:`CaseOutput.plan_leaves`), as its JSON writes them,
    fields kept apart: dates in ISO form, whole floats without ".0", booleans and nulls left out."""
    parts: list[str] = []
    for _, value in leaves:
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, float) and value.is_integer():
            parts.append(str(int(value)))
        elif isinstance(value, dt.date):
            parts.append(value.isoformat())
        else:
            parts.append(str(value))
    return _FIELD_BREAK.join(parts)


@register_scorer("facts")
class FactsScorer:
    """Facts the plan must mention and things it must not (``expect.yaml``).

    ``max_details``: how many misses or violations to list per subscore.
    """

    name: str = "facts"

    def __init__(self, *, max_details: int = 10) -> None:
        check_non_negative(self.name, max_details=max_details)
        self.max_details = max_details

    def score(self, output: CaseOutput) -> Score:
        if output.plan is None:
            return missing_plan_score(self.name, output, SUBSCORES)
        text = plan_text(output.plan_leaves)
        expect = output.expect
        missed = [f"must mention '{m}', but the plan does not" for m in expect.must_mention if not appears_in(m, text)]
        hits = [f"must not mention '{m}', but the plan does" for m in expect.must_not_mention if appears_in(m, text)]
        subscores: list[SubScore] = []
        scored: list[float] = []
        for name, wanted, problems in (
            ("mention", expect.must_mention, missed),
            ("avoid", expect.must_not_mention, hits),
        ):
            if not wanted:
                subscores.append(SubScore(name, 1.0, ["note: nothing to check"]))
                continue
            value = clamp(1.0 - len(problems) / len(wanted))
            scored.append(value)
            subscores.append(SubScore(name, value, capped(problems, self.max_details)))
        if not scored:
            return Score(
                self.name, 1.0, subscores, ["note: the case expects nothing (no must_mention, must_not_mention)"]
            )
        details = capped([*missed, *hits], self.max_details)
        return Score(self.name, clamp(sum(scored) / len(scored)), subscores, details)
