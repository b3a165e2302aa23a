"""The floor for an MCP server: raw uvicorn + starlette answering ``tools/call`` with the same TrueNAS call.

    python -m benchmarks.floor PORT   (TRUENAS_URL, TRUENAS_USERNAME, TRUENAS_API_KEY_FILE from the env)

One POST route, one shared ``TrueNASClient``, the answer as an MCP tool result in a plain JSON body
(text and structured content, as an MCP server must send both). No authentication, no validation, no
session, no SSE: what an MCP server's HTTP stack costs at the least, run like ours (uvicorn defaults).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

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
        message = json.loads(await request.body())
        op = BY_TOOL.get(str((message.get("params") or {}).get("name")))
        if message.get("method") != "tools/call" or op is None or client is None:
            error = {"code": -32601, "message": "the floor answers tools/call of the measured tools only"}
            return _json({"jsonrpc": "2.0", "id": message.get("id"), "error": error})
        answer: Any
        if op.job:
            answer = await client.call_job(op.method, *op.params)
        else:
            answer = await client.call(op.method, *op.params)
        result = {
            "content": [{"type": "text", "text": _dumps(answer)}],
            "structuredContent": {"result": answer},
        }
        return _json({"jsonrpc": "2.0", "id": message.get("id"), "result": result})

    return Starlette(routes=[Route("/mcp", call, methods=["POST"])], lifespan=lifespan)


def _plain(value: Any) -> Any:
    """JSON for what the client decodes from ejson (times, sets), as an MCP answer must carry it."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_plain, separators=(",", ":"))


def _json(body: dict[str, Any]) -> Response:
    return Response(_dumps(body), media_type="application/json")


def main(argv: list[str]) -> None:
    if len(argv) != 1 or not argv[0].isdigit():
        raise SystemExit("usage: python -m benchmarks.floor PORT")
    uvicorn.run(app(), host="127.0.0.1", port=int(argv[0]), log_level="warning", lifespan="on")


if __name__ == "__main__":
    main(sys.argv[1:])
