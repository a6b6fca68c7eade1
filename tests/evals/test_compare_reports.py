"""Markdown and JUnit reports of ``eval compare`` on synthetic runs of 24 cases."""

from __future__ import annotations

from pathlib import Path

from junitparser import Failure, JUnitXml, TestSuite

from onboard_llm.evals.compare import REGRESSION, compare_runs
from onboard_llm.evals.compare_reports import to_junit, to_markdown
from onboard_llm.evals.store import EvalStore
from tests.evals.test_compare import CASES, db, make_run, onboard

__all__ = ["db"]  # the fixture, re-exported for pytest

DROPPED = {"case03", "case07", "case11"}


def _mixed_candidate(db: Path) -> tuple[str, str]:
    """A baseline and a full candidate where three cases dropped by 0.3 on every sub-score, one by 0.001."""
    with EvalStore(db) as store:
        base = make_run(store)
        dropped = make_run(
            store,
            -0.3,
            cases=sorted(DROPPED),
            details={c: ["missing day 3 " + "x" * 300, "second", "third"] for c in DROPPED},
        )
        tiny = make_run(store, -0.001, cases=["case00"])
        rest = make_run(store, cases=[c for c in CASES if c not in DROPPED | {"case00"}])
        # Merge the pieces into one candidate run.
        cand = make_run(store, cases=[])
        for run_id in (dropped, tiny, rest):
            for result in store.results(run_id):
                result.run_id = cand
                store.save_result(result)
    return base, cand


def _failures(xml: str) -> set[str]:
    suites = JUnitXml.fromstring(xml)
    suite = next(iter(suites)) if not isinstance(suites, TestSuite) else suites
    return {
        f"{case.classname.split('.')[-1]}:{case.name}"
        for case in suite
        if any(isinstance(r, Failure) for r in case.result)
    }


def test_markdown_has_the_verdict_table_and_worst_cases(db: Path) -> None:
    base, cand = _mixed_candidate(db)
    with EvalStore(db) as store:
        comparison = compare_runs(store, base, cand, margin=0.02)
    md = to_markdown(comparison)
    lines = md.splitlines()
    assert len(lines) < 80
    assert lines[0].startswith(f"**{comparison.verdict.capitalize()}**: total ")
    assert "95% CI" in lines[0] and "margin 0.02" in lines[0]
    assert "| metric | n | baseline | candidate | delta | 95% CI | p |" in lines
    assert any(line.startswith("| **total** |") for line in lines)
    assert any(line.startswith("| schema |") for line in lines)
    assert any(line.startswith("| grounding |") for line in lines)
    assert "Flips:" in md and "McNemar" in md
    # Worst cases: the three dropped ones, each with at most two truncated details.
    for case in DROPPED:
        assert f"`{case}#0`" in md
    detail_lines = [line for line in lines if line.startswith("  - ")]
    assert 0 < len(detail_lines) <= 2 * 5
    assert all(len(line) < 140 for line in detail_lines)
    assert "third" not in md


def test_markdown_regression_verdict_and_subscores_beyond_the_margin(db: Path) -> None:
    with EvalStore(db) as store:
        base = make_run(store)
        worse = make_run(store, -0.1, noise=0.01, seed=1)
        comparison = compare_runs(store, base, worse)
    assert comparison.verdict == REGRESSION
    md = to_markdown(comparison)
    assert md.startswith("**Regression**: total \u2212")
    assert "| schema.days |" in md  # dropped by ~0.1, beyond the margin
    assert "Worst 5 of 24 pairs" in md
    assert len(md.splitlines()) < 80

    with EvalStore(db) as store:
        same = make_run(store)
        comparison = compare_runs(store, base, same)
    md = to_markdown(comparison)
    assert md.startswith("**No significant change**")
    assert "schema.days" not in md  # no sub-score beyond the margin
    assert "Worst" not in md


def test_junit_fails_exactly_the_dropped_pairs(db: Path) -> None:
    base, cand = _mixed_candidate(db)
    with EvalStore(db) as store:
        comparison = compare_runs(store, base, cand, margin=0.02)
    xml = to_junit(comparison)
    expected = {f"{case}:{scorer}#0" for case in DROPPED for scorer in ("schema", "grounding")}
    failures = _failures(xml)
    if comparison.regressed:
        expected.add("compare:verdict")
    assert failures == expected
    # case00 dropped by 0.001 only: present, not failing.
    suite = next(iter(JUnitXml.fromstring(xml)))
    names = {f"{case.classname.split('.')[-1]}:{case.name}" for case in suite}
    assert "case00:schema#0" in names and "compare:verdict" in names
    assert "missing day 3" in xml


def test_junit_fails_the_verdict_on_a_regression_and_nothing_when_identical(db: Path) -> None:
    with EvalStore(db) as store:
        base = make_run(store)
        same = make_run(store)
        worse = make_run(store, -0.1)
        regression = compare_runs(store, base, worse)
        identical = compare_runs(store, base, same)
    failures = _failures(to_junit(regression))
    assert "compare:verdict" in failures
    assert {f"{c}:grounding#0" for c in CASES} <= failures
    assert _failures(to_junit(identical)) == set()
    suite = next(iter(JUnitXml.fromstring(to_junit(identical))))
    assert [case.name for case in suite] == ["verdict"]


def test_cli_writes_markdown_and_junit(db: Path, tmp_path: Path) -> None:
    with EvalStore(db) as store:
        base = make_run(store)
        worse = make_run(store, -0.1)
    md, junit = tmp_path / "compare.md", tmp_path / "compare.xml"
    result = onboard("eval", "compare", base, worse, "--db", db, "--md", md, "--junit", junit)
    assert result.exit_code == 1, result.output
    assert md.read_text(encoding="utf-8").startswith("**Regression**")
    assert "compare:verdict" in _failures(junit.read_text(encoding="utf-8"))
    JUnitXml.fromfile(str(junit))

    result = onboard("eval", "compare", base, worse, "--db", db, "--md", tmp_path / "missing" / "x.md")
    assert result.exit_code == 2
    assert "cannot write" in result.output


def test_cli_writes_html(db: Path, tmp_path: Path) -> None:
    with EvalStore(db) as store:
        base = make_run(store)
        worse = make_run(store, -0.1, prompt_version="v2")
    html = tmp_path / "compare.html"
    result = onboard("eval", "compare", base, worse, "--db", db, "--html", html)
    assert result.exit_code == 1, result.output
    assert f"wrote {html}" in result.stderr
    source = html.read_text(encoding="utf-8")
    assert source.startswith("<!DOCTYPE html>") and '<span class="badge bad">regression</span>' in source
    assert source.count('class="bar"') == len(CASES)
    # The trend came from the open store: both versions are in its legend (make_run stores no mean, so no dots).
    assert ">roadmap@v1<" in source and ">roadmap@v2<" in source and 'class="point"' not in source
