"""The standalone HTML reports of a comparison and of a run, on synthetic runs of 24 cases plus a hostile one.

The pages are read back with the stdlib HTML parser (nesting, external references,
escaping, the number of bars, cells and points), then rendered in headless Chromium
to check that the charts are on the screenshot in their colours.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from onboard_llm.evals.compare import IMPROVEMENT, NO_CHANGE, REGRESSION, Comparison, compare_runs
from onboard_llm.evals.compare_reports import _signed
from onboard_llm.evals.html_report import (
    NEGATIVE,
    NEUTRAL,
    PALETTE,
    POSITIVE,
    SEQUENTIAL,
    Bar,
    Series,
    bar_chart,
    comparison_to_html,
    diverging,
    line_chart,
    run_to_html,
)
from onboard_llm.evals.regress import VersionTrend, trend
from onboard_llm.evals.store import CaseResult, EvalStore, RunInfo
from tests.evals.test_compare import CASES, base_scores, db, make_result, make_run
from tests.test_html import Page as HtmlPage
from tests.test_html import _pixels_near, _png_pixels, chromium_screenshot

__all__ = ["db"]  # the fixture, re-exported for pytest

EVIL = "<img src=x onerror=alert(1)>"
EVIL_DETAIL = '<script>alert("detail")</script> missing day 3'
EVIL_VERSION = 'v9"><script>alert(3)</script>'
CASE_IDS = [*CASES, EVIL]
#: Per-case shifts of the candidate: most cases drop, two improve, one stays put.
SHIFTS = {**{c: -0.1 for c in CASE_IDS}, EVIL: -0.15, "case02": 0.05, "case05": 0.08, "case07": 0.0}
FIELDS = ["schema", "schema.required", "schema.days", "grounding"]

# -- reading the page back ------------------------------------------------------


class Page(HtmlPage):
    """The plan page's reader (tags, nesting check, text), with the document's title in the text."""

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] == "style":
            return
        self.text_parts.append(data)


def assert_self_contained(source: str, page: Page) -> None:
    assert source.startswith("<!DOCTYPE html>")
    assert page.errors == []
    for tag, attrs in page.tags:
        for name in ("src", "href", "xlink:href", "action", "srcset", "poster", "data"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//")), f"<{tag} {name}={value!r}>"
    for tag in ("script", "link", "iframe", "img", "object", "embed"):
        assert page.find(tag) == [], tag
    assert "http://" not in source and "https://" not in source
    assert "@import" not in source and "url(" not in source and "@font-face" not in source


def assert_escaped(source: str, page: Page) -> None:
    assert "<img" not in source.lower() and "<script" not in source.lower()
    assert "&lt;img src=x onerror=alert(1)&gt;" in source
    assert EVIL in page.text
    # Nothing user-derived became an attribute that runs code.
    assert all(not name.startswith("on") for _, attrs in page.tags for name in attrs)


# -- building runs --------------------------------------------------------------


def finish(store: EvalStore, run_id: str) -> str:
    """Give a synthetic run the totals the runner would store, so it shows in the trend."""
    results = store.results(run_id, outputs=False)
    scored = [r for r in results if r.total is not None]
    rate = sum(1 for r in scored if r.passed) / len(scored)
    store.update_run(
        run_id,
        totals={
            "expected": len(results),
            "scored": len(scored),
            "errors": len(results) - len(scored),
            "passed": sum(1 for r in scored if r.passed),
            "pass_rate": rate,
            "mean_total": sum(r.total or 0.0 for r in scored) / len(scored),
            "input_tokens": 10 * len(results),
            "output_tokens": 20 * len(results),
            "cost_usd": 0.001 * len(results),
            "suite_passed": rate >= 0.75,
        },
    )
    return run_id


def shifted_run(store: EvalStore, shifts: dict[str, float], *, version: str = "v2") -> str:
    """A run of every case in CASE_IDS, each case's sub-scores moved by its own shift."""
    run_id = make_run(store, cases=[], prompt_version=version)
    for case in CASE_IDS:
        i = CASES.index(case) if case in CASES else 0
        a, b, c = (x + shifts.get(case, 0.0) for x in base_scores(i))
        details = [EVIL_DETAIL, "second"] if case == EVIL else None
        store.save_result(make_result(run_id, case, (a, b, c), details=details))
    return finish(store, run_id)


