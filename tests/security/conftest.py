"""Fixtures for security tests: a server with authentication on, on a real port, against the simulator.

``secured`` starts the real ASGI app under uvicorn with the settings a test asks for (HS256 secret by
default) and gives back its URL, settings and a token minter; every request in these tests goes over HTTP,
because authentication, Origin checks and rate limits live in the HTTP layer.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.server.conftest import (
    _catalog,
    bearer,
    client_config,
    serve,
)
from truenas_mcp.catalog import Catalog
from truenas_mcp.client import TrueNASClient
from truenas_mcp.server.app import build_app
from truenas_mcp.server.calls import ToolRuntime
from truenas_mcp.server.settings import ServerSettings
from truenas_mcp.sim.server import RunningSimulator


@dataclass
class Secured:
    url: str
    settings: ServerSettings
    runtime: ToolRuntime
    audit_path: Path

    def token(self, *scopes: str, subject: str = "alice", ttl: int = 600) -> str:
        return bearer(self.settings, scopes or ("truenas:FULL_ADMIN",), subject=subject, ttl=ttl)

    def audit_lines(self) -> list[str]:
        return self.audit_path.read_text().splitlines() if self.audit_path.exists() else []

    @contextlib.asynccontextmanager
    async def client(
        self, path: str = "/mcp/all", *, token: str | None = None, era: str = "2026-07-28", **kwargs: Any
    ) -> AsyncIterator[Client]:
        http = httpx2.AsyncClient(timeout=30, headers={"Authorization": f"Bearer {token or self.token()}"})
        transport = streamable_http_client(self.url + path, http_client=http)
        async with http, Client(transport, mode=era, **kwargs) as client:
            yield client


def text(result: Any) -> str:
    """The text blocks of a tool result."""
    return "\n".join(block.text for block in result.content if getattr(block, "type", "") == "text")


SecuredFactory = Callable[..., contextlib.AbstractAsyncContextManager[Secured]]


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return _catalog()


@pytest.fixture
def secured(
    sim: RunningSimulator,
    catalog: Catalog,
    tmp_path: Path,
) -> SecuredFactory:
    """``async with secured(destructive="disable") as server:`` — overrides are ``ServerSettings`` fields;
    ``tools=`` serves another catalog than the generated one."""

    @contextlib.asynccontextmanager
    async def start(*, tools: Catalog | None = None, **overrides: Any) -> AsyncIterator[Secured]:
        secret_file = tmp_path / "jwt.secret"
        if not secret_file.exists():
            secret_file.write_text(secrets.token_urlsafe(48))
        audit_path = tmp_path / "audit.log"
        values: dict[str, Any] = {
            "job_wait_seconds": 5.0,
            "jwt_secret_file": secret_file,
            "audit_log": str(audit_path),
            "jwt_audience": "http://127.0.0.1:8080/mcp",
        }
        values.update(overrides)
        if "jwt_public_key_file" in overrides or "jwks_url" in overrides:
            values.pop("jwt_secret_file")
        settings = ServerSettings(**values)
        async with TrueNASClient(client_config(sim)) as truenas:
            runtime = ToolRuntime(tools or catalog, truenas, settings)
            async with serve(build_app(runtime, own_client=False)) as url:
                yield Secured(url, settings, runtime, audit_path)

    return start
