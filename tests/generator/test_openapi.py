"""openapi.json: one operation per tool, a valid OpenAPI 3.1 document, a contract for openapi-core."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_spec_validator import validate
from truenas_mcp_gen.errors import GenerationError
from truenas_mcp_gen.openapi import build_openapi

from tests.generator.model_inputs_from_recording import all_inputs


@dataclasses.dataclass(frozen=True)
class Tool:
    tool: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    title: str = ""
    description: str = ""


RESULT_ANY = {"type": "object", "properties": {"result": {}}, "required": ["result"]}


def member(kind: str, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"kind": {"const": kind}, **extra},
        "required": ["kind"],
        "additionalProperties": False,
    }


def tool_with_defs(name: str, defs: dict[str, Any]) -> Tool:
    refs = [{"$ref": f"#/$defs/{d}"} for d in defs]
    return Tool(name, {"type": "object", "properties": {"a": {"oneOf": refs}}, "$defs": defs}, RESULT_ANY)


@pytest.fixture(scope="module")
def surface_document() -> dict[str, Any]:
    return build_openapi(all_inputs(), title="TrueNAS SCALE tools", version="25.04.2")


def test_the_whole_recorded_surface_is_a_valid_openapi_3_1_document(surface_document):
    validate(surface_document)
    assert surface_document["openapi"] == "3.1.0"
    assert len(surface_document["paths"]) == 771


def test_each_tool_is_one_post_operation_named_after_it(surface_document):
    for item in all_inputs():
        operations = surface_document["paths"][f"/tools/{item.tool}"]
        assert list(operations) == ["post"]
        op = operations["post"]
        assert op["operationId"] == item.tool
        assert "schema" in op["requestBody"]["content"]["application/json"]
        assert "schema" in op["responses"]["200"]["content"]["application/json"]


def test_no_reference_is_left_pointing_into_a_tool_schema(surface_document):
    text = json.dumps(surface_document)
    assert '"#/$defs/' not in text
    for ref in _refs(surface_document):
        assert ref.startswith("#/components/schemas/")
        assert (
            ref.removeprefix("#/components/schemas/").split("/")[0]
            in surface_document["components"]["schemas"]
        )


def test_clashing_definitions_are_renamed_and_identical_ones_shared():
    document = build_openapi(
        [
            tool_with_defs("a_create", {"Cat": member("cat", {}), "Dog": member("dog", {})}),
            tool_with_defs(
                "b_create", {"Cat": member("cat", {}), "Dog": member("dog", {"bark": {"type": "integer"}})}
            ),
        ],
        title="t",
        version="1",
    )
    validate(document)
    assert sorted(document["components"]["schemas"]) == ["Cat", "Dog", "b_create.Dog"]
    b_refs = _refs(document["paths"]["/tools/b_create"])
    assert b_refs == {"#/components/schemas/Cat", "#/components/schemas/b_create.Dog"}


def test_a_schema_that_refers_to_its_own_root_gets_a_component():
    tree = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#"}}},
    }
    document = build_openapi([Tool("tree_get", tree, RESULT_ANY)], title="t", version="1")
    validate(document)
    request = document["paths"]["/tools/tree_get"]["post"]["requestBody"]["content"]["application/json"]
    assert request["schema"] == {"$ref": "#/components/schemas/tree_get.input"}
    component = document["components"]["schemas"]["tree_get.input"]
    assert component["properties"]["children"]["items"] == {"$ref": "#/components/schemas/tree_get.input"}


def test_definition_names_openapi_does_not_allow_are_made_safe():
    document = build_openapi(
        [tool_with_defs("x_do", {"Bad Name:1": member("k", {})})], title="t", version="1"
    )
    validate(document)
    assert list(document["components"]["schemas"]) == ["Bad_Name_1"]


def test_defaults_that_fail_their_own_schema_are_dropped_valid_ones_kept():
    schema = {
        "type": "object",
        "properties": {
            "opts": {
                "type": "object",
                "properties": {"k": {"type": "string"}},
                "required": ["k"],
                "default": {},
            },
            "n": {"type": "integer", "default": 3},
        },
    }
    document = build_openapi([Tool("x_do", schema, RESULT_ANY)], title="t", version="1")
    validate(document)
    props = document["paths"]["/tools/x_do"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "default" not in props["properties"]["opts"]
    assert props["properties"]["n"]["default"] == 3


def test_title_and_description_become_summary_and_description():
    document = build_openapi(
        [Tool("x_do", {"type": "object"}, RESULT_ANY, title="Do X", description="Does X.")],
        title="t",
        version="1",
    )
    op = document["paths"]["/tools/x_do"]["post"]
    assert (op["summary"], op["description"]) == ("Do X", "Does X.")


def test_the_document_does_not_depend_on_input_order():
    tools = [
        tool_with_defs("a_create", {"Cat": member("cat", {})}),
        tool_with_defs("b_create", {"Cat": member("cat", {"x": {"type": "string"}})}),
    ]
    first = build_openapi(tools, title="t", version="1")
    second = build_openapi(list(reversed(tools)), title="t", version="1")
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def test_a_tool_listed_twice_is_refused():
    with pytest.raises(GenerationError, match="x_do"):
        build_openapi([Tool("x_do", {"type": "object"}, RESULT_ANY)] * 2, title="t", version="1")


def test_openapi_core_checks_answers_against_the_contract(surface_document):
    contract = OpenAPI.from_dict(surface_document)
    request = MockRequest(
        "http://localhost",
        "post",
        "/tools/pool_dataset_delete",
        data=json.dumps({"id": "tank/a", "dataset_delete": {"recursive": True}}),
        content_type="application/json",
    )
    contract.validate_request(request)
    contract.validate_response(
        request, MockResponse(json.dumps({"result": True}), content_type="application/json")
    )
    with pytest.raises(Exception, match=r"(?i)invalid|validat"):
        contract.validate_response(
            request, MockResponse(json.dumps({"result": "yes"}), content_type="application/json")
        )
    bad_request = MockRequest(
        "http://localhost",
        "post",
        "/tools/pool_dataset_delete",
        data=json.dumps({"id": "tank/a", "dataset_delete": {"recursve": True}}),
        content_type="application/json",
    )
    with pytest.raises(Exception, match=r"(?i)invalid|validat"):
        contract.validate_request(bad_request)


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.add(value)
            else:
                found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found
