"""The paired statistics of ``eval compare`` against known answers and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from onboard_llm.evals import stats as st
from onboard_llm.evals.stats import holm, mcnemar_exact, paired_bootstrap_ci, wilcoxon_p

RNG = np.random.default_rng(7)
DELTAS = list(RNG.normal(-0.1, 0.05, size=30))


# -- bootstrap ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0.0, 0.1, -0.25])
def test_bootstrap_of_a_constant_vector_is_that_constant(value: float) -> None:
    assert paired_bootstrap_ci([value] * 25) == (value, value)


def test_bootstrap_contains_the_mean_and_is_ordered() -> None:
    low, high = paired_bootstrap_ci(DELTAS)
    assert low < float(np.mean(DELTAS)) < high
    assert high < 0  # a true drop of 0.1 with sd 0.05 over 30 pairs


def test_bootstrap_is_deterministic_with_its_seed() -> None:
    assert paired_bootstrap_ci(DELTAS) == paired_bootstrap_ci(DELTAS)
    assert paired_bootstrap_ci(DELTAS, seed=1) == paired_bootstrap_ci(DELTAS, seed=1)
    assert paired_bootstrap_ci(DELTAS, seed=1) != paired_bootstrap_ci(DELTAS, seed=2)


def test_bootstrap_equals_a_direct_percentile_bootstrap() -> None:
    """The same draws done by hand: resample indices, take means, take the 2.5th and 97.5th percentiles."""
    d = np.asarray(DELTAS)
    rng = np.random.default_rng(st.DEFAULT_SEED)
    means = d[rng.integers(0, d.size, size=(st.DEFAULT_RESAMPLES, d.size))].mean(axis=1)
    expected = np.percentile(means, [2.5, 97.5])
    assert paired_bootstrap_ci(DELTAS) == pytest.approx(tuple(expected), abs=1e-12)


def test_bootstrap_chunking_does_not_change_the_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = paired_bootstrap_ci(DELTAS)
    monkeypatch.setattr(st, "_CHUNK_CELLS", 7 * len(DELTAS))  # 7 resamples at a time
    assert paired_bootstrap_ci(DELTAS) == pytest.approx(whole, abs=1e-12)


def test_bootstrap_agrees_with_scipy_and_the_normal_approximation() -> None:
    low, high = paired_bootstrap_ci(DELTAS)
    ref = stats.bootstrap(
        (np.asarray(DELTAS),), np.mean, n_resamples=5000, method="percentile", confidence_level=0.95, rng=3
    ).confidence_interval
    assert low == pytest.approx(ref.low, abs=0.006)
    assert high == pytest.approx(ref.high, abs=0.006)
    half = 1.96 * float(np.std(DELTAS)) / math.sqrt(len(DELTAS))
    assert (high - low) / 2 == pytest.approx(half, rel=0.15)


def test_bootstrap_confidence_widens_the_interval() -> None:
    low90, high90 = paired_bootstrap_ci(DELTAS, confidence=0.90)
    low99, high99 = paired_bootstrap_ci(DELTAS, confidence=0.99)
    assert low99 < low90 and high90 < high99


@pytest.mark.parametrize("bad", [[], [float("nan"), 1.0]])
def test_bootstrap_refuses_empty_or_nan(bad: list[float]) -> None:
    with pytest.raises(ValueError):
        paired_bootstrap_ci(bad)


# -- wilcoxon ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "deltas",
    [
        DELTAS,
        [0.1, -0.05, 0.2, 0.0, 0.3, -0.1, 0.15, 0.05, 0.0, 0.12, -0.02, 0.08],
        list(RNG.normal(0.0, 0.1, size=80)),
    ],
)
def test_wilcoxon_matches_scipy(deltas: list[float]) -> None:
    assert wilcoxon_p(deltas) == pytest.approx(float(stats.wilcoxon(deltas).pvalue), rel=1e-12)


def test_wilcoxon_of_no_change_is_one_and_of_nothing_is_none() -> None:
    assert wilcoxon_p([0.0] * 20) == 1.0
    assert wilcoxon_p([]) is None


def test_wilcoxon_exact_small_sample() -> None:
    # Five nonzero deltas all positive: the exact two-sided p is 2 / 2**5.
    assert wilcoxon_p([0.1, 0.2, 0.3, 0.4, 0.5]) == pytest.approx(2 / 32)


# -- mcnemar -----------------------------------------------------------------------------------------


def test_mcnemar_known_answers() -> None:
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 0) == pytest.approx(2 * 0.5**5)
    assert mcnemar_exact(0, 5) == pytest.approx(2 * 0.5**5)
    # b=10, c=2: 2 * (C(12,0) + C(12,1) + C(12,2)) / 2**12 = 158 / 4096
    assert mcnemar_exact(10, 2) == pytest.approx(158 / 4096)
    assert mcnemar_exact(3, 3) == 1.0


@pytest.mark.parametrize(("b", "c"), [(1, 0), (4, 1), (7, 3), (12, 20), (40, 25)])
def test_mcnemar_matches_scipy_binomtest(b: int, c: int) -> None:
    expected = stats.binomtest(min(b, c), b + c, 0.5, alternative="two-sided").pvalue
    assert mcnemar_exact(b, c) == pytest.approx(expected)
    assert mcnemar_exact(b, c) == mcnemar_exact(c, b)


def test_mcnemar_refuses_negative_counts() -> None:
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 2)


# -- holm --------------------------------------------------------------------------------------------


def test_holm_hand_example() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> monotone 0.02, 0.03, 0.06, 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one_and_handles_trivial_inputs() -> None:
    assert holm([0.5, 0.6]) == [1.0, 1.0]
    assert holm([0.2]) == [0.2]
    assert holm([]) == []