def build_comparison(db: Path) -> tuple[Comparison, list[VersionTrend]]:
    """Baseline v1 (two runs), candidate v2 (mostly worse), one v9 run with a hostile version name."""
    with EvalStore(db) as store:
        base = finish(store, make_run(store, cases=CASE_IDS))
        finish(store, make_run(store, 0.01, cases=CASE_IDS))
        cand = shifted_run(store, SHIFTS)
        finish(store, make_run(store, 0.02, cases=CASE_IDS, prompt_version=EVIL_VERSION))
        comparison = compare_runs(store, base, cand, gates={"grounding": 0.02})
        trends = trend(store, "synthetic")
    return comparison, trends


@pytest.fixture
def compared(db: Path) -> tuple[Comparison, list[VersionTrend]]:
    return build_comparison(db)


def build_run(db: Path) -> tuple[RunInfo, list[CaseResult], list[VersionTrend]]:
    """A run with failing cases, one errored case and a per-case threshold override."""
    with EvalStore(db) as store:
        finish(store, make_run(store, cases=CASE_IDS))
        run_id = finish(
            store,
            make_run(
                store, -0.03, cases=CASE_IDS, errors=("case05",), details={EVIL: [EVIL_DETAIL]}, prompt_version="v2"
            ),
        )
        run = store.get_run(run_id)
        results = store.results(run_id, outputs=False)
        trends = trend(store, "synthetic")
    assert run is not None
    # make_run stores no params: give the run the thresholds a real one records.
    run = replace(run, params={"thresholds": {"case": 0.7, "pass_rate": 0.75}, "case_thresholds": {"case04": 0.75}})
    return run, results, trends


# -- the comparison page ----------------------------------------------------------


def test_comparison_page_is_self_contained_and_escaped(compared: tuple[Comparison, list[VersionTrend]]) -> None:
    source = comparison_to_html(*compared)
    page = Page(source)
    assert_self_contained(source, page)
    assert_escaped(source, page)
    assert EVIL_DETAIL in page.text  # the hostile case's new detail, as text
    assert EVIL_VERSION in page.text  # the hostile prompt version in the trend legend
    assert "&lt;script&gt;" in source


def test_comparison_page_headline_and_metric_table(compared: tuple[Comparison, list[VersionTrend]]) -> None:
    comparison, trends = compared
    assert comparison.verdict == REGRESSION
    page = Page(comparison_to_html(comparison, trends))
    text = page.text
    badge = page.find("span", "badge")
    assert len(badge) == 1 and "bad" in (badge[0]["class"] or "")
    assert "Eval comparison: synthetic regression" in text
    total = comparison.total
    assert f"Total mean delta {_signed(total.mean_delta)}" in text
    assert f"95% CI {_signed(total.ci_low)} to {_signed(total.ci_high)}" in text
    assert "Wilcoxon p" in text and "McNemar p" in text and "Gates regressed: grounding" in text
    for info in (comparison.baseline, comparison.candidate):
        assert info.id in text and f"{info.prompt_name}@{info.prompt_version}" in text
        assert f"{info.provider}/{info.model}" in text
    rows = page.find("tr", "total") + page.find("tr", "scorer") + page.find("tr", "sub")
    assert len(rows) == len(comparison.metrics) == 1 + len(FIELDS)
    grounding = next(m for m in comparison.metrics if m.name == "grounding")
    assert grounding.p_holm is not None and "REGRESSED" in text


