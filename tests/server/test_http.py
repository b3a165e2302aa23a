"""The real server over HTTP (uvicorn) against the simulator: profiles, pagination, calls, operations."""

from __future__ import annotations

import json

import httpx2
import pytest

from truenas_mcp.server.access import Principal
from truenas_mcp.server.app import LIST_PAGE_BYTES
from truenas_mcp.server.calls import ToolRuntime
from truenas_mcp.server.profiles import CORE_TOOLS
from truenas_mcp.server.settings import ServerSettings

from .conftest import ERAS, MCPClientFactory, bearer


@pytest.mark.parametrize("era", ERAS)
async def test_each_profile_lists_its_own_tools(
    mcp_client: MCPClientFactory, era: str, runtime: ToolRuntime
) -> None:
    async with mcp_client("/mcp", era=era) as client:
        default = await client.list_tools()
    async with mcp_client("/mcp/readonly", era=era) as client:
        readonly = await client.list_tools()
    async with mcp_client("/mcp/x/sharing.smb", era=era) as client:
        smb = await client.list_tools()
    default_names = [tool.name for tool in default.tools]
    assert default.next_cursor is None
    assert default_names == sorted(default_names)
    assert set(CORE_TOOLS) <= set(default_names) and "search_tools" in default_names
    assert all(tool.annotations is not None and tool.annotations.read_only_hint for tool in readonly.tools)
    smb_tools = {tool.name for tool in smb.tools} - {"job_status", "job_wait"}
    assert smb_tools and all(name.startswith("sharing_smb_") for name in smb_tools)


@pytest.mark.parametrize("era", ERAS)
async def test_all_profile_pages_through_every_tool(
    mcp_client: MCPClientFactory, era: str, runtime: ToolRuntime
) -> None:
    names: list[str] = []
    pages = 0
    sizes: list[tuple[int, int]] = []  # (tools, bytes) per page
    async with mcp_client("/mcp/all", era=era) as client:
        cursor = None
        while True:
            page = await client.list_tools(cursor=cursor, cache_mode="refresh")
            pages += 1
            names += [tool.name for tool in page.tools]
            dumped = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in page.tools]
            sizes.append((len(dumped), len(json.dumps(dumped, separators=(",", ":")).encode())))
            cursor = page.next_cursor
            if cursor is None:
                break
    admin = Principal("tester", frozenset({"truenas:FULL_ADMIN"}))
    offered = [runtime.catalog.by_name[name] for name in runtime.profiles.all.listed]
    visible = [t for t in offered if runtime.chain.offers(runtime.profiles.all, admin, t)]
    # Excluded tools, core.bulk and auth.* (denied by default) are not listed, even to FULL_ADMIN.
    assert len(visible) < len(offered)
    expected = len(visible) + len(runtime.profiles.all.builtins)
    assert len(names) == len(set(names)) == expected
    # Pages end at list_page_size tools or LIST_PAGE_BYTES of definitions, whichever comes first.
    assert pages >= -(-expected // runtime.settings.list_page_size) and pages == len(sizes)
    assert all(count <= runtime.settings.list_page_size for count, _ in sizes)
    assert all(size <= LIST_PAGE_BYTES * 1.05 or count == 1 for count, size in sizes)


async def test_an_invalid_cursor_is_a_protocol_error(mcp_client: MCPClientFactory) -> None:
    from mcp.shared.exceptions import MCPError

    async with mcp_client("/mcp/all") as client:
        with pytest.raises(MCPError, match="cursor"):
            await client.list_tools(cursor="not-a-cursor", cache_mode="refresh")


@pytest.mark.parametrize("era", ERAS)
async def test_calls_over_http_read_refuse_and_report_progress(
    mcp_client: MCPClientFactory, era: str
) -> None:
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    async with mcp_client("/mcp/readonly", era=era) as client:
        info = await client.call_tool("system_info", {})
        refused = await client.call_tool(
            "call_tool", {"name": "pool_scrub_scrub", "arguments": {"name": "tank"}}
        )
    async with mcp_client("/mcp", era=era) as client:
        job = await client.call_tool(
            "call_tool",
            {"name": "pool_scrub_scrub", "arguments": {"name": "tank"}},
            progress_callback=on_progress,
        )
    assert not info.is_error and info.structured_content["result"]["version"]
    assert refused.is_error
    assert not job.is_error and job.structured_content["job"]["state"] == "SUCCESS"
    assert seen and seen[-1] == 100.0


async def test_unknown_toolsets_get_404_naming_the_known_groups(
    http_url: str, settings: ServerSettings
) -> None:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {bearer(settings)}"}) as http:
        answer = await http.post(f"{http_url}/mcp/x/nope", json={})
    assert answer.status_code == 404
    assert "storage" in answer.json()["error"]


async def test_health_readiness_metrics_and_request_ids(http_url: str, mcp_client: MCPClientFactory) -> None:
    async with mcp_client("/mcp") as client:
        await client.call_tool("system_info", {})
    async with httpx2.AsyncClient() as http:
        health = await http.get(f"{http_url}/healthz", headers={"X-Request-Id": "abc-123"})
        ready = await http.get(f"{http_url}/readyz")
        metrics = await http.get(f"{http_url}/metrics")
    assert health.status_code == 200 and health.headers["x-request-id"] == "abc-123"
    assert ready.status_code == 200 and ready.json() == {"status": "ready", "mode": "single credential"}
    assert 'truenas_mcp_tool_calls_total{outcome="ok",tool="system_info"} 1.0' in metrics.text
    assert "truenas_mcp_truenas_reconnects" in metrics.text


async def test_readiness_fails_while_truenas_is_unreachable(runtime: ToolRuntime) -> None:
    from truenas_mcp.server.app import build_app

    from .conftest import serve

    await runtime.pool.tiers[0].client.close()
    async with serve(build_app(runtime, own_client=False)) as url, httpx2.AsyncClient() as http:
        ready = await http.get(f"{url}/readyz")
        health = await http.get(f"{url}/healthz")
    assert ready.status_code == 503 and health.status_code == 200


async def test_foreign_origins_are_refused(http_url: str) -> None:
    async with httpx2.AsyncClient() as http:
        answer = await http.post(
            f"{http_url}/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            headers={"Origin": "http://evil.example", "Accept": "application/json, text/event-stream"},
        )
    assert answer.status_code == 403
