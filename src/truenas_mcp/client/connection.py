"""One JSON-RPC 2.0 WebSocket connection multiplexing concurrent calls by id.

The hot path is deliberately plain: a call is one future in a dict, one timer handle and one ``send``;
a single reader task resolves futures as answers arrive, in any order. Nothing here knows about login,
reconnects or jobs; the client layers those on top.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from truenas_mcp import ejson
from truenas_mcp.client.errors import (
    CallTimeoutError,
    ConnectionLostError,
    MessageTooLargeError,
    NotConnectedError,
    rpc_error,
)

log = logging.getLogger("truenas_mcp.client")

NotificationHandler = Callable[[str, Any], None]

# Request frame limits of the middleware (utils/limits.py): larger frames make it close the socket,
# which would fail every other call in flight, so they are refused before sending.
ANONYMOUS_MAX_MESSAGE = 8192
AUTHENTICATED_MAX_MESSAGE = 65536
LARGE_MESSAGE_METHODS = {
    "filesystem.file_receive": 2 * 1024 * 1024,
    "failover.datastore.sql": 2 * 1024 * 1024,
}


class _Pending:
    __slots__ = ("future", "method", "raw")

    def __init__(self, future: asyncio.Future[Any], method: str, raw: bool) -> None:
        self.future = future
        self.method = method
        self.raw = raw


class Connection:
    """An open WebSocket with its reader task. Create with :meth:`start`; closed for good once lost."""

    def __init__(
        self,
        ws: ClientConnection,
        *,
        max_in_flight: int,
        on_notification: NotificationHandler | None = None,
    ) -> None:
        self._ws = ws
        self._loop = asyncio.get_running_loop()
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        self._raw_pending = 0
        self._slots = asyncio.Semaphore(max_in_flight)
        self._on_notification = on_notification
        self._lost: ConnectionLostError | None = None
        self._closed = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self.authenticated = False

    def start(self) -> None:
        self._reader = self._loop.create_task(self._read_loop(), name="truenas-client-reader")

    @property
    def usable(self) -> bool:
        return self._lost is None

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    async def wait_closed(self) -> ConnectionLostError:
        await self._closed.wait()
        assert self._lost is not None
        return self._lost

    async def call(self, method: str, params: list[Any], timeout: float, *, raw: bool = False) -> Any:
        """Send one request and wait for its answer; ``raw`` skips ejson decoding of the result."""
        if self._lost is not None:
            raise NotConnectedError(f"{method}: {self._lost}")
        deadline = self._loop.time() + timeout
        slots = self._slots
        if slots.locked():
            # Slow path only: all slots busy, wait for one within the same time budget.
            try:
                await asyncio.wait_for(slots.acquire(), timeout)
            except TimeoutError:
                raise CallTimeoutError(method, timeout) from None
        else:
            await slots.acquire()
        try:
            msg_id = next(self._ids)
            text = json.dumps(
                {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params},
                default=ejson.json_default,
                separators=(",", ":"),
            )
            self._check_size(method, text)
            future: asyncio.Future[Any] = self._loop.create_future()
            self._pending[msg_id] = _Pending(future, method, raw)
            if raw:
                self._raw_pending += 1
            timer = self._loop.call_at(deadline, self._expire, future, method, timeout)
            try:
                try:
                    await self._ws.send(text)
                except ConnectionClosed as exc:
                    # Not sent, so not run: retrying is safe.
                    raise ConnectionLostError(
                        f"{method}: connection closed before sending ({exc}); retry"
                    ) from None
                return await future
            finally:
                timer.cancel()
                del self._pending[msg_id]
                if raw:
                    self._raw_pending -= 1
        finally:
            slots.release()

    def _check_size(self, method: str, text: str) -> None:
        limit = AUTHENTICATED_MAX_MESSAGE if self.authenticated else ANONYMOUS_MAX_MESSAGE
        limit = LARGE_MESSAGE_METHODS.get(method, limit) if self.authenticated else limit
        # len(str) <= utf-8 length <= 4 * len(str): encode only when it could matter.
        if len(text) * 4 > limit and len(text.encode()) > limit:
            size = len(text.encode())
            raise MessageTooLargeError(
                f"{method}: request is {size} bytes, over the server's {limit}-byte frame limit "
                "(TrueNAS would close the connection); upload large payloads with upload()"
            )

    @staticmethod
    def _expire(future: asyncio.Future[Any], method: str, timeout: float) -> None:
        if not future.done():
            future.set_exception(CallTimeoutError(method, timeout))

    async def _read_loop(self) -> None:
        reason = "connection closed"
        try:
            async for message in self._ws:
                if isinstance(message, bytes):
                    log.warning("TrueNAS sent a binary frame; ignored")
                    continue
                try:
                    self._dispatch(message)
                except Exception:  # a bad frame must not kill the reader (and every call with it)
                    log.exception("cannot handle a message from TrueNAS")
        except ConnectionClosed as exc:
            reason = _describe_close(exc)
        except Exception as exc:
            reason = f"reader failed: {exc!r}"
            log.exception("TrueNAS connection reader failed")
        else:
            if self._ws.close_code is not None:
                reason = (
                    f"closed by TrueNAS (code {self._ws.close_code} {self._ws.close_reason or ''})".strip()
                )
        finally:
            self._mark_lost(reason)

    def _dispatch(self, text: str) -> None:
        if '"$' not in text:
            message = json.loads(text)
            decoded = True
        elif self._raw_pending:
            # A raw call is waiting: decode markers only once we know the answer is not for it.
            message = json.loads(text)
            decoded = False
        else:
            message = json.loads(text, object_hook=ejson.object_hook)
            decoded = True
        if type(message) is not dict:
            log.warning("TrueNAS sent a non-object JSON message; ignored")
            return
        msg_id = message.get("id")
        if msg_id is not None:
            entry = self._pending.get(msg_id)
            if entry is None or entry.future.done():
                return  # the caller timed out or was cancelled; the late answer has nobody to go to
            if "error" in message and message["error"] is not None:
                entry.future.set_exception(rpc_error(entry.method, message["error"]))
            else:
                result = message.get("result")
                if not decoded and not entry.raw:
                    result = ejson.from_ejson(result)
                entry.future.set_result(result)
            return
        method = message.get("method")
        if isinstance(method, str):
            params = message.get("params")
            if not decoded:
                params = ejson.from_ejson(params)
            if self._on_notification is not None:
                self._on_notification(method, params)
        elif "error" in message:
            log.warning("TrueNAS reported an error for no request: %s", message["error"])

    def _mark_lost(self, reason: str) -> None:
        if self._lost is not None:
            return
        self._lost = ConnectionLostError(f"TrueNAS connection lost: {reason}; retry the call")
        for entry in self._pending.values():
            if not entry.future.done():
                entry.future.set_exception(
                    ConnectionLostError(f"{entry.method}: connection lost while in flight ({reason}); retry")
                )
        self._closed.set()

    async def close(self) -> None:
        self._mark_lost("closed by the client")
        await self._ws.close()
        if self._reader is not None and self._reader is not asyncio.current_task():
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


def _describe_close(exc: ConnectionClosed) -> str:
    frame = exc.rcvd
    if frame is None:
        return "socket closed without a close frame"
    return f"closed by TrueNAS (code {frame.code}{': ' + frame.reason if frame.reason else ''})"
