"""Latency and throughput cells: the plan's rows, every contender of a row in turn, round after round.

Round 1 runs every row for every contender, then round 2 does it all again, and so on: slow drift in the
machine's load hits every contender alike, and each cell has one result per round (the report gives
min–median–max). Each cell is a fresh load-worker process (``benchmarks.load``); the server's memory is
sampled while it runs. Memory rows (many large answers at once) run once, after the rounds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from benchmarks.load import API_KEY_ENV, CONTENDERS, HEADERS_ENV, CellSpec
from benchmarks.procs import Service, ServiceError
from benchmarks.stack import LoginBudget, MCPAuth, SimulatorInfo

HTTP = ("floor", "ours-2025", "ours-2026", "peer")


@dataclass(frozen=True)
class Timing:
    """How long each cell measures; ``quick`` is for smoke tests of the harness itself."""

    seconds: float = 2.0
    min_samples: int = 200
    max_seconds: float = 6.0
    warmup_seconds: float = 0.3

    @classmethod
    def quick(cls) -> Timing:
        return cls(seconds=0.2, min_samples=5, max_seconds=1.0, warmup_seconds=0.05)


@dataclass(frozen=True)
class Row:
    """One row of the plan: an operation at a concurrency, for some contenders."""

    op: str
    clients: int
    contenders: tuple[str, ...] = CONTENDERS
    idle_sessions: int = 0
    memory: bool = False  # one call per client, all at once, for the server's peak RSS (not steady state)
    max_seconds: float | None = None  # a longer bound for rows of slow calls
    min_samples: int | None = None  # ... and fewer calls to ask of them (5 per client still hold)


def plan(quick: bool) -> list[Row]:
    """The rows the targets need: small reads up to 128 clients (16 is a target), jobs, idle sessions,
    1,000-row queries, and 128 concurrent 1,000-row answers for memory."""
    levels = (1, 16) if quick else (1, 8, 16, 32, 128)
    jobs = () if quick else (1,)  # no target rests on jobs: the smoke run leaves them out
    idle = (1, 8) if quick else (1, 128)
    query = 1 if quick else 8  # 8 clients: where the issue compared CPU per call with the peer
    slow = 3.0 if quick else 15.0
    burst = 8 if quick else 128
    return [
        *(Row("info", n) for n in levels),
        *(Row("job", n) for n in jobs),
        *(Row("info", 1, ("ours-2025",), idle_sessions=n) for n in idle),
        # A 1,000-row call takes ~0.1 s of a core: 200 calls would not fit the bound, 5 per client do.
        Row("query", query, max_seconds=slow, min_samples=20),
        Row("query", burst, ("floor", "ours-2025", "ours-2026", "peer"), memory=True, max_seconds=slow * 4),
    ]


@dataclass
class Targets:
    sim: SimulatorInfo
    simulator: Service
    ours_url: str
    ours: Service
    auth: MCPAuth
    floor_url: str | None = None
    floor: Service | None = None
    peer_url: str | None = None
    peer: Service | None = None

    def contender(self, name: str) -> tuple[str | None, Service | None]:
        """The URL a contender's worker loads and the server process it measures (none for direct/bare)."""
        return {
            "bare": (self.sim.url, None),
            "direct": (self.sim.url, None),
            "floor": (self.floor_url, self.floor),
            "ours-2025": (self.ours_url, self.ours),
            "ours-2026": (self.ours_url, self.ours),
            "peer": (self.peer_url, self.peer),
        }[name]


