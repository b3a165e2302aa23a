"""Two ``truenas-mcp serve`` processes behind one address: a client moving between them keeps working.

This is what a Kubernetes Service in front of several replicas does (per-connection balancing, no session
affinity). The proxy hands every new connection to the other replica and the client opens a new connection
per request, so consecutive requests of one MCP client land on different processes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest
from mcp.shared.exceptions import MCPError

from truenas_mcp.client import ClientConfig, TrueNASClient
from truenas_mcp.sim.server import RunningSimulator

from .support import (
    JWTSetup,
    RoundRobinProxy,
    free_port,
    jwt_setup,
    mcp_session,
    running,
    serve_argv,
    simulator_env,
)

READ_SCOPES = ("truenas:READONLY_ADMIN",)
AUDIENCE = "https://mcp.example.test/mcp"  # the Service's public URL, the same for every replica


async def _replicas(
    stack: AsyncExitStack, sim: RunningSimulator, tmp_path: Path, auth: JWTSetup, **settings: str
) -> list[str]:
    env = simulator_env(sim, tmp_path / "api-key")
    env.update(auth.env)
    env.update(settings)
    urls = []
    for _ in range(2):
        env["TRUENAS_MCP_PORT"] = str(free_port())
        url, _log = await stack.enter_async_context(running(serve_argv(), env))
        urls.append(url)
    return urls


@pytest.fixture
async def truenas(sim: RunningSimulator) -> AsyncIterator[TrueNASClient]:
    config = ClientConfig.build(url=sim.url, username=sim.admin_username, api_key=sim.admin_api_key)
    async with TrueNASClient(config) as client:
        yield client


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    found: list[BaseException] = []
    for exc in group.exceptions:
        found += _leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc]
    return found


def _backends(urls: list[str]) -> list[tuple[str, int]]:
    parts = [urlsplit(url) for url in urls]
    return [(str(p.hostname), int(p.port or 80)) for p in parts]


async def _tool_calls(url: str) -> float:
    """The replica's count of tool calls (sum over its ``truenas_mcp_tool_calls_total`` samples)."""
    async with httpx2.AsyncClient(timeout=10) as http:
        text = (await http.get(url + "/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("truenas_mcp_tool_calls_total{")
    )


@pytest.mark.parametrize(
    ("era", "settings"),
    [
        # 2026-07-28 has no sessions: every request stands alone, whatever the server's mode.
        ("2026-07-28", {}),
        # 2025-11-25 clients get no session id from a stateless server, so nothing ties them to a replica.
        ("legacy", {"TRUENAS_MCP_STATELESS": "true"}),
    ],
    ids=["2026-07-28", "legacy-stateless"],
)
async def test_a_client_alternating_between_two_replicas_lists_and_calls_tools(
    sim: RunningSimulator,
    truenas: TrueNASClient,
    tmp_path: Path,
    era: str,
    settings: dict[str, str],
) -> None:
    expected_info = await truenas.call("system.info")
    expected_pools = sorted(pool["name"] for pool in await truenas.call("pool.query"))
    auth = jwt_setup(tmp_path, AUDIENCE, READ_SCOPES)
    async with AsyncExitStack() as stack:
        urls = await _replicas(stack, sim, tmp_path, auth, **settings)
        proxy = await stack.enter_async_context(RoundRobinProxy(_backends(urls)))
        session = mcp_session(proxy.url + "/mcp", era, token=auth.token, keep_alive=False)
        client = await stack.enter_async_context(session)
        listed = await client.list_tools()
        infos: list[dict[str, Any]] = []
        pools: list[list[str]] = []
        for _ in range(2):
            info = await client.call_tool("system_info", {})
            assert not info.is_error, info.content
            assert info.structured_content is not None
            infos.append(info.structured_content["result"])
            query = await client.call_tool("pool_query", {"options": {"select": ["name"]}})
            assert not query.is_error, query.content
            assert query.structured_content is not None
            pools.append(sorted(row["name"] for row in query.structured_content["result"]))
        calls = [await _tool_calls(url) for url in urls]

    assert {tool.name for tool in listed.tools} >= {"system_info", "pool_query"}
    assert all(info["hostname"] == expected_info["hostname"] for info in infos)
    assert all(names == expected_pools for names in pools)
    # Both replicas took connections, and each of them really answered tool calls.
    assert set(proxy.chosen) == {0, 1} and len(proxy.chosen) >= 5  # the list and four calls
    assert all(count >= 1 for count in calls), calls


async def test_a_legacy_session_is_lost_on_the_other_replica_unless_the_server_is_stateless(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    """Why the manifests set TRUENAS_MCP_STATELESS: a 2025-11-25 session lives in one process's memory."""
    auth = jwt_setup(tmp_path, AUDIENCE, READ_SCOPES)
    async with AsyncExitStack() as stack:
        urls = await _replicas(stack, sim, tmp_path, auth)
        proxy = await stack.enter_async_context(RoundRobinProxy(_backends(urls)))
        with pytest.raises(ExceptionGroup) as caught:
            async with mcp_session(
                proxy.url + "/mcp", "legacy", token=auth.token, keep_alive=False
            ) as client:
                for _ in range(2):
                    await client.call_tool("system_info", {})
    leaves = _leaves(caught.value)
    assert any(isinstance(exc, MCPError) and "Session not found" in str(exc) for exc in leaves), leaves
    assert set(proxy.chosen) == {0, 1}