def test_comparison_page_charts(compared: tuple[Comparison, list[VersionTrend]]) -> None:
    comparison, trends = compared
    source = comparison_to_html(comparison, trends)
    page = Page(source)
    pairs = len(CASE_IDS)
    assert comparison.pairs == pairs == len(comparison.pair_deltas)
    # One bar per pair, red below zero, green above, grey at zero.
    bars = page.find("rect", "bar")
    assert len(bars) == pairs
    fills = [b["fill"] for b in bars]
    assert fills.count(POSITIVE) == 2 and fills.count(NEUTRAL) == 1 and fills.count(NEGATIVE) == pairs - 3
    assert len(page.find("line", "axis")) >= 1
    # Every case id labels its bar and its heatmap row.
    for case in CASE_IDS:
        assert text_count(page, case) >= 2
    # A heatmap cell per (pair, field), its value in a tooltip and as cell text; a legend of 11 steps.
    assert len(page.find("rect", "cell")) == pairs * len(FIELDS)
    assert page.find("rect", "nocell") == []
    delta = next(p for p in comparison.pair_deltas if p.case_id == "case00").deltas["schema.days"]
    assert f"case00 · schema.days: {_signed(delta)}" in page.text
    assert len(page.find("text", "cellv")) == pairs * len(FIELDS)
    assert len(page.find("rect", "swatch")) == 11 + len(trends)
    # The trend: a dot per stored run, a line per version with two runs or more, the compared runs ringed.
    # Versions that are not vN sort first.
    assert [t.prompt for t in trends] == [f"roadmap@{EVIL_VERSION}", "roadmap@v1", "roadmap@v2"]
    assert len(page.find("circle", "point")) == 4
    assert len(page.find("polyline", "line")) == 1
    assert sum(1 for c in page.find("circle", "point") if c["r"] == "5") == 2
    # The worst cases with their field-level diffs, the first ones open.
    details = page.find("details")
    assert len(comparison.worse_cases) == pairs - 3 and len(details) == 20
    assert sum(1 for d in details if "open" in d) == 3
    assert comparison.worse_cases[0].case_id == EVIL  # the worst, shown first with its new details
    assert "new in the candidate" in page.text and "schema.days" in page.text


def text_count(page: Page, needle: str) -> int:
    return sum(part.count(needle) for part in page.text_parts)


def test_comparison_page_other_verdicts(db: Path) -> None:
    with EvalStore(db) as store:
        base = finish(store, make_run(store))
        better = finish(store, make_run(store, 0.1, prompt_version="v2"))
        same = finish(store, make_run(store, prompt_version="v3"))
        improvement = compare_runs(store, base, better)
        unchanged = compare_runs(store, base, same)
        trends = trend(store, "synthetic")
    assert improvement.verdict == IMPROVEMENT and unchanged.verdict == NO_CHANGE
    page = Page(comparison_to_html(improvement, trends))
    assert page.errors == []
    assert "good" in (page.find("span", "badge")[0]["class"] or "")
    assert "Eval comparison: synthetic improvement" in page.text
    assert {b["fill"] for b in page.find("rect", "bar")} == {POSITIVE}
    assert "No pair got worse." in page.text
    page = Page(comparison_to_html(unchanged, []))
    assert "Eval comparison: synthetic no significant change" in page.text
    assert {b["fill"] for b in page.find("rect", "bar")} == {NEUTRAL}
    assert "No stored runs of this suite." in page.text
    assert page.find("circle") == []


# -- the run page -------------------------------------------------------------------


def test_run_page_is_self_contained_and_escaped(db: Path) -> None:
    source = run_to_html(*build_run(db))
    page = Page(source)
    assert_self_contained(source, page)
    assert_escaped(source, page)
    assert EVIL_DETAIL in page.text


def test_run_page_charts_and_failing_cases(db: Path) -> None:
    run, results, trends = build_run(db)
    page = Page(run_to_html(run, results, trends))
    text = page.text
    scored = [r for r in results if r.total is not None]
    failing = [r for r in results if not r.passed]
    assert len(scored) == len(CASE_IDS) - 1 and 0 < len(failing) < len(results)
    # Headline.
    assert "Eval run: synthetic" in text and "roadmap@v2" in text and "offline/offline" in text
    assert f"pass rate {run.totals['pass_rate']:.2f}" in text and "errors 1" in text
    # One bar per scored case, coloured by pass/fail; the errored case is a note.
    bars = page.find("rect", "bar")
    assert len(bars) == len(scored)
    assert [b["fill"] for b in bars].count(NEGATIVE) == sum(1 for r in scored if not r.passed)
    assert [b["fill"] for b in bars].count(POSITIVE) == sum(1 for r in scored if r.passed)
    assert "threshold 0.7" in text and len(page.find("line", "reference")) == 1
    assert len(page.find("line", "mark")) == 1  # case04's own threshold
    # Heatmap: a cell per scored (case, field), the errored case's row left grey.
    assert len(page.find("rect", "cell")) == len(scored) * len(FIELDS)
    assert len(page.find("rect", "nocell")) == len(FIELDS)
    # Trend: both runs, this one ringed.
    assert len(page.find("circle", "point")) == 2
    assert [c["r"] for c in page.find("circle", "point")].count("5") == 1
    # Failing cases with the reasons eval show prints.
    assert f"Failing cases ({len(failing)} of {len(results)})" in text
    assert len(page.find("details")) == min(len(failing), 20)
    assert "case05 #0: ERROR provider kept failing" in text
    first = next(r for r in failing if r.error is None)
    assert f"{first.case_id} #0: total {first.total:.2f} FAIL" in text and "names ok" in text


