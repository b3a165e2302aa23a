"""Direct answers: a ``tools/call`` that needs no stream is answered as one JSON body, here.

Most calls are a read that becomes one TrueNAS call and one answer. For those the SDK's per-request
machinery (a task per request, memory streams between transport and session, an SSE stream for a single
event on 2025-11-25, re-validating and re-serialising the answer) costs more than everything else on the
path. A call is answered directly when nothing about it can need more than one JSON body
(:func:`needs_sdk`): no progress token, not a job or download, not a tool that may ask for confirmation
(elicitation and 2026-07-28 input requests stay with the SDK), not a continuation carrying
``requestState``. It runs through the same :meth:`ToolRuntime.call` as every other call (chain,
validation, authorization, audit, metrics, shaping), and the reply is encoded once: the structured
content is the very JSON text of the text block (:class:`~truenas_mcp.server.results.ToolResult`).

Everything else — initialize, tools/list, notifications, GET streams, DELETE, and every request the
checks below have any doubt about, malformed ones included — goes to the SDK unchanged, with the body
already read handed back to it, so its answers and errors stay the SDK's own.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, authorization_context
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER, check_accept_headers
from mcp.shared.inbound import (
    MCP_PARAM_HEADER_PREFIX,
    InboundModernRoute,
    classify_inbound_request,
    find_duplicated_routing_header,
)
from mcp_types import INTERNAL_ERROR, SERVER_INFO_META_KEY
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from truenas_mcp.catalog import Catalog
from truenas_mcp.server import presentation, shaping
from truenas_mcp.server.access import principal_of
from truenas_mcp.server.context import CallContext
from truenas_mcp.server.inflight import AnswerBudget, AnswerLease
from truenas_mcp.server.profiles import Profile
from truenas_mcp.server.results import ToolResult
from truenas_mcp.server.sessions import CappedSessionManager

log = logging.getLogger("truenas_mcp.server.direct")

_PARAM_HEADER = MCP_PARAM_HEADER_PREFIX.lower()
_SESSION_HEADER = MCP_SESSION_ID_HEADER.lower()
# Request params a plain call may carry; anything else (requestState, inputResponses, task options)
# belongs to a protocol feature the SDK implements.
_PLAIN_PARAMS = frozenset({"name", "arguments", "_meta"})

CallFn = Callable[[CallContext, str, Mapping[str, Any] | None], Awaitable[dict[str, Any]]]
PrepareFn = Callable[[Scope, str, dict[str, Any] | None], dict[str, Any] | ToolResult | None]


def needs_sdk(catalog: Catalog, request: Any) -> bool:
    """Whether a decoded request body needs more than one JSON answer, or is not a plain tool call.

    The one place that decides which calls are answered directly.
    """
    if not isinstance(request, dict) or request.get("jsonrpc") != "2.0":
        return True
    if request.get("method") != "tools/call":
        return True
    request_id = request.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, str | int):
        return True
    params = request.get("params")
    if not isinstance(params, dict) or not _PLAIN_PARAMS.issuperset(params):
        return True
    meta = params.get("_meta")
    if meta is not None and (not isinstance(meta, dict) or "progressToken" in meta):
        return True
    arguments = params.get("arguments")
    if arguments is not None and not isinstance(arguments, dict):
        return True
    tool = catalog.by_name.get(params.get("name"))  # type: ignore[arg-type]
    if tool is None:
        return True  # the server's own tools (discovery, jobs) and unknown names
    policy = tool.policy
    return policy.job or policy.pipe is not None or presentation.may_confirm(policy)


class DirectAnswers:
    """Answers plain tool calls of both protocol eras without the SDK's request machinery."""

    def __init__(
        self,
        catalog: Catalog,
        manager: CappedSessionManager,
        call: CallFn,
        prepare: PrepareFn,
        server_info: Any,
        answers: AnswerBudget,
    ) -> None:
        self._answers = answers
        self._catalog = catalog
        self._manager = manager
        self._call = call
        self._prepare = prepare
        self._server_info = server_info

    async def __call__(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        profile: Profile,
        sdk: Callable[[Scope, Receive, Send], Awaitable[None]],
    ) -> None:
        """Answer the request, or hand it to ``sdk`` exactly as it came."""
        if scope.get("method") != "POST":
            await sdk(scope, receive, send)
            return
        body, receive = await _read_body(receive)
        if body is None:
            await sdk(scope, receive, send)
            return
        try:
            decoded = orjson.loads(body)
        except orjson.JSONDecodeError:
            decoded = None
        request = Request(scope)
        if decoded is None or needs_sdk(self._catalog, decoded) or not self._plain_http(request):
            if isinstance(decoded, dict) and decoded.get("method") == "initialize":
                send = self._noting_client(decoded, send)
            await sdk(scope, receive, send)
            return
        version = request.headers.get("mcp-protocol-version")
        if version in MODERN_PROTOCOL_VERSIONS:
            await self._modern(scope, receive, send, profile, decoded, request, sdk)
        else:
            await self._legacy(scope, receive, send, profile, decoded, request, sdk)

    def _noting_client(self, decoded: dict[str, Any], send: Send) -> Send:
        """``send`` that remembers the client's name for the session its initialize answer opens."""
        params = decoded.get("params")
        info = params.get("clientInfo") if isinstance(params, dict) else None
        name = info.get("name") if isinstance(info, dict) else None
        if not isinstance(name, str):
            return send
        manager = self._manager

        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start":
                for key, value in message.get("headers", []):
                    if key.lower() == b"mcp-session-id":
                        manager.note_client(value.decode("latin-1"), name)
            await send(message)

        return noting

    def _plain_http(self, request: Request) -> bool:
        has_json, _ = check_accept_headers(request)
        content_type = request.headers.get("content-type", "")
        if not has_json or not content_type.lower().startswith("application/json"):
            return False
        headers = request.headers
        return not any(name.startswith(_PARAM_HEADER) for name in headers) and (
            find_duplicated_routing_header(headers.items()) is None
        )

    async def _modern(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        profile: Profile,
        decoded: dict[str, Any],
        request: Request,
        sdk: Callable[[Scope, Receive, Send], Awaitable[None]],
    ) -> None:
        verdict = classify_inbound_request(decoded, headers=dict(request.headers))
        if not isinstance(verdict, InboundModernRoute):
            await sdk(scope, receive, send)  # the SDK words the rejection
            return
        info = verdict.client_info
        name = info.get("name") if isinstance(info, Mapping) else None
        client = name if isinstance(name, str) else None
        with self._answers.lease() as lease:
            result = await self._run(scope, profile, decoded, client, lease)
            if result is not None:
                result.setdefault("resultType", "complete")
                meta = result.get("_meta")
                stamped = dict(meta) if isinstance(meta, dict) else {}
                stamped[SERVER_INFO_META_KEY] = self._server_info
                result["_meta"] = stamped
            await _reply(send, decoded["id"], result, [])

    async def _legacy(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        profile: Profile,
        decoded: dict[str, Any],
        request: Request,
        sdk: Callable[[Scope, Receive, Send], Awaitable[None]],
    ) -> None:
        session_id = request.headers.get(_SESSION_HEADER)
        user = scope.get("user")
        requestor = authorization_context(user) if isinstance(user, AuthenticatedUser) else None
        held = self._manager.hold(session_id, requestor) if session_id is not None else None
        if held is None:
            await sdk(scope, receive, send)  # no session, someone else's, or ending: the SDK answers
            return
        assert session_id is not None
        with held, self._answers.lease() as lease:
            client = self._manager.client_name(session_id)
            result = await self._run(scope, profile, decoded, client, lease)
            await _reply(send, decoded["id"], result, [(b"mcp-session-id", session_id.encode("latin-1"))])

    async def _run(
        self,
        scope: Scope,
        profile: Profile,
        decoded: dict[str, Any],
        client: str | None,
        lease: AnswerLease,
    ) -> dict[str, Any] | None:
        """The call's result; ``None`` when it failed in a way the SDK reports as an internal error."""
        params = decoded["params"]
        name: str = params["name"]
        context = CallContext(
            profile=profile,
            principal=principal_of(scope),
            client_name=client,
            one_encoding=True,
            lease=lease,
        )
        try:
            arguments = self._prepare(scope, name, params.get("arguments"))
            if isinstance(arguments, ToolResult):
                return arguments  # the arguments could not be read in the URL's schema family
            return await self._call(context, name, arguments)
        except Exception:
            log.exception("tool call failed inside the server", extra={"tool": name})
            return None


