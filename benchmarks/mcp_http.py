"""A lean MCP client over streamable HTTP, for load generation.

The load generator shares two cores with the servers it measures, so every microsecond it spends is taken
from them. This client is plain asyncio streams and one keep-alive HTTP/1.1 connection per MCP session:
no HTTP library, no background tasks, no GET event stream. It speaks either protocol era:

* ``SESSION_ERA`` (2025-11-25): ``initialize``, ``notifications/initialized``, then ``Mcp-Session-Id`` and
  the negotiated ``MCP-Protocol-Version`` on every request (a server that knows only an older revision
  answers ``initialize`` with that one, and the client then speaks it);
* ``EXCHANGE_ERA`` (2026-07-28): no ``initialize`` and no session; every request carries the version
  header, ``Mcp-Method`` (and ``Mcp-Name`` for ``tools/call``) and the ``_meta`` envelope the SDK's
  ``classify_inbound_request`` requires (protocol version, client capabilities, client info).

Answers are read as JSON or as a server-sent event stream, whichever the server chose for that request.

It is the same client for our server and for the peer, so neither is favoured by the client's costs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

SESSION_ERA = "2025-11-25"
EXCHANGE_ERA = "2026-07-28"
ERAS = (SESSION_ERA, EXCHANGE_ERA)
_CLIENT_INFO = {"name": "truenas-mcp-bench", "version": "1"}
# The envelope keys of mcp_types (PROTOCOL_VERSION_META_KEY, ...): spelled out so load workers need not
# import the SDK, whose import alone costs more than the calls of a short cell.
_META = {
    "io.modelcontextprotocol/protocolVersion": EXCHANGE_ERA,
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": _CLIENT_INFO,
}
_MAX_HEADER_LINES = 100


class MCPHTTPError(RuntimeError):
    """The server answered with an HTTP or JSON-RPC error, or something that is not an MCP answer."""


@dataclass(slots=True)
class _Response:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class MCPSession:
    """One MCP client on one connection (a session in ``SESSION_ERA``). Requests are sent one at a time
    (like a client with one conversation); open several for concurrency."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 60.0
    era: str = SESSION_ERA
    session_id: str | None = None
    protocol_version: str | None = None  # sent on every request after initialize (or always, 2026)
    server_info: dict[str, Any] = field(default_factory=dict)
    _host: str = ""
    _port: int = 0
    _path: str = "/"
    _reader: asyncio.StreamReader | None = None
    _writer: asyncio.StreamWriter | None = None
    _next_id: int = 0

    async def __aenter__(self) -> MCPSession:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"url: expected http://HOST:PORT/PATH, got {self.url!r}")
        self._host = parts.hostname
        self._port = parts.port or 80
        self._path = parts.path or "/"
        if self.era not in ERAS:
            raise ValueError(f"era: expected one of {', '.join(ERAS)}, got {self.era!r}")
        self._reader, self._writer = await asyncio.wait_for(
            asyncio.open_connection(self._host, self._port), self.timeout
        )
        if self.era == EXCHANGE_ERA:
            self.protocol_version = EXCHANGE_ERA
            return
        init = await self.request(
            "initialize",
            {"protocolVersion": self.era, "capabilities": {}, "clientInfo": _CLIENT_INFO},
        )
        self.server_info = init
        self.protocol_version = str(init.get("protocolVersion") or self.era)
        await self._post({"jsonrpc": "2.0", "method": "notifications/initialized"})

    async def close(self) -> None:
        writer = self._writer
        if writer is None:
            return
        if self.session_id is not None:
            # Ending the session frees its state on the server; a server that ignores DELETE is fine too.
            with contextlib.suppress(OSError, MCPHTTPError, TimeoutError):
                await asyncio.wait_for(self._send("DELETE", b""), 5)
        self._writer = None
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ``result`` of one JSON-RPC request; JSON-RPC errors raise ``MCPHTTPError``."""
        self._next_id += 1
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": self._next_id, "method": method}
        extra: list[str] = []
        if self.era == EXCHANGE_ERA:
            params = {**(params or {}), "_meta": _META}
            extra.append(f"Mcp-Method: {method}")
            if method == "tools/call":
                extra.append(f"Mcp-Name: {params['name']}")
        if params is not None:
            message["params"] = params
        response = await self._post(message, extra)
        answer = _answer(response, self._next_id)
        if "error" in answer:
            raise MCPHTTPError(f"{method}: JSON-RPC error {answer['error']}")
        result = answer.get("result")
        if not isinstance(result, dict):
            raise MCPHTTPError(f"{method}: result is not an object: {result!r:.200}")
        return result

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """A ``tools/call`` result; a tool error (``isError``) raises, since a benchmark must not time
        failures as if they were answers."""
        result = await self.request("tools/call", {"name": name, "arguments": arguments})
        if result.get("isError"):
            text = "".join(str(block.get("text", "")) for block in result.get("content", []))
            raise MCPHTTPError(f"tool {name} failed: {text[:300]}")
        return result

    async def list_tools(self) -> list[dict[str, Any]]:
        """Every page of ``tools/list``."""
        tools: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(1000):  # bounded: a server that never ends its cursor chain is a failure
            result = await self.request("tools/list", {"cursor": cursor} if cursor else None)
            tools += result.get("tools", [])
            cursor = result.get("nextCursor")
            if not cursor:
                return tools
        raise MCPHTTPError("tools/list: more than 1000 pages")

    async def _post(self, message: dict[str, Any], extra: list[str] | None = None) -> _Response:
        body = json.dumps(message).encode()
        response = await asyncio.wait_for(self._send("POST", body, extra), self.timeout)
        if response.status >= 400:
            raise MCPHTTPError(f"HTTP {response.status}: {response.body[:300]!r}")
        session = response.headers.get("mcp-session-id")
        if session:
            self.session_id = session
        return response

    async def _send(self, verb: str, body: bytes, extra: list[str] | None = None) -> _Response:
        if self._reader is None or self._writer is None:
            raise MCPHTTPError("session is not open")
        head = [
            f"{verb} {self._path} HTTP/1.1",
            f"Host: {self._host}:{self._port}",
            "Content-Type: application/json",
            "Accept: application/json, text/event-stream",
            f"Content-Length: {len(body)}",
        ]
        if self.session_id is not None:
            head.append(f"Mcp-Session-Id: {self.session_id}")
        if self.protocol_version is not None:
            head.append(f"MCP-Protocol-Version: {self.protocol_version}")
        head += extra or []
        head += [f"{key}: {value}" for key, value in self.headers.items()]
        self._writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        await self._writer.drain()
        return await _read_response(self._reader)


async def _read_response(reader: asyncio.StreamReader) -> _Response:
    status_line = await reader.readline()
    parts = status_line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise MCPHTTPError(f"not an HTTP response: {status_line[:100]!r}")
    status = int(parts[1])
    headers: dict[str, str] = {}
    for _ in range(_MAX_HEADER_LINES):
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    else:
        raise MCPHTTPError("too many response header lines")
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readline()).split(b";", 1)[0], 16)
            if size == 0:
                await reader.readline()  # the empty trailer
                break
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(chunks)
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    return _Response(status, headers, body)


def _answer(response: _Response, request_id: int) -> dict[str, Any]:
    """The JSON-RPC answer to ``request_id`` in a JSON body or in an event stream's ``data`` lines."""
    kind = response.headers.get("content-type", "")
    if kind.startswith("application/json"):
        candidates = [json.loads(response.body)]
    elif kind.startswith("text/event-stream"):
        candidates = []
        for event in response.body.decode().split("\n\n"):
            data = "\n".join(
                line[5:].lstrip() for line in event.splitlines() if line.startswith("data:")
            ).strip()
            if data:
                candidates.append(json.loads(data))
    else:
        raise MCPHTTPError(f"unexpected content type {kind!r} (HTTP {response.status})")
    for message in candidates:
        if isinstance(message, dict) and message.get("id") == request_id:
            return message
    raise MCPHTTPError(f"no answer to request {request_id} in the response")
