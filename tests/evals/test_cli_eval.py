"""``onboard eval run|runs|show|rescore`` run for real (in-process) on the shipped suite, with exit codes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from junitparser import Error, Failure, JUnitXml

from onboard_llm.cli import cli
from onboard_llm.evals.reports import to_junit, to_markdown
from onboard_llm.evals.store import CaseResult, EvalStore, RunInfo
from onboard_llm.prompts import PromptRegistry

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO / "evals" / "suites" / "roadmap.yaml"
CASES = REPO / "evals" / "cases"
CASE_IDS = sorted(p.name for p in CASES.iterdir() if p.is_dir())
SCORERS = ["schema", "structure", "fields", "grounding", "facts"]
#: The suite runs roadmap@latest: the newest released version.
LATEST = PromptRegistry().get("roadmap@latest").ref
RUN_ID = re.compile(r"^run (r\d{8}-\d{6}-[0-9a-f]{6}) \[", re.MULTILINE)
#: A port nothing listens on: every request is refused at once.
REFUSED = ["--provider", "openai-compatible:x", "--base-url", "http://127.0.0.1:9/v1", "--max-retries", "0"]


def onboard(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], prog_name="onboard")


def run_id_of(result: Result) -> str:
    match = RUN_ID.search(result.stdout)
    assert match, result.stdout
    return match.group(1)


def one_error_line(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


@dataclass
class Shipped:
    """One offline run of the shipped suite, shared by the tests that only read it."""

    db: Path
    folder: Path
    result: Result
    run_id: str
    json_report: Path
    junit_report: Path
    md_report: Path
    html_report: Path


@pytest.fixture(scope="module")
def shipped(isolated_module: Path) -> Iterator[Shipped]:
    db = isolated_module / "evals.sqlite3"
    json_report, junit_report = isolated_module / "report.json", isolated_module / "report.xml"
    md_report, html_report = isolated_module / "report.md", isolated_module / "report.html"
    result = onboard(
        "eval",
        "run",
        SUITE,
        "--provider",
        "offline",
        "--db",
        db,
        "--json",
        json_report,
        "--junit",
        junit_report,
        "--md",
        md_report,
        "--html",
        html_report,
    )
    yield Shipped(db, isolated_module, result, run_id_of(result), json_report, junit_report, md_report, html_report)


# -- eval run ----------------------------------------------------------------------------------------


def test_run_prints_a_row_per_case_and_the_run_id(shipped: Shipped) -> None:
    result = shipped.result
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["case", "rep", *SCORERS, "total", "result"]
    rows = [line.split() for line in lines[1:-1]]
    assert [row[0] for row in rows] == CASE_IDS
    assert all(row[1] == "0" and row[-1] == "pass" for row in rows)
    assert lines[-1].startswith(f"run {shipped.run_id} [complete] suite roadmap")
    assert "offline:planner-1" in lines[-1] and "scored 8/8" in lines[-1] and "suite PASSED" in lines[-1]
    for report in (shipped.json_report, shipped.junit_report, shipped.md_report, shipped.html_report):
        assert f"wrote {report}" in result.stderr
    with EvalStore(shipped.db) as store:
        run = store.get_run(shipped.run_id)
        results = store.results(shipped.run_id)
    assert run is not None and run.status == "complete" and run.suite_path == str(SUITE)
    assert [r.case_id for r in results] == CASE_IDS
    assert all(r.error is None and r.total is not None and r.plan is not None for r in results)


def test_json_report_round_trips(shipped: Shipped) -> None:
    data = json.loads(shipped.json_report.read_text(encoding="utf-8"))
    assert data["run"]["id"] == shipped.run_id
    assert data["run"]["suite"] == "roadmap" and data["run"]["provider"] == "offline"
    assert data["run"]["status"] == "complete" and data["run"]["totals"]["scored"] == 8
    with EvalStore(shipped.db) as store:
        stored = {r.case_id: r for r in store.results(shipped.run_id)}
    assert [r["case"] for r in data["results"]] == CASE_IDS
    for entry in data["results"]:
        result = stored[entry["case"]]
        assert entry["total"] == pytest.approx(result.total)
        assert entry["passed"] is True and entry["error"] is None
        assert [s["scorer"] for s in entry["scores"]] == SCORERS
        assert [s["score"] for s in entry["scores"]] == [s["score"] for s in result.scores]
    assert json.loads(json.dumps(data)) == data


def test_junit_report_reads_in_a_junit_reader(shipped: Shipped) -> None:
    xml = JUnitXml.fromfile(str(shipped.junit_report))
    suites = list(xml)
    assert len(suites) == 1
    suite = suites[0]
    assert suite.name == f"roadmap:{LATEST}"
    cases = list(suite)
    assert suite.tests == len(cases) == len(CASE_IDS) * len(SCORERS)
    assert {(c.classname, c.name) for c in cases} == {
        (f"roadmap.{case}", f"{scorer}#0") for case in CASE_IDS for scorer in SCORERS
    }
    assert suite.failures == suite.errors == 0 and all(c.is_passed for c in cases)


def test_markdown_report_is_a_short_summary(shipped: Shipped) -> None:
    md = shipped.md_report.read_text(encoding="utf-8")
    lines = md.splitlines()
    assert lines[0] == (
        f"**Suite passed**: `roadmap` with `{LATEST}` on offline:planner-1, run {shipped.run_id} [complete]"
    )
    assert lines[2].startswith("Scored 8/8, errors 0, pass rate 1.00, mean total ")
    assert "| case | rep | " + " | ".join(SCORERS) + " | total | result |" in lines
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| case ")]
    assert [row.split(" | ")[0].removeprefix("| ") for row in rows] == CASE_IDS
    assert all(row.endswith("| pass |") for row in rows)
    assert "Failing" not in md and len(lines) < 40


def test_html_report_shows_the_run(shipped: Shipped) -> None:
    source = shipped.html_report.read_text(encoding="utf-8")
    assert source.startswith("<!DOCTYPE html>") and "http://" not in source and "https://" not in source
    assert f"<code>{shipped.run_id}</code>" in source and "suite passed" in source
    assert source.count('class="bar"') == len(CASE_IDS)
    assert source.count('class="point"') == 1  # the trend: the only stored run of the suite
    for case in CASE_IDS:
        assert case in source


def test_runs_lists_the_run(shipped: Shipped) -> None:
    result = onboard("eval", "runs", "--db", shipped.db)
    assert result.exit_code == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith(shipped.run_id))
    assert "complete" in line and LATEST in line and "offline:planner-1" in line and "scored 8/8" in line
    assert onboard("eval", "runs", "--db", shipped.db, "--suite", "other").stdout.strip() == "no eval runs stored yet"


def test_show_explains_fields(shipped: Shipped) -> None:
    result = onboard("eval", "show", shipped.run_id, "--db", shipped.db)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.startswith(f"run {shipped.run_id} [complete]")
    for case in CASE_IDS:
        assert f"\n{case} #0: total " in out
    assert "  fields: " in out and "    success_metrics: " in out
    assert "missed golden metric '" in out
    # A prefix of the id works, and --case narrows to matching cases.
    narrowed = onboard("eval", "show", shipped.run_id[:12], "--case", "gannet*", "--db", shipped.db)
    assert narrowed.exit_code == 0, narrowed.stderr
    assert re.findall(r"^(\S+) #0: ", narrowed.stdout, re.MULTILINE) == ["gannet-inn-scheduling"]
    # Every case passed, so --failing shows only the headline.
    failing = onboard("eval", "show", shipped.run_id, "--failing", "--db", shipped.db)
    assert failing.stdout.strip().splitlines() == [out.splitlines()[0]]


def test_show_and_rescore_an_unknown_run(shipped: Shipped) -> None:
    for command in ("show", "rescore"):
        result = onboard("eval", command, "r20990101-000000-abcdef", "--db", shipped.db)
        assert result.exit_code == 2, result.output
        assert one_error_line(result) == "error: no eval run 'r20990101-000000-abcdef' in the store"


def test_rescore_calls_nobody_and_keeps_the_totals(shipped: Shipped) -> None:
    with EvalStore(shipped.db) as store:
        before = {r.case_id: r.total for r in store.results(shipped.run_id)}
        run_before = store.get_run(shipped.run_id)
    assert run_before is not None
    result = onboard("eval", "rescore", shipped.run_id, "--db", shipped.db)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.strip() == "re-scored 8 results; 0 totals changed"
    assert result.stdout.splitlines()[0].split() == ["case", "rep", *SCORERS, "total", "result"]
    assert f"run {shipped.run_id} [complete]" in result.stdout
    with EvalStore(shipped.db) as store:
        after = {r.case_id: r.total for r in store.results(shipped.run_id)}
        run_after = store.get_run(shipped.run_id)
    assert after == before
    assert run_after is not None and run_after.totals == run_before.totals


@pytest.mark.block_network
def test_dry_run_estimates_and_calls_nothing(isolated: Path) -> None:
    db = isolated / "evals.sqlite3"
    # A provider that would fail if anything were sent: the network is blocked and the port is closed.
    result = onboard("eval", "run", SUITE, *REFUSED, "--dry-run", "--db", db)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(CASE_IDS) + 1
    for case, line in zip(CASE_IDS, lines, strict=False):
        assert re.match(rf"{case}\s+{LATEST}\s+2 messages\s+~\d+ in / ~\d+ out\s+\S+\s+x1$", line), line
    assert lines[-1].startswith("8 cases, openai-compatible:x: ~") and lines[-1].endswith("nothing was sent")
    assert not db.exists()
    assert not (isolated / ".data").exists()

    offline = onboard("eval", "run", SUITE, "--provider", "offline", "--dry-run", "--repeats", "3", "--db", db)
    assert offline.exit_code == 0, offline.stderr
    assert "estimated cost $0.0000" in offline.stdout and " x3" in offline.stdout
    assert not db.exists()


def test_case_selects_one_case(isolated: Path) -> None:
    db = isolated / "evals.sqlite3"
    result = onboard("eval", "run", SUITE, "--provider", "offline", "--case", "gannet*", "--db", db)
    assert result.exit_code == 0, result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()[1:-1]] == ["gannet-inn-scheduling"]
    with EvalStore(db) as store:
        results = store.results(run_id_of(result))
    assert [r.case_id for r in results] == ["gannet-inn-scheduling"]

    none = onboard("eval", "run", SUITE, "--provider", "offline", "--case", "zzz*", "--db", db)
    assert none.exit_code == 2
    assert one_error_line(none).startswith("error: no case of suite roadmap matches 'zzz*'")


def test_repeats_give_results_per_case(isolated: Path) -> None:
    db = isolated / "evals.sqlite3"
    result = onboard("eval", "run", SUITE, "--provider", "offline", "--case", "c*", "--repeats", "2", "--db", db)
    assert result.exit_code == 0, result.stderr
    with EvalStore(db) as store:
        results = store.results(run_id_of(result))
    pairs = [(r.case_id, r.repeat) for r in results]
    assert pairs == [
        (c, r) for c in ("cindervale-logistics-dock-scheduling", "corvane-bank-kyc-reviews") for r in (0, 1)
    ]
    assert "scored 4/4" in result.stdout


def _copy_suite(folder: Path, replace: tuple[str, str] | None = None, cases: Path = CASES) -> Path:
    """The shipped suite file in ``folder``, its cases named by an absolute glob."""
    text = SUITE.read_text(encoding="utf-8").replace("  - ../cases/*", f"  - {cases}/*")
    assert f"{cases}/*" in text
    if replace is not None:
        assert replace[0] in text
        text = text.replace(*replace)
    path = folder / "suite.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_suite_below_its_thresholds_exits_1(isolated: Path) -> None:
    suite = _copy_suite(isolated, ("  case: 0.6", "  case: 0.99"))
    db, junit = isolated / "evals.sqlite3", isolated / "report.xml"
    result = onboard("eval", "run", suite, "--provider", "offline", "--case", "[bg]*", "--db", db, "--junit", junit)
    assert result.exit_code == 1, result.output
    rows = [line.split() for line in result.stdout.splitlines()[1:-1]]
    assert [row[0] for row in rows] == [c for c in CASE_IDS if c[0] in "bg"]
    assert all(row[-1] == "FAIL" for row in rows)
    assert "suite FAILED" in result.stdout.splitlines()[-1]
    # The JUnit report fails every scorer below 1 of a failing case, with the scorer's reasons.
    suite_xml = next(iter(JUnitXml.fromfile(str(junit))))
    failed = [c for c in suite_xml if any(isinstance(r, Failure) for r in c.result)]
    assert failed and suite_xml.failures == len(failed)
    fields = next(c for c in failed if c.classname == "roadmap.gannet-inn-scheduling" and c.name == "fields#0")
    assert "missed golden metric" in fields.result[0].text


def test_markdown_of_a_failing_run_names_the_weakest_fields(isolated: Path) -> None:
    suite = _copy_suite(isolated, ("  case: 0.6", "  case: 0.99"))
    db, md, html = isolated / "evals.sqlite3", isolated / "run.md", isolated / "run.html"
    result = onboard("eval", "run", suite, "--provider", "offline", "--db", db, "--md", md, "--html", html)
    assert result.exit_code == 1, result.output
    lines = md.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("**Suite FAILED**: `roadmap`")
    assert f"Failing: {len(CASE_IDS)} of {len(CASE_IDS)}" in lines
    failing = [line for line in lines if line.startswith("- `")]
    assert len(failing) == 5 and lines[-1] == f"- ... and {len(CASE_IDS) - 5} more"
    reasons = [line for line in lines if line.startswith("  - ")]
    assert 5 <= len(reasons) <= 15 and all(len(line) <= 125 for line in reasons)
    assert any(re.match(r"  - fields\.\w+ 0\.\d\d: ", line) for line in reasons), reasons
    source = html.read_text(encoding="utf-8")
    assert f"Failing cases ({len(CASE_IDS)} of {len(CASE_IDS)})" in source and "threshold 0.99" in source


def test_regress_writes_an_html_report(isolated: Path) -> None:
    db, html = isolated / "evals.sqlite3", isolated / "regress.html"
    args = ["eval", "regress", SUITE, "--provider", "offline", "--baseline", "roadmap@v1", "--candidate", "roadmap@v1"]
    result = onboard(*args, "--db", db, "--html", html)
    assert result.exit_code == 0, result.output
    assert f"wrote {html}" in result.stderr
    source = html.read_text(encoding="utf-8")
    assert "no significant change" in source and "Eval comparison: roadmap" in source
    assert source.count('class="bar"') == len(CASE_IDS)
    assert source.count('class="point"') == 1  # both sides reuse the same run

    missing = onboard(*args, "--db", db, "--html", isolated / "missing" / "x.html")
    assert missing.exit_code == 2 and "cannot write" in missing.output


def test_a_broken_suite_exits_2_with_one_line(isolated: Path) -> None:
    shutil.copytree(CASES / "gannet-inn-scheduling", isolated / "cases" / "gannet-inn-scheduling")
    golden = isolated / "cases" / "gannet-inn-scheduling" / "golden.json"
    golden.write_text('{"customer": ', encoding="utf-8")
    suite = _copy_suite(isolated, cases=isolated / "cases")
    db = isolated / "evals.sqlite3"
    result = onboard("eval", "run", suite, "--provider", "offline", "--db", db)
    assert result.exit_code == 2, result.output
    line = one_error_line(result)
    assert line.startswith(f"error: suite {suite} has 1 problem: {golden}: not valid JSON"), line
    assert result.stdout == ""
    assert not db.exists()

    missing = onboard("eval", "run", isolated / "nope.yaml", "--db", db)
    assert missing.exit_code == 2
    assert one_error_line(missing) == f"error: suite file {isolated / 'nope.yaml'} does not exist"


def test_resume_an_unknown_run_exits_2(isolated: Path) -> None:
    db = isolated / "evals.sqlite3"
    result = onboard("eval", "run", SUITE, "--provider", "offline", "--resume", "r20990101-000000-abcdef", "--db", db)
    assert result.exit_code == 2, result.output
    assert one_error_line(result) == "error: no eval run 'r20990101-000000-abcdef' in the store"


def test_rescore_after_a_case_changes(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(CASES / "gannet-inn-scheduling", isolated / "cases" / "gannet-inn-scheduling")
    suite = _copy_suite(isolated, cases=isolated / "cases").resolve()
    db = isolated / "evals.sqlite3"
    # Run with a relative suite path, rescore from another folder: the run stores the absolute path.
    first = onboard("eval", "run", "suite.yaml", "--provider", "offline", "--db", db)
    assert first.exit_code == 0, first.output
    run_id = run_id_of(first)
    with EvalStore(db) as store:
        (before,) = store.results(run_id)
    expect = isolated / "cases" / "gannet-inn-scheduling" / "expect.yaml"
    expect.write_text("must_mention: [Zebulon Quill, Marigold Vance]\nmust_not_mention: [Tiago Mendes]\n")

    (isolated / "elsewhere").mkdir()
    monkeypatch.chdir(isolated / "elsewhere")
    result = onboard("eval", "rescore", run_id, "--db", db)
    assert result.stderr.splitlines() == [
        f"warning: suite {suite} changed since run {run_id}; scoring against its current goldens",
        "re-scored 1 results; 1 totals changed",
    ]
    with EvalStore(db) as store:
        (after,) = store.results(run_id)
        run = store.get_run(run_id)
    facts = [s for s in after.scores if s["scorer"] == "facts"]
    assert facts[0]["score"] == 0.0
    assert after.total is not None and before.total is not None and after.total < before.total
    assert after.raw == before.raw and after.plan == before.plan  # nothing was generated again
    assert run is not None and run.totals["mean_total"] == pytest.approx(after.total)
    assert f"{after.total:.2f}" in result.stdout
    assert result.exit_code == (0 if after.passed else 1)

    suite.unlink()
    gone = onboard("eval", "rescore", run_id, "--db", db)
    assert gone.exit_code == 2
    assert one_error_line(gone) == f"error: suite file {suite} does not exist"


@pytest.mark.block_network(allowed_hosts=["127.0.0.1"])
def test_provider_errors_exit_4_and_resume_needs_the_same_provider(isolated: Path) -> None:
    db, junit = isolated / "evals.sqlite3", isolated / "report.xml"
    result = onboard("eval", "run", SUITE, *REFUSED, "--timeout", "2", "--db", db, "--junit", junit)
    assert result.exit_code == 4, result.output
    rows = [line.split() for line in result.stdout.splitlines()[1:-1]]
    assert [row[0] for row in rows] == CASE_IDS and all(row[-1] == "ERROR" for row in rows)
    run_id = run_id_of(result)
    assert f"run {run_id} [incomplete]" in result.stdout and "errors 8" in result.stdout
    with EvalStore(db) as store:
        results = store.results(run_id)
        run = store.get_run(run_id)
    assert len(results) == 8 and all(r.error and r.total is None for r in results)
    assert run is not None and run.status == "incomplete" and run.totals["errors"] == 8

    # In JUnit, each case is one errored generation test.
    suite_xml = next(iter(JUnitXml.fromfile(str(junit))))
    assert [(c.classname, c.name) for c in suite_xml] == [(f"roadmap.{c}", "generation#0") for c in CASE_IDS]
    assert suite_xml.errors == 8 and all(isinstance(c.result[0], Error) for c in suite_xml)

    shown = onboard("eval", "show", run_id, "--case", "gannet*", "--db", db)
    assert re.search(r"^gannet-inn-scheduling #0: ERROR .+", shown.stdout, re.MULTILINE), shown.stdout

    mismatch = onboard("eval", "run", SUITE, "--provider", "offline", "--resume", run_id, "--db", db)
    assert mismatch.exit_code == 2, mismatch.output
    assert one_error_line(mismatch) == (
        f"error: cannot resume {run_id}: the provider changed since it started; start a new run"
    )
    with EvalStore(db) as store:
        assert len(store.list_runs()) == 1
        assert len(store.results(run_id)) == 8


def test_junit_survives_characters_xml_cannot_carry() -> None:
    run = RunInfo("r1", "s", "/s.yaml", "h", "roadmap", "v1", "0" * 64, "p", "m", {}, None, "2027-01-01T00:00:00")
    scores = [{"scorer": "facts", "score": 0.5, "details": ["must mention 'Ac\x01me\x1b[0m'"], "subscores": []}]
    results = [
        CaseResult("r1", "ok", 0, "raw", None, scores, 0.5, False, {}, None, 0.1, None),
        CaseResult("r1", "bad", 0, None, None, [], None, None, {}, None, 0.1, "HTTP 500: \x00\x08 boom"),
    ]
    xml = JUnitXml.fromstring(to_junit(run, results).split("\n", 1)[1])
    (suite,) = list(xml)
    cases = {c.classname: c for c in suite}
    assert cases["s.ok"].result[0].text == "must mention 'Ac\ufffdme\ufffd[0m'"
    assert cases["s.bad"].result[0].message == "HTTP 500: \ufffd\ufffd boom"


def test_markdown_is_capped_and_worst_first() -> None:
    run = RunInfo("r1", "s", "/s.yaml", "h", "roadmap", "v1", "0" * 64, "p", "m", {}, None, "2027-01-01T00:00:00")
    run.totals = {"scored": 39, "expected": 40, "errors": 1, "pass_rate": 0.5, "mean_total": 0.6, "suite_passed": False}

    def scored(case: str, total: float) -> CaseResult:
        subs = [{"name": "days", "score": total, "details": [f"day {case} " + "x" * 300]}]
        scores = [{"scorer": "schema", "score": total, "details": [], "subscores": subs}]
        return CaseResult("r1", case, 0, None, None, scores, total, total >= 0.5, {}, None, 0.1, None)

    results = [scored(f"c|{i:02d}", i / 40) for i in range(1, 40)]
    results.append(CaseResult("r1", "broken", 0, None, None, [], None, None, {}, None, 0.1, "HTTP 500 " + "y" * 300))
    md = to_markdown(run, results)
    lines = md.splitlines()
    assert lines[0].startswith("**Suite FAILED**: `s` with `roadmap@v1` on p:m, run r1")
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| case ")]
    # The 30 worst rows: the errored case first, then the lowest totals; pipes in ids escaped.
    assert len(rows) == 30
    assert rows[0].startswith("| broken | 0 | - | - | ERROR |") and rows[1].startswith("| c\\|01 |")
    assert "The 30 lowest of 40 results; `onboard eval show r1` has them all." in lines
    assert "Failing: 20 of 40" in lines
    assert lines[lines.index("Failing: 20 of 40") + 2].startswith("- `broken#0`: error: HTTP 500 yyy")
    assert "  - schema.days 0.03: day c|01 xxx" in md and lines[-1] == "- ... and 15 more"
    # Long errors and reasons are cut to 120 characters.
    broken = next(line for line in lines if line.startswith("- `broken#0`"))
    assert broken.endswith("\u2026") and len(broken.removeprefix("- `broken#0`: ")) == 120
    assert all(line.endswith("\u2026") and len(line) == 4 + 120 for line in lines if line.startswith("  - "))
    assert len(lines) < 60


def test_dry_run_needs_no_api_key(isolated: Path) -> None:
    from click.testing import CliRunner

    from onboard_llm.cli import cli

    root = Path(__file__).resolve().parent.parent.parent
    result = CliRunner().invoke(
        cli, ["eval", "run", str(root / "evals/suites/roadmap.yaml"), "--provider", "openai:gpt-4.1-mini", "--dry-run"]
    )
    assert result.exit_code == 0, result.stderr
    assert "openai:gpt-4.1-mini" in result.stdout and "nothing was sent" in result.stdout
    assert "$" in result.stdout.splitlines()[-1]


def test_reports_are_written_even_when_stdout_is_closed_early(shipped: Shipped, tmp_path: Path) -> None:
    # `onboard eval compare ... | head -1`: the reader goes away before the tables are printed.
    read_end, write_end = os.pipe()
    os.close(read_end)
    html, md = tmp_path / "report.html", tmp_path / "report.md"
    args = ["eval", "compare", shipped.run_id, shipped.run_id, "--db", shipped.db, "--html", html, "--md", md]
    try:
        subprocess.run(
            [sys.executable, str(REPO / "cli.py"), *map(str, args)],
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "No significant change" in md.read_text(encoding="utf-8")
