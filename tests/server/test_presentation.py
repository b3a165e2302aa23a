"""What clients list and describe: token budgets, description limits, compact output schemas that answers
conform to, declared confirmation tokens and tool names instead of TrueNAS method names."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from truenas_mcp.catalog import Catalog
from truenas_mcp.server import presentation
from truenas_mcp.server.cli import TOKENIZER, count_tokens
from truenas_mcp.server.profiles import CORE_TOOLS, Profiles

from .conftest import ERAS, MCPClientFactory

PROFILE_BUDGET = 8_000
DESCRIBE_BUDGET = 2_500
needs_tokenizer = pytest.mark.skipif(
    TOKENIZER != "anthropic-tokenizer", reason="budgets are in Claude tokens: needs anthropic-tokenizer"
)


@pytest.fixture(scope="module")
def profiles(catalog: Catalog) -> Profiles:
    return Profiles(catalog, job_wait_seconds=30)


def _offered(catalog: Catalog, profiles: Profiles) -> list[Any]:
    return [tool for tool in catalog if tool.policy.excluded is None]


def _compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


async def _listed(client: Any) -> list[dict[str, Any]]:
    tools: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await client.list_tools(cursor=cursor)
        tools += [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in page.tools]
        cursor = page.next_cursor
        if not cursor:
            return tools


@needs_tokenizer
@pytest.mark.parametrize("mode", ["", "?schema=gemini", "?schema=openai"])
@pytest.mark.parametrize("era", ERAS)
@pytest.mark.parametrize("path", ["/mcp", "/mcp/readonly"])
async def test_default_and_readonly_lists_fit_the_budget_at_the_same_reach(
    mcp_client: MCPClientFactory, catalog: Catalog, path: str, era: str, mode: str
) -> None:
    async with mcp_client(path + mode, era=era) as client:
        tools = await _listed(client)
    names = {tool["name"] for tool in tools}
    core = {name for name in CORE_TOOLS if path == "/mcp" or catalog.by_name[name].policy.safety == "read"}
    assert core <= names and {"job_status", "job_wait", "search_tools", "describe_tool"} <= names
    assert count_tokens(_compact_json(tools)) <= PROFILE_BUDGET


def test_every_description_of_every_profile_fits_1024_characters_and_names_tools(
    catalog: Catalog, profiles: Profiles
) -> None:
    methods = set(catalog.by_method)
    cut = 0
    for tool in _offered(catalog, profiles):
        text = presentation.listed(tool, catalog.by_method)["description"]
        assert len(text) <= presentation.DESCRIPTION_LIMIT, tool.name
        words = {w.strip("`'\"(),.:;") for w in text.split()}
        assert not words & (methods - {tool.method}), (tool.name, words & methods)
        if len(presentation.description(tool, catalog.by_method)) > presentation.DESCRIPTION_LIMIT:
            cut += 1
            assert "describe_tool" in text
    for profile in (profiles.default, profiles.readonly, profiles.all):
        for builtin_tool in profile.builtins:
            assert len(builtin_tool.definition["description"]) <= presentation.DESCRIPTION_LIMIT
    assert cut > 0  # the limit is met by cutting, with the way to the full text said


def test_method_names_in_text_become_tool_names(catalog: Catalog) -> None:
    text = "Create it with pool.dataset.create, then see pool.dataset.query; not.a.method stays."
    named = presentation.name_tools(text, catalog.by_method)
    create, query = (
        catalog.by_method["pool.dataset.create"].name,
        catalog.by_method["pool.dataset.query"].name,
    )
    assert named == f"Create it with {create}, then see {query}; not.a.method stays."


@needs_tokenizer
def test_describe_fits_its_budget_for_every_tool_and_gives_everything_on_request(
    catalog: Catalog, profiles: Profiles
) -> None:
    largest = max(
        _offered(catalog, profiles),
        key=lambda tool: len(_compact_json(tool.definition())),
    )
    for tool in _offered(catalog, profiles):
        answer = presentation.describe(tool, catalog.by_method)
        assert count_tokens(_compact_json(answer)) <= DESCRIBE_BUDGET, tool.name
        # The schema a model calls with is never loosened: only descriptions are left out.
        assert _strip_notes(answer["inputSchema"]) == _strip_notes(
            json.loads(_compact_json(presentation.input_schema(tool)))
        )
    full = presentation.describe(largest, catalog.by_method, full=True)
    assert full["outputSchema"] == largest.output_schema
    assert full["inputSchema"] == presentation.input_schema(largest)
    assert largest.description.split("\n")[0] in full["description"]


def _strip_notes(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_strip_notes(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in ("description", "examples", "title", "discriminator"):
            continue
        if key == "enum" and "const" in schema and value == [schema["const"]]:
            continue
        if key in ("properties", "$defs") and isinstance(value, dict):
            out[key] = {k: _strip_notes(v) for k, v in value.items()}
        elif key in ("default", "const", "enum"):
            out[key] = value
        else:
            out[key] = _strip_notes(value)
    return out


def test_tools_that_may_ask_declare_the_token_and_say_why(catalog: Catalog, profiles: Profiles) -> None:
    asking = [tool for tool in _offered(catalog, profiles) if presentation.may_confirm(tool.policy)]
    assert {"zfs_snapshot_delete", "service_restart", "config_save"} <= {t.name for t in asking}
    for tool in asking:
        listed = presentation.listed(tool, catalog.by_method)
        assert listed["inputSchema"]["properties"]["confirmation_token"]["type"] == "string"
        assert "confirmation_token" not in listed["inputSchema"].get("required", [])
        text = listed["description"]
        assert "Asks for confirmation" in text
        assert listed["annotations"]["destructiveHint"] or "because" in text.split("Asks for confirmation")[1]
    quiet = [t for t in _offered(catalog, profiles) if not presentation.may_confirm(t.policy)]
    assert all(
        "confirmation_token"
        not in presentation.listed(t, catalog.by_method)["inputSchema"].get("properties", {})
        for t in quiet
    )


async def test_answers_conform_to_the_compact_listed_output_schemas(mcp_client: MCPClientFactory) -> None:
    calls = {
        "pool_query": {},
        "zfs_snapshot_query": {"options": {"limit": 3}},
        "service_query": {},
        "disk_query": {},
        "app_query": {},
        "system_info": {},
        "alert_list": {},
        "sharing_smb_query": {},
    }
    async with mcp_client("/mcp") as client:
        listed = {tool["name"]: tool for tool in await _listed(client)}
        for name, arguments in calls.items():
            result = await client.call_tool(name, arguments)
            assert not result.is_error, result.content
            schema = listed[name]["outputSchema"]
            assert len(_compact_json(schema)) < 600, name
            jsonschema.validate(result.structured_content, schema)


def test_compact_output_schemas_only_loosen(catalog: Catalog) -> None:
    schema = {
        "type": "object",
        "properties": {
            "result": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"id": {"type": "integer"}, "kind": {"enum": ["A", "B"]}},
                    "required": ["id"],
                    "additionalProperties": False,
                },
            },
            "state": {"oneOf": [{"type": "string", "minLength": 3}, {"type": "null"}]},
        },
        "required": ["result"],
        "additionalProperties": False,
    }
    small = presentation.compact(schema, 1)
    accepted = [
        {"result": [{"id": 1, "kind": "A"}], "state": None},
        {"result": [], "state": "RUNNING"},
    ]
    for value in accepted:
        jsonschema.validate(value, schema)
        jsonschema.validate(value, small)
    # Loosened below the kept level (rows are objects of any shape), still a contract at the top.
    jsonschema.validate({"result": [{"other": True}]}, small)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"rows": []}, small)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"result": "not a list"}, small)


async def test_describe_tool_over_http_is_bounded_and_full_on_request(mcp_client: MCPClientFactory) -> None:
    async with mcp_client("/mcp") as client:
        brief = await client.call_tool("describe_tool", {"name": "pool_dataset_query"})
        full = await client.call_tool("describe_tool", {"name": "pool_dataset_query", "full": True})
    assert not brief.is_error and not full.is_error
    short, whole = brief.structured_content["result"], full.structured_content["result"]
    assert "outputSchema" not in short and "name" in short["output"]["fields"]
    assert "encryption_root" in _compact_json(whole["outputSchema"]["properties"]["result"])
    assert len(_compact_json(short)) * 4 < len(_compact_json(whole))


def test_listed_input_schemas_validate_exactly_as_the_generated_ones(
    catalog: Catalog, profiles: Profiles
) -> None:
    # Listings shorten nested descriptions and drop repeated object defaults; nothing that validates.
    for tool in _offered(catalog, profiles):
        listed = presentation.listed(tool, catalog.by_method)["inputSchema"]
        assert _strip_annotations(listed) == _strip_annotations(presentation.input_schema(tool)), tool.name
    options = presentation.listed(catalog.by_name["app_query"], catalog.by_method)["inputSchema"][
        "properties"
    ]
    assert options["options"]["properties"]["offset"]["description"].endswith("results array.")


def _strip_annotations(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_strip_annotations(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in ("description", "default"):
            continue
        if key in ("properties", "$defs") and isinstance(value, dict):
            out[key] = {k: _strip_annotations(v) for k, v in value.items()}
        elif key in ("const", "enum", "examples"):
            out[key] = value
        else:
            out[key] = _strip_annotations(value)
    return out
