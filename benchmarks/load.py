"""Load worker: one contender, one operation, N concurrent callers; prints one JSON result line.

Run as its own process (``python -m benchmarks.load SPEC_JSON``) so that the load it generates is not
scheduled on the event loop of what it measures. Secrets come from the environment
(``BENCH_TRUENAS_API_KEY``), never the command line. Every loop is bounded in time and count.

Contenders:
  ``mcp``    N MCP sessions over streamable HTTP (ours or the peer: the spec's ``tool`` decides);
  ``direct`` one ``TrueNASClient`` shared by N callers, as the MCP server uses it;
  ``bare``   one bare WebSocket JSON-RPC connection shared by N callers (the floor).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from benchmarks import ops, stats
from benchmarks.bare import BareConnection
from benchmarks.mcp_http import MCPSession

API_KEY_ENV = "BENCH_TRUENAS_API_KEY"
HEADERS_ENV = "BENCH_MCP_HEADERS"  # JSON object of extra HTTP headers (e.g. Authorization)

Caller = Callable[[int], Awaitable[Any]]  # caller index -> the operation's answer


@dataclass(frozen=True)
class CellSpec:
    contender: str  # "ours", "peer", "direct" or "bare"
    op: str
    clients: int
    url: str  # MCP URL (ours/peer) or ws:// URL (direct/bare)
    username: str = "truenas_admin"
    seconds: float = 2.0  # measuring window, at least
    min_samples: int = 200  # ... and at least this many calls, unless max_seconds runs out
    max_seconds: float = 8.0
    warmup_seconds: float = 0.3
    max_calls: int = 200_000

    def __post_init__(self) -> None:
        if self.contender not in ("ours", "peer", "direct", "bare"):
            raise ValueError(f"contender: expected ours, peer, direct or bare, got {self.contender!r}")
        if self.op not in ops.OPERATIONS:
            raise ValueError(f"op: expected one of {sorted(ops.OPERATIONS)}, got {self.op!r}")
        if not 1 <= self.clients <= 1024:
            raise ValueError(f"clients: expected 1..1024, got {self.clients}")
        if not 0 < self.seconds <= self.max_seconds:
            raise ValueError("seconds: must be positive and at most max_seconds")


@dataclass
class CellResult:
    contender: str
    op: str
    clients: int
    calls: int
    errors: int
    seconds: float
    calls_per_s: float
    latency_ms: dict[str, float] = field(default_factory=dict)
    first_error: str | None = None


@contextlib.asynccontextmanager
async def _mcp(spec: CellSpec, op: ops.Operation) -> AsyncIterator[Caller]:
    headers = json.loads(os.environ.get(HEADERS_ENV) or "{}")
    tool, arguments = (
        (op.peer_tool, op.peer_arguments) if spec.contender == "peer" else (op.tool, op.arguments)
    )
    sessions = [MCPSession(spec.url, headers=headers) for _ in range(spec.clients)]
    async with contextlib.AsyncExitStack() as stack:
        # Opened a few at a time: 128 simultaneous handshakes would measure a connection storm instead.
        for start in range(0, len(sessions), 16):
            await asyncio.gather(*(stack.enter_async_context(s) for s in sessions[start : start + 16]))

        async def call(i: int) -> Any:
            return ops.mcp_payload(await sessions[i].call_tool(tool, arguments))

        yield call


@contextlib.asynccontextmanager
async def _direct(spec: CellSpec, op: ops.Operation) -> AsyncIterator[Caller]:
    from truenas_mcp.client import ClientConfig, TrueNASClient

    config = ClientConfig.build(url=spec.url, username=spec.username, api_key=os.environ[API_KEY_ENV])
    async with TrueNASClient(config) as client:

        async def call(i: int) -> Any:
            if op.job:
                return await client.call_job(op.method, *op.params)
            return await client.call(op.method, *op.params)

        yield call


@contextlib.asynccontextmanager
async def _bare(spec: CellSpec, op: ops.Operation) -> AsyncIterator[Caller]:
    async with BareConnection(spec.url, spec.username, os.environ[API_KEY_ENV]) as conn:

        async def call(i: int) -> Any:
            if op.job:
                return await conn.call_job(op.method, list(op.params))
            return await conn.call(op.method, list(op.params))

        yield call


async def run_cell(spec: CellSpec) -> CellResult:
    op = ops.OPERATIONS[spec.op]
    opener = {"ours": _mcp, "peer": _mcp, "direct": _direct, "bare": _bare}[spec.contender]
    async with opener(spec, op) as call:
        # One checked call first: a contender that answers wrongly is reported, not timed.
        ops.check(op, await call(0))
        samples: list[float] = []
        errors = 0
        first_error: str | None = None
        loop = asyncio.get_running_loop()
        warm_until = loop.time() + spec.warmup_seconds
        started = 0.0
        measuring = False

        def done(now: float) -> bool:
            elapsed = now - started
            if elapsed >= spec.max_seconds or len(samples) + errors >= spec.max_calls:
                return True
            return elapsed >= spec.seconds and len(samples) >= spec.min_samples

        async def caller(i: int) -> None:
            nonlocal errors, first_error, started, measuring
            while True:
                now = loop.time()
                if not measuring and now >= warm_until:
                    measuring, started = True, now
                if measuring and done(now):
                    return
                counted = measuring  # calls started during the warm-up are not measured
                t0 = time.perf_counter()
                try:
                    await call(i)
                except Exception as exc:  # every failure is counted and the first one reported
                    if counted:
                        errors += 1
                        first_error = first_error or f"{type(exc).__name__}: {exc}"[:300]
                    continue
                if counted:
                    samples.append(time.perf_counter() - t0)

        await asyncio.wait_for(
            asyncio.gather(*(caller(i) for i in range(spec.clients))),
            spec.warmup_seconds + spec.max_seconds + 60,
        )
        finished = loop.time()
    window = finished - started
    return CellResult(
        contender=spec.contender,
        op=spec.op,
        clients=spec.clients,
        calls=len(samples),
        errors=errors,
        seconds=round(window, 3),
        calls_per_s=round(len(samples) / window, 1) if window > 0 else 0.0,
        latency_ms=stats.summary_ms(samples),
        first_error=first_error,
    )


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise SystemExit("usage: python -m benchmarks.load SPEC_JSON")
    spec = CellSpec(**json.loads(argv[0]))
    result = asyncio.run(run_cell(spec))
    print(json.dumps(asdict(result)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
