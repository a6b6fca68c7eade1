"""``fields``: the plan against the golden plan, field by field.

==================  ===========================================================================
subscore            how it is scored
==================  ===========================================================================
success_metrics     F1 over metrics. A golden and a plan metric match when their names are
                    alike (similarity >= ``name_threshold``), the target is within
                    ``target_tolerance`` (relative; 0.8 and 80 are the same when the unit is
                    a percentage) and by_day is within ±``day_tolerance``. Pairs come from an
                    optimal one-to-one assignment (most credit first, name similarity breaks
                    ties); a pair alike by name that fails target or day is reported with what
                    failed. Plan metrics marked ``playbook_default`` that match no golden metric
                    are left out of the count (``ignore_playbook_extras``).
stakeholders        F1 over people, by name (case, punctuation and titles such as "Dr."
                    ignored); a matched name with a different role counts
                    ``role_mismatch_credit`` (0.5). Plan stakeholders on a side (customer,
                    vendor) the golden plan lists nobody on are not scored.
milestones          Recall of the golden milestones (of all phases), paired one-to-one by
                    name (>= ``name_threshold``) with the day within ±``day_tolerance``; a
                    golden milestone with an owner matched by one with another owner counts
                    ``owner_mismatch_credit`` (0.5). Extra milestones cost nothing. The pairing
                    maximises the credit, so dropping an answer item never raises the score.
stated_goals        Recall: a golden goal is covered by a plan goal (one-to-one) whose text is
                    alike (>= ``text_threshold``) or whose source_quote shares a run of
                    ``quote_overlap_words`` words with the golden quote (or contains it).
risks               Recall: a golden risk is covered when any plan risk (risk and mitigation)
                    contains one of its keywords, as a word stem ("retire" finds
                    "retirement"), or reads alike (>= ``text_threshold``).
customer            The mean of: company alike (>= ``company_threshold``), and where the golden
                    plan has them, implementation_complexity equal and industry alike.
==================  ===========================================================================

The score is the mean of the subscores weighted by ``weights`` (default
equal; a weight of 0 leaves a field out). A golden plan with no milestones
leaves ``milestones`` out. Similarity is rapidfuzz ``token_set_ratio`` / 100;
it forgives extra words, so it also finds "Stripe connected" like "Dentrix
connected": write near-twin items into the golden plan together, and the
one-to-one matching keeps them apart.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence

from onboard_llm.errors import ConfigError
from onboard_llm.evals.golden import GoldenMetric, GoldenPlan
from onboard_llm.evals.scorers._common import (
    best_pairs,
    capped,
    check_non_negative,
    check_unit_interval,
    clamp,
    clip,
    f1,
    fmt,
    missing_plan_score,
    pair_weight,
    person_key,
    similarity,
)
from onboard_llm.evals.scoring import CaseOutput, Score, SubScore, register_scorer
from onboard_llm.grounding import appears_in, normalize_text
from onboard_llm.schema import OnboardingPlan, SuccessMetric

FIELDS = ("success_metrics", "stakeholders", "milestones", "stated_goals", "risks", "customer")
_PERCENT_UNITS = frozenset({"%", "percent", "percentage", "pct"})
_SUFFIXES = tuple("ations ation ments ment ings ing ness ers ies ied ed es er ly s e".split())
_CLOSEST_FLOOR = 0.3  # below this a "closest" hint is noise


def stem(word: str) -> str:
    """A crude English stem: the word without one common suffix, never shorter than 4 letters."""
    word = word.lower()
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def keyword_in(keyword: str, text: str) -> bool:
    """True when every word of the keyword starts a word of the text, in order ("retire" in "retiring")."""
    words = re.findall(r"\w+", keyword)
    if not words:
        return False
    # Short words ("IT", "SSO") match whole words only: as a prefix "it" would find "items".
    pattern = r"\W+".join(r"\b" + re.escape(stem(w)) + (r"\w*" if len(w) >= 4 else r"\b") for w in words)
    return re.search(pattern, normalize_text(text)) is not None


def quotes_overlap(a: str | None, b: str | None, run: int) -> bool:
    """True when two quotes share ``run`` consecutive words, or the shorter one is inside the other."""
    if not a or not b:
        return False
    wa, wb = re.findall(r"\w+", normalize_text(a)), re.findall(r"\w+", normalize_text(b))
    if not wa or not wb:
        return False
    n = min(run, len(wa), len(wb))
    grams_a = {tuple(wa[i : i + n]) for i in range(len(wa) - n + 1)}
    return any(tuple(wb[i : i + n]) in grams_a for i in range(len(wb) - n + 1))


def _answer_name(golden: str, answer: str) -> str:
    """Which answer item a golden one was paired with, when it is written differently."""
    return "" if golden.strip().lower() == answer.strip().lower() else f" (the answer's '{clip(answer, 50)}')"


@register_scorer("fields")
class FieldsScorer:
    """The plan's fields against the golden plan's: metrics, people, milestones, goals, risks, customer.

    Parameters (defaults): ``name_threshold`` 0.6, ``target_tolerance`` 0.05
    (relative), ``day_tolerance`` 7, ``text_threshold`` 0.6,
    ``company_threshold`` 0.85, ``quote_overlap_words`` 6,
    ``role_mismatch_credit`` 0.5, ``owner_mismatch_credit`` 0.5,
    ``ignore_playbook_extras`` True, ``weights`` (field → weight, default 1
    each), ``max_details`` 8 per subscore.
    """

    name: str = "fields"

    def __init__(
        self,
        *,
        name_threshold: float = 0.6,
        target_tolerance: float = 0.05,
        day_tolerance: int = 7,
        text_threshold: float = 0.6,
        company_threshold: float = 0.85,
        quote_overlap_words: int = 6,
        role_mismatch_credit: float = 0.5,
        owner_mismatch_credit: float = 0.5,
        ignore_playbook_extras: bool = True,
        weights: Mapping[str, float] | None = None,
        max_details: int = 8,
    ) -> None:
        check_unit_interval(
            self.name,
            name_threshold=name_threshold,
            text_threshold=text_threshold,
            company_threshold=company_threshold,
            role_mismatch_credit=role_mismatch_credit,
            owner_mismatch_credit=owner_mismatch_credit,
        )
        check_non_negative(
            self.name, target_tolerance=target_tolerance, day_tolerance=day_tolerance, max_details=max_details
        )
        if quote_overlap_words < 1:
            raise ConfigError(f"scorer 'fields': quote_overlap_words must be at least 1, got {quote_overlap_words}")
        chosen = {name: 1.0 for name in FIELDS}
        for key, value in (weights or {}).items():
            if key not in chosen:
                raise ConfigError(f"scorer 'fields': unknown field '{key}' in weights (fields: {', '.join(FIELDS)})")
            check_non_negative(self.name, **{f"weights.{key}": value})
            chosen[key] = float(value)
        if not any(chosen.values()):
            raise ConfigError("scorer 'fields': every weight is 0; give at least one field a positive weight")
        self.name_threshold = name_threshold
        self.target_tolerance = target_tolerance
        self.day_tolerance = day_tolerance
        self.text_threshold = text_threshold
        self.company_threshold = company_threshold
        self.quote_overlap_words = quote_overlap_words
        self.role_mismatch_credit = role_mismatch_credit
        self.owner_mismatch_credit = owner_mismatch_credit
        self.ignore_playbook_extras = ignore_playbook_extras
        self.weights = chosen
        self.max_details = max_details

    def score(self, output: CaseOutput) -> Score:
        active = [f for f in FIELDS if self.weights[f] > 0]
        plan = output.plan
        if plan is None:
            return missing_plan_score(self.name, output, active)
        golden = output.golden
        scorers: dict[str, Callable[[], SubScore | None]] = {
            "success_metrics": lambda: self.success_metrics(plan, golden),
            "stakeholders": lambda: self.stakeholders(plan, golden, output.source_text),
            "milestones": lambda: self.milestones(plan, golden),
            "stated_goals": lambda: self.stated_goals(plan, golden),
            "risks": lambda: self.risks(plan, golden),
            "customer": lambda: self.customer(plan, golden),
        }
        subscores: list[SubScore] = []
        details: list[str] = []
        for field in active:
            sub = scorers[field]()
            if sub is None:
                details.append(f"note: {field} not scored: the golden plan lists none")
                continue
            subscores.append(SubScore(sub.name, clamp(sub.score), capped(sub.details, self.max_details)))
        total_weight = sum(self.weights[s.name] for s in subscores)
        score = sum(self.weights[s.name] * s.score for s in subscores) / total_weight if total_weight else 0.0
        failing = [f"{s.name} {s.score:.2f}" for s in subscores if s.score < 1.0]
        if failing:
            details.insert(0, "below 1: " + ", ".join(failing))
        return Score(scorer=self.name, score=clamp(score), subscores=subscores, details=details)

    # -- success metrics -----------------------------------------------------------

    def _target_problem(self, golden: GoldenMetric, metric: SuccessMetric) -> str | None:
        def close(a: float, b: float) -> bool:
            return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) or abs(a - b) <= self.target_tolerance * abs(b)

        if close(metric.target, golden.target):
            return None
        units = {golden.unit.strip().lower(), metric.unit.strip().lower()}
        # 0.95 for "95%" is the same figure written as a fraction.
        if units & _PERCENT_UNITS and (
            close(metric.target * 100, golden.target) or close(metric.target, golden.target * 100)
        ):
            return None
        return (
            f"target {fmt(metric.target)} vs golden {fmt(golden.target)} "
            f"(outside {fmt(self.target_tolerance * 100)}% tolerance)"
        )

    def _metric_problems(self, golden: GoldenMetric, metric: SuccessMetric) -> list[str]:
        problems = []
        target = self._target_problem(golden, metric)
        if target:
            problems.append(target)
        if abs(metric.by_day - golden.by_day) > self.day_tolerance:
            problems.append(
                f"by day {metric.by_day} vs golden day {golden.by_day} (outside ±{self.day_tolerance} days)"
            )
        return problems

    def success_metrics(self, plan: OnboardingPlan, golden: GoldenPlan) -> SubScore:
        gold, metrics = golden.success_metrics, list(plan.success_metrics)
        weights: list[list[float]] = []
        problems: dict[tuple[int, int], list[str]] = {}
        for i, g in enumerate(gold):
            row = []
            for j, m in enumerate(metrics):
                sim = similarity(g.name, m.name)
                if sim < self.name_threshold:
                    row.append(0.0)
                    continue
                problems[i, j] = self._metric_problems(g, m)
                row.append(pair_weight(0.0 if problems[i, j] else 1.0, sim))
            weights.append(row)
        pairs = best_pairs(weights)
        matched = sum(1 for p in pairs if not problems[p])
        paired_gold = {i for i, _ in pairs}
        paired_plan = {j for _, j in pairs}
        fully_matched = {j for i, j in pairs if not problems[i, j]}
        details: list[str] = []
        for i, j in pairs:
            g, m = gold[i], metrics[j]
            if problems[i, j]:
                details.append(f"metric '{g.name}': {'; '.join(problems[i, j])}{_answer_name(g.name, m.name)}")
            elif g.unit.strip().lower() != m.unit.strip().lower():
                details.append(f"note: metric '{g.name}': unit '{m.unit}' vs golden '{g.unit}' (not scored)")
        for i, g in enumerate(gold):
            if i not in paired_gold:
                details.append(
                    f"missed golden metric '{g.name}' ({fmt(g.target)} {g.unit} by day {g.by_day})"
                    + self._closest(g.name, [m.name for m in metrics])
                )
        ignored: list[str] = []
        predicted = 0
        for j, m in enumerate(metrics):
            if self.ignore_playbook_extras and m.provenance == "playbook_default" and j not in fully_matched:
                ignored.append(f"'{m.name}'")
                continue
            predicted += 1
            if j in paired_plan:
                continue
            details.append(
                f"extra metric '{m.name}' ({fmt(m.target)} {m.unit} by day {m.by_day}) is not in the golden plan"
            )
        if ignored:
            details.append(f"note: playbook-default metrics not counted as extras: {', '.join(ignored)}")
        return SubScore("success_metrics", f1(matched, predicted, len(gold)), details)

    def _closest(self, name: str, candidates: Sequence[str]) -> str:
        if not candidates:
            return ""
        sim, best = max((similarity(name, c), c) for c in candidates)
        if sim < _CLOSEST_FLOOR:
            return ""
        return f"; closest: '{clip(best, 50)}' (similarity {sim:.2f} < {self.name_threshold:g})"

    # -- stakeholders ----------------------------------------------------------

    def stakeholders(self, plan: OnboardingPlan, golden: GoldenPlan, source_text: str) -> SubScore:
        gold = {person_key(g.name): g for g in golden.stakeholders}
        sides = {g.side for g in golden.stakeholders}
        credit = 0.0
        predicted = 0
        seen: set[str] = set()
        details: list[str] = []
        for person in plan.stakeholders:
            if person.side not in sides:
                continue
            predicted += 1
            key = person_key(person.name)
            match = gold.get(key)
            if match is None:
                where = "" if appears_in(person.name, source_text) else " and not named in the notes"
                details.append(f"invented stakeholder '{person.name}' ({person.role}): not in the golden plan{where}")
            elif key in seen:
                details.append(f"stakeholder '{person.name}' is listed twice")
            elif person.role != match.role:
                seen.add(key)
                credit += self.role_mismatch_credit
                details.append(f"stakeholder '{match.name}': role '{person.role}' vs golden '{match.role}'")
            else:
                seen.add(key)
                credit += 1.0
        for key, g in gold.items():
            if key not in seen:
                details.append(f"missing stakeholder '{g.name}' ({g.role}, {g.side})")
        return SubScore("stakeholders", f1(credit, predicted, len(gold)), details)

    # -- milestones ------------------------------------------------------------

    def milestones(self, plan: OnboardingPlan, golden: GoldenPlan) -> SubScore | None:
        gold = [m for phase in golden.phases for m in phase.milestones]
        if not gold:
            return None
        mine = plan.all_milestones()
        weights: list[list[float]] = []
        for g in gold:
            row = []
            for m in mine:
                sim = similarity(g.name, m.name)
                if sim < self.name_threshold:
                    row.append(0.0)
                    continue
                credit = 0.0
                if abs(m.day - g.day) <= self.day_tolerance:
                    owner_ok = g.owner is None or person_key(g.owner) == person_key(m.owner)
                    credit = 1.0 if owner_ok else self.owner_mismatch_credit
                row.append(pair_weight(credit, sim))
            weights.append(row)
        credit = 0.0
        details: list[str] = []
        paired = set()
        for i, j in best_pairs(weights):
            g, m = gold[i], mine[j]
            paired.add(i)
            if abs(m.day - g.day) > self.day_tolerance:
                details.append(
                    f"milestone '{g.name}': day {m.day} vs golden day {g.day} "
                    f"(outside ±{self.day_tolerance} days){_answer_name(g.name, m.name)}"
                )
            elif g.owner is not None and person_key(g.owner) != person_key(m.owner):
                credit += self.owner_mismatch_credit
                details.append(f"milestone '{g.name}': owner '{m.owner}' vs golden '{g.owner}'")
            else:
                credit += 1.0
        for i, g in enumerate(gold):
            if i not in paired:
                details.append(
                    f"missed golden milestone '{g.name}' (day {g.day})" + self._closest(g.name, [m.name for m in mine])
                )
        return SubScore("milestones", credit / len(gold), details)

    # -- stated goals ------------------------------------------------------------

    def stated_goals(self, plan: OnboardingPlan, golden: GoldenPlan) -> SubScore:
        gold, goals = golden.stated_goals, plan.stated_goals
        weights: list[list[float]] = []
        for g in gold:
            row = []
            for p in goals:
                sim = similarity(g.goal, p.goal)
                covered = sim >= self.text_threshold or quotes_overlap(
                    g.source_quote, p.source_quote, self.quote_overlap_words
                )
                row.append(pair_weight(1.0, sim) if covered else 0.0)
            weights.append(row)
        covered_idx = {i for i, _ in best_pairs(weights)}
        details = [
            f"uncovered goal '{clip(g.goal)}'"
            + (f" (quote: '{clip(g.source_quote, 60)}')" if g.source_quote else "")
            + self._closest_text(g.goal, [p.goal for p in goals])
            for i, g in enumerate(gold)
            if i not in covered_idx
        ]
        return SubScore("stated_goals", len(covered_idx) / len(gold), details)

    def _closest_text(self, text: str, candidates: Sequence[str]) -> str:
        if not candidates:
            return "; the plan states no goals"
        sim, best = max((similarity(text, c), c) for c in candidates)
        if sim < _CLOSEST_FLOOR:
            return ""
        return f"; closest: '{clip(best, 50)}' (similarity {sim:.2f} < {self.text_threshold:g})"

    # -- risks -----------------------------------------------------------------

    def risks(self, plan: OnboardingPlan, golden: GoldenPlan) -> SubScore:
        texts = [(r.risk, f"{r.risk} {r.mitigation}") for r in plan.risks]
        covered = 0
        details: list[str] = []
        for g in golden.risks:
            hit = any(
                any(keyword_in(k, text) for k in g.keywords) or similarity(g.risk, risk) >= self.text_threshold
                for risk, text in texts
            )
            if hit:
                covered += 1
                continue
            words = f"mentions any of {', '.join(repr(k) for k in g.keywords)} or " if g.keywords else ""
            details.append(f"uncovered risk '{clip(g.risk)}': no plan risk {words}reads like it")
        return SubScore("risks", covered / len(golden.risks), details)

    # -- customer ----------------------------------------------------------------

    def customer(self, plan: OnboardingPlan, golden: GoldenPlan) -> SubScore:
        want, have = golden.customer, plan.customer
        checks: list[bool] = []
        details: list[str] = []
        sim = similarity(want.company, have.company)
        checks.append(sim >= self.company_threshold)
        if not checks[-1]:
            details.append(f"company '{have.company}' vs golden '{want.company}' (similarity {sim:.2f})")
        if want.implementation_complexity is not None:
            checks.append(have.implementation_complexity == want.implementation_complexity)
            if not checks[-1]:
                details.append(
                    f"implementation_complexity '{have.implementation_complexity}' vs golden "
                    f"'{want.implementation_complexity}'"
                )
        if want.industry is not None:
            alike = have.industry is not None and similarity(want.industry, have.industry) >= self.text_threshold
            checks.append(alike)
            if not alike:
                details.append(f"industry '{have.industry}' vs golden '{want.industry}'")
        return SubScore("customer", sum(checks) / len(checks), details)
