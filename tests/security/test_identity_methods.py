"""Identity and credential tools are for FULL_ADMIN principals only, whatever TrueNAS's role table says.

The catalogue served here marks ``api_key.create`` and ``api_key.update`` admin-only, as the reviewed
overrides do for identity methods; SHARING_ADMIN is among the roles TrueNAS records for both, so only the
server's identity rule keeps a sharing administrator from minting or resetting a key.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import mcp_types as types
import pytest

from truenas_mcp.catalog import Catalog

from .conftest import SecuredFactory, text

IDENTITY = ("api_key_create", "api_key_update")
CREATE = {"name": "minted", "username": "truenas_admin"}


def _with_admin_only(catalog: Catalog) -> Catalog:
    tools = tuple(
        dataclasses.replace(
            tool,
            policy=dataclasses.replace(tool.policy, admin_only="mints or resets credentials of any user"),
        )
        if tool.name in IDENTITY
        else tool
        for tool in catalog
    )
    return dataclasses.replace(catalog, tools=tools)


async def _listed(client: Any) -> set[str]:
    names: set[str] = set()
    cursor = None
    while True:
        page = await client.list_tools(cursor=cursor, cache_mode="refresh")
        names |= {tool.name for tool in page.tools}
        cursor = page.next_cursor
        if cursor is None:
            return names


def _approve(asked: list[str]) -> Any:
    async def callback(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={"confirm": True})

    return callback


@pytest.mark.parametrize("era", ["legacy", "2026-07-28"])
async def test_a_sharing_admin_cannot_reach_identity_tools_even_approving_its_own_call(
    secured: SecuredFactory, catalog: Catalog, era: str
) -> None:
    tools = _with_admin_only(catalog)
    assert all(set(tools.by_name[name].policy.roles) >= {"SHARING_ADMIN"} for name in IDENTITY)
    asked: list[str] = []
    async with secured(tools=tools) as server:
        assert server.runtime.catalog is tools
        token = server.token("truenas:SHARING_ADMIN", subject="carol")
        async with server.client("/mcp/all", token=token, era=era, elicitation_callback=_approve(asked)) as c:
            listed = await _listed(c)
            direct = await c.call_tool("api_key_create", CREATE)
            reset = await c.call_tool("api_key_update", {"id": 1, "api_key_update": {"reset": True}})
        async with server.client("/mcp", token=token, era=era, elicitation_callback=_approve(asked)) as c:
            hits = await c.call_tool("search_tools", {"query": "create an API key", "limit": 50})
            described = await c.call_tool("describe_tool", {"name": "api_key_create"})
            via = await c.call_tool("call_tool", {"name": "api_key_create", "arguments": CREATE})
    assert not listed & set(IDENTITY)
    assert "sharing_smb_create" in listed  # the token's own tools are still there
    assert not {hit["name"] for hit in hits.structured_content["result"]} & set(IDENTITY)
    assert described.is_error and "unknown tool" in text(described)
    for refused in (direct, reset, via):
        assert refused.is_error
        assert "only truenas:FULL_ADMIN" in text(refused) and "confirmation does not replace" in text(refused)
    assert asked == []  # refused before any confirmation was asked for


async def test_a_full_admin_is_offered_identity_tools_behind_a_confirmation(
    secured: SecuredFactory, catalog: Catalog
) -> None:
    async with (
        secured(tools=_with_admin_only(catalog)) as server,
        server.client("/mcp/all", token=server.token("truenas:FULL_ADMIN")) as client,
    ):
        listed = await _listed(client)
        answer = await client.call_tool("api_key_create", CREATE)
    assert set(IDENTITY) <= listed
    assert answer.is_error and "confirmation" in (answer.structured_content or {}), text(answer)
