"""Clients we did not write, against the simulator: the proof that it speaks TrueNAS and not our dialect.

* ``pytruenas`` (PyPI; JSON-RPC on ``/api/current``; Python 3.12+) logs in with an API key, queries,
  creates, deletes and waits for a job.
* ``truenas-ws-mcp`` (PyPI; an MCP server speaking the legacy ``/websocket`` protocol) is driven as its
  users drive it, as an MCP stdio server through the ``mcp`` SDK client, and answers a query.

Both live in a Python 3.12 virtualenv cached under ``.cache/`` (git-ignored), created on first use.
"""

from __future__ import annotations

import asyncio
import glob
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client

from truenas_mcp.sim.server import RunningSimulator

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".cache" / "fidelity-venv"
PACKAGES = ["pytruenas==0.7.1", "truenas-ws-mcp==0.1.1"]
TIMEOUT = 120.0

PYTRUENAS_SCRIPT = r"""
import json, sys
import pytruenas

url, key = sys.argv[1], sys.argv[2]
out = {}
with pytruenas.TrueNASClient(url, api_key=key, username="truenas_admin") as client:
    out["me"] = client.me()["pw_name"]
    out["pools"] = [p["name"] for p in client.api.pool.query()]
    out["filtered"] = [p["name"] for p in client.api.pool.query([["name", "=", "tank"]])]
    created = client.api.pool.dataset.create({"name": "tank/fidelity"})
    out["created"] = created["id"]
    out["after_create"] = [d["id"] for d in client.api.pool.dataset.query([["id", "=", "tank/fidelity"]])]
    out["deleted"] = client.api.pool.dataset.delete("tank/fidelity")
    out["after_delete"] = client.api.pool.dataset.query([["id", "=", "tank/fidelity"]])
    job_id = client.api.core.bulk("core.ping", [[], []])
    out["job_result"] = client.wait(job_id, timeout=60)
    try:
        client.api.user.create({"username": 5})
    except pytruenas.ValidationErrors as exc:
        out["validation"] = str(exc)
print(json.dumps(out))
"""


def _python312() -> str | None:
    for pattern in ("~/.pyenv/versions/3.12*/bin/python", "/usr/bin/python3.12", "/usr/local/bin/python3.12"):
        found = sorted(glob.glob(os.path.expanduser(pattern)))
        if found:
            return found[-1]
    return None


@pytest.fixture(scope="session")
def fidelity_venv() -> Path:
    """The cached Python 3.12 virtualenv with the independent clients installed."""
    marker = VENV / f"installed-{'-'.join(PACKAGES)}"
    if marker.exists():
        return VENV
    python = _python312()
    if python is None:
        pytest.skip("pytruenas needs Python 3.12+, and no python3.12 is installed (pyenv or system)")
    subprocess.run([python, "-m", "venv", "--clear", str(VENV)], check=True, timeout=300)
    subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", *PACKAGES], check=True, timeout=900)
    marker.touch()
    return VENV


async def _run(argv: list[str], env: dict[str, str]) -> str:
    """Run a client process while the simulator keeps serving on this event loop."""
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, stderr.decode()
    return stdout.decode()


async def test_pytruenas_logs_in_queries_creates_deletes_and_waits_for_a_job(
    sim: RunningSimulator, fidelity_venv: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    argv = [str(fidelity_venv / "bin" / "python"), "-c", PYTRUENAS_SCRIPT, sim.url, sim.admin_api_key]
    out = json.loads((await _run(argv, env)).strip().splitlines()[-1])
    assert out["me"] == "truenas_admin"
    assert "tank" in out["pools"] and out["filtered"] == ["tank"]
    assert out["created"] == "tank/fidelity" and out["after_create"] == ["tank/fidelity"]
    assert out["deleted"] is True and out["after_delete"] == []
    assert out["job_result"] == [{"result": "pong", "error": None}, {"result": "pong", "error": None}]
    assert "user_create.username" in out["validation"]


async def test_truenas_ws_mcp_answers_a_query_over_the_legacy_endpoint(
    sim: RunningSimulator, fidelity_venv: Path, tmp_path: Path
) -> None:
    params = StdioServerParameters(
        command=str(fidelity_venv / "bin" / "truenas-ws-mcp"),
        env={"TRUENAS_URL": sim.legacy_url, "TRUENAS_API_KEY": sim.admin_api_key, "HOME": str(tmp_path)},
        cwd=str(tmp_path),
    )
    with open(os.devnull, "w") as errlog:  # stdio_client wants a text file
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await asyncio.wait_for(session.initialize(), TIMEOUT)
            result: Any = await asyncio.wait_for(session.call_tool("list_pools", {}), TIMEOUT)
    assert not result.is_error, result
    text = "".join(getattr(block, "text", "") for block in result.content)
    pools = json.loads(text) if text.startswith("[") else [json.loads(text)]
    assert any(pool.get("name") == "tank" for pool in pools)
