"""How a method becomes a tool: schema shapes, call shapes, descriptions, annotations and policy."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from truenas_mcp_gen import text
from truenas_mcp_gen.pipeline import Surface


def tool(surface: Surface, name: str) -> Any:
    return next(t for t in surface.tools if t.name == name)


def test_single_object_parameter_is_flattened(surface: Surface) -> None:
    create = tool(surface, "user_create")
    assert create.flatten
    assert {"username", "full_name", "password"} <= set(create.input_schema["properties"])
    assert create.input_schema["type"] == "object"


def test_positional_parameters_become_named_properties_in_order(surface: Surface) -> None:
    delete = tool(surface, "pool_dataset_delete")
    assert not delete.flatten
    assert list(delete.input_schema["properties"]) == ["id", "dataset_delete"]
    assert delete.input_schema["required"] == ["id"]
    assert delete.input_schema["additionalProperties"] is False


@pytest.mark.parametrize("name", ["pool_query", "user_query", "core_get_jobs", "pool_dataset_query"])
def test_query_tools_expose_filters_and_options_with_the_grammar(surface: Surface, name: str) -> None:
    query = tool(surface, name)
    assert list(query.input_schema["properties"])[:2] == ["filters", "options"]
    assert (
        "select" in json.dumps(query.input_schema["properties"]["options"]) or query.method == "core.get_jobs"
    )
    assert text.QUERY_GRAMMAR in query.description
    assert "page" in query.output_schema["properties"]


def test_every_tool_has_object_schemas_and_wraps_its_result(surface: Surface) -> None:
    for t in surface.tools:
        assert t.input_schema["type"] == "object", t.name
        assert t.output_schema["type"] == "object", t.name
        assert "result" in t.output_schema["properties"], t.name


def test_job_tools_return_a_job_handle(surface: Surface) -> None:
    scrub = tool(surface, "pool_scrub_scrub")
    assert scrub.policy.job
    assert scrub.output_schema["required"] == ["job"]
    validator = jsonschema.Draft202012Validator(scrub.output_schema)
    assert validator.is_valid(
        {"job": {"id": 4, "state": "RUNNING", "progress": {"percent": 10, "description": "x"}}}
    )
    assert validator.is_valid({"job": {"id": 4, "state": "SUCCESS"}, "result": None})


def test_annotations_follow_safety(surface: Surface) -> None:
    for t in surface.tools:
        assert t.annotations.read_only == (t.policy.safety == "read"), t.name
        assert t.annotations.destructive == (t.policy.safety == "destructive"), t.name
    assert tool(surface, "pool_dataset_delete").policy.confirm


def test_call_shape_of_positional_and_flattened_tools(surface: Surface) -> None:
    delete = tool(surface, "pool_dataset_delete")
    assert [(p.wire_name, p.argument, p.required, p.has_default) for p in delete.params] == [
        ("id", "id", True, False),
        ("dataset_delete", "dataset_delete", False, True),
    ]
    create = tool(surface, "user_create")
    assert [(p.argument, p.required) for p in create.params] == [(None, True)]


def test_descriptions_are_clean_of_rst_noise() -> None:
    cleaned = text.clean("Use ``pool.query``.\n\n\n\n.. note:: careful :ref:`pool <pool-ref>`   \n")
    assert cleaned == "Use `pool.query`.\n\nNote: careful `pool`"
