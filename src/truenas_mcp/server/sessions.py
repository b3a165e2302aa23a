"""2025-11-25 sessions: a cap per principal as well as the global one, and a bounded idle time.

The SDK's session manager caps the sessions of a whole process (``max_sessions``) and closes idle ones
(``session_idle_timeout``); both come from the settings. A global cap alone lets one token fill it and
lock every other caller out, so ``CappedSessionManager`` also counts sessions per principal (token issuer
and subject; one shared bucket for unauthenticated development servers) and refuses the principal's next
one with 429 while the rest of the callers keep opening theirs.

Sessions live in the memory of the replica that opened them, so the caps are per replica too. Deployments
with several replicas run stateless (no sessions) and the caps do not apply there; see deploy/README.md.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator
from typing import Any

import anyio
from mcp.server.auth.middleware.bearer_auth import (
    AuthenticatedUser,
    AuthorizationContext,
    authorization_context,
)
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER, StreamableHTTPServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("truenas_mcp.server.sessions")

_ANONYMOUS = "anonymous"


def principal_key(requestor: AuthorizationContext | None) -> str:
    """Who owns a session, as the SDK records it: the token's issuer and subject (client as fallback)."""
    if requestor is None:
        return _ANONYMOUS
    who = requestor.get("subject") or requestor.get("client_id") or _ANONYMOUS
    return f"{requestor.get('issuer') or ''}\n{who}"


def scope_principal(scope: Scope) -> str:
    user = scope.get("user")
    return principal_key(authorization_context(user) if isinstance(user, AuthenticatedUser) else None)


class CappedSessionManager(StreamableHTTPSessionManager):
    """The SDK's manager with ``per_principal`` sessions at most for any one principal."""

    def __init__(self, *args: Any, per_principal: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.per_principal = per_principal
        self._by_principal: dict[str, set[str]] = {}
        self._owner_of: dict[str, str] = {}
        self._client_names: dict[str, str] = {}

    def open_sessions(self, principal: str) -> int:
        return len(self._by_principal.get(principal, ()))

    def _admit_session(self, requestor: AuthorizationContext | None) -> StreamableHTTPServerTransport | None:
        # Called under the SDK's session-creation lock, so counting and admitting are one step.
        principal = principal_key(requestor)
        if self.open_sessions(principal) >= self.per_principal:
            return None
        transport = super()._admit_session(requestor)
        if transport is not None and transport.mcp_session_id is not None:
            self._by_principal.setdefault(principal, set()).add(transport.mcp_session_id)
            self._owner_of[transport.mcp_session_id] = principal
        return transport

    def note_client(self, session_id: str, name: str) -> None:
        """The ``clientInfo.name`` the session's initialize request gave (for the audit log)."""
        if session_id in self._server_instances:
            self._client_names[session_id] = name

    def client_name(self, session_id: str) -> str | None:
        return self._client_names.get(session_id)

    def hold(
        self, session_id: str, requestor: AuthorizationContext | None
    ) -> contextlib.AbstractContextManager[None] | None:
        """Keep a live session of ``requestor`` busy while a request is answered outside its transport.

        ``None`` when the id names no live session of this caller (the SDK then answers 404 itself).
        While held, the session's idle countdown is suspended exactly as the SDK's transport suspends it
        for a request it serves (``StreamableHTTPServerTransport.handle_request`` in mcp 2.3.0).
        """
        transport = self._server_instances.get(session_id)
        if transport is None or transport.is_terminated or requestor != self._session_owners.get(session_id):
            return None
        scope = transport.idle_scope
        if scope is not None and scope.cancel_called:
            return None
        return _busy(transport)

    async def _discard_session(self, session_id: str, transport: StreamableHTTPServerTransport) -> None:
        self._client_names.pop(session_id, None)
        principal = self._owner_of.pop(session_id, None)
        if principal is not None:
            sessions = self._by_principal.get(principal)
            if sessions is not None:
                sessions.discard(session_id)
                if not sessions:
                    del self._by_principal[principal]
        await super()._discard_session(session_id, transport)


@contextlib.contextmanager
def _busy(transport: StreamableHTTPServerTransport) -> Iterator[None]:
    scope, timeout = transport.idle_scope, transport._idle_timeout
    if scope is None or timeout is None:
        yield
        return
    transport._requests_in_flight += 1
    scope.deadline = math.inf
    try:
        yield
    finally:
        transport._requests_in_flight -= 1
        if not transport._requests_in_flight:
            scope.deadline = anyio.current_time() + timeout


class SessionCapMiddleware:
    """429 with a clear message for a request that would open a session its principal has no room for.

    The manager enforces the cap atomically (a race past this check gets the SDK's 503); this check only
    gives the usual case an answer that says what happened and what to do.
    """

    def __init__(self, app: ASGIApp, manager: CappedSessionManager, *, protected: str = "/mcp") -> None:
        self.app = app
        self._manager = manager
        self._protected = protected

    def _opens_session(self, scope: Scope) -> bool:
        """A stateful 2025-11-25 POST without a session id (2026-07-28 requests open no session)."""
        if self._manager.stateless or not str(scope.get("path", "")).startswith(self._protected):
            return False
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        version = headers.get(MCP_PROTOCOL_VERSION_HEADER.lower())
        if version is not None and version not in HANDSHAKE_PROTOCOL_VERSIONS:
            return False
        return MCP_SESSION_ID_HEADER not in headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "POST" and self._opens_session(scope):
            principal = scope_principal(scope)
            if self._manager.open_sessions(principal) >= self._manager.per_principal:
                log.warning("session cap of a principal reached", extra={"cap": self._manager.per_principal})
                body = {
                    "error": "too_many_sessions",
                    "error_description": (
                        f"this caller already has {self._manager.per_principal} open sessions "
                        "(max_sessions_per_principal); end one (HTTP DELETE) or let it expire"
                    ),
                }
                await JSONResponse(body, status_code=429)(scope, receive, send)
                return
        await self.app(scope, receive, send)
