"""``eval compare``: paired comparison of two stored runs on synthetic runs of 24 cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result

from onboard_llm.cli import cli
from onboard_llm.errors import BadInputError
from onboard_llm.evals.compare import IMPROVEMENT, NO_CHANGE, REGRESSION, compare_runs, render_text
from onboard_llm.evals.stats import mcnemar_exact, paired_bootstrap_ci, wilcoxon_p
from onboard_llm.evals.store import CaseResult, EvalStore, RunInfo

N_CASES = 24
CASES = [f"case{i:02d}" for i in range(N_CASES)]
THRESHOLD = 0.7


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "onboard.sqlite3"


def base_scores(i: int) -> tuple[float, float, float]:
    """A fixed, varied baseline per case: schema.required, schema.days, grounding."""
    return 0.70 + 0.01 * (i % 10), 0.75 + 0.02 * (i % 7), 0.72 + 0.015 * (i % 9)


def make_result(
    run_id: str,
    case_id: str,
    subs: tuple[float, float, float],
    *,
    repeat: int = 0,
    error: str | None = None,
    details: list[str] | None = None,
) -> CaseResult:
    required, days, grounding = (min(1.0, max(0.0, x)) for x in subs)
    schema = (required + days) / 2
    total = (schema + grounding) / 2
    scores: list[dict[str, Any]] = [
        {
            "scorer": "schema",
            "score": schema,
            "subscores": [
                {"name": "required", "score": required, "details": []},
                {"name": "days", "score": days, "details": list(details or [])},
            ],
            "details": [],
            "meta": {},
        },
        {"scorer": "grounding", "score": grounding, "subscores": [], "details": ["names ok"], "meta": {}},
    ]
    return CaseResult(
        run_id=run_id,
        case_id=case_id,
        repeat=repeat,
        raw=None,
        plan=None,
        scores=[] if error else scores,
        total=None if error else total,
        passed=None if error else total >= THRESHOLD,
        usage={"input": 10, "output": 20, "cached": 0},
        cost_usd=0.001,
        latency_s=0.5,
        error=error,
        attempts=1,
    )


def make_run(
    store: EvalStore,
    shift: float = 0.0,
    *,
    noise: float = 0.0,
    seed: int = 0,
    cases: list[str] | None = None,
    suite_hash: str = "ab" * 32,
    prompt_version: str = "v1",
    errors: tuple[str, ...] = (),
    details: dict[str, list[str]] | None = None,
) -> str:
    cases = CASES if cases is None else cases
    run_id = store.create_run(
        RunInfo(
            id="",
            suite_name="synthetic",
            suite_path="evals/suites/synthetic.yaml",
            suite_hash=suite_hash,
            prompt_name="roadmap",
            prompt_version=prompt_version,
            prompt_sha256="cd" * 32,
            provider="offline",
            model="offline",
            params={},
            git_commit=None,
            started_at="",
            status="complete",
            case_ids=list(cases),
        )
    )
    rng = np.random.default_rng(seed)
    for case_id in cases:
        i = CASES.index(case_id) if case_id in CASES else 0
        subs = tuple(x + shift + (rng.normal(0, noise) if noise else 0.0) for x in base_scores(i))
        store.save_result(
            make_result(
                run_id,
                case_id,
                (subs[0], subs[1], subs[2]),
                error="provider kept failing" if case_id in errors else None,
                details=(details or {}).get(case_id),
            )
        )
    return run_id


def metric(comparison: Any, name: str) -> Any:
    return next(m for m in comparison.metrics if m.name == name)


# -- statistics on the runs --------------------------------------------------------------------------


def test_identical_runs_are_no_significant_change(db: Path) -> None:
    with EvalStore(db) as store:
        base, cand = make_run(store), make_run(store, prompt_version="v2")
        comparison = compare_runs(store, base, cand)
    assert comparison.verdict == NO_CHANGE and not comparison.regressed
    assert comparison.pairs == N_CASES
    assert [m.name for m in comparison.metrics] == [
        "total",
        "schema",
        "schema.required",
        "schema.days",
        "grounding",
    ]
    for m in comparison.metrics:
        assert m.n == N_CASES
        assert m.mean_delta == 0.0
        assert m.ci_low <= 0.0 <= m.ci_high
        assert m.p_value == 1.0
    assert (comparison.pass_to_fail, comparison.fail_to_pass, comparison.mcnemar_p) == (0, 0, 1.0)
    assert comparison.worse_cases == []
    assert not comparison.only_baseline and not comparison.only_candidate


def test_a_true_drop_is_a_regression_with_its_worse_cases(db: Path) -> None:
    with EvalStore(db) as store:
        base = make_run(store)
        cand = make_run(store, -0.1, noise=0.01, seed=1, details={"case03": ["task t3 on day 95"]}, prompt_version="v2")
        comparison = compare_runs(store, base, cand)
        base_totals = {r.case_id: float(r.total or 0.0) for r in store.results(base, outputs=False)}
        cand_totals = {r.case_id: float(r.total or 0.0) for r in store.results(cand, outputs=False)}
    total = comparison.total
    deltas = [cand_totals[c] - base_totals[c] for c in CASES]
    assert comparison.verdict == REGRESSION and comparison.regressed
    assert total.mean_delta == pytest.approx(float(np.mean(deltas)))
    assert total.mean_delta == pytest.approx(-0.1, abs=0.01)
    assert total.ci_high < 0 and total.ci_low < total.mean_delta < total.ci_high
    assert (total.ci_low, total.ci_high) == pytest.approx(paired_bootstrap_ci(deltas))
    assert total.p_value == pytest.approx(wilcoxon_p(deltas))
    assert total.p_value is not None and total.p_value < 0.001
    # Every case dropped; sorted by the size of the drop; the new detail is the field-level diff.
    assert len(comparison.worse_cases) == N_CASES
    drops = [w.delta for w in comparison.worse_cases]
    assert drops == sorted(drops)
    case03 = next(w for w in comparison.worse_cases if w.case_id == "case03")
    assert case03.new_details == {"schema.days": ["task t3 on day 95"]}
    assert set(case03.deltas) == {"schema", "schema.required", "schema.days", "grounding"}
    assert all(d < 0 for d in case03.deltas.values())
    # Flips: cases that crossed the threshold; McNemar on them.
    flips = sum(1 for c in CASES if base_totals[c] >= THRESHOLD > cand_totals[c])
    assert flips > 0
    assert (comparison.pass_to_fail, comparison.fail_to_pass) == (flips, 0)
    assert comparison.mcnemar_p == pytest.approx(mcnemar_exact(flips, 0))
    text = "\n".join(render_text(comparison))
    assert "verdict: regression" in text
    assert "+ task t3 on day 95" in text


def test_a_raise_is_an_improvement(db: Path) -> None:
    with EvalStore(db) as store:
        base = make_run(store, -0.1)
        cand = make_run(store, noise=0.01, seed=2)
        comparison = compare_runs(store, base, cand)
    assert comparison.verdict == IMPROVEMENT and not comparison.regressed
    assert comparison.total.ci_low > 0
    assert comparison.pass_to_fail == 0 and comparison.fail_to_pass > 0
    assert len(comparison.worse_cases) < N_CASES // 2


def test_a_drop_within_the_margin_is_no_significant_change(db: Path) -> None:
    with EvalStore(db) as store:
        base = make_run(store)
        cand = make_run(store, -0.01, noise=0.001, seed=3)
        tight = compare_runs(store, base, cand)
        loose = compare_runs(store, base, cand, margin=0.005)
    assert tight.total.ci_high < 0  # significant, but smaller than the 0.02 margin
    assert tight.verdict == NO_CHANGE
    assert loose.verdict == REGRESSION


def test_noise_alone_is_no_significant_change(db: Path) -> None:
    with EvalStore(db) as store:
        base = make_run(store, noise=0.03, seed=4)
        cand = make_run(store, noise=0.03, seed=5)
        comparison = compare_runs(store, base, cand)
    assert comparison.verdict == NO_CHANGE
    assert comparison.total.ci_low <= 0 <= comparison.total.ci_high or abs(comparison.total.mean_delta) < 0.02


# -- gates -------------------------------------------------------------------------------------------


def test_gates_flag_a_scorer_that_dropped_with_holm_p(db: Path) -> None:
    with EvalStore(db) as store:
        base = make_run(store)
        # Only grounding drops: the total moves by half of it.
        cand = make_run(store, cases=[])
        for i, case_id in enumerate(CASES):
            r, d, g = base_scores(i)
            store.save_result(make_result(cand, case_id, (r, d, g - 0.03 - 0.001 * (i % 5))))
        comparison = compare_runs(store, base, cand, gates={"grounding": 0.02, "schema": 0.02})
    grounding, schema = metric(comparison, "grounding"), metric(comparison, "schema")
    assert comparison.verdict == NO_CHANGE  # the total fell by ~0.016 < 0.02
    assert grounding.gate_regressed is True and schema.gate_regressed is False
    assert grounding.p_holm == pytest.approx(min(1.0, 2 * grounding.p_value))
    assert schema.p_holm == 1.0
    assert comparison.failed_gates == ["grounding"] and comparison.regressed


def test_a_gate_naming_no_metric_is_bad_input(db: Path) -> None:
    with EvalStore(db) as store:
        base, cand = make_run(store), make_run(store)
        with pytest.raises(BadInputError, match="gate nope names no metric"):
            compare_runs(store, base, cand, gates={"nope": 0.1})


# -- pairing -----------------------------------------------------------------------------------------


def test_different_suites_are_refused(db: Path) -> None:
    with EvalStore(db) as store:
        base, cand = make_run(store), make_run(store, suite_hash="ef" * 32)
        with pytest.raises(
            BadInputError, match=rf"{base} and {cand} are on different suites.*abababababab.*efefefefefef"
        ):
            compare_runs(store, base, cand)


def test_different_case_sets_compare_the_intersection(db: Path) -> None:
    with EvalStore(db) as store:
        base = make_run(store, cases=CASES[:22])
        cand = make_run(store, cases=CASES[2:], errors=("case05",))
        comparison = compare_runs(store, base, cand)
    assert comparison.only_baseline == ["case00#0", "case01#0"]
    assert comparison.only_candidate == ["case22#0", "case23#0"]
    assert comparison.skipped_errors == 1
    assert comparison.pairs == 19
    assert comparison.total.n == 19
    text = "\n".join(render_text(comparison))
    assert "different case sets: comparing the intersection" in text
    assert "case00#0, case01#0" in text and "case22#0, case23#0" in text
    assert "1 pairs skipped" in text


def test_missing_run_and_no_common_pairs_are_bad_input(db: Path) -> None:
    with EvalStore(db) as store:
        base = make_run(store, cases=CASES[:5])
        cand = make_run(store, cases=CASES[5:10])
        with pytest.raises(BadInputError, match="no eval run 'r00000000-nope'"):
            compare_runs(store, base, "r00000000-nope")
        with pytest.raises(BadInputError, match="no \\(case, repeat\\) scored in both"):
            compare_runs(store, base, cand)


def test_pairs_are_matched_by_case_and_repeat(db: Path) -> None:
    with EvalStore(db) as store:
        base, cand = make_run(store), make_run(store, 0.05)
        for i, case_id in enumerate(CASES):
            store.save_result(make_result(base, case_id, base_scores(i), repeat=1))
            store.save_result(make_result(cand, case_id, tuple(x - 0.2 for x in base_scores(i)), repeat=1))  # type: ignore[arg-type]
        both = compare_runs(store, base, cand)
        first = make_run(store, 0.05, cases=CASES)
        only_first = compare_runs(store, base, first)
    assert both.pairs == 2 * N_CASES
    assert both.total.mean_delta == pytest.approx((0.05 - 0.2) / 2)
    assert only_first.pairs == N_CASES
    assert only_first.only_baseline == [f"{c}#1" for c in CASES]
    assert only_first.total.mean_delta == pytest.approx(0.05)


def test_pair_deltas_hold_every_pair_and_stay_out_of_the_json(db: Path) -> None:
    with EvalStore(db) as store:
        base = make_run(store, cases=CASES[:20])
        cand = make_run(store, -0.1, noise=0.02, seed=6, cases=CASES[2:], errors=("case05",))
        comparison = compare_runs(store, base, cand)
        base_values = {r.case_id: r for r in store.results(base, outputs=False)}
        cand_values = {r.case_id: r for r in store.results(cand, outputs=False)}
    # The compared pairs only (no one-sided or errored case), in (case, repeat) order.
    paired = [c for c in CASES[2:20] if c != "case05"]
    assert [(p.case_id, p.repeat) for p in comparison.pair_deltas] == [(c, 0) for c in paired]
    for pair in comparison.pair_deltas:
        assert list(pair.deltas) == [m.name for m in comparison.metrics]
        b, c = base_values[pair.case_id], cand_values[pair.case_id]
        assert b.total is not None and c.total is not None
        assert pair.deltas["total"] == pytest.approx(c.total - b.total)
        assert pair.deltas["grounding"] == pytest.approx(c.scores[1]["score"] - b.scores[1]["score"])
    for m in comparison.metrics:
        assert m.mean_delta == pytest.approx(float(np.mean([p.deltas[m.name] for p in comparison.pair_deltas])))
    # Charts read them from the object; the JSON report keeps its shape.
    assert "pair_deltas" not in comparison.as_dict()
    assert set(json.loads(comparison.to_json())) == {
        "baseline",
        "candidate",
        "margin",
        "confidence",
        "pairs",
        "only_baseline",
        "only_candidate",
        "skipped_errors",
        "metrics",
        "flips",
        "verdict",
        "failed_gates",
        "regressed",
        "worse_cases",
    }


def test_run_id_prefixes_are_accepted(db: Path) -> None:
    with EvalStore(db) as store:
        base, cand = make_run(store), make_run(store)
        comparison = compare_runs(store, base[:-1], cand)
    assert comparison.baseline.id == base


# -- CLI ---------------------------------------------------------------------------------------------


def onboard(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], prog_name="onboard")


def test_cli_exit_codes_and_json(db: Path, tmp_path: Path) -> None:
    with EvalStore(db) as store:
        base = make_run(store)
        same = make_run(store)
        worse = make_run(store, -0.1, noise=0.01, seed=1)
        other = make_run(store, suite_hash="ef" * 32)

    result = onboard("eval", "compare", base, same, "--db", db)
    assert result.exit_code == 0, result.output
    assert "verdict: no significant change" in result.stdout

    report = tmp_path / "compare.json"
    result = onboard("eval", "compare", base, worse, "--db", db, "--json", report)
    assert result.exit_code == 1, result.output
    assert "verdict: regression" in result.stdout
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["verdict"] == "regression" and data["regressed"] is True
    assert data["metrics"][0]["name"] == "total" and data["metrics"][0]["ci_high"] < 0
    assert len(data["worse_cases"]) == N_CASES

    # The improvement direction exits 0; a large margin turns the regression into no change.
    assert onboard("eval", "compare", worse, base, "--db", db).exit_code == 0
    assert onboard("eval", "compare", base, worse, "--db", db, "--margin", "0.5").exit_code == 0

    result = onboard("eval", "compare", base, worse, "--db", db, "--margin", "0.5", "--gate", "grounding=0.05")
    assert result.exit_code == 1, result.output
    assert "gates regressed: grounding" in result.stdout

    result = onboard("eval", "compare", base, other, "--db", db)
    assert result.exit_code == 2
    assert "different suites" in result.stderr

    for bad in (["--gate", "grounding"], ["--gate", "grounding=x"], ["--gate", "nope=0.1"]):
        result = onboard("eval", "compare", base, same, "--db", db, *bad)
        assert result.exit_code == 2, (bad, result.output)
    assert onboard("eval", "compare", base, "r99999999-missing", "--db", db).exit_code == 2
