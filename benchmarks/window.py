"""When a measuring window holds enough to describe a steady state, and what a finished window shows.

A window is steady when it lasted at least its minimum time, holds at least ``calls_per_client`` completed
calls per client (and ``min_samples`` in all), and lasted at least ``medians`` times the median call, so
that a row whose calls take seconds is not judged by the few calls that fit in a short window.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

SIMULATOR_BOUND_SHARE = 0.9  # of one core: above it the simulator, not the server, sets the pace


@dataclass(frozen=True)
class SteadyRule:
    seconds: float  # at least
    min_samples: int
    calls_per_client: int = 5
    medians: float = 3.0

    def needed_calls(self, clients: int) -> int:
        return max(self.min_samples, self.calls_per_client * clients)

    def reached(self, clients: int, elapsed: float, samples: Sequence[float]) -> bool:
        """``samples`` are the latencies (s) of calls started in a window that has lasted ``elapsed`` s."""
        if elapsed < self.seconds or len(samples) < self.needed_calls(clients):
            return False
        return elapsed >= self.medians * statistics.median(samples)


def per_call_ms(cpu_seconds: float, calls: int) -> float | None:
    """CPU milliseconds per completed call, or ``None`` for a window without calls."""
    return round(cpu_seconds * 1000 / calls, 3) if calls > 0 else None


def simulator_bound(sim_cpu_share: float | None) -> bool:
    """The simulator used (nearly) a whole core over the window: its single thread was the bottleneck."""
    return sim_cpu_share is not None and sim_cpu_share >= SIMULATOR_BOUND_SHARE
