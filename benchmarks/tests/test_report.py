from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import report, run, summary

HTTP = ("floor", "ours-2025", "ours-2026", "peer")


def _cell(contender: str, op: str, clients: int, run_no: int, **values: Any) -> dict[str, Any]:
    p50 = values.pop("p50", 1.0)
    cell = {
        "contender": contender,
        "op": op,
        "clients": clients,
        "round": run_no,
        "calls": 100,
        "completed": 100,
        "errors": 0,
        "steady": True,
        "calls_per_s": values.pop("rate", 1000.0),
        "latency_ms": {"p50": p50, "p95": p50 * 2, "p99": values.pop("p99", p50 * 2), "mean": p50},
        "server_cpu_ms_per_call": values.pop("cpu", 1.0 if contender in HTTP else None),
        "sim_cpu_share": values.pop("sim", 0.5),
        "idle_sessions": 0,
        "memory": False,
    }
    return cell | values


def _results(**overrides: Any) -> dict[str, Any]:
    """Three rounds; the floor answers in 1 ms; ours as given (per era), the peer slower than ours."""
    ours_p50 = overrides.get("ours_p50", {"ours-2025": 1.4, "ours-2026": 2.0})
    cells = []
    for n in (1, 2, 3):
        for clients in (1, 8, 16):
            cells.append(_cell("floor", "info", clients, n, p50=1.0 + n / 100, rate=2000.0, cpu=0.3))
            for ours, p50 in ours_p50.items():
                cells.append(
                    _cell(ours, "info", clients, n, p50=p50 * n, rate=1500.0, cpu=1.0, p99=p50 * n * 2)
                )
            cells.append(_cell("peer", "info", clients, n, p50=50.0, rate=300.0, cpu=3.0))
        cells.append(_cell("ours-2025", "info", 1, n, cpu=1.0, idle_sessions=1))
        cells.append(_cell("ours-2025", "info", 1, n, cpu=overrides.get("idle_cpu", 1.05), idle_sessions=128))
        for contender, cpu in (("floor", 40.0), ("ours-2025", 50.0), ("ours-2026", 30.0), ("peer", 41.0)):
            # The 1,000-row row is simulator-bound: the peer's calls/s is capped by the simulator.
            sim = overrides.get("query_sim", 0.95)
            rate = 10.0 if contender != "peer" else 12.0
            cells.append(_cell(contender, "query", 8, n, p50=100.0, rate=rate, cpu=cpu, sim=sim))
    for contender, peak in (("ours-2025", 280.0), ("ours-2026", 320.0)):
        cells.append(_cell(contender, "query", 128, 1, memory=True, steady=False, server_rss_peak_mb=peak))
    cells.append(_cell("ours-2026", "info", 32, 1, steady=overrides.get("steady", True)))
    return {
        "machine": {"python": "3.11", "cpus": 2},
        "method": {"timing": {"seconds": 2.0, "min_samples": 200, "max_seconds": 6.0, "warmup_seconds": 0.3}},
        "cells": cells,
        "startup": {"ours": [{"first_tools_list_s": s, "ready_s": s + 0.1} for s in (0.4, 0.45, 0.7)]},
        "memory": {"ours": {"idle_mb": 80.0, "load_peak_mb": 320.0}},
    }


def _targets(results: dict[str, Any]) -> dict[str, summary.Target]:
    cells = summary.aggregate(results["cells"])
    return {t.what: t for t in summary.targets(results, cells)}


def test_each_cell_is_folded_into_min_median_max_over_its_rounds() -> None:
    cells = summary.aggregate(_results()["cells"])
    ours = cells[("ours-2025", ("info", 1, 0, False))]
    assert ours.runs == 3 and ours.p50 is not None
    assert (ours.p50.low, ours.p50.median, ours.p50.high) == pytest.approx((1.4, 2.8, 4.2))
    assert cells[("ours-2025", ("info", 1, 128, False))].cpu == summary.Spread(1.05, 1.05, 1.05, 3)