async def _read_body(receive: Receive) -> tuple[bytes | None, Receive]:
    """The whole request body, and a ``receive`` that hands it out again before the live one."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            # The client went away before its body arrived: let the SDK see exactly that.
            replay = [message]
            return None, _replaying(replay, receive)
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    return body, _replaying([{"type": "http.request", "body": body, "more_body": False}], receive)


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    async def again() -> Message:
        if messages:
            return messages.pop(0)
        return await receive()

    return again


def _encode(request_id: str | int, result: dict[str, Any] | None) -> bytes:
    if result is None:
        error = {"code": INTERNAL_ERROR, "message": "Internal error"}
        return orjson.dumps({"jsonrpc": "2.0", "id": request_id, "error": error})
    if isinstance(result, ToolResult) and result.structured_json is not None:
        # The text block is the structured content's own JSON: embed that text instead of encoding the
        # same rows a second time.
        result = {**result, "structuredContent": orjson.Fragment(result.structured_json)}
    return shaping.dumps_bytes({"jsonrpc": "2.0", "id": request_id, "result": result})


async def _reply(
    send: Send, request_id: str | int, result: dict[str, Any] | None, headers: list[tuple[bytes, bytes]]
) -> None:
    body = _encode(request_id, result)
    start_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode("ascii")),
        *headers,
    ]
    await send({"type": "http.response.start", "status": 200, "headers": start_headers})
    await send({"type": "http.response.body", "body": body})
