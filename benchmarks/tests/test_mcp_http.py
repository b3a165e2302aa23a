from __future__ import annotations

import asyncio

import pytest

from benchmarks import ops
from benchmarks.mcp_http import ERAS, EXCHANGE_ERA, SESSION_ERA, MCPHTTPError, MCPSession, _answer, _Response
from benchmarks.tests.conftest import Stack


def _sse(*events: str) -> _Response:
    body = "".join(f"event: message\ndata: {data}\n\n" for data in events).encode()
    return _Response(200, {"content-type": "text/event-stream"}, body)


def test_answer_is_found_among_other_events_of_a_stream() -> None:
    response = _sse(
        '{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}',
        '{"jsonrpc":"2.0","id":4,"result":{"ok":true}}',
    )
    assert _answer(response, 4) == {"jsonrpc": "2.0", "id": 4, "result": {"ok": True}}
    with pytest.raises(MCPHTTPError, match="no answer to request 5"):
        _answer(response, 5)


def test_answer_reads_a_json_body_and_refuses_other_content_types() -> None:
    body = b'{"jsonrpc":"2.0","id":1,"result":{}}'
    assert _answer(_Response(200, {"content-type": "application/json"}, body), 1)["result"] == {}
    with pytest.raises(MCPHTTPError, match="unexpected content type"):
        _answer(_Response(200, {"content-type": "text/html"}, b"<html/>"), 1)


@pytest.mark.parametrize("era", ERAS)
async def test_each_era_lists_tools_and_gets_the_real_answers_from_the_server(live: Stack, era: str) -> None:
    async with MCPSession(live.mcp_url, headers=live.auth.headers, era=era) as session:
        names = {tool["name"] for tool in await session.list_tools()}
        assert {"system_info", "zfs_snapshot_query", "app_start"} <= names
        for op in ops.OPERATIONS.values():
            ops.check(op, ops.mcp_payload(await session.call_tool(op.tool, op.arguments)))


async def test_the_session_era_holds_a_session_and_the_exchange_era_none(live: Stack) -> None:
    async with MCPSession(live.mcp_url, headers=live.auth.headers, era=SESSION_ERA) as session:
        assert session.session_id and session.protocol_version == SESSION_ERA
        assert session.server_info["serverInfo"]["name"] == "truenas-mcp"
    async with MCPSession(live.mcp_url, headers=live.auth.headers, era=EXCHANGE_ERA) as single:
        await single.call_tool("system_info", {})
        assert single.session_id is None and single.protocol_version == EXCHANGE_ERA
        assert EXCHANGE_ERA in (await single.request("server/discover"))["supportedVersions"]


async def test_closing_a_session_ends_it_on_the_server(live: Stack) -> None:
    """Cells open hundreds of sessions in a run: each must be gone when its worker closes it."""
    session = MCPSession(live.mcp_url, headers=live.auth.headers, era=SESSION_ERA)
    await session.open()
    ended = session.session_id
    await session.close()
    again = MCPSession(live.mcp_url, headers=live.auth.headers, era=SESSION_ERA)
    await again.open()
    try:
        again.session_id = ended  # the closed session's id, on a live connection
        with pytest.raises(MCPHTTPError, match="HTTP 404"):
            await again.call_tool("system_info", {})
    finally:
        again.session_id = None
        await again.close()


@pytest.mark.parametrize("era", ERAS)
async def test_tool_errors_and_protocol_errors_raise(live: Stack, era: str) -> None:
    async with MCPSession(live.mcp_url, headers=live.auth.headers, era=era) as session:
        with pytest.raises(MCPHTTPError, match="tool app_start failed"):
            await session.call_tool("app_start", {})  # app_name is required
        with pytest.raises(MCPHTTPError, match=r"JSON-RPC error|HTTP 404"):
            await session.request("no/such/method")


async def test_a_request_without_the_token_is_refused(live: Stack) -> None:
    with pytest.raises(MCPHTTPError, match="HTTP 401"):
        async with MCPSession(live.mcp_url):
            pass


def test_only_http_urls_and_known_eras_are_accepted() -> None:
    with pytest.raises(ValueError, match="url: expected http://"):
        asyncio.run(MCPSession("https://127.0.0.1:1/mcp").open())
    with pytest.raises(ValueError, match="era: expected one of 2025-11-25, 2026-07-28"):
        asyncio.run(MCPSession("http://127.0.0.1:1/mcp", era="2025-06-18").open())
