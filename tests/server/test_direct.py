"""Direct answers over real HTTP: which calls get one JSON body, that they say what the SDK path says,
and that sessions, owners and streams keep their rules."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp.client import Client

from truenas_mcp.catalog import Catalog
from truenas_mcp.server.app import build_server
from truenas_mcp.server.calls import ToolRuntime
from truenas_mcp.server.direct import needs_sdk
from truenas_mcp.server.settings import ServerSettings

from .conftest import ERAS, MCPClientFactory, bearer

MODERN = "2026-07-28"
LEGACY = "2025-11-25"
ENVELOPE = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
}
QUERY = {"name": "zfs_snapshot_query", "arguments": {"options": {"limit": 5, "order_by": ["id"]}}}


class Legacy:
    """A 2025-11-25 session spoken by hand, to see each answer's media type."""

    def __init__(self, http: httpx2.AsyncClient, url: str) -> None:
        self.http, self.url, self.session = http, url, ""
        self.next_id = 0

    async def open(self, capabilities: dict[str, Any] | None = None) -> None:
        init = {
            "protocolVersion": LEGACY,
            "capabilities": capabilities or {},
            "clientInfo": {"name": "direct-test", "version": "1"},
        }
        answer = await self.post("initialize", init)
        assert answer.status_code == 200, answer.text
        self.session = answer.headers["mcp-session-id"]
        await self.http.post(
            self.url,
            json={"jsonrpc": "2.0", "method": "notifications/initialized"},
            headers=self.headers(),
        )

    def headers(self) -> dict[str, str]:
        base = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": LEGACY}
        return {**base, "Mcp-Session-Id": self.session} if self.session else base

    async def post(self, method: str, params: dict[str, Any], **extra: str) -> httpx2.Response:
        self.next_id += 1
        message = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}
        return await self.http.post(self.url, json=message, headers={**self.headers(), **extra})


@pytest.fixture
async def http(settings: ServerSettings) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(
        timeout=30, headers={"Authorization": f"Bearer {bearer(settings)}"}
    ) as client:
        yield client


def _sse_result(text: str) -> dict[str, Any]:
    events = [line[5:].strip() for line in text.splitlines() if line.startswith("data:")]
    answers = [json.loads(event) for event in events if event and '"result"' in event]
    assert answers, text
    result: dict[str, Any] = answers[-1]["result"]
    return result


def test_only_plain_calls_skip_the_sdk(catalog: Catalog) -> None:
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "system_info"}}
    assert not needs_sdk(catalog, call)
    streamed = {**call, "params": {"name": "system_info", "_meta": {"progressToken": 7}}}
    continued = {**call, "params": {"name": "system_info", "requestState": "sealed"}}
    job = {**call, "params": {"name": "pool_scrub_scrub", "arguments": {"name": "tank"}}}
    destructive = {**call, "params": {"name": "pool_dataset_delete", "arguments": {"id": "tank/x"}}}
    own = {**call, "params": {"name": "search_tools", "arguments": {"query": "pools"}}}
    listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    for request in (streamed, continued, job, destructive, own, listing, [call], {**call, "id": True}):
        assert needs_sdk(catalog, request), request


async def test_a_legacy_read_is_one_json_body_and_a_progress_call_streams(
    http_url: str, http: httpx2.AsyncClient
) -> None:
    session = Legacy(http, http_url + "/mcp")
    await session.open()
    plain = await session.post("tools/call", QUERY)
    streamed = await session.post("tools/call", {**QUERY, "_meta": {"progressToken": "p1"}})

    assert plain.status_code == 200 and plain.headers["content-type"] == "application/json"
    assert plain.headers["mcp-session-id"] == session.session
    result = plain.json()["result"]
    assert streamed.headers["content-type"].startswith("text/event-stream")
    assert _sse_result(streamed.text) == result
    assert result["structuredContent"] == json.loads(result["content"][0]["text"])
    assert [row["id"] for row in result["structuredContent"]["result"]] == sorted(
        row["id"] for row in result["structuredContent"]["result"]
    )


