"""The JSON-RPC 2.0 WebSocket endpoint (``/api/current``, ``/api/v25.04.2``): ``ws_handler/rpc.py``.

Frame limits, request checks, the per-connection call limit, error shapes and notifications follow the
25.04.2 middleware. Calls run concurrently (answers may come out of order, as on the real box); every
outgoing frame goes through one writer queue so frames never interleave and events keep their order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Mapping
from typing import Any, Protocol

from jsonschema import Draft202012Validator

from truenas_mcp import ejson
from truenas_mcp.sim.api import Session
from truenas_mcp.sim.errors import error_data
from truenas_mcp.sim.faults import Faults
from truenas_mcp.wire import (
    INTERNAL_ERROR,
    INVALID_JSON,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    TOO_MANY_CONCURRENT_CALLS,
)

ASGIReceive = Any
ASGISend = Any

UNAUTHENTICATED_MAX = 8192
AUTHENTICATED_MAX = 65536
LARGE_MESSAGE_METHODS = frozenset({"filesystem.file_receive", "failover.datastore.sql"})
LARGE_MESSAGE_MAX = 2 * 1024 * 1024
CONCURRENT_CALLS = 10  # utils/lock.py SoftHardSemaphore: 10 run at once ...
MAX_CALLS_IN_FLIGHT = 20  # ... and at most 20 running or waiting

_REQUEST_SCHEMA = {
    "type": "object",
    "properties": {
        "jsonrpc": {"enum": ["2.0"]},
        "id": {"type": ["null", "integer", "string"]},
        "method": {"type": "string"},
        "params": {"type": "array"},
    },
    "required": ["jsonrpc", "method"],
}
_REQUEST_VALIDATOR = Draft202012Validator(_REQUEST_SCHEMA)


class MethodNotFoundError(Exception):
    """The name is neither in the recording nor one of the private methods."""


class Host(Protocol):
    """What a connection needs of the simulator that accepted it (``server.Simulator`` is one)."""

    faults: Faults
    loopback_is_secure: bool
    connections: set[Connection]

    def method_exists(self, method: str) -> bool: ...

    async def execute(self, conn: Connection, method: str, params: list[Any]) -> Any: ...


class CloseConnectionError(Exception):
    """Close the socket with ``code``/``reason`` (frame limits, bad frames, injected drops)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Connection:
    """One WebSocket session of either protocol; events reach it through ``deliver_*``."""

    def __init__(self, sim: Host, scope: Mapping[str, Any], send: ASGISend | None) -> None:
        client = scope.get("client") or ("127.0.0.1", 0)
        self.sim = sim
        self.remote_addr = str(client[0])
        secure = scope.get("scheme") in {"wss", "https"} or (
            sim.loopback_is_secure and _is_loopback(self.remote_addr)
        )
        self.session = Session(id=str(uuid.uuid4()), remote_addr=self.remote_addr, secure_transport=secure)
        self.subscriptions: dict[str, str] = {}  # subscription id → event name
        self.received = 0
        self.py_exceptions = False  # core.set_options; kept for fidelity, pickled exceptions are not sent
        self._send: Any = send
        self._outbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()
        self._semaphore = asyncio.Semaphore(CONCURRENT_CALLS)

    async def execute_limited(self, method: str, params: list[Any]) -> Any:
        """Run a call in one of the connection's 10 slots (``utils/lock.py``), after any injected delay."""
        async with self._semaphore:
            if self.sim.faults.delay_seconds:  # a slow method holds its slot, as a real one does
                await asyncio.sleep(self.sim.faults.delay_seconds)
            return await self.sim.execute(self, method, params)

    # -- outgoing ----------------------------------------------------------------------------------------
    def queue_frame(self, frame: dict[str, Any]) -> None:
        self._outbox.put_nowait(("text", frame))

    def queue_close(self, code: int, reason: str) -> None:
        self._outbox.put_nowait(("close", (code, reason)))

    async def _writer(self) -> None:
        while True:
            kind, payload = await self._outbox.get()
            if kind == "close":
                code, reason = payload
                await self._send({"type": "websocket.close", "code": code, "reason": reason})
                return
            try:
                text = ejson.dumps(payload, separators=(",", ":"))
            except (TypeError, ValueError) as exc:  # the server's own -32603 for unencodable results
                text = json.dumps(
                    {
                        "jsonrpc": "2.0",
                        "id": payload.get("id"),
                        "error": {"code": INTERNAL_ERROR, "message": str(exc)},
                    }
                )
            await self._send({"type": "websocket.send", "text": text})

    def deliver_event(self, collection: str, msg: str, id: Any, fields: dict[str, Any] | None) -> None:
        params: dict[str, Any] = {"msg": msg, "collection": collection, "id": id}
        if fields is not None and msg != "removed":
            params["fields"] = fields
        self.queue_frame({"jsonrpc": "2.0", "method": "collection_update", "params": params})

    def deliver_unsubscribed(self, collection: str, error: dict[str, Any] | None) -> None:
        self.queue_frame(
            {
                "jsonrpc": "2.0",
                "method": "notify_unsubscribed",
                "params": {"collection": collection, "error": error},
            }
        )

    # -- incoming ----------------------------------------------------------------------------------------
    def check_frame(self, message: dict[str, Any]) -> str:
        """The text of a received frame, or ``CloseConnectionError`` for what the server refuses."""
        text = message.get("text")
        if text is None:
            raise CloseConnectionError(1003, "Only text frames are supported")
        self.received += 1
        drop_after = self.sim.faults.drop_after_messages
        if drop_after is not None and self.received > drop_after:
            raise CloseConnectionError(1011, "Connection dropped (injected fault)")
        size = len(text) if text.isascii() else len(text.encode("utf-8"))
        if not self.session.authenticated:
            if size > UNAUTHENTICATED_MAX:
                raise CloseConnectionError(1007, "Anonymous connection max message length is 8 kB")
        elif size > AUTHENTICATED_MAX and (
            size > LARGE_MESSAGE_MAX or _method_of(text) not in LARGE_MESSAGE_METHODS
        ):
            raise CloseConnectionError(1009, "Max message length is 64 kB")
        return text

    async def serve(self, receive: ASGIReceive) -> None:
        await self._send({"type": "websocket.accept"})
        writer = asyncio.create_task(self._writer())
        self.sim.connections.add(self)
        closing = False
        try:
            while not writer.done():
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    break
                if message["type"] != "websocket.receive":
                    continue
                try:
                    self.on_text(self.check_frame(message))
                except CloseConnectionError as close:
                    self.queue_close(close.code, close.reason)
                    closing = True
                    break
            if closing:  # let the writer flush earlier answers and send the close frame
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(writer), timeout=5)
        finally:
            self.sim.connections.discard(self)
            for task in list(self._tasks):
                task.cancel()
            writer.cancel()

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def on_text(self, text: str) -> None:
        raise NotImplementedError


