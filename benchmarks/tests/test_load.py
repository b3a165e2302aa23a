from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from benchmarks import load, ops
from benchmarks.load import CellSpec, run_cell
from benchmarks.stack import LoginBudget
from benchmarks.tests.conftest import Stack

QUICK: dict[str, Any] = {"seconds": 0.2, "min_samples": 5, "max_seconds": 2.0, "warmup_seconds": 0.05}


@pytest.fixture
def credentials(live: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(load.API_KEY_ENV, live.sim.api_key)
    monkeypatch.setenv(load.HEADERS_ENV, json.dumps(live.auth.headers))


@pytest.mark.parametrize(
    ("contender", "op"), [("bare", "info"), ("bare", "job"), ("direct", "query"), ("direct", "job")]
)
async def test_websocket_contenders_complete_real_calls(
    live: Stack, credentials: None, contender: str, op: str
) -> None:
    spec = CellSpec(contender=contender, op=op, clients=3, url=live.sim.url, **QUICK)
    result = await run_cell(spec)
    assert result.errors == 0, result.first_error
    assert result.calls >= 5 and result.calls_per_s > 0
    assert 0 < result.latency_ms["p50"] <= result.latency_ms["p95"] <= result.latency_ms["p99"]


@pytest.mark.parametrize("contender", ["ours-2025", "ours-2026", "floor"])
async def test_http_contenders_run_each_operation_and_read_server_and_simulator_cpu(
    live: Stack, credentials: None, contender: str
) -> None:
    url, server = (live.floor_url, live.floor) if contender == "floor" else (live.mcp_url, live.ours)
    for op in ops.OPERATIONS:
        spec = CellSpec(contender=contender, op=op, clients=4, url=url, **QUICK)
        result = await run_cell(
            replace(spec, server_pid=server.process.pid, sim_pid=live.simulator.process.pid)
        )
        assert result.errors == 0, result.first_error
        assert result.calls >= 5 and result.completed >= result.calls - 4  # at most one per caller in flight
        assert result.server_cpu_ms_per_call is not None and result.server_cpu_ms_per_call >= 0
        assert result.sim_cpu_share is not None and result.sim_cpu_share >= 0


async def test_a_window_that_cannot_reach_steady_state_says_so(live: Stack, credentials: None) -> None:
    unreachable = {**QUICK, "min_samples": 10**6, "max_seconds": 0.3}
    result = await run_cell(CellSpec(contender="bare", op="info", clients=2, url=live.sim.url, **unreachable))
    assert result.calls > 0 and not result.steady
    reachable = await run_cell(CellSpec(contender="bare", op="info", clients=2, url=live.sim.url, **QUICK))
    assert reachable.steady and reachable.calls >= 10  # five per client at least


async def test_idle_sessions_stay_open_beside_the_measured_client(live: Stack, credentials: None) -> None:
    spec = CellSpec(contender="ours-2025", op="info", clients=1, url=live.mcp_url, idle_sessions=3, **QUICK)
    result = await run_cell(spec)
    assert result.errors == 0 and result.idle_sessions == 3


async def test_a_contender_that_cannot_authenticate_fails_the_cell_loudly(
    live: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(load.HEADERS_ENV, json.dumps({"Authorization": "Bearer not-a-token"}))
    with pytest.raises(Exception, match="HTTP 401"):
        await run_cell(CellSpec(contender="ours-2026", op="info", clients=1, url=live.mcp_url, **QUICK))


def test_cell_spec_names_the_bad_field() -> None:
    with pytest.raises(ValueError, match="contender: expected one of bare, direct, floor, ours-2025"):
        CellSpec(contender="other", op="info", clients=1, url="x")
    with pytest.raises(ValueError, match="op: expected"):
        CellSpec(contender="bare", op="nope", clients=1, url="x")
    with pytest.raises(ValueError, match=r"clients: expected 1\.\.1024"):
        CellSpec(contender="bare", op="info", clients=0, url="x")
    with pytest.raises(ValueError, match="seconds"):
        CellSpec(contender="bare", op="info", clients=1, url="x", seconds=9, max_seconds=1)
    with pytest.raises(ValueError, match="idle_sessions: only for our server"):
        CellSpec(contender="floor", op="info", clients=1, url="x", idle_sessions=2)


def test_login_budget_waits_once_the_window_is_full() -> None:
    budget = LoginBudget(per_window=2, window=0.2)
    assert budget.take(2) == 0
    assert budget.take() > 0  # the third login of the window waits for the first to age out
