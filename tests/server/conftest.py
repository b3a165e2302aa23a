"""Fixtures for server tests: the generated catalog, a runtime on the simulator, MCP clients of both eras.

``serve_http`` runs the real ASGI app under uvicorn on a free 127.0.0.1 port; ``mcp_client`` connects
the SDK ``Client`` over streamable HTTP in either protocol era.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from truenas_mcp.catalog import Catalog, CatalogNotFound, load_catalog
from truenas_mcp.client import ClientConfig, TrueNASClient
from truenas_mcp.server.app import build_app
from truenas_mcp.server.auth import DEFAULT_ISSUER, mint_token, resource_url
from truenas_mcp.server.calls import ToolRuntime
from truenas_mcp.server.settings import ServerSettings
from truenas_mcp.sim.server import RunningSimulator

ERAS = ("legacy", "2026-07-28")


def _catalog() -> Catalog:
    try:
        return load_catalog()
    except CatalogNotFound:
        try:
            import truenas_mcp_tools
        except ImportError:
            pytest.skip("the generated tool package is not installed (pip install -e generated)")
        catalog: Catalog = truenas_mcp_tools.catalog()
        return catalog


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return _catalog()


@pytest.fixture
def jwt_secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "jwt.secret"
    path.write_text(secrets.token_urlsafe(48) + "\n")
    return path


@pytest.fixture
def settings(jwt_secret_file: Path, tmp_path: Path) -> ServerSettings:
    # Authentication is on, as in production; the rate limit is raised so paging tests never meet it.
    return ServerSettings(
        job_wait_seconds=5.0,
        jwt_secret_file=jwt_secret_file,
        audit_log=str(tmp_path / "audit.log"),
        rate_limit_burst=10_000,
    )


def bearer(
    settings: ServerSettings,
    scopes: Iterable[str] = ("truenas:FULL_ADMIN",),
    *,
    subject: str = "tester",
    ttl: int = 600,
) -> str:
    """A token the server of ``settings`` accepts (HS256, its secret, issuer and audience)."""
    assert settings.jwt_secret_file is not None
    return mint_token(
        settings.jwt_secret_file.read_bytes().strip(),
        subject=subject,
        scopes=scopes,
        ttl_seconds=ttl,
        issuer=settings.jwt_issuer or DEFAULT_ISSUER,
        audience=resource_url(settings),
    )


def client_config(sim: RunningSimulator) -> ClientConfig:
    return ClientConfig.build(
        url=sim.url,
        username=sim.admin_username,
        api_key=sim.admin_api_key,
        call_timeout=10.0,
        reconnect_initial_delay=0.01,
        reconnect_max_delay=0.05,
    )


@pytest.fixture
async def truenas(sim: RunningSimulator) -> AsyncIterator[TrueNASClient]:
    async with TrueNASClient(client_config(sim)) as client:
        yield client


@pytest.fixture
def runtime(catalog: Catalog, truenas: TrueNASClient, settings: ServerSettings) -> ToolRuntime:
    return ToolRuntime(catalog, truenas, settings)


class _Server(uvicorn.Server):
    """uvicorn with an event for "listening", so tests wait on it instead of polling."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """Run ``app`` under uvicorn on a free port; yields the base URL and stops the server on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # asyncio sets TCP_NODELAY
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5)
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            done, _ = await asyncio.wait(
                [task, asyncio.ensure_future(server.ready.wait())], return_when="FIRST_COMPLETED"
            )
            if task in done:
                task.result()
                raise RuntimeError("uvicorn stopped before it was ready")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sock.close()


@pytest.fixture
async def http_url(runtime: ToolRuntime) -> AsyncIterator[str]:
    """The real server over HTTP (uvicorn), sharing the test's TrueNAS client."""
    async with serve(build_app(runtime, own_client=False)) as url:
        yield url


MCPClientFactory = Callable[..., contextlib.AbstractAsyncContextManager[Client]]


@pytest.fixture
def mcp_client(http_url: str, settings: ServerSettings) -> MCPClientFactory:
    """``async with mcp_client("/mcp/readonly", era="legacy") as client`` over real HTTP, with a
    FULL_ADMIN token unless ``token=`` names another."""

    @contextlib.asynccontextmanager
    async def connect(
        path: str = "/mcp", era: str = "2026-07-28", *, token: str | None = None, **kwargs: Any
    ) -> AsyncIterator[Client]:
        headers = {"Authorization": f"Bearer {token or bearer(settings)}"}
        http = httpx2.AsyncClient(timeout=30, headers=headers)
        transport = streamable_http_client(http_url + path, http_client=http)
        async with http, Client(transport, mode=era, **kwargs) as client:
            yield client

    return connect
