"""Generator and generated-package costs: full generation time, import time and memory of the catalogue."""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

IMPORT_PROBE = """
import json, resource, time
start = time.perf_counter()
from truenas_mcp.catalog import load_catalog
catalog = load_catalog()
definitions = [tool.definition() for tool in catalog.tools]
elapsed = time.perf_counter() - start
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": elapsed, "rss_mb": rss_mb, "tools": len(definitions)}))
"""


def measure_generation(runs: int = 3) -> dict[str, Any]:
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            start = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "truenas_mcp_gen.cli",
                    "generate",
                    "-q",
                    "--out",
                    str(Path(tmp) / str(i)),
                ],
                check=True,
                capture_output=True,
            )
            times.append(time.perf_counter() - start)
    return {"runs": runs, "median_s": statistics.median(times), "min_s": min(times), "max_s": max(times)}


def measure_check(runs: int = 1) -> dict[str, Any]:
    """``truenas-mcp-gen check`` in the checkout: regenerate into a temporary folder and compare.

    CPU seconds are reported beside wall time: on a shared machine the wall clock measures the neighbours.
    """
    times, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "truenas_mcp_gen.cli", "check"], check=True, capture_output=True
        )
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return {"runs": runs, "median_s": statistics.median(times), "median_cpu_s": statistics.median(cpu)}


def measure_import(runs: int = 5) -> dict[str, Any]:
    samples = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", IMPORT_PROBE], check=True, capture_output=True, text=True)
        samples.append(json.loads(out.stdout))
    return {
        "runs": runs,
        "tools": samples[0]["tools"],
        "median_s": statistics.median(s["seconds"] for s in samples),
        "max_rss_mb": max(s["rss_mb"] for s in samples),
    }


def run() -> dict[str, Any]:
    return {"generation": measure_generation(), "check": measure_check(), "import": measure_import()}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
