"""TrueNAS roles as token scopes: what a caller sees, finds and may call always agree."""

from __future__ import annotations

from truenas_mcp.server.settings import ArgumentRule

from .conftest import SecuredFactory, text


async def _all_names(client: object) -> set[str]:
    names: set[str] = set()
    cursor = None
    while True:
        page = await client.list_tools(cursor=cursor, cache_mode="refresh")  # type: ignore[attr-defined]
        names |= {tool.name for tool in page.tools}
        cursor = page.next_cursor
        if cursor is None:
            return names


async def test_a_readonly_admin_token_sees_and_calls_only_read_tools(secured: SecuredFactory) -> None:
    async with secured() as server:
        catalog = server.runtime.catalog
        token = server.token("truenas:READONLY_ADMIN", subject="reader")
        async with server.client("/mcp/all", token=token) as client:
            names = await _all_names(client)
            read = await client.call_tool("pool_query", {})
            write = await client.call_tool("service_start", {"service": "cifs"})
        async with server.client("/mcp", token=token) as client:
            hits = await client.call_tool("search_tools", {"query": "start a service", "limit": 20})
            via = await client.call_tool(
                "call_tool", {"name": "service_start", "arguments": {"service": "cifs"}}
            )
            described = await client.call_tool("describe_tool", {"name": "service_start"})
    tools = {name: catalog.by_name[name] for name in names if name in catalog.by_name}
    assert tools and all(t.policy.safety == "read" for t in tools.values())
    assert all("READONLY_ADMIN" in t.policy.roles for t in tools.values())
    assert not read.is_error
    assert write.is_error and "truenas:SERVICE_WRITE" in text(write)
    assert via.is_error and "not allowed" in text(via)
    found = {hit["name"] for hit in hits.structured_content["result"]}
    assert found and all(catalog.by_name[n].policy.safety == "read" for n in found)
    assert described.is_error


async def test_a_sharing_admin_creates_an_smb_share_but_cannot_delete_a_pool(secured: SecuredFactory) -> None:
    async with secured(destructive="allow") as server:
        token = server.token("truenas:SHARING_ADMIN", subject="sharer")
        async with server.client("/mcp/all", token=token) as client:
            names = await _all_names(client)
            share = await client.call_tool("sharing_smb_create", {"path": "/mnt/tank", "name": "teamshare"})
            export = await client.call_tool("pool_export", {"id": 1})
        async with server.client("/mcp/all") as admin:
            shares = await admin.call_tool("sharing_smb_query", {"filters": [["name", "=", "teamshare"]]})
            pools = await admin.call_tool("pool_query", {})
    assert "sharing_smb_create" in names and "pool_export" not in names
    assert not share.is_error, text(share)
    assert shares.structured_content["result"]
    assert export.is_error and "truenas:POOL_WRITE" in text(export)
    assert pools.structured_content["result"]  # the pool is still there


async def test_methods_without_recorded_roles_need_full_admin(secured: SecuredFactory) -> None:
    # core.bulk and auth.* are also denied by the default tool_deny; allow them here to test roles alone.
    async with secured(tool_deny=[]) as server:
        async with server.client("/mcp/all", token=server.token("truenas:READONLY_ADMIN")) as client:
            reader = await _all_names(client)
        async with server.client("/mcp/all") as client:
            admin = await _all_names(client)
    empty = {t.name for t in server.runtime.catalog if not t.policy.roles}
    assert empty & admin and not empty & reader


async def test_deployment_rules_deny_tools_and_argument_values_even_for_full_admin(
    secured: SecuredFactory,
) -> None:
    rule = ArgumentRule(tool="pool.dataset.delete", argument="id", values=["tank", "tank/*"], reason="keep")
    async with (
        secured(argument_deny=[rule], destructive="allow") as server,
        server.client("/mcp/all") as client,
    ):
        names = await _all_names(client)
        refused = await client.call_tool("pool_dataset_delete", {"id": "tank/media"})
        bulk = await client.call_tool("core_bulk", {"method": "pool.query", "params": [[]]})
        listed = await client.call_tool("pool_dataset_query", {"filters": [["id", "=", "tank/media"]]})
    assert "core_bulk" not in names and not any(n.startswith("auth_") for n in names)
    assert refused.is_error and "tank/media" in text(refused) and "keep" in text(refused)
    assert bulk.is_error
    assert listed.structured_content["result"], "the dataset must survive the refused delete"
