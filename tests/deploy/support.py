"""Helpers of the deployment tests: server processes, log waiting, a round-robin proxy, MCP clients.

Everything waits on what a process prints or on a socket event, never on a sleep: a server is "up" once
uvicorn has logged the address it listens on, which it does only after the socket is bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from truenas_mcp.server.auth import DEFAULT_ISSUER, mint_token
from truenas_mcp.sim.server import RunningSimulator

LISTENING = re.compile(r"Uvicorn running on (http://[^ \"]+)")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


def free_port() -> int:
    """A port nobody listens on right now (for processes that cannot be handed a bound socket)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def simulator_env(sim: RunningSimulator, key_file: Path) -> dict[str, str]:
    """The ``TRUENAS_*`` variables pointing a server at ``sim``, its API key read from ``key_file``."""
    key_file.write_text(sim.admin_api_key + "\n", encoding="utf-8")
    return {
        "TRUENAS_URL": sim.url,
        "TRUENAS_USERNAME": sim.admin_username,
        "TRUENAS_API_KEY_FILE": str(key_file),
    }


@dataclass
class LogReader:
    """Collects a process's output lines so that a failure can show them, and waits for a pattern."""

    stream: asyncio.StreamReader
    lines: list[str] = field(default_factory=list)

    async def wait_for(self, pattern: re.Pattern[str], timeout: float = START_TIMEOUT) -> re.Match[str]:
        try:
            async with asyncio.timeout(timeout):
                while True:
                    raw = await self.stream.readline()
                    if not raw:
                        raise AssertionError(f"process ended before printing {pattern.pattern!r}:\n{self}")
                    line = raw.decode(errors="replace").rstrip()
                    self.lines.append(line)
                    match = pattern.search(line)
                    if match:
                        return match
        except TimeoutError:
            raise AssertionError(f"no {pattern.pattern!r} within {timeout} s:\n{self}") from None

    async def drain(self) -> None:
        """Keep reading in the background so a chatty process never blocks on a full pipe."""
        while raw := await self.stream.readline():
            self.lines.append(raw.decode(errors="replace").rstrip())

    def __str__(self) -> str:
        return "\n".join(self.lines[-40:])


@contextlib.asynccontextmanager
async def running(
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    stop: Sequence[str] | None = None,
    ready: re.Pattern[str] = LISTENING,
) -> AsyncIterator[tuple[str, LogReader]]:
    """Start ``argv`` (output merged), wait until it logs ``ready`` (by default its listening URL);
    yield ``(first group of the match, log)``.

    On exit the process gets SIGTERM (or ``stop`` is run, for a container) and must end by itself.
    """
    process = await asyncio.create_subprocess_exec(
        *argv,
        env={**os.environ, **(env or {})},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    log = LogReader(process.stdout)
    drain: asyncio.Task[None] | None = None
    try:
        match = await log.wait_for(ready)
        drain = asyncio.create_task(log.drain())
        yield match.group(1), log
    finally:
        if process.returncode is None:
            if stop is not None:
                stopper = await asyncio.create_subprocess_exec(
                    *stop, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
                )
                await stopper.wait()
            else:
                process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(STOP_TIMEOUT):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()
        if drain is not None:
            with contextlib.suppress(asyncio.CancelledError):
                async with asyncio.timeout(STOP_TIMEOUT):
                    await drain


def serve_argv() -> list[str]:
    """``truenas-mcp serve`` from the interpreter's own environment (the one under test)."""
    script = Path(sys.executable).with_name("truenas-mcp")
    command = str(script) if script.exists() else shutil.which("truenas-mcp")
    if command is None:
        raise AssertionError("the truenas-mcp command is not installed in this environment")
    return [command, "serve"]


@dataclass(frozen=True)
class JWTSetup:
    """The shared-secret JWT configuration every replica gets, and a token minted for it."""

    env: dict[str, str]
    token: str


def jwt_setup(
    directory: Path, audience: str, scopes: Sequence[str], *, mounted: str | None = None
) -> JWTSetup:
    """Write random signing and confirmation keys into ``directory`` and mint a bearer token.

    The audience is the public URL of the service, not of one process: every replica must accept the same
    tokens, so it is set explicitly rather than derived from each replica's own host and port. ``mounted``
    is where ``directory`` appears to the server (a container's secret mount), if not at its own path.
    """
    signing = secrets.token_urlsafe(48)
    (directory / "jwt-signing-key").write_text(signing + "\n", encoding="utf-8")
    (directory / "confirm-key").write_text(secrets.token_urlsafe(48) + "\n", encoding="utf-8")
    seen_at = Path(mounted) if mounted else directory
    env = {
        "TRUENAS_MCP_AUTH": "jwt",
        "TRUENAS_MCP_JWT_SECRET_FILE": str(seen_at / "jwt-signing-key"),
        "TRUENAS_MCP_JWT_AUDIENCE": audience,
        "TRUENAS_MCP_CONFIRM_SECRET_FILE": str(seen_at / "confirm-key"),
    }
    token = mint_token(
        signing.encode(),
        subject="deploy-test",
        scopes=scopes,
        ttl_seconds=600,
        issuer=DEFAULT_ISSUER,
        audience=audience,
    )
    return JWTSetup(env, token)


@contextlib.asynccontextmanager
async def mcp_session(
    url: str, era: str, *, token: str | None = None, keep_alive: bool = True
) -> AsyncIterator[Client]:
    """An SDK client over streamable HTTP. Without ``keep_alive`` each request opens a new TCP connection,
    so a connection-balancing proxy (a Kubernetes Service) sends consecutive requests to other replicas."""
    limits = httpx2.Limits() if keep_alive else httpx2.Limits(max_keepalive_connections=0)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = httpx2.AsyncClient(timeout=30, limits=limits, headers=headers)
    async with http, Client(streamable_http_client(url, http_client=http), mode=era) as client:
        yield client


class RoundRobinProxy:
    """A TCP proxy on 127.0.0.1 that hands each new connection to the next backend in turn, like
    kube-proxy in front of a Service's endpoints (balancing per connection, no affinity)."""

    def __init__(self, backends: Sequence[tuple[str, int]]) -> None:
        self._backends = list(backends)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.chosen: list[int] = []  # backend index per accepted connection, in order

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def __aenter__(self) -> RoundRobinProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = len(self.chosen) % len(self._backends)
        self.chosen.append(index)
        host, port = self._backends[index]
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
        except OSError:
            writer.close()
            return
        pumps = [
            asyncio.create_task(self._pump(reader, upstream_writer)),
            asyncio.create_task(self._pump(upstream_reader, writer)),
        ]
        self._tasks.update(pumps)
        try:
            await asyncio.gather(*pumps, return_exceptions=True)
        finally:
            self._tasks.difference_update(pumps)
            for stream in (writer, upstream_writer):
                stream.close()

    @staticmethod
    async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(ConnectionError, RuntimeError):
                if sink.can_write_eof():
                    sink.write_eof()
                else:
                    sink.close()


REDIS_READY = re.compile(r"(Ready to accept connections)")


def redis_argv(port: int, password: str, directory: Path) -> list[str] | None:
    """A throw-away ``redis-server`` on 127.0.0.1:``port`` with a password and no persistence, or None
    when the Debian package (redis-server) is not installed."""
    command = shutil.which("redis-server")
    if command is None:
        return None
    return [
        command,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--requirepass",
        password,
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(directory),
    ]
