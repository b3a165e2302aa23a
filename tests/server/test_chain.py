"""Excluded means excluded: every tool the reviewed policy excludes is unreachable by every path.

The excluded tools are enumerated from the generated catalogue's policy data, not from a list in the
test, and each one is looked for over real HTTP in every profile's listing (``/mcp``, ``/mcp/readonly``,
``/mcp/all`` and the toolset profile of its own namespace), in search, in describe, and called directly
and through ``call_tool``.
"""

from __future__ import annotations

from typing import Any

import pytest

from truenas_mcp.catalog import Catalog, ToolSpec

from .conftest import ERAS, MCPClientFactory


def text(result: Any) -> str:
    return "\n".join(block.text for block in result.content if getattr(block, "type", "") == "text")


async def _listed(client: Any) -> set[str]:
    names: set[str] = set()
    cursor = None
    while True:
        page = await client.list_tools(cursor=cursor, cache_mode="refresh")
        names |= {tool.name for tool in page.tools}
        cursor = page.next_cursor
        if cursor is None:
            return names


def _excluded(catalog: Catalog) -> list[ToolSpec]:
    return [tool for tool in catalog if tool.policy.excluded is not None]


def test_the_catalogue_excludes_the_tools_the_overrides_name(catalog: Catalog) -> None:
    names = {tool.name for tool in _excluded(catalog)}
    # The reproduction: these were listed on /mcp/all and executed.
    assert {"core_debug", "core_set_options", "core_resize_shell", "core_download"} <= names
    assert {"core_subscribe", "core_unsubscribe"} <= names


@pytest.mark.parametrize("era", ERAS)
async def test_no_excluded_tool_is_listed_in_any_profile(
    mcp_client: MCPClientFactory, catalog: Catalog, era: str
) -> None:
    excluded = _excluded(catalog)
    paths = ["/mcp", "/mcp/readonly", "/mcp/all"]
    paths += sorted({f"/mcp/x/{tool.policy.namespace}" for tool in excluded})
    for path in paths:
        async with mcp_client(path, era=era) as client:
            listed = await _listed(client)
        assert listed, path
        assert not listed & {tool.name for tool in excluded}, path


async def test_no_excluded_tool_is_found_described_or_called(
    mcp_client: MCPClientFactory, catalog: Catalog
) -> None:
    excluded = _excluded(catalog)
    assert excluded
    async with mcp_client("/mcp") as default, mcp_client("/mcp/all") as everything:
        for tool in excluded:
            query = {"query": f"{tool.title} {tool.method}", "limit": 50}
            hits = await default.call_tool("search_tools", query)
            assert tool.name not in {hit["name"] for hit in hits.structured_content["result"]}
            described = await default.call_tool("describe_tool", {"name": tool.name})
            assert described.is_error and "not offered by this server" in text(described), tool.name
            via = await default.call_tool("call_tool", {"name": tool.name, "arguments": {}})
            assert via.is_error and tool.policy.excluded in text(via), tool.name
            for client in (default, everything):
                direct = await client.call_tool(tool.name, {})
                assert direct.is_error and tool.policy.excluded in text(direct), tool.name
