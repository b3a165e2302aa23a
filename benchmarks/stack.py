"""The system under test: simulator, seeded world, our MCP server and the peer, each its own process.

``mcp_auth`` is the one place that knows how a benchmark client authenticates to our server; everything
else passes its ``env`` to the server and its ``headers`` to the MCP client.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import ops
from benchmarks.mcp_http import EXCHANGE_ERA, MCPHTTPError, MCPSession
from benchmarks.procs import Service, ServiceError, read_announcement, spawn

_CLI = "from truenas_mcp.cli import main; main()"
_AUDIENCE = "http://127.0.0.1/mcp"
_MAX_ANSWER_BYTES = 16 * 1024 * 1024  # room for the 1,000-row answer (text and structured copies)


@dataclass(frozen=True)
class SimulatorInfo:
    url: str
    legacy_url: str
    username: str
    api_key: str
    key_file: Path


@dataclass(frozen=True)
class MCPAuth:
    env: dict[str, str] = field(default_factory=dict)  # server settings that turn authentication on
    headers: dict[str, str] = field(default_factory=dict)  # what each MCP request carries
    mode: str = "none"


def mcp_auth(python: str, workdir: Path) -> MCPAuth:
    """How benchmark clients authenticate to our server: its default, bearer JWTs.

    The small shared-secret set-up of the docs: an HS256 secret file, and one token minted by
    ``truenas-mcp token create`` with FULL_ADMIN scope. The audience is pinned, so one token fits every
    server instance the bench starts (each on its own port).
    """
    secret = workdir / "jwt_secret"
    secret.write_text(secrets.token_hex(32))
    secret.chmod(0o600)
    env = {
        "TRUENAS_MCP_AUTH": "jwt",
        "TRUENAS_MCP_JWT_SECRET_FILE": str(secret),
        "TRUENAS_MCP_JWT_AUDIENCE": _AUDIENCE,
    }
    argv = [python, "-c", _CLI, "token", "create", "--sub", "bench", "--scope", "truenas:FULL_ADMIN"]
    minted = subprocess.run(
        [*argv, "--ttl", "2h", "--json"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if minted.returncode != 0:
        raise ServiceError(f"truenas-mcp token create failed: {minted.stderr.strip()[-1000:]}")
    token = json.loads(minted.stdout)["token"]
    return MCPAuth(env=env, headers={"Authorization": f"Bearer {token}"}, mode="JWT HS256 bearer token")


class LoginBudget:
    """TrueNAS refuses a 21st login from one address within 60 s (``utils/rate_limit``). Everything that
    logs in to the simulator takes a ticket first, and waits (bounded) when the window is full."""

    def __init__(self, per_window: int = 18, window: float = 61.0) -> None:
        self._per_window = per_window
        self._window = window
        self._stamps: collections.deque[float] = collections.deque()

    def take(self, count: int = 1) -> float:
        """Block until ``count`` logins fit in the window; returns the seconds waited."""
        waited = 0.0
        for _ in range(count):
            now = time.monotonic()
            while self._stamps and now - self._stamps[0] >= self._window:
                self._stamps.popleft()
            if len(self._stamps) >= self._per_window:
                pause = self._window - (now - self._stamps[0])
                time.sleep(pause)
                waited += pause
                self._stamps.popleft()
            self._stamps.append(time.monotonic())
        return waited


def start_simulator(python: str, workdir: Path) -> tuple[Service, SimulatorInfo]:
    service = spawn(
        "simulator",
        [python, "-c", _CLI, "sim", "--host", "127.0.0.1", "--port", "0"],
        workdir,
        announces=True,
    )
    found = read_announcement(service, ("url", "legacy_url", "username", "api_key"), timeout=60)
    key_file = workdir / "api_key"
    key_file.write_text(found["api_key"])
    key_file.chmod(0o600)
    info = SimulatorInfo(found["url"], found["legacy_url"], found["username"], found["api_key"], key_file)
    return service, info


async def seed_snapshots(sim: SimulatorInfo, total: int = ops.QUERY_ROWS) -> int:
    """Create snapshots through the API until the box holds exactly ``total``; returns how many were made."""
    from truenas_mcp.client import ClientConfig, TrueNASClient

    config = ClientConfig.build(url=sim.url, username=sim.username, api_key=sim.api_key)
    async with TrueNASClient(config) as client:
        existing = await client.call("zfs.snapshot.query", [], {"count": True})
        if existing > total:
            raise ServiceError(f"the demo world already holds {existing} snapshots, more than {total}")
        unlocked = [["locked", "=", False], ["type", "=", "FILESYSTEM"]]
        rows = await client.call("pool.dataset.query", unlocked, {"select": ["id"]})
        datasets = [row["id"] for row in rows]
        if not datasets:
            raise ServiceError("the demo world has no dataset to snapshot")
        missing = total - existing
        slots = asyncio.Semaphore(8)

        async def create(i: int) -> None:
            async with slots:
                spec = {"dataset": datasets[i % len(datasets)], "name": f"bench-{i:04d}"}
                await client.call("zfs.snapshot.create", spec)

        await asyncio.gather(*(create(i) for i in range(missing)))
        count = await client.call("zfs.snapshot.query", [], {"count": True})
        if count != total:
            raise ServiceError(f"seeding left {count} snapshots, expected {total}")
        return int(missing)


def spawn_ours(
    python: str, sim: SimulatorInfo, port: int, workdir: Path, auth: MCPAuth, name: str
) -> Service:
    env = {
        "TRUENAS_URL": sim.url,
        "TRUENAS_USERNAME": sim.username,
        "TRUENAS_API_KEY_FILE": str(sim.key_file),
        "TRUENAS_MCP_HOST": "127.0.0.1",
        "TRUENAS_MCP_PORT": str(port),
        "TRUENAS_MCP_MAX_ANSWER_BYTES": str(_MAX_ANSWER_BYTES),
        # One bench token is one caller; the per-caller limiter (120/min by default) would cap the load.
        "TRUENAS_MCP_RATE_LIMIT_PER_MINUTE": "0",
        # ... and its session cap (16 by default) would refuse the 128 clients and the idle sessions.
        "TRUENAS_MCP_MAX_SESSIONS_PER_PRINCIPAL": "1000",
        **auth.env,
    }
    return spawn(name, [python, "-c", _CLI, "serve"], workdir, env=env)


def spawn_floor(python: str, sim: SimulatorInfo, port: int, workdir: Path, name: str = "floor") -> Service:
    """The floor server (``benchmarks.floor``), logged in to the simulator like ours."""
    env = {
        "TRUENAS_URL": sim.url,
        "TRUENAS_USERNAME": sim.username,
        "TRUENAS_API_KEY_FILE": str(sim.key_file),
    }
    repo = Path(__file__).resolve().parents[1]
    return spawn(name, [python, "-m", "benchmarks.floor", str(port)], workdir, env=env, cwd=repo)


async def wait_floor(service: Service, url: str, timeout: float = 60.0) -> None:
    """Poll the floor (every 5 ms, bounded) until it answers a real ``system_info`` call."""
    deadline = time.monotonic() + timeout
    while True:
        service.check_alive()
        try:
            async with MCPSession(url, timeout=10, era=EXCHANGE_ERA) as session:
                ops.check(ops.OPERATIONS["info"], ops.mcp_payload(await session.call_tool("system_info", {})))
            return
        except (ConnectionError, OSError):
            if time.monotonic() > deadline:
                raise ServiceError(f"{service.name}: no answer within {timeout:g} s") from None
            await asyncio.sleep(0.005)


@dataclass(frozen=True)
class Startup:
    first_tools_list_s: float  # process creation → first complete tools/list answer
    tools: int
    ready_s: float | None  # process creation → /readyz says the TrueNAS connection is up (ours only)


async def wait_first_tools_list(
    service: Service, url: str, headers: dict[str, str], timeout: float = 60.0
) -> Startup:
    """Time from process creation to the first full ``tools/list``, polling every 5 ms until it answers."""
    deadline = time.monotonic() + timeout
    while True:
        service.check_alive()
        try:
            async with MCPSession(url, headers=headers, timeout=10) as session:
                tools = await session.list_tools()
            return Startup(time.perf_counter() - service.started_at, len(tools), None)
        except (ConnectionError, OSError):
            if time.monotonic() > deadline:
                raise ServiceError(f"{service.name}: no tools/list within {timeout:g} s") from None
            await asyncio.sleep(0.005)


def wait_ready(service: Service, base_url: str, timeout: float = 60.0) -> float:
    """Seconds from process creation until ``/readyz`` answers 200 (polled every 5 ms, bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        service.check_alive()
        try:
            with urllib.request.urlopen(base_url + "/readyz", timeout=5) as response:
                if response.status == 200:
                    return time.perf_counter() - service.started_at
        except (urllib.error.URLError, ConnectionError, MCPHTTPError):
            pass
        time.sleep(0.005)
    raise ServiceError(f"{service.name}: not ready within {timeout:g} s; log:\n{service.tail()}")
