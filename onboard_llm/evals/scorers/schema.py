"""``schema``: how far the answer got through parsing: JSON, the plan schema, the domain rules.

Scores, by stage:

========================  ===============================================
no answer, or no JSON     0.0
JSON, schema errors       0.25
schema ok, n violations   0.5 + 0.5 × (1 − min(1, n / max_violations))
everything valid          1.0
========================  ===============================================

Subscores ``json``, ``schema`` and ``domain`` are 1 for a stage passed and 0
for a stage failed or never reached; ``domain`` is the fraction above when the
plan has violations.
"""

from __future__ import annotations

from collections import Counter

from onboard_llm.errors import ConfigError
from onboard_llm.evals.scorers._common import capped, check_non_negative, clip
from onboard_llm.evals.scoring import CaseOutput, Score, SubScore, register_scorer
from onboard_llm.parsing import ParseResult, parse_plan
from onboard_llm.rules import check_plan

SCHEMA_ERROR_SCORE = 0.25
SUBSCORES = ("json", "schema", "domain")


@register_scorer("schema")
class SchemaScorer:
    """Did the answer parse, validate and keep the domain rules?

    ``max_violations``: the number of domain violations at which the domain
    part reaches 0 (default 10). ``max_details``: how many errors to quote.
    """

    name: str = "schema"

    def __init__(self, *, max_violations: int = 10, max_details: int = 5) -> None:
        check_non_negative(self.name, max_details=max_details)
        if max_violations < 1:
            raise ConfigError(f"scorer 'schema': max_violations must be at least 1, got {max_violations}")
        self.max_violations = max_violations
        self.max_details = max_details

    def score(self, output: CaseOutput) -> Score:
        parsed = self._parsed(output)
        if parsed is None:
            reason = "the provider returned no answer, so there is nothing to parse"
            return self._verdict(0.0, (0.0, 0.0, 0.0), "json", [reason])
        notes = [f"note: repaired: {clip(w, 120)}" for w in capped(parsed.warnings, self.max_details)]
        errors = capped([clip(e, 200) for e in parsed.errors], self.max_details)
        if parsed.stage == "no_json":
            return self._verdict(
                0.0, (0.0, 0.0, 0.0), "json", ["no JSON object could be read from the answer", *errors]
            )
        if parsed.stage == "schema":
            head = f"the JSON does not match the plan schema ({len(parsed.errors)} error(s))"
            return self._verdict(SCHEMA_ERROR_SCORE, (1.0, 0.0, 0.0), "schema", [head, *errors, *notes])
        n = len(parsed.violations) or len(parsed.errors)
        if parsed.stage == "domain" and n:
            domain = 1.0 - min(1.0, n / self.max_violations)
            rules = Counter(v.rule for v in parsed.violations)
            by_rule = ", ".join(f"{rule} ×{count}" for rule, count in rules.most_common())
            head = f"{n} domain-rule violation(s)" + (f" ({by_rule})" if by_rule else "")
            return self._verdict(0.5 + 0.5 * domain, (1.0, 1.0, domain), "domain", [head, *errors, *notes])
        return self._verdict(1.0, (1.0, 1.0, 1.0), None, notes)

    def _parsed(self, output: CaseOutput) -> ParseResult | None:
        """The case's parse, or one made here when the runner gave only the answer or only the plan."""
        if output.parsed is not None:
            return output.parsed
        if output.raw is not None:
            return parse_plan(output.raw, source_text=output.source_text)
        if output.plan is not None:
            violations = check_plan(output.plan, source_text=output.source_text)
            return ParseResult(
                stage="domain" if violations else "ok",
                draft=output.plan,
                errors=[str(v) for v in violations],
                violations=violations,
            )
        return None

    def _verdict(
        self, score: float, parts: tuple[float, float, float], failed: str | None, details: list[str]
    ) -> Score:
        subscores = []
        reached = True
        for name, value in zip(SUBSCORES, parts, strict=True):
            if name == failed:
                subscores.append(SubScore(name, value, [d for d in details if not d.startswith("note:")]))
                reached = False
            elif not reached:
                subscores.append(SubScore(name, value, [f"not checked: the {failed} stage failed first"]))
            else:
                subscores.append(SubScore(name, value))
        return Score(scorer=self.name, score=score, subscores=subscores, details=details)