def _method_of(text: str) -> str | None:
    """The method a large frame calls: only two methods may send up to 2 MiB (``utils/limits.py``)."""
    try:
        message = json.loads(text)
    except ValueError:
        return None
    return message.get("method") if isinstance(message, dict) else None


def _is_loopback(addr: str) -> bool:
    return addr == "::1" or addr.startswith("127.") or addr == "localhost"


class RpcConnection(Connection):
    """A ``/api/current`` JSON-RPC 2.0 session."""

    def __init__(self, sim: Host, scope: dict[str, Any], send: ASGISend) -> None:
        super().__init__(sim, scope, send)
        self._in_flight = 0

    def _error(self, id_: Any, code: int, message: str, data: Any = None) -> None:
        error: dict[str, Any] = {"code": code, "message": message}
        if data is not None:
            error["data"] = data
        self.queue_frame({"jsonrpc": "2.0", "id": id_, "error": error})

    def on_text(self, text: str) -> None:
        try:
            request = ejson.loads(text)
        except ValueError as exc:
            self._error(None, INVALID_JSON, str(exc))
            return
        if isinstance(request, list):
            self._error(None, INVALID_JSON, "Batch messages are not supported at this time")
            return
        problem = next(iter(_REQUEST_VALIDATOR.iter_errors(request)), None)
        if problem is not None:
            self._error(
                request.get("id") if isinstance(request, dict) else None, INVALID_REQUEST, problem.message
            )
            return
        id_ = request.get("id")
        notify = "id" not in request
        method = request["method"]
        if not self.sim.method_exists(method):
            if not notify:
                self._error(id_, METHOD_NOT_FOUND, "Method does not exist")
            return
        if self._in_flight >= MAX_CALLS_IN_FLIGHT:
            if not notify:
                self._error(
                    id_,
                    TOO_MANY_CONCURRENT_CALLS,
                    f"Maximum number of concurrent calls ({MAX_CALLS_IN_FLIGHT}) has exceeded",
                )
            return
        self._in_flight += 1
        self.spawn(self._call(id_, notify, method, request.get("params", [])))

    async def _call(self, id_: Any, notify: bool, method: str, params: list[Any]) -> None:
        try:
            result = await self.execute_limited(method, params)
        except asyncio.CancelledError:
            raise
        except MethodNotFoundError:
            answer: dict[str, Any] = {
                "jsonrpc": "2.0",
                "id": id_,
                "error": {"code": METHOD_NOT_FOUND, "message": "Method does not exist"},
            }
        except Exception as exc:
            code, message, data = error_data(exc)
            answer = {"jsonrpc": "2.0", "id": id_, "error": {"code": code, "message": message, "data": data}}
        else:
            answer = {"jsonrpc": "2.0", "result": result, "id": id_}
        finally:
            self._in_flight -= 1
        if not notify:
            self.queue_frame(answer)
