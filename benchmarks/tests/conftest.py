"""A real stack for harness tests: the simulator and our MCP server as processes, as the bench runs them."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks import stack
from benchmarks.procs import Service, free_port, running


@dataclass(frozen=True)
class Stack:
    sim: stack.SimulatorInfo
    auth: stack.MCPAuth
    ours: Service
    base: str  # http://127.0.0.1:PORT
    floor: Service
    floor_url: str
    simulator: Service

    @property
    def mcp_url(self) -> str:
        return self.base + "/mcp"


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir: Path = tmp_path_factory.mktemp("bench-stack")
    with running([]) as services:
        sim_service, sim = stack.start_simulator(sys.executable, workdir)
        services.append(sim_service)
        asyncio.run(stack.seed_snapshots(sim))
        auth = stack.mcp_auth(sys.executable, workdir)
        port = free_port()
        ours = stack.spawn_ours(sys.executable, sim, port, workdir, auth, "ours")
        services.append(ours)
        base = f"http://127.0.0.1:{port}"
        asyncio.run(stack.wait_first_tools_list(ours, base + "/mcp", auth.headers))
        stack.wait_ready(ours, base)
        floor_port = free_port()
        floor = stack.spawn_floor(sys.executable, sim, floor_port, workdir)
        services.append(floor)
        floor_url = f"http://127.0.0.1:{floor_port}/mcp"
        asyncio.run(stack.wait_floor(floor, floor_url))
        yield Stack(sim, auth, ours, base, floor, floor_url, sim_service)
