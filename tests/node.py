"""Node.js for the tests that run real JavaScript MCP clients: one check, wherever node is used.

A test that needs node skips with the reason when node or npm is missing or older than the clients need,
whether or not the npm packages are already in ``.cache/npm`` (a copied cache is no use without node).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

NPM_CACHE = Path(__file__).resolve().parents[1] / ".cache" / "npm"
NODE_MAJOR = 20  # the MCP Inspector and the TypeScript SDK client require Node 20 or later


def node_problem() -> str | None:
    """Why node cannot run the JavaScript clients here, or None when it can."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return "node and npm must be on PATH"
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout
    match = re.match(r"v(\d+)\.", version.strip())
    if match is None or int(match[1]) < NODE_MAJOR:
        return f"Node {NODE_MAJOR} or later is needed, found {version.strip() or 'an unreadable version'}"
    return None


def require_node() -> None:
    """Skip the calling test when node cannot run the JavaScript clients."""
    problem = node_problem()
    if problem is not None:
        pytest.skip(f"cannot run the real JavaScript MCP clients: {problem}")


def npm_install(prefix: Path, packages: list[str], probe: Path) -> None:
    """``npm install`` ``packages`` into ``prefix`` unless ``probe`` already exists (node checked first)."""
    require_node()
    if probe.exists():
        return
    npm = shutil.which("npm")
    assert npm is not None  # require_node() checked it
    prefix.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--prefix", str(prefix), *packages],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0 or not probe.exists():
        pytest.fail(f"npm install {' '.join(packages)} failed:\n{done.stderr[-2000:]}")
