"""Latency and throughput cells: every operation at every concurrency level, for every contender in turn.

Contenders of one (operation, clients) pair run back to back, so slow drift in the machine's load hits
them alike; each cell is a fresh load-worker process (``benchmarks.load``) and the server's memory is
sampled while it runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.load import API_KEY_ENV, HEADERS_ENV, CellSpec
from benchmarks.procs import Service, ServiceError
from benchmarks.stack import LoginBudget, MCPAuth, SimulatorInfo

CONTENDERS = ("bare", "direct", "ours", "peer")
LEVELS = (1, 8, 32, 128)


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


@dataclass
class Targets:
    sim: SimulatorInfo
    ours_url: str
    ours: Service
    auth: MCPAuth
    peer_url: str | None = None
    peer: Service | None = None


def run_worker(
    spec: CellSpec, env: dict[str, str], logdir: Path, watch: Service | None, timeout: float
) -> tuple[dict[str, Any], float | None]:
    """Run one cell in a worker process; returns its result and the peak RSS (MiB) of ``watch`` meanwhile."""
    log = logdir / f"load-{spec.contender}-{spec.op}-{spec.clients}.log"
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
    ops: Sequence[str],
    levels: Sequence[int] = LEVELS,
    timing: Timing = Timing(),
    progress: Callable[[str], None] = print,
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Every cell; returns the cell results and the peak RSS (MiB) of each server under load."""
    cells: list[dict[str, Any]] = []
    peaks: dict[str, float] = {}
    base_env = {API_KEY_ENV: targets.sim.api_key, HEADERS_ENV: json.dumps(targets.auth.headers)}
    for op in ops:
        for clients in levels:
            for contender in CONTENDERS:
                url, watch = {
                    "bare": (targets.sim.url, None),
                    "direct": (targets.sim.url, None),
                    "ours": (targets.ours_url, targets.ours),
                    "peer": (targets.peer_url, targets.peer),
                }[contender]
                if url is None:
                    continue
                if contender in ("bare", "direct"):
                    budget.take()  # each of these workers logs in once
                spec = CellSpec(
                    contender=contender,
                    op=op,
                    clients=clients,
                    url=url,
                    username=targets.sim.username,
                    seconds=timing.seconds,
                    min_samples=timing.min_samples,
                    max_seconds=timing.max_seconds,
                    warmup_seconds=timing.warmup_seconds,
                )
                timeout = timing.warmup_seconds + timing.max_seconds + 120
                result, peak = run_worker(spec, base_env, logdir, watch, timeout)
                if peak is not None:
                    peaks[contender] = max(peaks.get(contender, 0.0), peak)
                    result["server_rss_peak_mb"] = round(peak, 1)
                cells.append(result)
                progress(_line(result))
    return cells, peaks


def _line(result: dict[str, Any]) -> str:
    head = f"{result['op']:>5} x{result['clients']:<3} {result['contender']:<6}"
    if "failed" in result:
        return f"{head} FAILED: {result['failed'].strip().splitlines()[-1]}"
    lat = result.get("latency_ms") or {}
    errors = f" errors={result['errors']} ({result.get('first_error')})" if result.get("errors") else ""
    return (
        f"{head} p50={lat.get('p50', float('nan')):8.2f} ms  p99={lat.get('p99', float('nan')):8.2f} ms  "
        f"{result['calls_per_s']:8.1f} calls/s  n={result['calls']}{errors}"
    )
