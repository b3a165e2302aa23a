"""Fixtures shared by the whole suite.

``sim`` is a live TrueNAS 25.04.2 simulator for one test; see its docstring. Everything runs on real
sockets on 127.0.0.1 with a free port, so tests can run in parallel processes without clashing.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from truenas_mcp.sim.server import RunningSimulator, Simulator

SimFactory = Callable[..., contextlib.AbstractAsyncContextManager[RunningSimulator]]


@contextlib.asynccontextmanager
async def _start(**options: Any) -> AsyncIterator[RunningSimulator]:
    options.setdefault("rate_limit_delay", (0.0, 0.0))
    async with Simulator(**options).serve("127.0.0.1", 0) as running:
        yield running


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    """A fresh simulator (the seeded demo world) listening on 127.0.0.1 for the duration of one test.

    What a test gets (``RunningSimulator``):

    * ``sim.url``: ``ws://127.0.0.1:PORT/api/current`` (JSON-RPC 2.0); ``sim.legacy_url``: ``.../websocket``
      (DDP); ``sim.http_url``: ``http://127.0.0.1:PORT`` (``/api/versions``, ``/_upload``, ``/_download``).
    * ``sim.admin_username`` (``truenas_admin``, FULL_ADMIN) and ``sim.admin_api_key`` (``<id>-<secret>``).
      Loopback counts as a secure transport, so the key is not revoked when used.
    * ``sim.faults``: change fields at run time (``sim.faults.delay_seconds = 0.2``); see ``sim.faults``
      module for what can be injected. ``sim.world``: the simulated state; ``sim.sim``: the engine
      (``sim.sim.emit(collection, "changed", id, fields)`` pushes an event to subscribers).

    The unauthenticated rate limit does not pause (the real box waits 1–10 s before refusing). Use
    ``sim_factory`` for other options (``insecure_loopback=True``, ``faults=Faults(...)``, ``world=...``).
    """
    async with _start() as running:
        yield running


@pytest.fixture
def sim_factory() -> SimFactory:
    """``async with sim_factory(insecure_loopback=True) as running:`` — a simulator with custom options
    (any keyword of ``Simulator``); it stops when the block exits."""
    return _start
