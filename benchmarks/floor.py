"""The floor for an MCP server: raw uvicorn + starlette answering ``tools/call`` with the same TrueNAS call.

    python -m benchmarks.floor PORT   (TRUENAS_URL, TRUENAS_USERNAME, TRUENAS_API_KEY_FILE from the env)

One POST route, one shared ``TrueNASClient`` (answers undecoded: TrueNAS's JSON as it came), the answer
as an MCP tool result in a plain JSON body (text and structured content, as an MCP server must send
both), encoded by orjson, the fastest encoder the project installs. No authentication, no validation,
no session, no SSE: what an MCP server's HTTP stack costs at the least. uvicorn runs with its defaults,
which pick uvloop and httptools when they are installed.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from benchmarks import ops
from truenas_mcp.client import ClientConfig, TrueNASClient

BY_TOOL = {op.tool: op for op in ops.OPERATIONS.values()}


def app() -> Starlette:
    client: TrueNASClient | None = None

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        nonlocal client
        config = ClientConfig.build(
            url=os.environ["TRUENAS_URL"],
            username=os.environ["TRUENAS_USERNAME"],
            api_key=Path(os.environ["TRUENAS_API_KEY_FILE"]).read_text().strip(),
        )
        async with TrueNASClient(config) as client:
            yield

    async def call(request: Request) -> Response:
        message = orjson.loads(await request.body())
        op = BY_TOOL.get(str((message.get("params") or {}).get("name")))
        if message.get("method") != "tools/call" or op is None or client is None:
            error = {"code": -32601, "message": "the floor answers tools/call of the measured tools only"}
            return _json({"jsonrpc": "2.0", "id": message.get("id"), "error": error})
        answer: Any
        if op.job:
            answer = await client.call_job(op.method, *op.params)
        else:  # undecoded: TrueNAS's JSON as it came, the least an MCP server must do with it
            answer = await client.call(op.method, *op.params, decode=False)
        result = {
            "content": [{"type": "text", "text": _dumps(answer).decode()}],
            "structuredContent": {"result": answer},
        }
        return _json({"jsonrpc": "2.0", "id": message.get("id"), "result": result})

    return Starlette(routes=[Route("/mcp", call, methods=["POST"])], lifespan=lifespan)


def _plain(value: Any) -> Any:
    """JSON for sets a job's result holds decoded from ejson (orjson writes times itself)."""
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_plain)


def _json(body: dict[str, Any]) -> Response:
    return Response(_dumps(body), media_type="application/json")


def main(argv: list[str]) -> None:
    if len(argv) != 1 or not argv[0].isdigit():
        raise SystemExit("usage: python -m benchmarks.floor PORT")
    uvicorn.run(app(), host="127.0.0.1", port=int(argv[0]), log_level="warning", lifespan="on")


if __name__ == "__main__":
    main(sys.argv[1:])