async def test_a_session_answers_only_its_owner(
    http_url: str, http: httpx2.AsyncClient, settings: ServerSettings
) -> None:
    session = Legacy(http, http_url + "/mcp")
    await session.open()
    other = f"Bearer {bearer(settings, subject='someone-else')}"
    stolen = await session.post("tools/call", QUERY, Authorization=other)
    unknown = Legacy(http, http_url + "/mcp")
    unknown.session = "0" * 32
    missing = await unknown.post("tools/call", QUERY)

    assert stolen.status_code == 404 and "result" not in stolen.text
    assert missing.status_code == 404


async def test_a_modern_read_carries_the_envelope_and_bad_envelopes_get_the_sdk_errors(
    http_url: str, http: httpx2.AsyncClient
) -> None:
    headers = {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": "tools/call",
        "Mcp-Name": QUERY["name"],
    }
    body = {"jsonrpc": "2.0", "id": "a", "method": "tools/call", "params": {**QUERY, "_meta": ENVELOPE}}
    good = await http.post(http_url + "/mcp", json=body, headers=headers)
    no_meta = {**body, "params": QUERY}
    bad = await http.post(http_url + "/mcp", json=no_meta, headers=headers)
    mismatch = await http.post(http_url + "/mcp", json=body, headers={**headers, "Mcp-Name": "system_info"})

    answer = good.json()
    assert good.headers["content-type"] == "application/json" and answer["id"] == "a"
    assert answer["result"]["resultType"] == "complete"
    assert answer["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "truenas-mcp"
    assert len(answer["result"]["structuredContent"]["result"]) == 5
    assert "_meta" in bad.json()["error"]["message"]
    assert mismatch.status_code == 400 and "mcp-name header does not match" in mismatch.text


@pytest.mark.parametrize("era", ERAS)
async def test_direct_answers_equal_the_sdk_path(
    runtime: ToolRuntime, mcp_client: MCPClientFactory, era: str
) -> None:
    """The same reads over HTTP (answered directly) and in process (the SDK's own path) agree, datetimes
    in the answer included, and the SDK client accepts them against the tools' output schemas."""
    calls = [QUERY, {"name": "system_info", "arguments": {}}, {"name": "pool_query", "arguments": {}}]
    async with mcp_client("/mcp", era=era) as over_http:
        direct = [await over_http.call_tool(c["name"], c["arguments"]) for c in calls]
    async with Client(build_server(runtime), mode=MODERN) as in_process:
        sdk = [await in_process.call_tool(c["name"], c["arguments"]) for c in calls]

    assert [d.is_error for d in direct] == [False, False, False]
    assert direct[0].structured_content == sdk[0].structured_content
    assert direct[2].structured_content == sdk[2].structured_content
    info = direct[1].structured_content["result"]
    assert info["boottime"] == sdk[1].structured_content["result"]["boottime"]
    assert isinstance(info["boottime"], str) and info["boottime"].startswith("20")


async def test_an_eliciting_client_is_still_asked_before_a_destructive_call(
    mcp_client: MCPClientFactory,
) -> None:
    asked: list[str] = []

    async def decline(context: Any, params: Any) -> Any:
        from mcp_types import ElicitResult

        asked.append(params.message)
        return ElicitResult(action="decline")

    async with mcp_client("/mcp/all", era="legacy", elicitation_callback=decline) as client:
        answer = await client.call_tool("pool_dataset_delete", {"id": "tank/media"})
        still_there = await client.call_tool("pool_dataset_query", {"filters": [["id", "=", "tank/media"]]})

    assert asked and "tank/media" in asked[0]
    assert not answer.is_error or "declined" in str(answer.content)
    assert len(still_there.structured_content["result"]) == 1


async def test_the_audit_log_names_the_client_of_a_direct_answer(
    http_url: str, http: httpx2.AsyncClient, settings: ServerSettings
) -> None:
    session = Legacy(http, http_url + "/mcp")
    await session.open()
    answer = await session.post("tools/call", {"name": "system_info", "arguments": {}})
    assert answer.headers["content-type"] == "application/json"
    text = Path(settings.audit_log).read_text(encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines()]
    mine = [line for line in lines if line.get("tool") == "system_info"]
    assert mine and mine[-1]["client_name"] == "direct-test" and mine[-1]["outcome"] == "ok"
