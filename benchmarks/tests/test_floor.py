from __future__ import annotations

from benchmarks import ops
from benchmarks.mcp_http import EXCHANGE_ERA, MCPHTTPError, MCPSession
from benchmarks.tests.conftest import Stack


async def test_the_floor_answers_with_the_real_rows_of_the_same_truenas_call(live: Stack) -> None:
    async with MCPSession(live.floor_url, era=EXCHANGE_ERA) as session:
        for op in ops.OPERATIONS.values():
            result = await session.call_tool(op.tool, op.arguments)
            ops.check(op, ops.mcp_payload(result))
            assert result["content"][0]["type"] == "text"
        rows = ops.mcp_payload(await session.call_tool("zfs_snapshot_query", {}))
        assert len({row["id"] for row in rows}) == ops.QUERY_ROWS  # 1,000 distinct snapshots


async def test_the_floor_refuses_what_it_does_not_measure(live: Stack) -> None:
    async with MCPSession(live.floor_url, era=EXCHANGE_ERA) as session:
        for call in (session.request("tools/list"), session.call_tool("pool_query", {})):
            try:
                await call
            except MCPHTTPError as exc:
                assert "the floor answers tools/call of the measured tools only" in str(exc)
            else:
                raise AssertionError("the floor answered a call it does not make")
