"""A raw wire-level client for the simulator's conformance tests.

The tests check exact frames, so they talk to the socket directly rather than through the project's own
client: a bug shared by client and simulator must not be able to hide itself.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from truenas_mcp.sim.server import RunningSimulator

TIMEOUT = 10.0


class RawRpc:
    """Sends JSON-RPC frames and sorts what comes back into answers (by id) and notifications."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._ids = itertools.count(1)
        self.notifications: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._answers: dict[Any, dict[str, Any]] = {}

    async def send(self, frame: Any) -> None:
        await self.ws.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))

    async def recv(self) -> dict[str, Any]:
        """The next frame of any kind."""
        return json.loads(await asyncio.wait_for(self.ws.recv(), TIMEOUT))

    async def answer(self, id_: Any) -> dict[str, Any]:
        """The answer to request ``id_``; notifications met on the way are queued."""
        while id_ not in self._answers:
            frame = await self.recv()
            if "method" in frame and "id" not in frame:
                self.notifications.put_nowait(frame)
            else:
                self._answers[frame.get("id")] = frame
        return self._answers.pop(id_)

    async def request(self, method: str, params: list[Any] | None = None) -> dict[str, Any]:
        """Send a call and return the full answer frame."""
        id_ = next(self._ids)
        await self.send({"jsonrpc": "2.0", "id": id_, "method": method, "params": params or []})
        return await self.answer(id_)

    async def call(self, method: str, params: list[Any] | None = None) -> Any:
        """The ``result`` of a call; fails the test on an error answer."""
        frame = await self.request(method, params)
        assert "error" not in frame, frame["error"]
        return frame["result"]

    async def notification(self) -> dict[str, Any]:
        if self.notifications.empty():
            while True:
                frame = await self.recv()
                if "method" in frame and "id" not in frame:
                    return frame
                self._answers[frame.get("id")] = frame
        return self.notifications.get_nowait()

    async def job_event(self, job_id: int, states: set[str]) -> dict[str, Any]:
        """Wait for the ``core.get_jobs`` event of ``job_id`` whose state is in ``states``."""
        while True:
            note = await self.notification()
            params = note["params"]
            if (
                params["collection"] == "core.get_jobs"
                and params["id"] == job_id
                and params.get("fields", {}).get("state") in states
            ):
                return params

    async def login(self, sim: RunningSimulator) -> None:
        answer = await self.call(
            "auth.login_ex",
            [{"mechanism": "API_KEY_PLAIN", "username": sim.admin_username, "api_key": sim.admin_api_key}],
        )
        assert answer["response_type"] == "SUCCESS", answer


async def open_rpc(url: str) -> tuple[ClientConnection, RawRpc]:
    ws = await connect(url, max_size=None, open_timeout=TIMEOUT)
    return ws, RawRpc(ws)


@pytest.fixture
async def rpc(sim: RunningSimulator) -> AsyncIterator[RawRpc]:
    """An unauthenticated JSON-RPC connection to ``sim``."""
    ws, client = await open_rpc(sim.url)
    try:
        yield client
    finally:
        await ws.close()


@pytest.fixture
async def admin(sim: RunningSimulator) -> AsyncIterator[RawRpc]:
    """A JSON-RPC connection to ``sim`` logged in as truenas_admin with its API key."""
    ws, client = await open_rpc(sim.url)
    try:
        await client.login(sim)
        yield client
    finally:
        await ws.close()


@pytest.fixture
def connect_rpc() -> Any:
    """``ws, client = await connect_rpc(url)``: another raw JSON-RPC connection (close ``ws`` when done)."""
    return open_rpc
