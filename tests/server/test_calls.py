"""Tool calls in-process (SDK ``Client`` on the ``Server``, both protocol eras) against the simulator."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from mcp import Client

from truenas_mcp.server.app import build_server
from truenas_mcp.server.calls import ToolRuntime
from truenas_mcp.server.profiles import Profile
from truenas_mcp.server.settings import ServerSettings
from truenas_mcp.sim.faults import Faults
from truenas_mcp.sim.server import RunningSimulator

from .conftest import ERAS

Connect = Callable[..., contextlib.AbstractAsyncContextManager[Client]]


@pytest.fixture(params=ERAS)
def connect(request: pytest.FixtureRequest, runtime: ToolRuntime) -> Connect:
    era = request.param

    @contextlib.asynccontextmanager
    async def open_client(profile: Profile | None = None) -> AsyncIterator[Client]:
        async with Client(build_server(runtime, fallback=profile), mode=era) as client:
            yield client

    return open_client


def text(result: Any) -> str:
    return "\n".join(block.text for block in result.content if getattr(block, "type", "") == "text")


async def test_a_read_tool_returns_structured_content_and_the_same_json_as_text(
    connect: Connect, sim: RunningSimulator
) -> None:
    async with connect() as client:
        result = await client.call_tool("pool_query", {"filters": [["name", "=", "tank"]]})
    assert not result.is_error
    assert result.structured_content is not None
    rows = result.structured_content["result"]
    assert [row["name"] for row in rows] == ["tank"]
    assert json.loads(text(result)) == result.structured_content
    assert isinstance(rows[0]["scan"]["start_time"], str)  # datetimes arrive as ISO 8601 text


async def test_invalid_arguments_are_an_error_result_naming_each_field(connect: Connect) -> None:
    async with connect() as client:
        result = await client.call_tool("pool_query", {"options": {"limit": "ten", "bogus": 1}})
    assert result.is_error
    message = text(result)
    assert "options.limit" in message and "options.bogus" in message
    assert "nothing was sent" in message


async def test_a_write_tool_changes_truenas(connect: Connect, sim: RunningSimulator) -> None:
    async with connect() as client:
        created = await client.call_tool("zfs_snapshot_create", {"dataset": "tank", "name": "mcp-test"})
        assert not created.is_error, text(created)
        listed = await client.call_tool("zfs_snapshot_query", {"filters": [["name", "=", "tank@mcp-test"]]})
    assert [row["name"] for row in listed.structured_content["result"]] == ["tank@mcp-test"]


async def test_truenas_errors_are_error_results_with_the_reason(connect: Connect) -> None:
    async with connect() as client:
        result = await client.call_tool("pool_scrub_run", {"name": "no-such-pool"})
    assert result.is_error
    assert "no-such-pool" in text(result)


async def test_readonly_profile_refuses_write_tools_even_by_name_and_through_call_tool(
    connect: Connect, runtime: ToolRuntime
) -> None:
    async with connect(runtime.profiles.readonly) as client:
        listed = {tool.name for tool in (await client.list_tools()).tools}
        assert "service_start" not in listed and "pool_query" in listed
        direct = await client.call_tool("service_start", {"service": "cifs"})
        via = await client.call_tool("call_tool", {"name": "service_start", "arguments": {"service": "cifs"}})
        hits = await client.call_tool("search_tools", {"query": "start a service", "limit": 20})
    for result in (direct, via):
        assert result.is_error and "read-only" in text(result)
    assert all(hit["safety"] == "read" for hit in hits.structured_content["result"])


async def test_discovery_finds_describes_and_calls_a_tool_that_is_not_listed(connect: Connect) -> None:
    async with connect() as client:
        listed = {tool.name for tool in (await client.list_tools()).tools}
        assert "user_query" not in listed
        hits = await client.call_tool("search_tools", {"query": "list user accounts"})
        names = [hit["name"] for hit in hits.structured_content["result"]]
        assert "user_query" in names
        described = await client.call_tool("describe_tool", {"name": "user_query"})
        assert described.structured_content["result"]["inputSchema"]["type"] == "object"
        called = await client.call_tool(
            "call_tool", {"name": "user_query", "arguments": {"filters": [["username", "=", "root"]]}}
        )
        bad = await client.call_tool("call_tool", {"name": "user_query", "arguments": {"filters": "root"}})
    assert not called.is_error
    assert [row["username"] for row in called.structured_content["result"]] == ["root"]
    assert bad.is_error and "filters" in text(bad)


async def test_query_answers_get_a_default_limit_and_a_paging_note(
    sim: RunningSimulator, truenas: Any, catalog: Any
) -> None:
    runtime = ToolRuntime(catalog, truenas, ServerSettings(default_limit=1))
    async with Client(build_server(runtime), mode="2026-07-28") as client:
        result = await client.call_tool("call_tool", {"name": "user_query", "arguments": {}})
        second = await client.call_tool(
            "call_tool", {"name": "user_query", "arguments": {"options": {"offset": 1}}}
        )
    page = result.structured_content["page"]
    assert len(result.structured_content["result"]) == 1
    assert page["next_offset"] == 1 and "options.select" in page["note"]
    assert second.structured_content["result"] != result.structured_content["result"]


async def test_job_tools_report_progress_and_return_the_result(connect: Connect) -> None:
    seen: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, message))

    async with connect() as client:
        result = await client.call_tool(
            "call_tool",
            {"name": "pool_scrub_scrub", "arguments": {"name": "tank"}},
            progress_callback=on_progress,
        )
        status = await client.call_tool("job_status", {"job_id": result.structured_content["job"]["id"]})
    assert not result.is_error, text(result)
    assert result.structured_content["job"]["state"] == "SUCCESS"
    assert status.structured_content["job"]["state"] == "SUCCESS"
    assert seen and seen[-1][0] == 100.0


async def test_a_job_still_running_returns_a_handle_that_job_wait_follows_with_progress(
    sim: RunningSimulator, truenas: Any, catalog: Any
) -> None:
    sim.faults.update(Faults(stall_jobs={"pool.scrub.scrub"}))
    runtime = ToolRuntime(catalog, truenas, ServerSettings(job_wait_seconds=0.3))
    seen: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, message))

    async with Client(build_server(runtime, fallback=runtime.profiles.all), mode="legacy") as client:
        started = await client.call_tool("pool_scrub_scrub", {"name": "tank"}, progress_callback=on_progress)
        handle = started.structured_content["job"]
        assert not started.is_error and handle["state"] in ("WAITING", "RUNNING")
        assert "job_wait" in text(started)
        sim.faults.update(Faults())
        finished = await client.call_tool(
            "job_wait", {"job_id": handle["id"], "timeout_seconds": 0.3}, progress_callback=on_progress
        )
    assert finished.structured_content["job"]["state"] == "SUCCESS"
    assert seen[0][0] == 0.0 and seen[-1] == (100.0, "Scrub of pool tank finished")
    values = [value for value, _ in seen]
    assert values == sorted(set(values))


async def test_a_failed_job_is_an_error_result_with_the_job_error(
    connect: Connect, sim: RunningSimulator
) -> None:
    sim.faults.update(Faults(fail_jobs={"pool.scrub.scrub"}))
    async with connect() as client:
        result = await client.call_tool(
            "call_tool", {"name": "pool_scrub_scrub", "arguments": {"name": "tank"}}
        )
    assert result.is_error
    assert "failed" in text(result)


async def test_unknown_tools_and_excluded_upload_tools_say_why(connect: Connect) -> None:
    async with connect() as client:
        unknown = await client.call_tool("call_tool", {"name": "no_such_tool", "arguments": {}})
        upload = await client.call_tool(
            "call_tool", {"name": "filesystem_put", "arguments": {"path": "/mnt/x"}}
        )
    assert unknown.is_error and "search_tools" in text(unknown)
    assert upload.is_error and "upload" in text(upload)


async def test_metrics_count_calls_by_tool_and_outcome(runtime: ToolRuntime) -> None:
    async with Client(build_server(runtime), mode="2026-07-28") as client:
        await client.call_tool("system_info", {})
        await client.call_tool("pool_query", {"options": "x"})
    exposition = runtime.metrics.render().decode()
    assert 'truenas_mcp_tool_calls_total{outcome="ok",tool="system_info"} 1.0' in exposition
    assert 'truenas_mcp_tool_calls_total{outcome="invalid_arguments",tool="pool_query"} 1.0' in exposition
    assert "truenas_mcp_tool_call_seconds_bucket" in exposition


async def test_select_returns_only_the_chosen_fields(runtime: ToolRuntime) -> None:
    async with Client(build_server(runtime), mode="2026-07-28") as client:
        result = await client.call_tool("pool_query", {"options": {"select": ["name", "status"]}})
    assert [sorted(row) for row in result.structured_content["result"]] == [["name", "status"]] * 2
