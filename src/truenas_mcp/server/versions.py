"""An unsupported ``MCP-Protocol-Version`` header is answered as exactly that, before anything else.

Without this check the SDK judges the request envelope first, so a client speaking a revision this
server does not know is told about missing ``_meta`` keys rather than about its version. The answer is
the one 2026-07-28 defines: HTTP 400 with JSON-RPC error -32022 and the supported versions.
"""

from __future__ import annotations

import json

from mcp_types.jsonrpc import UNSUPPORTED_PROTOCOL_VERSION
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS
from starlette.types import ASGIApp, Receive, Scope, Send

HEADER = b"mcp-protocol-version"
SUPPORTED: tuple[str, ...] = (*HANDSHAKE_PROTOCOL_VERSIONS, *MODERN_PROTOCOL_VERSIONS)


class ProtocolVersionMiddleware:
    """Refuses requests to the MCP routes whose ``MCP-Protocol-Version`` this server does not speak."""

    def __init__(self, app: ASGIApp, *, prefix: str = "/mcp") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        requested = next((v for k, v in scope.get("headers", []) if k == HEADER), None)
        version = requested.decode("latin-1").strip() if requested is not None else None
        if version is None or version in SUPPORTED:
            await self.app(scope, receive, send)
            return
        body = json.dumps(
            {
                "jsonrpc": "2.0",
                "id": None,
                "error": {
                    "code": UNSUPPORTED_PROTOCOL_VERSION,
                    "message": (
                        f"unsupported MCP-Protocol-Version {version!r}; this server speaks "
                        + ", ".join(SUPPORTED)
                    ),
                    "data": {"supported": list(SUPPORTED), "requested": version},
                },
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
