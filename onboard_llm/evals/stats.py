"""Paired statistics for comparing two eval runs: bootstrap interval, Wilcoxon, exact McNemar, Holm.

Pure functions over plain sequences of floats (numpy underneath, scipy.stats for the
tests scipy already has), so that they can be checked against known answers.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

#: The fixed seed of every bootstrap: the same two runs always give the same interval.
DEFAULT_SEED = 20261123
#: Resamples of the bootstrap (the issue asks for at least 2000).
DEFAULT_RESAMPLES = 5000
#: Bound the (resamples x n) index matrix held at once, so large runs do not need gigabytes.
_CHUNK_CELLS = 4_000_000


def _as_array(values: Sequence[float]) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError("expected a one-dimensional sequence of numbers")
    if not np.all(np.isfinite(array)):
        raise ValueError("expected finite numbers")
    return array


def paired_bootstrap_ci(
    deltas: Sequence[float],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = 0.95,
    seed: int = DEFAULT_SEED,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of paired deltas (candidate minus baseline).

    The pairs are resampled whole (each delta is one pair), ``resamples`` times with
    numpy's Generator seeded with ``seed``, so the answer is deterministic. A vector of
    one repeated value gives exactly (value, value). An empty vector is a ValueError.
    """
    d = _as_array(deltas)
    if d.size == 0:
        raise ValueError("a bootstrap needs at least one pair")
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must lie strictly between 0 and 1")
    if resamples < 1:
        raise ValueError("resamples must be at least 1")
    if np.all(d == d[0]):
        value = float(d[0])
        return value, value
    n = d.size
    rng = np.random.default_rng(seed)
    rows = max(1, _CHUNK_CELLS // n)
    means = np.empty(resamples, dtype=float)
    for start in range(0, resamples, rows):
        stop = min(start + rows, resamples)
        index = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = d[index].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.percentile(means, [100.0 * alpha, 100.0 * (1.0 - alpha)])
    return float(low), float(high)


def wilcoxon_p(deltas: Sequence[float]) -> float | None:
    """Two-sided p-value of the Wilcoxon signed-rank test on paired deltas (scipy.stats.wilcoxon).

    Zero deltas are dropped (scipy's default ``zero_method="wilcox"``). All deltas zero
    gives 1.0: nothing changed. An empty sequence
    gives None: there is nothing to test. With very few nonzero pairs the exact p-value
    cannot get small (five pairs all the same way give 0.0625), which is the honest answer.
    """
    from scipy import stats

    d = _as_array(deltas)
    if d.size == 0:
        return None
    if not np.any(d != 0.0):
        return 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small-sample and ties notices: the p-value is still the right one
        result = stats.wilcoxon(d, alternative="two-sided")
    p = float(result.pvalue)
    return None if math.isnan(p) else min(1.0, p)


def mcnemar_exact(b: int, c: int) -> float:
    """Exact two-sided McNemar test on the discordant pairs.

    ``b`` counts pairs that passed in the baseline and failed in the candidate, ``c`` the
    reverse. Under no change each discordant pair goes either way with probability 1/2,
    so the p-value is the two-sided binomial test of min(b, c) out of b + c; 1.0 when
    there are no discordant pairs.
    """
    from scipy import stats

    if b < 0 or c < 0:
        raise ValueError("flip counts cannot be negative")
    if b + c == 0:
        return 1.0
    return min(1.0, float(stats.binomtest(min(b, c), b + c, 0.5).pvalue))


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the order given.

    Sorted ascending, the i-th smallest (0-based) of m is multiplied by (m - i), capped
    at 1, and made non-decreasing along the sorted order.
    """
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        p = float(pvalues[i])
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p-value {p} is not a probability")
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


__all__ = ["DEFAULT_RESAMPLES", "DEFAULT_SEED", "holm", "mcnemar_exact", "paired_bootstrap_ci", "wilcoxon_p"]
