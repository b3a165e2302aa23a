"""Percentiles and ratios: the only summaries the report uses (a single wall time means little here)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation between closest ranks."""
    if not samples:
        raise ValueError("percentile: no samples")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile: q must be within 0..100, got {q}")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary_ms(samples: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99 and mean of latencies given in seconds, in milliseconds (empty: no samples)."""
    if not samples:
        return {}
    return {
        "p50": round(percentile(samples, 50) * 1000, 3),
        "p95": round(percentile(samples, 95) * 1000, 3),
        "p99": round(percentile(samples, 99) * 1000, 3),
        "mean": round(sum(samples) / len(samples) * 1000, 3),
    }


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or ``None`` when either is missing or the denominator is zero."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator
