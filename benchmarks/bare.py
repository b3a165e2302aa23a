"""The floor: TrueNAS JSON-RPC over a bare ``websockets`` connection, with nothing a real client needs.

One connection (TrueNAS rate-limits logins and advises one persistent connection), one reader routing
answers by id, ``json`` by hand, no validation, no ejson decoding, no reconnects. Jobs are followed the way
the official client follows them: subscribe to ``core.get_jobs`` and wait for the job's final ``changed``
event. The middleware runs 10 calls per connection at once and queues 20 more, so callers beyond 10 wait
here for a slot, as they do in ``TrueNASClient``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

MAX_IN_FLIGHT = 10
_FINAL = frozenset({"SUCCESS", "FAILED", "ABORTED"})


class BareError(RuntimeError):
    """An error answer, or a job that did not succeed."""


class BareConnection:
    def __init__(self, url: str, username: str, api_key: str) -> None:
        self._url = url
        self._login = {"mechanism": "API_KEY_PLAIN", "username": username, "api_key": api_key}
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._jobs: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._finished: dict[int, dict[str, Any]] = {}  # final job events that beat the call's answer
        self._next_id = 0
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)

    async def __aenter__(self) -> BareConnection:
        self._ws = await connect(self._url, compression=None, max_size=None)
        self._reader = asyncio.create_task(self._read())
        if await self.call("auth.login_ex", [self._login]) is None:
            raise BareError("auth.login_ex answered nothing")
        await self.call("core.subscribe", ["core.get_jobs"])
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._ws is not None:
            await self._ws.close()

    async def call(self, method: str, params: list[Any]) -> Any:
        assert self._ws is not None
        async with self._slots:
            self._next_id += 1
            call_id = self._next_id
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._pending[call_id] = future
            await self._ws.send(
                json.dumps({"jsonrpc": "2.0", "id": call_id, "method": method, "params": params})
            )
            return await future

    async def call_job(self, method: str, params: list[Any]) -> Any:
        job_id = await self.call(method, params)
        event = self._finished.pop(job_id, None)
        if event is None:
            future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            self._jobs[job_id] = future
            event = await future
        if event.get("state") != "SUCCESS":
            raise BareError(f"{method}: job {job_id} ended {event.get('state')}: {event.get('error')}")
        return event.get("result")

    async def _read(self) -> None:
        assert self._ws is not None
        async for raw in self._ws:
            message = json.loads(raw)
            call_id = message.get("id")
            if call_id is not None:
                future = self._pending.pop(call_id, None)
                if future is None or future.done():
                    continue
                if "error" in message:
                    future.set_exception(BareError(str(message["error"])[:300]))
                else:
                    future.set_result(message.get("result"))
                continue
            params = message.get("params") or {}
            if params.get("collection") != "core.get_jobs":
                continue
            fields = params.get("fields") or {}
            if fields.get("state") not in _FINAL:
                continue
            job_id = params.get("id")
            if not isinstance(job_id, int):
                continue
            waiter = self._jobs.pop(job_id, None)
            if waiter is not None:
                waiter.set_result(fields)
            elif len(self._finished) < 10_000:  # bounded: only jobs this connection is about to wait on
                self._finished[job_id] = fields