def test_run_page_with_nothing_scored(db: Path) -> None:
    run = RunInfo("r1", "empty", "/s.yaml", "h", "roadmap", "v1", "0" * 64, "p", "m", {}, None, "2027-01-01T00:00:00")
    page = Page(run_to_html(run, [], []))
    assert page.errors == []
    assert "suite failed" in page.text and "No results." in page.text
    assert page.find("rect", "bar") == [] and page.find("rect", "cell") == []


# -- the SVG pieces -----------------------------------------------------------------


def test_svg_pieces() -> None:
    bars = [Bar("a", 0.5, POSITIVE, "a"), Bar("b", 0.0, POSITIVE, "b"), Bar("c", None, NEUTRAL, "c", note="error")]
    chart = Page(bar_chart(bars, low=-1.0, high=1.0, fmt=str))
    drawn = chart.find("rect", "bar")
    assert [b["fill"] for b in drawn] == [POSITIVE, NEUTRAL]  # a zero bar is a thin grey line
    assert drawn[1]["width"] == "1" and "error" in chart.text
    one = Page(line_chart([Series("only", PALETTE[0], [(0, 0.5, "tip")])], ["x"]))
    assert one.find("polyline") == [] and len(one.find("circle", "point")) == 1
    scale = diverging(0.2)
    assert scale.colour(0.0) == "#f7f7f7" and scale.colour(-5) == scale.colour(-0.2) == "#b2182b"
    assert SEQUENTIAL.colour(1.0) == "#08306b" and SEQUENTIAL.colour(0.0) == "#f7fbff"


# -- headless Chromium --------------------------------------------------------------


def screenshot(source: str, tmp_path: Path, name: str, height: int) -> np.ndarray[Any, np.dtype[np.uint8]]:
    pixels = _png_pixels(chromium_screenshot(source, tmp_path, name, height))
    assert pixels.shape[:2] == (height, 1280)
    return pixels


def assert_not_blank(pixels: np.ndarray[Any, np.dtype[np.uint8]]) -> None:
    top = pixels[:400, :, :3]
    assert int(top.max()) - int(top.min()) > 100, "the top of the page is blank"
    # Lots of distinct colours: text, tables and charts, not a flat background.
    assert len(np.unique(pixels[:, :, :3].reshape(-1, 3), axis=0)) > 200


def test_comparison_screenshot_shows_the_charts(
    compared: tuple[Comparison, list[VersionTrend]], tmp_path: Path
) -> None:
    pixels = screenshot(comparison_to_html(*compared), tmp_path, "comparison", 2800)
    assert_not_blank(pixels)
    # The bars: 22 red ones and 2 green ones, each 13 px high and several px wide.
    assert _pixels_near(pixels, NEGATIVE) > 22 * 13 * 20
    assert _pixels_near(pixels, POSITIVE) > 2 * 13 * 5
    # The heatmap legend's ends, drawn in the diverging scale's saturated colours.
    assert _pixels_near(pixels, "#b2182b") > 200 and _pixels_near(pixels, "#1a7f4b") > 200
    # The trend of v1 (the second version): its legend swatch, its line and its dots.
    assert _pixels_near(pixels, PALETTE[1]) > 14 * 14 + 100


def test_run_screenshot_shows_the_charts(db: Path, tmp_path: Path) -> None:
    run, results, trends = build_run(db)
    pixels = screenshot(run_to_html(run, results, trends), tmp_path, "run", 2400)
    assert_not_blank(pixels)
    passed = sum(1 for r in results if r.passed)
    failed = sum(1 for r in results if r.passed is False)
    assert _pixels_near(pixels, POSITIVE) > passed * 13 * 100
    assert _pixels_near(pixels, NEGATIVE) > failed * 13 * 100
    # The sequential legend's dark end and the heatmap cells near 1.
    assert _pixels_near(pixels, "#08306b") > 200
    assert _pixels_near(pixels, PALETTE[0]) > 196
