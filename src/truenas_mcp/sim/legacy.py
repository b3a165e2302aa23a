"""The legacy DDP-style ``/websocket`` endpoint (``apps/websocket_app.py``) older clients still speak.

``connect`` → ``connected``; ``method`` → ``result`` (or ``error`` with the middleware's legacy error object);
``sub`` → ``ready``/``nosub``; events as ``added|changed|removed`` messages. Invalid JSON closes the socket
with 1007. There is no ``ping`` message handler (clients call ``core.ping``). The calls share the JSON-RPC
endpoint's call path, so authentication, roles, validation and jobs behave the same.
"""

from __future__ import annotations

import asyncio
import errno
import uuid
from typing import Any, Protocol

from truenas_mcp import ejson
from truenas_mcp.sim.core_methods import CoreMethods
from truenas_mcp.sim.errors import CallError, ValidationErrors, error_data
from truenas_mcp.sim.protocol import CloseConnectionError, Connection, Host, MethodNotFoundError
from truenas_mcp.wire import ENOMETHOD


def legacy_error(exc: BaseException) -> dict[str, Any]:
    """``{"error": errno, "errname", "type": null|"VALIDATION", "reason", "trace", "extra"}``."""
    data = error_data(exc)[2]
    return {
        "error": data["error"],
        "errname": data["errname"],
        "type": "VALIDATION" if isinstance(exc, ValidationErrors) else None,
        "reason": data["reason"],
        "trace": data["trace"],
        "extra": data["extra"],
    }


class LegacyHost(Host, Protocol):
    """What a ``/websocket`` session needs of the simulator: subscriptions are checked by ``core``."""

    core: CoreMethods


class LegacyConnection(Connection):
    """One ``/websocket`` session."""

    def __init__(self, sim: LegacyHost, scope: dict[str, Any], send: Any) -> None:
        super().__init__(sim, scope, send)
        self.host = sim
        self.connected = False
        self.features: list[str] = []

    def deliver_event(self, collection: str, msg: str, id: Any, fields: dict[str, Any] | None) -> None:
        frame: dict[str, Any] = {"msg": msg, "collection": collection, "id": id}
        if fields is not None and msg != "removed":
            frame["fields"] = fields
        self.queue_frame(frame)

    def deliver_unsubscribed(self, collection: str, error: dict[str, Any] | None) -> None:
        frame: dict[str, Any] = {"msg": "nosub", "collection": collection}
        if error is not None:
            frame["error"] = error
        self.queue_frame(frame)

    def on_text(self, text: str) -> None:
        try:
            message = ejson.loads(text)
        except ValueError as exc:
            raise CloseConnectionError(1007, f"Invalid JSON: {exc}") from exc
        if not isinstance(message, dict):
            raise CloseConnectionError(1007, "Message must be a JSON object")
        kind = message.get("msg")
        if kind == "connect":
            if message.get("version") != "1":
                self.queue_frame({"msg": "failed", "version": "1"})
                return
            self.connected = True
            self.features = [f for f in message.get("features") or [] if isinstance(f, str)]
            self.queue_frame({"msg": "connected", "session": self.session.id})
            return
        if not self.connected:
            self.queue_frame({"msg": "failed", "version": "1"})
            return
        if kind == "method":
            params = message.get("params", [])
            if not isinstance(params, list):
                params = [params]
            self.spawn(self._call(message.get("id"), str(message.get("method")), params))
        elif kind == "sub":
            self._sub(message.get("id"), message.get("name"))
        elif kind == "unsub":
            self.subscriptions.pop(str(message.get("id")), None)

    def _sub(self, ident: Any, name: Any) -> None:
        try:
            if not isinstance(name, str):
                raise CallError("name: subscription name must be a string", errno.EINVAL)
            self.host.core.authorize_subscription(self.session, name)
        except CallError as exc:
            self.queue_frame({"msg": "nosub", "id": ident, "error": legacy_error(exc)})
            return
        self.subscriptions[str(ident) if ident is not None else str(uuid.uuid4())] = name
        self.queue_frame({"msg": "ready", "subs": [ident]})

    async def _call(self, ident: Any, method: str, params: list[Any]) -> None:
        try:
            result = await self.execute_limited(method, params)
        except asyncio.CancelledError:
            raise
        except MethodNotFoundError:
            error = CallError(f"Method {method!r} not found", ENOMETHOD)
            answer: dict[str, Any] = {"id": ident, "msg": "result", "error": legacy_error(error)}
        except Exception as exc:
            answer = {"id": ident, "msg": "result", "error": legacy_error(exc)}
        else:
            answer = {"id": ident, "msg": "result", "result": result}
        self.queue_frame(answer)
