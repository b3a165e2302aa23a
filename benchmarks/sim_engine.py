"""The simulator's state engine under load: calls per second on one connection, and a 10,000-row query.

Run: ``python -m benchmarks.sim_engine`` (prints one JSON object). The simulator runs in this process on
loopback; the client is the bare ``websockets`` connection of ``benchmarks.bare`` (so the number measures
the simulator, not our client). *Sequential* waits for each answer before the next call; *pipelined*
keeps the middleware's 10 calls in flight. The query times a filtered, ordered ``cronjob.query`` over
10,000 rows created through the engine, both inside the engine (handler only) and over the wire.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

from benchmarks.bare import BareConnection
from truenas_mcp.sim.api import CallContext, Session
from truenas_mcp.sim.server import Simulator

ROWS = 10_000


async def _calls_per_second(conn: BareConnection, calls: int, *, in_flight: int) -> float:
    started = time.perf_counter()
    if in_flight == 1:
        for _ in range(calls):
            await conn.call("cronjob.get_instance", [1])
    else:
        await asyncio.gather(*(conn.call("cronjob.get_instance", [1]) for _ in range(calls)))
    return calls / (time.perf_counter() - started)


async def _fill(sim: Simulator, rows: int) -> None:
    handler = sim.handler("cronjob.create")
    ctx = CallContext(
        sim=sim, session=Session(id="bench", remote_addr="127.0.0.1", secure_transport=True), method=""
    )
    for index in range(rows):
        await handler(
            ctx, [{"command": f"/usr/local/bin/job-{index}.sh", "user": "root", "enabled": index % 3 != 0}]
        )


async def run(calls: int, repeats: int) -> dict[str, Any]:
    sim = Simulator(rate_limit_delay=(0.0, 0.0))
    async with (
        sim.serve("127.0.0.1") as running,
        BareConnection(running.url, running.admin_username, running.admin_api_key) as conn,
    ):
        await _calls_per_second(conn, 500, in_flight=1)  # warm up
        sequential = [await _calls_per_second(conn, calls, in_flight=1) for _ in range(repeats)]
        pipelined = [await _calls_per_second(conn, calls, in_flight=10) for _ in range(repeats)]
        await _fill(sim, ROWS)
        query = [
            [["enabled", "=", True], ["command", "^", "/usr/local/bin/job-"]],
            {"order_by": ["-id"], "limit": 50},
        ]
        handler = sim.handler("cronjob.query")
        ctx = CallContext(
            sim=sim, session=Session(id="b", remote_addr="127.0.0.1", secure_transport=True), method=""
        )
        inside: list[float] = []
        wire: list[float] = []
        full: list[float] = []
        for _ in range(repeats):
            started = time.perf_counter()
            await handler(ctx, query)
            inside.append(time.perf_counter() - started)
            started = time.perf_counter()
            answer = await conn.call("cronjob.query", query)
            wire.append(time.perf_counter() - started)
            assert len(answer) == 50
            started = time.perf_counter()
            everything = await conn.call("cronjob.query", [])
            full.append(time.perf_counter() - started)
            assert len(everything) > ROWS
    return {
        "sequential_calls_per_s": round(statistics.median(sequential)),
        "pipelined_calls_per_s": round(statistics.median(pipelined)),
        "query_10k_filtered_ms_engine": round(statistics.median(inside) * 1000, 2),
        "query_10k_filtered_ms_wire": round(statistics.median(wire) * 1000, 2),
        "query_10k_all_rows_ms_wire": round(statistics.median(full) * 1000, 2),
        "calls_per_measure": calls,
        "repeats": repeats,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.calls, args.repeats)), indent=1))


if __name__ == "__main__":
    main()
