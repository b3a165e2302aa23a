"""Fixtures for client tests: configs and clients pointing at the suite's ``sim`` simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from truenas_mcp.client import ClientConfig, TrueNASClient
from truenas_mcp.sim.server import RunningSimulator

MakeConfig = Callable[..., ClientConfig]


@pytest.fixture
def make_config(sim: RunningSimulator) -> MakeConfig:
    """Settings for the admin API key on ``sim``, with fast reconnects; keywords override any field."""

    def make(**overrides: Any) -> ClientConfig:
        values: dict[str, Any] = {
            "url": sim.url,
            "username": sim.admin_username,
            "api_key": sim.admin_api_key,
            "call_timeout": 10.0,
            "reconnect_initial_delay": 0.01,
            "reconnect_max_delay": 0.05,
        }
        values.update(overrides)
        return ClientConfig.build(**values)

    return make


@pytest.fixture
async def client(make_config: MakeConfig) -> AsyncIterator[TrueNASClient]:
    async with TrueNASClient(make_config()) as client:
        yield client
