from __future__ import annotations

from benchmarks import window
from benchmarks.window import SteadyRule

RULE = SteadyRule(seconds=1.0, min_samples=10)


def test_a_window_needs_its_minimum_time_and_calls_per_client() -> None:
    fast = [0.01] * 40
    assert RULE.reached(clients=8, elapsed=1.0, samples=fast)
    assert not RULE.reached(clients=8, elapsed=0.9, samples=fast)  # too short
    assert not RULE.reached(clients=8, elapsed=5.0, samples=fast[:39])  # fewer than 5 per client
    assert not RULE.reached(clients=1, elapsed=5.0, samples=fast[:9])  # fewer than min_samples
    assert RULE.needed_calls(128) == 640 and RULE.needed_calls(1) == 10


def test_a_window_of_slow_calls_must_last_three_median_calls() -> None:
    slow = [0.5] * 20 + [4.0] * 21  # median 4 s
    assert not RULE.reached(clients=2, elapsed=11.9, samples=slow)
    assert RULE.reached(clients=2, elapsed=12.0, samples=slow)


def test_cpu_per_call_and_the_simulator_bound() -> None:
    assert window.per_call_ms(0.5, 1000) == 0.5
    assert window.per_call_ms(0.5, 0) is None
    assert window.simulator_bound(0.95) and window.simulator_bound(0.9)
    assert not window.simulator_bound(0.6) and not window.simulator_bound(None)
