"""Portable schema mode: every profile's listing passes each family's published rules, and calls made
with the portable names and values reach TrueNAS as the tool's own arguments."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from truenas_mcp.catalog import Catalog
from truenas_mcp.server import portable, presentation
from truenas_mcp.server.profiles import Profiles
from truenas_mcp.server.settings import ServerSettings

from .conftest import MCPClientFactory, bearer
from .schema_rules import CHECKERS, check_openai_strict


@pytest.fixture(scope="module")
def profiles(catalog: Catalog) -> Profiles:
    return Profiles(catalog, job_wait_seconds=30)


def _definitions(catalog: Catalog, profile: Any) -> list[dict[str, Any]]:
    tools = [presentation.listed(catalog.by_name[name], catalog.by_method) for name in profile.listed]
    return tools + [b.definition for b in profile.builtins]


@pytest.mark.parametrize("family", portable.FAMILIES)
def test_every_profile_passes_the_family_checker_in_portable_mode(
    catalog: Catalog, profiles: Profiles, family: portable.Family
) -> None:
    check = CHECKERS[family]
    converter = portable.PortableTools()
    named = [profiles.default, profiles.readonly, profiles.all]
    named += [profiles.toolsets(group) for group in sorted(profiles.groups)]
    for profile in named:
        for definition in _definitions(catalog, profile):
            served = converter.definition(family, definition)
            assert check(served) == [], (profile.name, definition["name"])


@pytest.mark.parametrize("family", portable.FAMILIES)
def test_the_plain_schemas_break_the_family_rules_that_portable_mode_keeps(
    catalog: Catalog, family: portable.Family
) -> None:
    hyphenated = presentation.listed(catalog.by_name["audit_query"], catalog.by_method)
    problems = CHECKERS[family](hyphenated)
    assert any("parameter name 'query-filters'" in p for p in problems), problems


def test_openai_strict_checker_catches_optional_and_open_objects() -> None:
    tool = {
        "name": "x",
        "description": "d",
        "inputSchema": {"type": "object", "properties": {"a": {"type": "string"}}},
    }
    problems = check_openai_strict(tool)
    assert "parameters: additionalProperties must be false" in problems
    assert "parameters: every property must be required" in problems


def test_arguments_map_back_to_wire_names_and_leave_out_nulls(catalog: Catalog) -> None:
    schema = presentation.input_schema(catalog.by_name["audit_query"])
    converted = portable.convert(schema, "openai")
    arguments = {
        "services": ["SMB"],
        "query_filters": [["event", "=", "AUTHENTICATION"]],
        "query_options": '{"limit": 5, "extra": {"search": "x"}}',
        "remote_controller": None,
    }
    assert converted.decoder.decode(arguments, "") == {
        "services": ["SMB"],
        "query-filters": [["event", "=", "AUTHENTICATION"]],
        "query-options": {"limit": 5, "extra": {"search": "x"}},
    }
    with pytest.raises(portable.PortableError, match=r"query-options: not valid JSON text"):
        converted.decoder.decode({"query_options": "{oops"}, "")


def test_strict_mode_carries_query_options_as_text_listing_every_field(catalog: Catalog) -> None:
    schema = presentation.input_schema(catalog.by_name["pool_query"])
    wire = schema["properties"]["options"]
    wire = schema.get("$defs", {}).get(wire.get("$ref", "").removeprefix("#/$defs/"), wire)
    served = portable.convert(schema, "openai").schema["properties"]["options"]
    assert served["anyOf"] == [{"type": "string"}, {"type": "null"}]
    listed = served["description"].split("any of: ", 1)[1]
    assert [field.split(" (")[0] for field in listed.rstrip(")").split(", ")] == list(wire["properties"])
    assert "limit (integer)" in listed
    # Gemini declares optional fields without forcing them, so there the options stay an object.
    gemini = portable.convert(schema, "gemini").schema["properties"]["options"]
    assert set(gemini["properties"]) == set(wire["properties"])


def test_strict_mode_keeps_an_update_payload_declared_field_by_field(catalog: Catalog) -> None:
    schema = presentation.input_schema(catalog.by_name["sharing_smb_update"])
    served = portable.convert(schema, "openai").schema
    payload = served["properties"]["sharingsmb_update"]
    objects = [b for b in payload.get("anyOf", [payload]) if b.get("type") == "object"]
    assert objects and "path" in objects[0]["properties"]


@pytest.mark.parametrize("family", portable.FAMILIES)
async def test_calls_in_portable_mode_over_http_reach_truenas(
    mcp_client: MCPClientFactory, family: portable.Family
) -> None:
    async with mcp_client(f"/mcp?schema={family}") as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
        served = listed["pool_query"].input_schema
        options: Any = {"select": ["name", "status"]}
        if family == "openai":
            assert served["additionalProperties"] is False
            options = json.dumps(options)
        result = await client.call_tool(
            "pool_query", {"filters": [["name", "=", "tank"]], "options": options}
        )
    assert not result.is_error, result.content
    rows = result.structured_content["result"]
    assert [row["name"] for row in rows] == ["tank"]


async def test_portable_mode_lists_every_page_inside_the_rules(mcp_client: MCPClientFactory) -> None:
    async with mcp_client("/mcp/all?schema=openai", era="legacy") as client:
        cursor, tools = None, []
        while True:
            page = await client.list_tools(cursor=cursor)
            tools += [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in page.tools]
            cursor = page.next_cursor
            if not cursor:
                break
    assert len(tools) > 700
    assert [t["name"] for t in tools if check_openai_strict(t)] == []


async def test_an_unknown_schema_family_is_refused_naming_the_known(
    http_url: str, settings: ServerSettings
) -> None:
    headers = {"Authorization": f"Bearer {bearer(settings)}", "Accept": "application/json, text/event-stream"}
    async with httpx2.AsyncClient(headers=headers) as http:
        answer = await http.post(f"{http_url}/mcp?schema=claude", content=json.dumps({}))
    assert answer.status_code == 400
    assert "gemini or openai" in answer.json()["error"]


def test_call_tool_arguments_travel_as_json_text_in_openai_strict_mode(profiles: Profiles) -> None:
    call_tool = next(b for b in profiles.default.builtins if b.name == "call_tool").definition
    converted = portable.convert(call_tool["inputSchema"], "openai")
    assert converted.schema["properties"]["arguments"]["anyOf"][0] == {"type": "string"}
    sent = {
        "name": "pool_query",
        "arguments": '{"filters": [["name", "=", "tank"]]}',
        "confirmation_token": None,
    }
    assert converted.decoder.decode(sent, "") == {
        "name": "pool_query",
        "arguments": {"filters": [["name", "=", "tank"]]},
    }


async def test_query_options_sent_as_text_are_validated_as_the_tool_declares_them(
    mcp_client: MCPClientFactory,
) -> None:
    async with mcp_client("/mcp?schema=openai") as client:
        bad = await client.call_tool(
            "pool_query", {"filters": None, "options": '{"limit": "ten", "bogus": 1}'}
        )
        unparsed = await client.call_tool("pool_query", {"filters": None, "options": '{"limit": 1'})
        counted = await client.call_tool("pool_query", {"filters": None, "options": '{"count": true}'})
    async with mcp_client("/mcp") as client:
        rows = (await client.call_tool("pool_query", {})).structured_content["result"]
    assert bad.is_error
    message = " ".join(block.text for block in bad.content if block.type == "text")
    assert "options.limit" in message and "options.bogus" in message
    assert unparsed.is_error
    assert "options: not valid JSON text" in " ".join(b.text for b in unparsed.content if b.type == "text")
    assert not counted.is_error, counted.content
    assert counted.structured_content["result"] == len(rows) > 0
