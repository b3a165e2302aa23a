"""The whole harness end to end, shortened: every process started, every cell run, both files written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import ops

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
    assert {(c["contender"], c["op"]) for c in cells} == {
        (contender, op) for contender in ("bare", "direct", "ours") for op in ops.OPERATIONS
    }
    assert all(c.get("errors") == 0 and c["calls"] > 0 for c in cells), cells
    assert results["seeded_snapshots"] >= 0 and results["tokens"]["profiles"]["default"]["tokens"] > 0
    assert results["startup"]["ours"][0]["first_tools_list_s"] > 0
    table = (tmp_path / "benchmarks.md").read_text()
    assert "## Targets" in table and "truenas-mcp over MCP" in table and "Quick run" in table
