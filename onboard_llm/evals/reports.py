"""Run reports: a terminal table, the per-field explanation, JSON, Markdown and JUnit XML."""

from __future__ import annotations

import json
import re
from typing import Any
from xml.etree import ElementTree as ET

from onboard_llm.evals.store import CaseResult, RunInfo

# Characters XML 1.0 cannot carry at all (a model's answer or a provider's error may hold them).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


#: Caps that keep a Markdown report short enough for a CI job summary.
MD_MAX_ROWS = 30
MD_MAX_CASES = 5
MD_MAX_FIELDS = 3
DETAIL_CHARS = 120


def _truncate(text: str, limit: int = DETAIL_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def scorer_names(results: list[CaseResult]) -> list[str]:
    names: list[str] = []
    for result in results:
        for score in result.scores:
            if score["scorer"] not in names:
                names.append(score["scorer"])
    return names


def summary_rows(results: list[CaseResult]) -> tuple[list[str], list[list[str]]]:
    """Header and rows: one per case and repeat, a column per scorer."""
    names = scorer_names(results)
    header = ["case", "rep", *names, "total", "result"]
    rows = []
    for r in results:
        by_name = {s["scorer"]: s["score"] for s in r.scores}
        verdict = "ERROR" if r.error else ("pass" if r.passed else "FAIL")
        rows.append([r.case_id, str(r.repeat), *(_fmt(by_name.get(n)) for n in names), _fmt(r.total), verdict])
    return header, rows


def run_headline(run: RunInfo) -> str:
    t = run.totals
    rate = t.get("pass_rate")
    cost = t.get("cost_usd")
    verdict = "PASSED" if t.get("suite_passed") else "FAILED"
    return (
        f"run {run.id} [{run.status}] suite {run.suite_name} · {run.prompt_name}@{run.prompt_version} "
        f"({run.prompt_sha256[:12]}) · {run.provider}:{run.model} · scored {t.get('scored', 0)}/{t.get('expected', 0)}, "
        f"errors {t.get('errors', 0)}, pass rate {_fmt(rate)}, mean {_fmt(t.get('mean_total'))}, "
        f"tokens {t.get('input_tokens', 0)}/{t.get('output_tokens', 0)}, "
        f"cost {'$' + format(cost, '.4f') if cost is not None else 'unknown'} · suite {verdict}"
    )


def explain(results: list[CaseResult], *, only_failing: bool = False) -> list[str]:
    """Per case, per scorer and per field: the score and what was found, in words."""
    lines: list[str] = []
    for r in results:
        if only_failing and r.passed:
            continue
        head = f"{r.case_id} #{r.repeat}: "
        if r.error:
            lines.append(head + f"ERROR {r.error}")
            continue
        lines.append(head + f"total {_fmt(r.total)} {'pass' if r.passed else 'FAIL'}")
        for score in r.scores:
            lines.append(f"  {score['scorer']}: {_fmt(score['score'])}")
            for detail in score.get("details", []):
                lines.append(f"    - {detail}")
            for sub in score.get("subscores", []):
                lines.append(f"    {sub['name']}: {_fmt(sub['score'])}")
                for detail in sub.get("details", []):
                    lines.append(f"      - {detail}")
    return lines


def _worst_first(result: CaseResult) -> tuple[int, float, str, int]:
    # Errors first, then failing cases, then by total, lowest first.
    rank = 0 if result.error else (1 if not result.passed else 2)
    return rank, result.total if result.total is not None else -1.0, result.case_id, result.repeat


def _weak_fields(result: CaseResult) -> list[tuple[str, float, str]]:
    """(field, score, first reason) for each sub-score below 1, or the scorer itself when it has none; lowest first."""
    weak: list[tuple[str, float, str]] = []
    for score in result.scores:
        subs = score.get("subscores", [])
        for sub in subs:
            if sub["score"] < 1.0:
                reasons = [*sub.get("details", []), *score.get("details", [])]
                weak.append(
                    (f"{score['scorer']}.{sub['name']}", float(sub["score"]), str(reasons[0]) if reasons else "")
                )
        if not subs and score["score"] < 1.0:
            reasons = score.get("details", [])
            weak.append((str(score["scorer"]), float(score["score"]), str(reasons[0]) if reasons else ""))
    return sorted(weak, key=lambda item: (item[1], item[0]))


def to_markdown(run: RunInfo, results: list[CaseResult], *, max_rows: int = MD_MAX_ROWS) -> str:
    """A short Markdown summary of a run: headline, per-case table and the weakest fields of the failing cases."""
    t = run.totals
    cost = t.get("cost_usd")
    lines = [
        f"**Suite {'passed' if t.get('suite_passed') else 'FAILED'}**: `{run.suite_name}` with "
        f"`{run.prompt_name}@{run.prompt_version}` on {run.provider}:{run.model}, run {run.id} [{run.status}]",
        "",
        f"Scored {t.get('scored', 0)}/{t.get('expected', 0)}, errors {t.get('errors', 0)}, "
        f"pass rate {_fmt(t.get('pass_rate'))}, mean total {_fmt(t.get('mean_total'), 3)}, "
        f"cost {'$' + format(cost, '.4f') if cost is not None else 'unknown'}",
        "",
    ]
    shown = results if len(results) <= max_rows else sorted(results, key=_worst_first)[:max_rows]
    header, rows = summary_rows(shown)
    if shown:
        lines += [
            "| " + " | ".join(header) + " |",
            "|---|---:|" + "---:|" * (len(header) - 3) + "---|",
            *("| " + " | ".join(_cell(x) for x in row) + " |" for row in rows),
        ]
        if len(shown) < len(results):
            lines += [
                "",
                f"The {len(shown)} lowest of {len(results)} results; `onboard eval show {run.id}` has them all.",
            ]
    else:
        lines.append("No results.")
    failing = sorted((r for r in results if not r.passed), key=_worst_first)
    if failing:
        lines += ["", f"Failing: {len(failing)} of {len(results)}", ""]
        for r in failing[:MD_MAX_CASES]:
            if r.error:
                lines.append(f"- `{r.case_id}#{r.repeat}`: {_truncate('error: ' + r.error)}")
                continue
            lines.append(f"- `{r.case_id}#{r.repeat}`: total {_fmt(r.total)}")
            for name, score, reason in _weak_fields(r)[:MD_MAX_FIELDS]:
                lines.append(f"  - {_truncate(f'{name} {score:.2f}' + (f': {reason}' if reason else ''))}")
        if len(failing) > MD_MAX_CASES:
            lines.append(f"- ... and {len(failing) - MD_MAX_CASES} more")
    return "\n".join(lines) + "\n"


def to_json(run: RunInfo, results: list[CaseResult]) -> str:
    """The run and its results for other tools (raw answers and plans left out for size)."""
    data: dict[str, Any] = {
        "run": {
            "id": run.id,
            "suite": run.suite_name,
            "suite_hash": run.suite_hash,
            "prompt": f"{run.prompt_name}@{run.prompt_version}",
            "prompt_sha256": run.prompt_sha256,
            "provider": run.provider,
            "model": run.model,
            "params": run.params,
            "git_commit": run.git_commit,
            "started_at": run.started_at,
            "ended_at": run.ended_at,
            "status": run.status,
            "totals": run.totals,
        },
        "results": [
            {
                "case": r.case_id,
                "repeat": r.repeat,
                "total": r.total,
                "passed": r.passed,
                "error": r.error,
                "scores": r.scores,
                "usage": r.usage,
                "cost_usd": r.cost_usd,
                "latency_s": r.latency_s,
            }
            for r in results
        ],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def to_junit(run: RunInfo, results: list[CaseResult]) -> str:
    """JUnit XML: one test case per eval case and scorer, failing with the scorer's reasons."""
    suite = ET.Element("testsuite", name=f"{run.suite_name}:{run.prompt_name}@{run.prompt_version}")
    tests = failures = errors = 0
    for r in results:
        classname = f"{run.suite_name}.{r.case_id}"
        if r.error:
            tests += 1
            errors += 1
            case = ET.SubElement(suite, "testcase", classname=classname, name=f"generation#{r.repeat}")
            ET.SubElement(case, "error", message=_xml(r.error[:200])).text = _xml(r.error)
            continue
        for score in r.scores:
            tests += 1
            case = ET.SubElement(
                suite, "testcase", classname=classname, name=f"{score['scorer']}#{r.repeat}", time=f"{r.latency_s:.3f}"
            )
            reasons = [*score.get("details", [])]
            for sub in score.get("subscores", []):
                reasons += [f"{sub['name']}: {d}" for d in sub.get("details", [])]
            if score["score"] < 1.0 and not r.passed:
                failures += 1
                message = f"{score['scorer']} {score['score']:.2f} (case total {_fmt(r.total)} below its threshold)"
                ET.SubElement(case, "failure", message=_xml(message)).text = _xml("\n".join(reasons) or message)
            elif reasons:
                ET.SubElement(case, "system-out").text = _xml("\n".join(reasons))
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
