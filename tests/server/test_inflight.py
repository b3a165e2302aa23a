"""Bytes of answers in flight: past the budget a query answer is cut with a note, others are refused."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx2
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client

from truenas_mcp.catalog import Catalog
from truenas_mcp.client import TrueNASClient
from truenas_mcp.server.app import build_app
from truenas_mcp.server.calls import ToolRuntime
from truenas_mcp.server.settings import ServerSettings

from .conftest import ERAS, bearer, serve

ALL_ROWS = {"options": {"limit": 1000, "order_by": ["id"]}}


@pytest.mark.parametrize("era", ERAS)
async def test_a_full_budget_cuts_a_query_and_refuses_other_answers(
    catalog: Catalog, truenas: TrueNASClient, settings: ServerSettings, era: str
) -> None:
    roomy = settings.model_copy(
        update={"max_answer_bytes": 4 * 1024 * 1024, "answer_bytes_in_flight": 256 * 1024}
    )
    runtime = ToolRuntime(catalog, truenas, roomy)
    async with serve(build_app(runtime, own_client=False)) as url:

        @contextlib.asynccontextmanager
        async def client() -> AsyncIterator[Client]:
            http = httpx2.AsyncClient(timeout=30, headers={"Authorization": f"Bearer {bearer(roomy)}"})
            async with http, Client(streamable_http_client(url + "/mcp", http_client=http), mode=era) as c:
                yield c

        async with client() as mcp:
            free = await mcp.call_tool("zfs_snapshot_query", ALL_ROWS)
            with runtime.answers.lease() as other:
                size = len(free.content[0].text)
                room = max(size // 2, 8 * 1024)
                other.take(runtime.answers.total - room)  # another answer leaves room for about half
                cut = await mcp.call_tool("zfs_snapshot_query", ALL_ROWS)
                other.take(room - 1024)  # and now 1 KiB
                refused = await mcp.call_tool("system_info", {})
            again = await mcp.call_tool("zfs_snapshot_query", ALL_ROWS)

    rows = free.structured_content["result"]
    assert size > 16 * 1024 and "page" not in free.structured_content
    page = cut.structured_content["page"]
    assert 0 < page["returned"] < len(rows) and page["next_offset"] == page["returned"]
    assert "busy with other large answers" in page["note"]
    assert cut.structured_content["result"] == rows[: page["returned"]]
    assert refused.is_error and "answer_bytes_in_flight" in refused.content[0].text
    assert again.structured_content["result"] == rows
    assert runtime.answers.used == 0
