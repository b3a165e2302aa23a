from __future__ import annotations

import json
from typing import Any

import pytest

from benchmarks import load
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


async def test_mcp_contender_runs_each_operation_through_the_server(live: Stack, credentials: None) -> None:
    for op in ("info", "job"):
        result = await run_cell(CellSpec(contender="ours", op=op, clients=4, url=live.mcp_url, **QUICK))
        assert result.errors == 0, result.first_error
        assert result.calls >= 5


async def test_a_contender_that_cannot_authenticate_fails_the_cell_loudly(
    live: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(load.HEADERS_ENV, json.dumps({"Authorization": "Bearer not-a-token"}))
    with pytest.raises(Exception, match="HTTP 401"):
        await run_cell(CellSpec(contender="ours", op="info", clients=1, url=live.mcp_url, **QUICK))


def test_cell_spec_names_the_bad_field() -> None:
    with pytest.raises(ValueError, match="contender: expected"):
        CellSpec(contender="other", op="info", clients=1, url="x")
    with pytest.raises(ValueError, match="op: expected"):
        CellSpec(contender="bare", op="nope", clients=1, url="x")
    with pytest.raises(ValueError, match=r"clients: expected 1\.\.1024"):
        CellSpec(contender="bare", op="info", clients=0, url="x")
    with pytest.raises(ValueError, match="seconds"):
        CellSpec(contender="bare", op="info", clients=1, url="x", seconds=9, max_seconds=1)


def test_login_budget_waits_once_the_window_is_full() -> None:
    budget = LoginBudget(per_window=2, window=0.2)
    assert budget.take(2) == 0
    assert budget.take() > 0  # the third login of the window waits for the first to age out
