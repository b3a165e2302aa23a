"""Load worker: one contender, one operation, N concurrent callers; prints one JSON result line.

Run as its own process (``python -m benchmarks.load SPEC_JSON``) so that the load it generates is not
scheduled on the event loop of what it measures. Secrets come from the environment
(``BENCH_TRUENAS_API_KEY``), never the command line. Every loop is bounded in time and count.

Contenders (``CONTENDERS``):
  ``ours-2025`` N 2025-11-25 MCP sessions on our server; ``ours-2026`` N 2026-07-28 single-exchange
  clients on it; ``floor`` the same 2026 client against ``benchmarks.floor``; ``peer`` N sessions on the
  peer (each an own keep-alive HTTP connection);
  ``direct`` one ``TrueNASClient`` shared by N callers, as the MCP server uses it;
  ``bare``   one bare WebSocket JSON-RPC connection shared by N callers.

Warm-up ends when its time is up and every caller has completed ``warm_calls`` calls; the window then
runs until it is steady (``benchmarks.window``) or its bound runs out, and says which. Server and simulator
CPU are read from ``/proc`` at the window's start and end, so CPU per call covers exactly the window.
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

from benchmarks import ops, stats, window
from benchmarks.bare import BareConnection
from benchmarks.mcp_http import EXCHANGE_ERA, SESSION_ERA, MCPSession
from benchmarks.procs import cpu_seconds

API_KEY_ENV = "BENCH_TRUENAS_API_KEY"
HEADERS_ENV = "BENCH_MCP_HEADERS"  # JSON object of extra HTTP headers (e.g. Authorization)
# The MCP protocol era each HTTP contender's clients speak (the floor is loaded like ours in 2026).
ERAS = {"ours-2025": SESSION_ERA, "ours-2026": EXCHANGE_ERA, "floor": EXCHANGE_ERA, "peer": SESSION_ERA}
CONTENDERS = ("bare", "direct", "floor", "ours-2025", "ours-2026", "peer")
_CHECK_EVERY = 0.02  # seconds between steady-state checks (each sorts the samples)

Caller = Callable[[int], Awaitable[Any]]  # caller index -> the operation's answer


@dataclass(frozen=True)
class CellSpec:
    contender: str  # one of CONTENDERS
    op: str
    clients: int
    url: str  # MCP URL (HTTP contenders) or ws:// URL (direct/bare)
    username: str = "truenas_admin"
    seconds: float = 2.0  # measuring window, at least
    min_samples: int = 200  # ... and at least this many calls, unless max_seconds runs out
    max_seconds: float = 8.0
    warmup_seconds: float = 0.3
    warm_calls: int = 1  # calls each caller completes before the window opens
    max_calls: int = 200_000  # calls started in the window, at most
    idle_sessions: int = 0  # 2025-11-25 sessions opened on the server and left idle during the cell
    server_pid: int | None = None  # whose CPU the window reads (HTTP contenders)
    sim_pid: int | None = None

    def __post_init__(self) -> None:
        if self.contender not in CONTENDERS:
            raise ValueError(f"contender: expected one of {', '.join(CONTENDERS)}, got {self.contender!r}")
        if self.op not in ops.OPERATIONS:
            raise ValueError(f"op: expected one of {sorted(ops.OPERATIONS)}, got {self.op!r}")
        if not 1 <= self.clients <= 1024:
            raise ValueError(f"clients: expected 1..1024, got {self.clients}")
        if not 0 < self.seconds <= self.max_seconds:
            raise ValueError("seconds: must be positive and at most max_seconds")
        if self.idle_sessions and self.contender not in ("ours-2025", "ours-2026"):
            raise ValueError("idle_sessions: only for our server (2025-11-25 sessions)")

    @property
    def rule(self) -> window.SteadyRule:
        return window.SteadyRule(seconds=self.seconds, min_samples=self.min_samples)


@dataclass
class CellResult:
    contender: str
    op: str
    clients: int
    calls: int  # calls started and completed in the window (their latencies are the percentiles)
    completed: int  # calls completed in the window, whenever started (calls/s and CPU per call)
    errors: int
    seconds: float
    calls_per_s: float
    steady: bool
    latency_ms: dict[str, float] = field(default_factory=dict)
    server_cpu_ms_per_call: float | None = None
    server_cpu_share: float | None = None  # of one core, over the window
    sim_cpu_share: float | None = None
    idle_sessions: int = 0
    first_error: str | None = None


@contextlib.asynccontextmanager
async def _mcp(spec: CellSpec, op: ops.Operation) -> AsyncIterator[Caller]:
    headers = json.loads(os.environ.get(HEADERS_ENV) or "{}")
    tool, arguments = (
        (op.peer_tool, op.peer_arguments) if spec.contender == "peer" else (op.tool, op.arguments)
    )
    era = ERAS[spec.contender]
    sessions = [MCPSession(spec.url, headers=headers, era=era) for _ in range(spec.clients)]
    idle = [MCPSession(spec.url, headers=headers, era=SESSION_ERA) for _ in range(spec.idle_sessions)]
    async with contextlib.AsyncExitStack() as stack:
        # Opened a few at a time: 128 simultaneous handshakes would measure a connection storm instead.
        every = idle + sessions
        for start in range(0, len(every), 16):
            await asyncio.gather(*(stack.enter_async_context(s) for s in every[start : start + 16]))

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


def _cpu(pid: int | None) -> float | None:
    return None if pid is None else cpu_seconds(pid)


async def run_cell(spec: CellSpec) -> CellResult:
    op = ops.OPERATIONS[spec.op]
    opener = {"direct": _direct, "bare": _bare}.get(spec.contender, _mcp)
    rule = spec.rule
    async with opener(spec, op) as call:
        # One checked call first: a contender that answers wrongly is reported, not timed.
        ops.check(op, await call(0))
        samples: list[float] = []
        completed = errors = issued = 0
        first_error: str | None = None
        loop = asyncio.get_running_loop()
        opened = loop.time()
        warm_until = opened + spec.warmup_seconds
        warm_bound = warm_until + spec.max_seconds  # a warm-up that never ends is cut, and shows as unsteady
        warm = [0] * spec.clients
        warmed = 0 if spec.warm_calls > 0 else spec.clients
        started = 0.0
        measuring = False
        enough = False
        next_check = 0.0
        cpu_start: tuple[float | None, float | None] = (None, None)

        def done(now: float) -> bool:
            nonlocal enough, next_check
            elapsed = now - started
            if enough or elapsed >= spec.max_seconds or issued >= spec.max_calls:
                return True
            if now >= next_check:
                next_check = now + _CHECK_EVERY
                enough = rule.reached(spec.clients, elapsed, samples)
            return enough

        async def caller(i: int) -> None:
            nonlocal errors, first_error, started, measuring, completed, warmed, cpu_start, issued
            while True:
                now = loop.time()
                if not measuring and ((now >= warm_until and warmed == spec.clients) or now >= warm_bound):
                    measuring, started = True, now
                    cpu_start = (_cpu(spec.server_pid), _cpu(spec.sim_pid))
                if measuring and done(now):
                    return
                counted = measuring  # calls started during the warm-up are not measured
                issued += counted
                t0 = time.perf_counter()
                try:
                    # Every answer is checked: a cut or short answer is an error, never a timed call.
                    ops.check(op, await call(i))
                except Exception as exc:  # every failure is counted and the first one reported
                    if counted:
                        errors += 1
                        first_error = first_error or f"{type(exc).__name__}: {exc}"[:300]
                    continue
                if measuring:
                    completed += 1
                else:
                    warm[i] += 1
                    warmed += warm[i] == spec.warm_calls
                if counted:
                    samples.append(time.perf_counter() - t0)

        await asyncio.wait_for(
            asyncio.gather(*(caller(i) for i in range(spec.clients))),
            2 * (spec.warmup_seconds + spec.max_seconds) + 120,
        )
        finished = loop.time()
        cpu_end = (_cpu(spec.server_pid), _cpu(spec.sim_pid))
    span = finished - started
    server_cpu = None if cpu_end[0] is None or cpu_start[0] is None else cpu_end[0] - cpu_start[0]
    sim_cpu = None if cpu_end[1] is None or cpu_start[1] is None else cpu_end[1] - cpu_start[1]
    return CellResult(
        contender=spec.contender,
        op=spec.op,
        clients=spec.clients,
        calls=len(samples),
        completed=completed,
        errors=errors,
        seconds=round(span, 3),
        calls_per_s=round(completed / span, 1) if span > 0 else 0.0,
        steady=rule.reached(spec.clients, span, samples),
        latency_ms=stats.summary_ms(samples),
        server_cpu_ms_per_call=None if server_cpu is None else window.per_call_ms(server_cpu, completed),
        server_cpu_share=None if server_cpu is None or span <= 0 else round(server_cpu / span, 3),
        sim_cpu_share=None if sim_cpu is None or span <= 0 else round(sim_cpu / span, 3),
        idle_sessions=spec.idle_sessions,
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