def run_worker(
    spec: CellSpec, env: dict[str, str], logdir: Path, watch: Service | None, timeout: float
) -> tuple[dict[str, Any], float | None]:
    """Run one cell in a worker process; returns its result and the peak RSS (MiB) of ``watch`` meanwhile."""
    log = logdir / f"load-{spec.contender}-{spec.op}-{spec.clients}-{spec.idle_sessions}.log"
    with open(log, "wb") as stderr:
        worker = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.load", json.dumps(asdict(spec))],
            stdout=subprocess.PIPE,
            stderr=stderr,
            env={**os.environ, **env},
            cwd=Path(__file__).resolve().parents[1],
        )
    peak: float | None = None
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                stdout, _ = worker.communicate(timeout=0.1)
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    raise ServiceError(
                        f"load worker {spec.contender}/{spec.op}/{spec.clients} timed out"
                    ) from None
                if watch is not None:
                    now, _ = watch.rss_mb()
                    peak = max(peak or 0.0, now)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
    if worker.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:]
        return {"contender": spec.contender, "op": spec.op, "clients": spec.clients, "failed": tail}, peak
    result: dict[str, Any] = json.loads(stdout.decode().strip().splitlines()[-1])
    return result, peak


def measure(
    targets: Targets,
    logdir: Path,
    budget: LoginBudget,
    *,
    rows: Sequence[Row],
    rounds: int,
    timing: Timing = Timing(),
    progress: Callable[[str], None] = print,
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Every cell of every round; returns the cell results and each server's peak RSS (MiB) under load."""
    cells: list[dict[str, Any]] = []
    peaks: dict[str, float] = {}
    base_env = {API_KEY_ENV: targets.sim.api_key, HEADERS_ENV: json.dumps(targets.auth.headers)}
    load_rows = [row for row in rows if not row.memory]
    memory_rows = [row for row in rows if row.memory]
    schedule = [(n, row) for n in range(1, rounds + 1) for row in load_rows] + [(1, r) for r in memory_rows]
    for round_no, row in schedule:
        for contender in row.contenders:
            url, watch = targets.contender(contender)
            if url is None:
                continue
            if contender in ("bare", "direct"):
                budget.take()  # each of these workers logs in once
            max_seconds = row.max_seconds or timing.max_seconds
            spec = CellSpec(
                contender=contender,
                op=row.op,
                clients=row.clients,
                url=url,
                username=targets.sim.username,
                seconds=timing.seconds,
                min_samples=min(row.min_samples or timing.min_samples, timing.min_samples),
                max_seconds=max_seconds,
                warmup_seconds=timing.warmup_seconds,
                idle_sessions=row.idle_sessions,
                server_pid=None if watch is None else watch.process.pid,
                sim_pid=targets.simulator.process.pid,
            )
            if (
                row.memory
            ):  # every client's one call at once, each measured: the answers are in flight together
                spec = replace(spec, warmup_seconds=0.0, warm_calls=0, max_calls=row.clients)
            timeout = 2 * (timing.warmup_seconds + max_seconds) + 180
            result, peak = run_worker(spec, base_env, logdir, watch, timeout)
            result |= {"round": round_no, "idle_sessions": row.idle_sessions, "memory": row.memory}
            if peak is not None:
                peaks[contender] = max(peaks.get(contender, 0.0), peak)
                result["server_rss_peak_mb"] = round(peak, 1)
            cells.append(result)
            progress(_line(result))
    return cells, peaks


def _line(result: dict[str, Any]) -> str:
    extra = f" idle={result['idle_sessions']}" if result.get("idle_sessions") else ""
    extra += " memory" if result.get("memory") else ""
    head = (
        f"r{result.get('round', 1)} {result['op']:>5} x{result['clients']:<3} {result['contender']:<9}{extra}"
    )
    if "failed" in result:
        return f"{head} FAILED: {result['failed'].strip().splitlines()[-1]}"
    lat = result.get("latency_ms") or {}
    errors = f" errors={result['errors']} ({result.get('first_error')})" if result.get("errors") else ""
    return (
        f"{head} p50={lat.get('p50', float('nan')):8.2f} ms  p99={lat.get('p99', float('nan')):8.2f} ms  "
        f"{result['calls_per_s']:8.1f} calls/s  n={result['calls']}  "
        f"cpu/call={result.get('server_cpu_ms_per_call')} ms  sim={result.get('sim_cpu_share')}"
        f"{'' if result.get('steady') else '  (not steady)'}{errors}"
    )
