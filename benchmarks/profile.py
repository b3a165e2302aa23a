"""Profile our MCP server on its hottest path: py-spy samples the server process under load.

    python -m benchmarks.profile [--op info] [--clients 8] [--seconds 10] [--out DIR]

Starts the simulator and the server as ``nox -s bench`` does, drives one operation at a fixed concurrency
from a load worker, and has ``py-spy record`` (from PyPI) sample the server meanwhile. Writes the collapsed
stacks (``profile-<op>.txt``, for flame-graph tools) and prints the functions with the most samples,
both where the time is spent (self) and what it is spent under (inclusive). Notes on what was found are
in docs/profiling.md.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks import stack
from benchmarks.latency import Timing, run_worker
from benchmarks.load import API_KEY_ENV, HEADERS_ENV, CellSpec
from benchmarks.procs import free_port, running


def summarize(collapsed: str, top: int = 25) -> dict[str, list[tuple[str, float]]]:
    """Share of samples per function, self and inclusive, from py-spy's raw (collapsed) output."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        if not stack_text or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_short(frame) for frame in stack_text.split(";")]
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if total == 0:
        return {"self": [], "inclusive": []}
    return {
        "self": [(name, round(100 * n / total, 1)) for name, n in own.most_common(top)],
        "inclusive": [(name, round(100 * n / total, 1)) for name, n in inclusive.most_common(top)],
    }


def _short(frame: str) -> str:
    """``function (path/to/file.py:line)`` → ``function (package/file.py)``: lines differ per sample."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/src/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--op", default="info", choices=["info", "query", "job"])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--era", default="ours-2026", choices=["ours-2025", "ours-2026"], help="the clients' protocol era"
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=Path("."))
    args = parser.parse_args(argv)
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        raise SystemExit("py-spy is not installed (pip install py-spy)")
    with tempfile.TemporaryDirectory(prefix="truenas-mcp-profile-") as tmp, running([]) as services:
        workdir = Path(tmp)
        sim_service, sim = stack.start_simulator(sys.executable, workdir)
        services.append(sim_service)
        if args.op == "query":
            asyncio.run(stack.seed_snapshots(sim))
        auth = stack.mcp_auth(sys.executable, workdir)
        port = free_port()
        ours = stack.spawn_ours(sys.executable, sim, port, workdir, auth, "ours")
        services.append(ours)
        url = f"http://127.0.0.1:{port}/mcp"
        asyncio.run(stack.wait_first_tools_list(ours, url, auth.headers))
        stack.wait_ready(ours, f"http://127.0.0.1:{port}")
        raw = args.out / f"profile-{args.op}.txt"
        recorder = subprocess.Popen(
            [
                *(py_spy, "record", "--pid", str(ours.process.pid), "--format", "raw", "--rate", "250"),
                *("--duration", str(int(args.seconds)), "--output", str(raw), "--nonblocking"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        timing = Timing(seconds=args.seconds, min_samples=1, max_seconds=args.seconds, warmup_seconds=0.0)
        spec = CellSpec(
            contender=args.era,
            op=args.op,
            clients=args.clients,
            url=url,
            username=sim.username,
            seconds=timing.seconds,
            min_samples=timing.min_samples,
            max_seconds=timing.max_seconds,
            warmup_seconds=timing.warmup_seconds,
        )
        env = {API_KEY_ENV: sim.api_key, HEADERS_ENV: json.dumps(auth.headers)}
        result, _ = run_worker(spec, env, workdir, None, args.seconds + 120)
        _, err = recorder.communicate(timeout=args.seconds + 60)
        if recorder.returncode != 0:
            raise SystemExit(f"py-spy failed: {err.decode(errors='replace')[-1000:]}")
    print(json.dumps({"load": result}, indent=1))
    summary = summarize(raw.read_text())
    for kind in ("self", "inclusive"):
        print(f"\n{kind} (% of samples)")
        for name, share in summary[kind]:
            print(f"{share:6.1f}  {name}")


if __name__ == "__main__":
    main()
