"""The peer: ``truenas-ws-mcp`` from PyPI, an MCP server for TrueNAS speaking the legacy ``/websocket``
(DDP) protocol, which the simulator also serves.

It needs Python 3.12+, so it lives in its own virtualenv under ``.cache/`` (git-ignored; the simulator's
fidelity tests use the same one). It is a FastMCP server; its entry point runs stdio, and FastMCP's own
streamable HTTP transport serves the same tools, which lets it face the same HTTP load as our server.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.procs import Service, spawn

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".cache" / "fidelity-venv"
PACKAGES = ("pytruenas==0.7.1", "truenas-ws-mcp==0.1.1")
NAME = "truenas-ws-mcp 0.1.1"

_SERVE = (
    "import sys\n"
    "from truenas_ws_mcp.server import mcp\n"
    "mcp.run(transport='http', host='127.0.0.1', port=int(sys.argv[1]),\n"
    "        show_banner=False, log_level='WARNING')\n"
)


def python312() -> str | None:
    """A Python 3.12+ interpreter (pyenv first, then the system), or ``None``."""
    for pattern in ("~/.pyenv/versions/3.12*/bin/python", "/usr/bin/python3.12", "/usr/local/bin/python3.12"):
        found = sorted(glob.glob(os.path.expanduser(pattern)))
        if found:
            return found[-1]
    if sys.version_info >= (3, 12):
        return sys.executable
    return None


def ensure_venv() -> Path | None:
    """The virtualenv with the peer installed (created on first use); ``None`` without Python 3.12."""
    marker = VENV / f"installed-{'-'.join(PACKAGES)}"
    if marker.exists():
        return VENV
    python = python312()
    if python is None:
        return None
    subprocess.run([python, "-m", "venv", "--clear", str(VENV)], check=True, timeout=300)
    subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", *PACKAGES], check=True, timeout=900)
    marker.touch()
    return VENV


def spawn_peer(venv: Path, legacy_url: str, api_key: str, port: int, workdir: Path) -> Service:
    """Start the peer on ``port``; its working directory is ``workdir`` (it reads a ``.env`` from there)."""
    env = {"TRUENAS_URL": legacy_url, "TRUENAS_API_KEY": api_key, "HOME": str(workdir)}
    argv = [str(venv / "bin" / "python"), "-c", _SERVE, str(port)]
    return spawn("peer", argv, workdir, env=env, cwd=workdir)
