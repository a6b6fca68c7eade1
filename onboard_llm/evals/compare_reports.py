"""Reports of a run comparison for CI: Markdown for a job summary or PR comment, and JUnit XML.

The JUnit report has one test case per (worse pair x scorer): the comparison keeps the
per-scorer deltas only for the pairs whose total dropped, so a scorer that dropped in a
pair whose total did not is not reported there (it shows in the metric table instead).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from onboard_llm.evals.compare import REGRESSION, TOTAL, Comparison, MetricDelta, WorseCase
from onboard_llm.evals.reports import _cell, _truncate, _xml

MAX_CASES = 5
MAX_DETAILS = 2


def _signed(value: float) -> str:
    # A real minus sign reads better in rendered Markdown than a hyphen.
    return f"{value:+.3f}".replace("-", "\u2212")


def _num(value: float) -> str:
    return f"{value:.3f}"


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2g}" if value < 0.001 else f"{value:.3f}"


def _verdict_word(comparison: Comparison) -> str:
    if comparison.verdict == REGRESSION:
        return "Regression"
    if comparison.failed_gates:
        return "Gate regression"
    return comparison.verdict[:1].upper() + comparison.verdict[1:]


def _passed(value: bool | None) -> str:
    return "-" if value is None else ("pass" if value else "fail")


def _table_metrics(comparison: Comparison) -> list[MetricDelta]:
    """The total, every scorer, and a sub-score only when its mean delta is beyond the margin."""
    return [
        m
        for m in comparison.metrics
        if m.name == TOTAL or "." not in m.name or abs(m.mean_delta) > comparison.margin or m.gate_regressed
    ]


def _top_details(worse: WorseCase) -> list[str]:
    """The first new details, taking the metrics that dropped most first."""
    order = sorted(worse.new_details, key=lambda name: (worse.deltas.get(name, 0.0), name))
    picked: list[str] = []
    for name in order:
        for detail in worse.new_details[name]:
            picked.append(f"{name}: {detail}")
            if len(picked) == MAX_DETAILS:
                return picked
    return picked


def to_markdown(comparison: Comparison, *, max_cases: int = MAX_CASES) -> str:
    """A short Markdown summary: the verdict, a metric table, flips and the worst cases."""
    b, c, total = comparison.baseline, comparison.candidate, comparison.total
    lines = [
        f"**{_verdict_word(comparison)}**: total {_signed(total.mean_delta)} "
        f"(95% CI {_signed(total.ci_low)} to {_signed(total.ci_high)}), margin {comparison.margin:g}",
        "",
        f"`{b.prompt_name}@{b.prompt_version}` ({b.id}) \u2192 `{c.prompt_name}@{c.prompt_version}` ({c.id}) "
        f"on suite `{b.suite_name}`, {comparison.pairs} pairs"
        + (f", {comparison.skipped_errors} skipped (errored)" if comparison.skipped_errors else "")
        + (
            f", {len(comparison.only_baseline)} only in baseline, {len(comparison.only_candidate)} only in candidate"
            if comparison.only_baseline or comparison.only_candidate
            else ""
        ),
        "",
    ]
    if comparison.failed_gates:
        lines += [f"Gates regressed: {', '.join(comparison.failed_gates)}", ""]
    lines += [
        "| metric | n | baseline | candidate | delta | 95% CI | p |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for m in _table_metrics(comparison):
        name = f"**{m.name}**" if m.name == TOTAL else _cell(m.name)
        lines.append(
            f"| {name} | {m.n} | {_num(m.mean_baseline)} | {_num(m.mean_candidate)} | {_signed(m.mean_delta)} "
            f"| {_signed(m.ci_low)} to {_signed(m.ci_high)} | {_p(m.p_value)} |"
        )
    lines += [
        "",
        f"Flips: {comparison.pass_to_fail} pass\u2192fail, {comparison.fail_to_pass} fail\u2192pass "
        f"(exact McNemar p {_p(comparison.mcnemar_p)})",
    ]
    if comparison.worse_cases:
        shown = comparison.worse_cases[:max_cases]
        lines += ["", f"Worst {len(shown)} of {len(comparison.worse_cases)} pairs that got worse:", ""]
        for w in shown:
            lines.append(
                f"- `{w.case_id}#{w.repeat}`: {_num(w.baseline_total)} \u2192 {_num(w.candidate_total)} "
                f"({_signed(w.delta)}), {_passed(w.baseline_passed)} \u2192 {_passed(w.candidate_passed)}"
            )
            for detail in _top_details(w):
                lines.append(f"  - {_truncate(detail)}")
    return "\n".join(lines) + "\n"


def _scorers(comparison: Comparison) -> list[str]:
    return [m.name for m in comparison.metrics if m.name != TOTAL and "." not in m.name]


def to_junit(comparison: Comparison) -> str:
    """JUnit XML: a test case per (worse pair x scorer), failing on a drop beyond the margin; plus "verdict"."""
    b, c = comparison.baseline, comparison.candidate
    suite = ET.Element(
        "testsuite", name=f"compare:{b.suite_name}:{b.prompt_name}@{b.prompt_version}->{c.prompt_version}"
    )
    tests = failures = 0
    scorers = _scorers(comparison)
    for w in comparison.worse_cases:
        classname = f"{b.suite_name}.{w.case_id}"
        for scorer in scorers:
            tests += 1
            case = ET.SubElement(suite, "testcase", classname=classname, name=f"{scorer}#{w.repeat}")
            delta = w.deltas.get(scorer, 0.0)
            details = [
                f"{name}: {d}"
                for name, items in w.new_details.items()
                if name == scorer or name.startswith(scorer + ".")
                for d in items
            ]
            if delta < -comparison.margin:
                failures += 1
                message = (
                    f"{scorer} dropped {_signed(delta)} (beyond the margin {comparison.margin:g}); "
                    f"case total {_num(w.baseline_total)} -> {_num(w.candidate_total)}"
                )
                subs = [
                    f"{name}: {_signed(d)}" for name, d in sorted(w.deltas.items()) if name.startswith(scorer + ".")
                ]
                body = [message, *subs, *(["new details:", *details] if details else [])]
                ET.SubElement(case, "failure", message=_xml(message)).text = _xml("\n".join(body))
            elif details:
                ET.SubElement(case, "system-out").text = _xml("\n".join(details))
    tests += 1
    total = comparison.total
    verdict_text = (
        f"{comparison.verdict}: total {total.mean_delta:+.3f} (95% CI {total.ci_low:+.3f} to {total.ci_high:+.3f}), "
        f"margin {comparison.margin:g}"
    )
    case = ET.SubElement(suite, "testcase", classname=f"{b.suite_name}.compare", name="verdict")
    if comparison.regressed:
        failures += 1
        message = verdict_text + (
            f"; gates regressed: {', '.join(comparison.failed_gates)}" if comparison.failed_gates else ""
        )
        ET.SubElement(case, "failure", message=_xml(message)).text = _xml(message)
    else:
        ET.SubElement(case, "system-out").text = _xml(verdict_text)
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


__all__ = ["to_junit", "to_markdown"]
