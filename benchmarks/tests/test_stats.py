from __future__ import annotations

import random
import statistics

import pytest

from benchmarks import stats


def test_percentile_matches_the_standard_library_inclusive_quantiles() -> None:
    rng = random.Random(7)
    samples = [rng.expovariate(1.0) for _ in range(1001)]
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    for q in (50, 95, 99):
        assert stats.percentile(samples, q) == pytest.approx(cuts[q - 1])


def test_percentile_interpolates_between_ranks_and_bounds_q() -> None:
    assert stats.percentile([1.0, 2.0], 50) == 1.5
    assert stats.percentile([3.0], 99) == 3.0
    with pytest.raises(ValueError, match="no samples"):
        stats.percentile([], 50)
    with pytest.raises(ValueError, match=r"0\.\.100"):
        stats.percentile([1.0], 101)


def test_summary_is_in_milliseconds_and_empty_without_samples() -> None:
    summary = stats.summary_ms([0.001, 0.002, 0.003])
    assert summary["p50"] == 2.0 and summary["mean"] == 2.0
    assert summary["p99"] == pytest.approx(2.98)
    assert stats.summary_ms([]) == {}


def test_ratio_is_none_when_a_side_is_missing_or_zero() -> None:
    assert stats.ratio(3.0, 2.0) == 1.5
    assert stats.ratio(None, 2.0) is None
    assert stats.ratio(1.0, 0.0) is None
