"""The whole harness end to end, shortened: every process started, every cell run, both files written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def test_quick_run_writes_the_table_and_the_raw_numbers(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.run",
            "--quick",
            "--no-generator",
            "--no-peer",
            "--out",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "benchmarks.json").read_text())
    cells = results["cells"]
    contenders = ("bare", "direct", "floor", "ours-2025", "ours-2026")
    measured = ("info", "query")  # the quick plan leaves jobs out
    assert {(c["contender"], c["op"]) for c in cells} == {(who, op) for who in contenders for op in measured}
    assert all(c.get("errors") == 0 and c["calls"] > 0 for c in cells), cells
    http = [c for c in cells if c["contender"] in ("floor", "ours-2025", "ours-2026")]
    assert all(c["server_cpu_ms_per_call"] is not None for c in http)
    assert {c["idle_sessions"] for c in cells} >= {1, 8} and any(c["memory"] for c in cells)
    assert results["seeded_snapshots"] >= 0 and results["tokens"]["profiles"]["default"]["tokens"] > 0
    assert results["startup"]["ours"][0]["first_tools_list_s"] > 0
    table = (tmp_path / "benchmarks.md").read_text()
    assert (
        "## Targets" in table and "truenas-mcp, 2026-07-28 single exchange" in table and "Quick run" in table
    )
