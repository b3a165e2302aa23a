"""Benchmark of the client against the simulator (run by hand from the checkout, in its environment).

    python -m benchmarks.client [--calls 20000] [--in-flight 32]

The simulator runs in its own process so its work does not share the client's event loop. Reports the p50
round trip of ``core.ping`` over a bare ``websockets`` connection (JSON encode/decode by hand) and through
``TrueNASClient``, the difference (the client's added cost), and calls/s through one client connection with
``--in-flight`` concurrent callers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from typing import Any

from websockets.asyncio.client import connect

from truenas_mcp.client import ClientConfig, TrueNASClient

SERVER = """
import asyncio, sys
from truenas_mcp.sim.server import Simulator
async def main():
    async with Simulator(rate_limit_delay=(0.0, 0.0)).serve("127.0.0.1", 0) as running:
        print(running.url, running.admin_username, running.admin_api_key, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
asyncio.run(main())
"""


async def raw_latencies(url: str, username: str, key: str, calls: int) -> list[float]:
    async with connect(url, compression=None, max_size=None) as ws:
        login = {"mechanism": "API_KEY_PLAIN", "username": username, "api_key": key}
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": 0, "method": "auth.login_ex", "params": [login]}))
        await ws.recv()
        samples = []
        for i in range(1, calls + 1):
            started = time.perf_counter()
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": i, "method": "core.ping", "params": []}))
            json.loads(await ws.recv())
            samples.append(time.perf_counter() - started)
        return samples


async def client_latencies(client: TrueNASClient, calls: int) -> list[float]:
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        await client.call("core.ping")
        samples.append(time.perf_counter() - started)
    return samples


async def throughput(client: TrueNASClient, calls: int, in_flight: int) -> float:
    remaining = calls

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await client.call("core.ping")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return calls / (time.perf_counter() - started)


def p50_us(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


async def run(url: str, username: str, key: str, calls: int, in_flight: int) -> dict[str, Any]:
    config = ClientConfig.build(url=url, username=username, api_key=key)
    async with TrueNASClient(config) as client:
        await client_latencies(client, 500)  # warm up both sides
        await raw_latencies(url, username, key, 500)
        raw, ours = [], []
        for _ in range(5):  # interleave to share any drift in machine load
            raw += await raw_latencies(url, username, key, calls // 10)
            ours += await client_latencies(client, calls // 10)
        rate = await throughput(client, calls, in_flight)
    return {
        "raw_p50_us": round(p50_us(raw), 1),
        "client_p50_us": round(p50_us(ours), 1),
        "added_p50_us": round(p50_us(ours) - p50_us(raw), 1),
        f"calls_per_s_at_{in_flight}_in_flight": round(rate),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--in-flight", type=int, default=32)
    args = parser.parse_args()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        url, username, key = server.stdout.readline().split()
        print(json.dumps(asyncio.run(run(url, username, key, args.calls, args.in_flight)), indent=1))
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(30)


if __name__ == "__main__":
    main()
