"""Run every benchmark section and write docs/benchmarks.md (tables) and docs/benchmarks.json (raw numbers).

    python -m benchmarks.run [--quick] [--out DIR] [--no-peer] [--no-generator] [--report-only]

Processes: the simulator, our MCP server, the floor (``benchmarks.floor``), the peer and each load worker
run as separate processes on this machine (all traffic to 127.0.0.1). ``--quick`` shortens every cell,
runs one round and fewer rows (a smoke run of the harness, not numbers to publish).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import discovery, generator, latency, peer, report, stack, tokens
from benchmarks.procs import Service, free_port, running

DOCS = Path(__file__).resolve().parents[1] / "docs"
README = DOCS.parent / "README.md"
ROUNDS = 3  # results per cell in a full run (interleaved rounds)


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "truenas_mcp": _version("truenas-mcp"),
        "mcp": _version("mcp"),
        "uvicorn": _version("uvicorn"),
        "websockets": _version("websockets"),
        "datamodel_code_generator": _version("datamodel-code-generator"),
        "tokenizer": f"{tokens.TOKENIZER} {_version('anthropic-tokenizer')}",
        "peer": peer.NAME,
    }


def measure_startup_ours(
    sim: stack.SimulatorInfo, auth: stack.MCPAuth, workdir: Path, budget: stack.LoginBudget, runs: int
) -> list[dict[str, Any]]:
    """Fresh server processes: time to the first tools/list and to ready, and resident memory then."""
    samples = []
    for i in range(runs):
        budget.take()
        port = free_port()
        service = stack.spawn_ours(sys.executable, sim, port, workdir, auth, f"ours-start-{i}")
        try:
            first = asyncio.run(
                stack.wait_first_tools_list(service, f"http://127.0.0.1:{port}/mcp", auth.headers)
            )
            ready = stack.wait_ready(service, f"http://127.0.0.1:{port}")
            samples.append(
                {
                    "first_tools_list_s": first.first_tools_list_s,
                    "ready_s": ready,
                    "rss_mb": service.rss_mb()[0],
                }
            )
        finally:
            service.stop()
    return samples


def measure_startup_peer(
    venv: Path, sim: stack.SimulatorInfo, workdir: Path, runs: int
) -> list[dict[str, Any]]:
    samples = []
    for i in range(runs):
        port = free_port()
        rundir = workdir / f"peer-start-{i}"
        rundir.mkdir()
        service = peer.spawn_peer(venv, sim.legacy_url, sim.api_key, port, rundir)
        try:
            first = asyncio.run(stack.wait_first_tools_list(service, f"http://127.0.0.1:{port}/mcp", {}))
            samples.append({"first_tools_list_s": first.first_tools_list_s, "rss_mb": service.rss_mb()[0]})
        finally:
            service.stop()
    return samples


async def _warm(url: str, headers: dict[str, str], tool: str, arguments: dict[str, Any]) -> str | None:
    """One call, alone: the peer connects to TrueNAS on its first call, and racing first calls would each
    open (and log in on) a connection of their own. Returns the protocol version the server chose."""
    from benchmarks.mcp_http import MCPSession

    async with MCPSession(url, headers=headers) as session:
        await session.call_tool(tool, arguments)
        return session.protocol_version


def run(args: argparse.Namespace) -> dict[str, Any]:
    quick: bool = args.quick
    results: dict[str, Any] = {
        "machine": machine(),
        "quick": quick,
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if not args.no_generator:
        print("generator: generation and import times ...", flush=True)
        results["generator"] = {
            "generation": generator.measure_generation(1 if quick else 3),
            "import": generator.measure_import(2 if quick else 5),
        }
        if not quick:  # the check regenerates once more: the smoke run has timed generation already
            results["generator"]["check"] = generator.measure_check(1)
    print("discovery: plain-language requests against search_tools' index ...", flush=True)
    results["discovery"] = discovery.measure()
    startup_runs = 1 if quick else ROUNDS
    budget = stack.LoginBudget()
    with tempfile.TemporaryDirectory(prefix="truenas-mcp-bench-") as tmp, running([]) as services:
        workdir = Path(tmp)
        sim_service, sim = stack.start_simulator(sys.executable, workdir)
        services.append(sim_service)
        budget.take()
        results["seeded_snapshots"] = asyncio.run(stack.seed_snapshots(sim))
        auth = stack.mcp_auth(sys.executable, workdir)
        results["auth"] = auth.mode
        print("start-up ...", flush=True)
        results["startup"] = {"ours": measure_startup_ours(sim, auth, workdir, budget, startup_runs)}

        venv = None if args.no_peer else peer.ensure_venv()
        peer_service: Service | None = None
        peer_url = None
        if venv is not None:
            results["startup"]["peer"] = measure_startup_peer(venv, sim, workdir, startup_runs)
            port = free_port()
            (workdir / "peer").mkdir()
            peer_service = peer.spawn_peer(venv, sim.legacy_url, sim.api_key, port, workdir / "peer")
            services.append(peer_service)
            peer_url = f"http://127.0.0.1:{port}/mcp"
            asyncio.run(stack.wait_first_tools_list(peer_service, peer_url, {}))
            results["peer_protocol"] = asyncio.run(_warm(peer_url, {}, "system_info", {}))
        elif not args.no_peer:
            results["peer_missing"] = "no Python 3.12+ interpreter to install truenas-ws-mcp into"

        budget.take()
        port = free_port()
        ours = stack.spawn_ours(sys.executable, sim, port, workdir, auth, "ours")
        services.append(ours)
        base = f"http://127.0.0.1:{port}"
        asyncio.run(stack.wait_first_tools_list(ours, base + "/mcp", auth.headers))
        stack.wait_ready(ours, base)
        asyncio.run(_warm(base + "/mcp", auth.headers, "system_info", {}))
        budget.take()
        port = free_port()
        floor = stack.spawn_floor(sys.executable, sim, port, workdir)
        services.append(floor)
        floor_url = f"http://127.0.0.1:{port}/mcp"
        asyncio.run(stack.wait_floor(floor, floor_url))
        memory: dict[str, Any] = {
            "ours": {"idle_mb": ours.rss_mb()[0]},
            "floor": {"idle_mb": floor.rss_mb()[0]},
        }
        if peer_service is not None:
            memory["peer"] = {"idle_mb": peer_service.rss_mb()[0]}

        print("context cost ...", flush=True)
        results["tokens"] = asyncio.run(tokens.measure(base, auth.headers, peer_url))

        print("latency and throughput ...", flush=True)
        targets = latency.Targets(
            sim, sim_service, base + "/mcp", ours, auth, floor_url, floor, peer_url, peer_service
        )
        timing = latency.Timing.quick() if quick else latency.Timing()
        rows = latency.plan(quick)
        rounds = 1 if quick else ROUNDS
        results["method"] = {"timing": asdict(timing), "rounds": rounds, "rows": [asdict(r) for r in rows]}
        cells, peaks = latency.measure(targets, workdir, budget, rows=rows, rounds=rounds, timing=timing)
        results["cells"] = cells
        servers = {"ours": (ours, ("ours-2025", "ours-2026")), "floor": (floor, ("floor",))}
        if peer_service is not None:
            servers["peer"] = (peer_service, ("peer",))
        for who, (service, names) in servers.items():
            memory[who] |= {
                "load_peak_mb": max((peaks[n] for n in names if n in peaks), default=None),
                "lifetime_peak_mb": service.rss_mb()[1],
            }
        results["memory"] = memory
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--quick", action="store_true", help="short cells and few repeats (harness smoke run)"
    )
    parser.add_argument(
        "--out", type=Path, default=DOCS, help="where benchmarks.md/.json go (default: docs/)"
    )
    parser.add_argument("--no-peer", action="store_true", help="skip the peer server")
    parser.add_argument("--no-generator", action="store_true", help="skip generation and import timings")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite benchmarks.md (and the README headline) from the existing benchmarks.json",
    )
    args = parser.parse_args(argv)
    if args.report_only:
        results = json.loads((args.out / "benchmarks.json").read_text())
        publish(args.out, results)
        return
    started = time.monotonic()
    results = run(args)
    results["bench_seconds"] = round(time.monotonic() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "benchmarks.json").write_text(json.dumps(results, indent=2) + "\n")
    print(publish(args.out, results))


def publish(out: Path, results: dict[str, Any]) -> str:
    """benchmarks.md in ``out``; for the project's own docs/ also the README's headline paragraph."""
    text = report.markdown(results)
    (out / "benchmarks.md").write_text(text)
    if out.resolve() == DOCS.resolve() and README.is_file():
        README.write_text(report.with_headline(README.read_text(encoding="utf-8"), results), encoding="utf-8")
    return text


if __name__ == "__main__":
    main()
