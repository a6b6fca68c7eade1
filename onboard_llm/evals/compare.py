"""Compare two stored eval runs of one suite, paired by (case, repeat).

For the total and for every scorer and sub-score (named ``scorer.subscore``): the
mean delta (candidate minus baseline), a paired bootstrap 95% interval and a
Wilcoxon signed-rank p-value; pass/fail flips with an exact McNemar test.

The verdict looks at the total only: a *regression* when the whole interval of its
mean delta lies below zero and the mean delta is worse than ``-margin``; an
*improvement* symmetrically; otherwise *no significant change*. p-values and
McNemar are for information, except for gates: a gate (metric name -> margin)
flags that metric as regressed when its mean delta is worse than ``-margin`` and
its Holm-adjusted p-value (over all the gates) is below 1 - confidence.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from onboard_llm.errors import BadInputError
from onboard_llm.evals.stats import holm, mcnemar_exact, paired_bootstrap_ci, wilcoxon_p
from onboard_llm.evals.store import CaseResult, EvalStore, RunInfo

REGRESSION = "regression"
IMPROVEMENT = "improvement"
NO_CHANGE = "no significant change"
DEFAULT_MARGIN = 0.02
CONFIDENCE = 0.95
TOTAL = "total"


@dataclass
class MetricDelta:
    """One metric (``total``, a scorer, or ``scorer.subscore``) over the pairs where both runs have it."""

    name: str
    n: int
    mean_baseline: float
    mean_candidate: float
    mean_delta: float
    ci_low: float
    ci_high: float
    p_value: float | None  # Wilcoxon signed-rank, two-sided
    gate_margin: float | None = None
    p_holm: float | None = None  # Holm-adjusted over the gated metrics
    gate_regressed: bool | None = None


@dataclass
class WorseCase:
    """A pair whose total dropped: what changed, and the scorer details new in the candidate."""

    case_id: str
    repeat: int
    baseline_total: float
    candidate_total: float
    delta: float
    baseline_passed: bool | None
    candidate_passed: bool | None
    deltas: dict[str, float]  # scorer / scorer.subscore -> candidate minus baseline (changed ones only)
    new_details: dict[str, list[str]]  # scorer / scorer.subscore -> details present only in the candidate


@dataclass
class PairDelta:
    """Candidate minus baseline of every metric (``total`` included) scored on both sides of one pair."""

    case_id: str
    repeat: int
    deltas: dict[str, float]


@dataclass
class Comparison:
    baseline: RunInfo
    candidate: RunInfo
    margin: float
    pairs: int  # pairs compared (both sides scored)
    only_baseline: list[str] = field(default_factory=list)  # "case#repeat" missing from the candidate
    only_candidate: list[str] = field(default_factory=list)  # "case#repeat" missing from the baseline
    skipped_errors: int = 0  # common pairs left out because either side errored or was not scored
    metrics: list[MetricDelta] = field(default_factory=list)
    pass_to_fail: int = 0  # McNemar b
    fail_to_pass: int = 0  # McNemar c
    mcnemar_p: float = 1.0
    verdict: str = NO_CHANGE
    worse_cases: list[WorseCase] = field(default_factory=list)
    # Every compared pair, in (case, repeat) order; for charts, left out of the JSON to keep it small.
    pair_deltas: list[PairDelta] = field(default_factory=list)

    @property
    def total(self) -> MetricDelta:
        return next(m for m in self.metrics if m.name == TOTAL)

    @property
    def failed_gates(self) -> list[str]:
        return [m.name for m in self.metrics if m.gate_regressed]

    @property
    def regressed(self) -> bool:
        """The verdict is a regression, or a gated metric regressed (the CLI exits 1)."""
        return self.verdict == REGRESSION or bool(self.failed_gates)

    def as_dict(self) -> dict[str, Any]:
        def run(info: RunInfo) -> dict[str, Any]:
            return {
                "id": info.id,
                "suite": info.suite_name,
                "suite_hash": info.suite_hash,
                "prompt": f"{info.prompt_name}@{info.prompt_version}",
                "provider": info.provider,
                "model": info.model,
            }

        return {
            "baseline": run(self.baseline),
            "candidate": run(self.candidate),
            "margin": self.margin,
            "confidence": CONFIDENCE,
            "pairs": self.pairs,
            "only_baseline": self.only_baseline,
            "only_candidate": self.only_candidate,
            "skipped_errors": self.skipped_errors,
            "metrics": [asdict(m) for m in self.metrics],
            "flips": {
                "pass_to_fail": self.pass_to_fail,
                "fail_to_pass": self.fail_to_pass,
                "mcnemar_p": self.mcnemar_p,
            },
            "verdict": self.verdict,
            "failed_gates": self.failed_gates,
            "regressed": self.regressed,
            "worse_cases": [asdict(w) for w in self.worse_cases],
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=False) + "\n"


def _metric_values(result: CaseResult) -> dict[str, float]:
    values: dict[str, float] = {}
    if result.total is not None:
        values[TOTAL] = float(result.total)
    for score in result.scores:
        name = str(score["scorer"])
        if score.get("score") is not None:
            values[name] = float(score["score"])
        for sub in score.get("subscores", []):
            if sub.get("score") is not None:
                values[f"{name}.{sub['name']}"] = float(sub["score"])
    return values


def _metric_details(result: CaseResult) -> dict[str, list[str]]:
    details: dict[str, list[str]] = {}
    for score in result.scores:
        name = str(score["scorer"])
        details[name] = [str(d) for d in score.get("details", [])]
        for sub in score.get("subscores", []):
            details[f"{name}.{sub['name']}"] = [str(d) for d in sub.get("details", [])]
    return details


def _usable(result: CaseResult) -> bool:
    return result.error is None and result.total is not None


def _key(case_id: str, repeat: int) -> str:
    return f"{case_id}#{repeat}"


def _load(store: EvalStore, run_id: str, role: str) -> RunInfo:
    run = store.get_run(run_id)
    if run is None:
        raise BadInputError(f"no eval run '{run_id}' ({role}) in {store.path}")
    return run


def _metric(name: str, pairs: list[tuple[float, float]]) -> MetricDelta:
    n = len(pairs)
    deltas = [c - b for b, c in pairs]
    low, high = paired_bootstrap_ci(deltas, confidence=CONFIDENCE)
    return MetricDelta(
        name=name,
        n=n,
        mean_baseline=sum(b for b, _ in pairs) / n,
        mean_candidate=sum(c for _, c in pairs) / n,
        mean_delta=sum(deltas) / n,
        ci_low=low,
        ci_high=high,
        p_value=wilcoxon_p(deltas),
    )


def verdict_of(metric: MetricDelta, margin: float) -> str:
    """The rule on one metric: the whole interval on one side of zero and the mean delta beyond the margin."""
    if metric.ci_high < 0.0 and metric.mean_delta < -margin:
        return REGRESSION
    if metric.ci_low > 0.0 and metric.mean_delta > margin:
        return IMPROVEMENT
    return NO_CHANGE


def compare_runs(
    store: EvalStore,
    baseline_id: str,
    candidate_id: str,
    *,
    margin: float = DEFAULT_MARGIN,
    gates: dict[str, float] | None = None,
) -> Comparison:
    """Compare ``candidate_id`` against ``baseline_id`` (ids or unique prefixes) of the same suite.

    A BadInputError when either run is missing, the runs' suites differ (content hash),
    the margin or a gate is negative or names no metric, or no pair is scored on both sides.
    """
    if margin < 0:
        raise BadInputError(f"the margin must not be negative (got {margin})")
    baseline = _load(store, baseline_id, "baseline")
    candidate = _load(store, candidate_id, "candidate")
    if baseline.suite_hash != candidate.suite_hash:
        raise BadInputError(
            f"runs {baseline.id} and {candidate.id} are on different suites: {baseline.suite_name} "
            f"(hash {baseline.suite_hash[:12]}) and {candidate.suite_name} (hash {candidate.suite_hash[:12]}); "
            "compare runs of the same suite content"
        )
    base_results = {(r.case_id, r.repeat): r for r in store.results(baseline.id, outputs=False)}
    cand_results = {(r.case_id, r.repeat): r for r in store.results(candidate.id, outputs=False)}
    common = sorted(base_results.keys() & cand_results.keys())
    comparison = Comparison(
        baseline=baseline,
        candidate=candidate,
        margin=margin,
        pairs=0,
        only_baseline=[_key(*k) for k in sorted(base_results.keys() - cand_results.keys())],
        only_candidate=[_key(*k) for k in sorted(cand_results.keys() - base_results.keys())],
    )
    paired: list[tuple[CaseResult, CaseResult]] = []
    for key in common:
        b, c = base_results[key], cand_results[key]
        if _usable(b) and _usable(c):
            paired.append((b, c))
        else:
            comparison.skipped_errors += 1
    if not paired:
        raise BadInputError(
            f"runs {baseline.id} and {candidate.id} have no (case, repeat) scored in both "
            f"({len(common)} in common, {comparison.skipped_errors} errored or unscored)"
        )
    comparison.pairs = len(paired)

    # Metric values per pair, and the order metrics first appear in (total, then scorer, its sub-scores).
    names: list[str] = [TOTAL]
    values: list[tuple[dict[str, float], dict[str, float]]] = []
    for b, c in paired:
        bv, cv = _metric_values(b), _metric_values(c)
        values.append((bv, cv))
        for name in [*bv, *cv]:
            if name not in names:
                names.append(name)
    for name in names:
        pairs = [(bv[name], cv[name]) for bv, cv in values if name in bv and name in cv]
        if pairs:
            comparison.metrics.append(_metric(name, pairs))
    comparison.verdict = verdict_of(comparison.total, margin)

    _apply_gates(comparison, gates or {})

    for b, c in paired:
        if b.passed is None or c.passed is None:
            continue
        if b.passed and not c.passed:
            comparison.pass_to_fail += 1
        elif c.passed and not b.passed:
            comparison.fail_to_pass += 1
    comparison.mcnemar_p = mcnemar_exact(comparison.pass_to_fail, comparison.fail_to_pass)

    comparison.worse_cases = _worse_cases(paired, values)
    comparison.pair_deltas = [
        PairDelta(b.case_id, b.repeat, {name: cv[name] - bv[name] for name in names if name in bv and name in cv})
        for (b, _), (bv, cv) in zip(paired, values, strict=True)
    ]
    return comparison


def _apply_gates(comparison: Comparison, gates: dict[str, float]) -> None:
    if not gates:
        return
    by_name = {m.name: m for m in comparison.metrics}
    unknown = [name for name in gates if name not in by_name]
    if unknown:
        raise BadInputError(f"gate {', '.join(unknown)} names no metric of these runs; known: {', '.join(by_name)}")
    for name, gate_margin in gates.items():
        if gate_margin < 0:
            raise BadInputError(f"gate {name} has a negative margin ({gate_margin})")
    gated = [by_name[name] for name in gates]
    # A metric whose deltas are all zero has p 1.0; None (no pairs) cannot happen here.
    adjusted = holm([m.p_value if m.p_value is not None else 1.0 for m in gated])
    alpha = 1.0 - CONFIDENCE
    for metric, p_holm in zip(gated, adjusted, strict=True):
        metric.gate_margin = gates[metric.name]
        metric.p_holm = p_holm
        metric.gate_regressed = metric.mean_delta < -gates[metric.name] and p_holm < alpha


def _worse_cases(
    paired: list[tuple[CaseResult, CaseResult]], values: list[tuple[dict[str, float], dict[str, float]]]
) -> list[WorseCase]:
    worse: list[WorseCase] = []
    for (b, c), (bv, cv) in zip(paired, values, strict=True):
        assert b.total is not None and c.total is not None
        delta = c.total - b.total
        if delta >= 0:
            continue
        deltas = {name: cv[name] - bv[name] for name in cv if name != TOTAL and name in bv and cv[name] != bv[name]}
        bd, cd = _metric_details(b), _metric_details(c)
        new_details: dict[str, list[str]] = {}
        for name, details in cd.items():
            before = set(bd.get(name, []))
            fresh = [d for d in details if d not in before]
            if fresh:
                new_details[name] = fresh
        worse.append(
            WorseCase(
                case_id=b.case_id,
                repeat=b.repeat,
                baseline_total=b.total,
                candidate_total=c.total,
                delta=delta,
                baseline_passed=b.passed,
                candidate_passed=c.passed,
                deltas=deltas,
                new_details=new_details,
            )
        )
    worse.sort(key=lambda w: (w.delta, w.case_id, w.repeat))
    return worse


def _fmt(value: float | None, digits: int = 3, sign: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2g}" if value < 0.001 else f"{value:.3f}"


def _passed(value: bool | None) -> str:
    return "-" if value is None else ("pass" if value else "FAIL")


def _shorten(names: list[str], limit: int = 10) -> str:
    return ", ".join(names[:limit]) + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def render_text(comparison: Comparison, *, max_cases: int = 20) -> list[str]:
    """The comparison in lines for a terminal: a metric table, flips, the verdict and the cases that got worse."""
    b, c = comparison.baseline, comparison.candidate
    lines = [
        f"baseline  {b.id}  {b.prompt_name}@{b.prompt_version}  {b.provider}:{b.model}",
        f"candidate {c.id}  {c.prompt_name}@{c.prompt_version}  {c.provider}:{c.model}",
        f"suite {b.suite_name} ({b.suite_hash[:12]}): {comparison.pairs} pairs compared",
    ]
    if comparison.only_baseline or comparison.only_candidate:
        lines.append(
            "different case sets: comparing the intersection; "
            f"{len(comparison.only_baseline)} only in the baseline"
            + (f" ({_shorten(comparison.only_baseline)})" if comparison.only_baseline else "")
            + f", {len(comparison.only_candidate)} only in the candidate"
            + (f" ({_shorten(comparison.only_candidate)})" if comparison.only_candidate else "")
        )
    if comparison.skipped_errors:
        lines.append(f"{comparison.skipped_errors} pairs skipped: errored or unscored in either run")
    gated = any(m.gate_margin is not None for m in comparison.metrics)
    header = ["metric", "n", "baseline", "candidate", "delta", "95% CI", "p"]
    if gated:
        header += ["gate", "p(holm)", ""]
    rows: list[list[str]] = []
    for m in comparison.metrics:
        row = [
            m.name,
            str(m.n),
            _fmt(m.mean_baseline),
            _fmt(m.mean_candidate),
            _fmt(m.mean_delta, sign=True),
            f"[{_fmt(m.ci_low, sign=True)}, {_fmt(m.ci_high, sign=True)}]",
            _p(m.p_value),
        ]
        if gated:
            if m.gate_margin is None:
                row += ["", "", ""]
            else:
                row += [_fmt(m.gate_margin, 2), _p(m.p_holm), "REGRESSED" if m.gate_regressed else "ok"]
        rows.append(row)
    widths = [max(len(x) for x in col) for col in zip(header, *rows, strict=True)]
    lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    for row in rows:
        lines.append("  ".join(x.ljust(w) for x, w in zip(row, widths, strict=True)).rstrip())
    lines.append(
        f"flips: {comparison.pass_to_fail} pass->fail, {comparison.fail_to_pass} fail->pass "
        f"(exact McNemar p {_p(comparison.mcnemar_p)})"
    )
    total = comparison.total
    lines.append(
        f"verdict: {comparison.verdict} (total delta {_fmt(total.mean_delta, sign=True)}, 95% CI "
        f"[{_fmt(total.ci_low, sign=True)}, {_fmt(total.ci_high, sign=True)}], margin {comparison.margin:g})"
    )
    if comparison.failed_gates:
        lines.append(f"gates regressed: {', '.join(comparison.failed_gates)}")
    if comparison.worse_cases:
        lines.append(f"{len(comparison.worse_cases)} pairs got worse:")
        for w in comparison.worse_cases[:max_cases]:
            lines.append(
                f"  {w.case_id} #{w.repeat}: total {_fmt(w.baseline_total)} -> {_fmt(w.candidate_total)} "
                f"({_fmt(w.delta, sign=True)}), {_passed(w.baseline_passed)} -> {_passed(w.candidate_passed)}"
            )
            for name, d in sorted(w.deltas.items(), key=lambda item: item[1]):
                lines.append(f"    {name}: {_fmt(d, sign=True)}")
                for detail in w.new_details.get(name, []):
                    lines.append(f"      + {detail}")
            for name, details in w.new_details.items():
                if name not in w.deltas:
                    for detail in details:
                        lines.append(f"    {name}: + {detail}")
        if len(comparison.worse_cases) > max_cases:
            lines.append(f"  ... and {len(comparison.worse_cases) - max_cases} more (see --json)")
    return lines


__all__ = [
    "DEFAULT_MARGIN",
    "IMPROVEMENT",
    "NO_CHANGE",
    "REGRESSION",
    "Comparison",
    "MetricDelta",
    "PairDelta",
    "WorseCase",
    "compare_runs",
    "render_text",
    "verdict_of",
]
