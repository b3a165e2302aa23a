"""Names and errors a model can use, the confirmation token where a model puts it, cacheable lists."""

from __future__ import annotations

import json

import httpx2
import pytest

from truenas_mcp.server.cli import TOKENIZER, count_tokens
from truenas_mcp.server.settings import ServerSettings

from .conftest import ERAS, MCPClientFactory, bearer


def _text(result: object) -> str:
    return "".join(getattr(block, "text", "") for block in getattr(result, "content", []))


async def test_a_dotted_method_name_answers_with_the_tool_to_use(mcp_client: MCPClientFactory) -> None:
    async with mcp_client("/mcp") as client:
        dotted = await client.call_tool("pool.dataset.create", {"name": "tank/x"})
        typo = await client.call_tool("call_tool", {"name": "zfs_snapshot_querry", "arguments": {}})
    assert dotted.is_error and "its tool is pool_dataset_create" in _text(dotted)
    assert typo.is_error and "did you mean zfs_snapshot_query" in _text(typo)


@pytest.mark.skipif(TOKENIZER != "anthropic-tokenizer", reason="the bound is in Claude tokens")
async def test_an_enum_error_lists_the_allowed_values_once_and_stays_short(
    mcp_client: MCPClientFactory,
) -> None:
    async with mcp_client("/mcp") as client:
        result = await client.call_tool(
            "call_tool",
            {"name": "pool_dataset_create", "arguments": {"name": "tank/x", "compression": "lz4"}},
        )
    text = _text(result)
    assert result.is_error and "did you mean 'LZ4'" in text
    assert text.count("ZSTD-1,") <= 1 and "'GZIP-9'" not in text
    assert count_tokens(text) <= 150, text


async def test_call_tool_takes_the_confirmation_token_beside_the_arguments(
    mcp_client: MCPClientFactory,
) -> None:
    async with mcp_client("/mcp", era="legacy") as client:
        created = await client.call_tool("zfs_snapshot_create", {"dataset": "tank", "name": "ctx-token"})
        assert not created.is_error, _text(created)
        call = {"name": "zfs_snapshot_delete", "arguments": {"id": "tank@ctx-token"}}
        preview = await client.call_tool("call_tool", call)
        token = preview.structured_content["confirmation"]["confirmation_token"]
        done = await client.call_tool("call_tool", {**call, "confirmation_token": token})
        left = await client.call_tool("zfs_snapshot_query", {"filters": [["name", "=", "tank@ctx-token"]]})
    assert preview.is_error and "confirmation_token" in _text(preview)
    assert not done.is_error, _text(done)
    assert left.structured_content["result"] == []


async def test_an_unsupported_protocol_version_says_so(http_url: str, settings: ServerSettings) -> None:
    headers = {
        "Authorization": f"Bearer {bearer(settings)}",
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "MCP-Protocol-Version": "2031-01-01",
    }
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    async with httpx2.AsyncClient(headers=headers) as http:
        answer = await http.post(f"{http_url}/mcp/readonly", content=json.dumps(body))
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == -32022 and "unsupported MCP-Protocol-Version '2031-01-01'" in error["message"]
    assert "2026-07-28" in error["data"]["supported"] and "2025-11-25" in error["data"]["supported"]


@pytest.mark.parametrize("era", ERAS)
async def test_default_lists_are_one_page_and_cacheable(mcp_client: MCPClientFactory, era: str) -> None:
    async with mcp_client("/mcp", era=era) as client:
        page = await client.list_tools(cache_mode="refresh")
    assert page.next_cursor is None and len(page.tools) >= 23
    if era == "2026-07-28":
        assert page.ttl_ms is not None and page.ttl_ms > 0 and page.cache_scope == "private"


async def test_search_summaries_name_tools_not_methods(mcp_client: MCPClientFactory) -> None:
    async with mcp_client("/mcp") as client:
        found = await client.call_tool("search_tools", {"query": "restore a dismissed alert", "limit": 5})
    hits = {hit["name"]: hit["summary"] for hit in found.structured_content["result"]}
    assert "alert_list" in hits["alert_restore"] and "alert.list" not in hits["alert_restore"]