def test_targets_are_ratios_of_medians_with_computed_verdicts() -> None:
    targets = _targets(_results())
    p50_2025 = targets["small read p50 ÷ floor's, 1 client (2025-11-25)"]
    assert p50_2025.measured == "2.75×" and p50_2025.met is False  # medians: 2.8 ms ÷ 1.02 ms
    assert targets["small read p50 ÷ floor's, 1 client (2026-07-28)"].met is False
    assert targets["small read calls/s ÷ floor's, 16 clients (2025-11-25)"].measured == "0.75×"
    assert targets["small read p99 ÷ p50, 8 clients (2025-11-25)"].met is True
    assert targets["server CPU per call with 128 ÷ with 1 idle sessions (2025-11-25)"].met is True
    memory = targets["peak RSS, 128 concurrent 1,000-row answers (2026-07-28, answer cap raised)"]
    assert memory.measured == "320 MB" and memory.met is False
    startup = targets["start to first `tools/list`, median of 3 fresh processes"]
    assert startup.measured == "0.45 s" and startup.met is True


def test_a_faster_floor_turns_a_met_target_into_a_missed_one() -> None:
    fast = _targets(_results(ours_p50={"ours-2025": 0.4, "ours-2026": 0.4}))
    assert fast["small read p50 ÷ floor's, 1 client (2025-11-25)"].met is True
    assert (
        _targets(_results(idle_cpu=1.5))[
            "server CPU per call with 128 ÷ with 1 idle sessions (2025-11-25)"
        ].met
        is False
    )


def test_a_simulator_bound_row_is_compared_on_cpu_per_call() -> None:
    cells = summary.aggregate(_results()["cells"])
    v = summary.versus(cells, "ours-2026", "peer", ("query", 8, 0, False))
    assert v is not None and v.sim_bound
    assert v.rate is not None and v.rate < 1  # the peer's calls/s is higher ...
    assert v.capacity == v.cpu and v.at_least  # ... but it spends more CPU per call
    free = summary.aggregate(_results(query_sim=0.3)["cells"])
    assert summary.versus(free, "ours-2026", "peer", ("query", 8, 0, False)).at_least is False  # type: ignore[union-attr]
    targets = _targets(_results())
    assert targets["1,000-row query: server CPU per call ÷ peer's, worst of 1 rows (2025-11-25)"].met is False
    assert targets["1,000-row query: server CPU per call ÷ peer's, worst of 1 rows (2026-07-28)"].met is True


def test_the_prose_states_what_the_numbers_say() -> None:
    text = report.markdown(_results(steady=False))
    assert "The simulator used at least 90% of a core in these cells" in text
    assert "query ×8 (ours-2025)" in text
    assert "did not reach steady state within their bound: info ×32 (ours-2026, 1 of 1 runs)" in text
    assert "In the 2025-11-25 era a small read takes 2.75× the floor's p50" in text
    assert "TCP_NODELAY" not in text
    steady = report.markdown(_results())
    assert "Every cell reached steady state within its bound." in steady
    calm = report.markdown(_results(query_sim=0.2))
    assert "No cell was simulator-bound" in calm
    lines = [line for line in steady.splitlines() if line.startswith("| small read p50 ÷ floor's")]
    assert lines and all(line.endswith("| **missed** |") for line in lines)


def test_report_only_re_renders_from_the_json(tmp_path: Path) -> None:
    (tmp_path / "benchmarks.json").write_text(json.dumps(_results()))
    run.main(["--report-only", "--out", str(tmp_path)])
    assert (tmp_path / "benchmarks.md").read_text() == report.markdown(_results())


def test_the_readme_headline_follows_the_numbers() -> None:
    slow = report.headline(_results())
    fast = report.headline(_results(ours_p50={"ours-2025": 0.6, "ours-2026": 0.6}))
    readme = f"intro\n{report.README_START}\nold words\n{report.README_END}\nrest\n"

    assert "1 client, p50: 2.80 ms (2025-11-25) / 4.00 ms (2026-07-28); the floor 1.02 ms" in slow
    assert "Missed: " in slow and "small read p50 ÷ floor's, 1 client (2025-11-25)" in slow
    assert "small read p50 ÷ floor's" not in fast.partition("Missed: ")[2]
    assert "server CPU per call: 50.0 ms (2025-11-25) / 30.0 ms (2026-07-28); the floor 40.0 ms" in slow
    assert "the peer 41.0 ms (the simulator is the bottleneck of this row)." in slow
    assert "peak RSS 320 MB with 128 concurrent 1,000-row answers" in slow
    updated = report.with_headline(readme, _results())
    assert updated.startswith("intro\n") and updated.endswith("\nrest\n") and "old words" not in updated
    assert report.with_headline(updated, _results()) == updated
    assert report.with_headline("no block here", _results()) == "no block here"
