"""``onboard eval regress`` and ``eval trend``: reuse, resume and compare two prompt versions offline."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from onboard_llm.cli import cli
from onboard_llm.evals.compare import NO_CHANGE
from onboard_llm.evals.regress import (
    RAN,
    RESUMED,
    REUSED,
    OptionsFactory,
    find_reusable_run,
    regress,
    relevant_params,
    sparkline,
)
from onboard_llm.evals.runner import RunOptions, SuiteRunner
from onboard_llm.evals.store import EvalStore
from onboard_llm.evals.suite import load_suite
from onboard_llm.prompts import PromptRegistry
from onboard_llm.providers.base import ProviderSpec, get_provider

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO / "evals" / "suites" / "roadmap.yaml"
SHIPPED_V1 = REPO / "prompts" / "roadmap" / "v1"
RUN_LINE = re.compile(r"^(baseline|candidate): roadmap@(v\d+) (reused|resumed|ran) run (r\S+) \[", re.MULTILINE)


def onboard(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], prog_name="onboard")


@pytest.fixture
def prompts_dir(isolated: Path) -> Path:
    """A user prompts folder with roadmap@v99, a draft copy of v1 whose changelog (so hash) differs."""
    root = isolated / "prompts"
    draft = root / "roadmap" / "v99"
    shutil.copytree(SHIPPED_V1, draft)
    meta = draft / "prompt.yaml"
    text = meta.read_text(encoding="utf-8")
    text = text.replace("version: v1", "version: v99").replace("status: released", "status: draft")
    text = text.replace("  - First release.", "  - A draft copy of v1 for the regression tests.\n  - First release.")
    meta.write_text(text, encoding="utf-8")
    registry = PromptRegistry([root])
    assert registry.get("roadmap@v99").sha256 != registry.get("roadmap@v1").sha256
    return root


def regress_cli(db: Path, prompts: Path, *extra: object) -> Result:
    return onboard(
        "eval", "regress", SUITE, "--provider", "offline", "--db", db, "--prompts-dir", prompts,
        "--baseline", "roadmap@v1", "--candidate", "roadmap@v99", *extra,
    )  # fmt: skip


def actions(result: Result) -> dict[str, tuple[str, str, str]]:
    return {role: (version, action, run_id) for role, version, action, run_id in RUN_LINE.findall(result.stdout)}


def options_factory(prompts: Path) -> OptionsFactory:
    provider = get_provider(ProviderSpec.parse("offline"))

    def make(ref: str) -> RunOptions:
        return RunOptions(prompt=ref, provider=provider, prompts_dir=[prompts])

    return make


def test_regress_runs_both_then_reuses_both(isolated: Path, prompts_dir: Path) -> None:
    db = isolated / "evals.sqlite3"
    first = regress_cli(db, prompts_dir)
    assert first.exit_code == 0, first.stdout + first.stderr
    ran = actions(first)
    assert ran["baseline"][:2] == ("v1", RAN) and ran["candidate"][:2] == ("v99", RAN)
    assert "verdict: no significant change" in first.stdout
    with EvalStore(db) as store:
        assert len(store.list_runs("roadmap")) == 2

    second = regress_cli(db, prompts_dir)
    assert second.exit_code == 0, second.stdout + second.stderr
    again = actions(second)
    assert again["baseline"] == ("v1", REUSED, ran["baseline"][2])
    assert again["candidate"] == ("v99", REUSED, ran["candidate"][2])
    with EvalStore(db) as store:
        assert len(store.list_runs("roadmap")) == 2

    trend = onboard("eval", "trend", "roadmap", "--db", db)
    assert trend.exit_code == 0, trend.stderr
    assert "roadmap@v1" in trend.stdout and "roadmap@v99" in trend.stdout
    assert ran["baseline"][2] in trend.stdout and ran["candidate"][2] in trend.stdout
    assert "offline:planner-1" in trend.stdout and "mean 0.7" in trend.stdout
    # The suite file names the same suite as its name does.
    assert onboard("eval", "trend", SUITE, "--db", db).stdout == trend.stdout


def test_other_parameters_start_new_runs(isolated: Path, prompts_dir: Path) -> None:
    db = isolated / "evals.sqlite3"
    assert regress_cli(db, prompts_dir).exit_code == 0
    result = regress_cli(db, prompts_dir, "--repeats", "2")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert {a[1] for a in actions(result).values()} == {RAN}
    with EvalStore(db) as store:
        assert len(store.list_runs("roadmap")) == 4


def test_an_interrupted_run_is_resumed_not_restarted(isolated: Path, prompts_dir: Path) -> None:
    db = isolated / "evals.sqlite3"
    suite = load_suite(SUITE)
    make = options_factory(prompts_dir)
    with EvalStore(db) as store:
        stale = SuiteRunner(suite, make("roadmap@v1"), store).new_run()
        store.update_run(stale.id, status="interrupted")
        seen: dict[str, tuple[str, str]] = {}
        baseline, candidate, comparison = regress(
            suite,
            "roadmap@v1",
            "roadmap@v99",
            make,
            store,
            on_ensured=lambda role, run, action: seen.__setitem__(role, (run.id, action)),
        )
        assert seen["baseline"] == (stale.id, RESUMED) and baseline.id == stale.id
        assert seen["candidate"] == (candidate.id, RAN)
        assert baseline.status == "complete" and baseline.totals["scored"] == len(suite.cases)
        assert len(store.list_runs("roadmap")) == 2
    assert comparison.verdict == NO_CHANGE and not comparison.regressed
    assert comparison.total.mean_baseline == pytest.approx(comparison.total.mean_candidate)


def test_find_reusable_run_skips_failed_and_mismatched_runs(isolated: Path, prompts_dir: Path) -> None:
    suite = load_suite(SUITE)
    options = options_factory(prompts_dir)("roadmap@v1")
    version = PromptRegistry([prompts_dir]).get("roadmap@v1")
    params = relevant_params(suite, version, options)
    with EvalStore(isolated / "evals.sqlite3") as store:
        run = SuiteRunner(suite, options, store).new_run()
        assert find_reusable_run(store, suite, version, "offline", "planner-1", params) == run
        assert find_reusable_run(store, suite, version, "offline", "other-model", params) is None
        assert find_reusable_run(store, suite, version, "offline", "planner-1", {**params, "max_reasks": 0}) is None
        other = PromptRegistry([prompts_dir]).get("roadmap@v99")
        assert find_reusable_run(store, suite, other, "offline", "planner-1", params) is None
        store.update_run(run.id, status="failed")
        assert find_reusable_run(store, suite, version, "offline", "planner-1", params) is None


@pytest.mark.parametrize(
    "extra",
    [
        ("--baseline", "roadmap@v9"),
        ("--candidate", "nosuch@v1"),
        ("--gate", "nonsense"),
    ],
)
def test_bad_input_exits_2_before_running_anything(isolated: Path, prompts_dir: Path, extra: tuple[str, str]) -> None:
    db = isolated / "evals.sqlite3"
    result = regress_cli(db, prompts_dir, *extra)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert result.stderr.startswith("error: ") or "Error" in result.stderr
    with EvalStore(db) as store:
        assert store.list_runs("roadmap") == []


def test_trend_of_an_empty_store_and_the_sparkline(isolated: Path) -> None:
    result = onboard("eval", "trend", "roadmap", "--db", isolated / "evals.sqlite3")
    assert result.exit_code == 0 and "no eval runs of suite 'roadmap'" in result.stdout
    assert sparkline([0.0, 0.5, 1.0, None, 2.0]) == "▁▅█·█"
