"""Schema-generated answers: valid for every recorded method, deterministic, and shaped by the options."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from functools import cache
from typing import Any

import jsonschema
import pytest

from truenas_mcp.recordings import resolve_methods
from truenas_mcp.sim.fake import fake_result, seed_for

SPEC = resolve_methods()  # the shared resolver: the shipped recording unless TRUENAS_MCP_SPEC names another
PARAM_SETS: list[list[Any]] = [[], [1], ["tank", {"recursive": True}], [[["name", "=", "x"]], {"limit": 5}]]


@cache
def normalized_returns() -> dict[str, dict[str, Any]]:
    normalize = pytest.importorskip("truenas_mcp_gen.normalize")
    methods = json.loads(SPEC.data)
    return {name: normalize.normalize_schema(e["returns"][0]) for name, e in methods.items() if e["returns"]}


def errors_of(schema: dict[str, Any], value: Any) -> list[str]:
    found = jsonschema.Draft202012Validator(schema).iter_errors(value)
    return [jsonschema.exceptions.best_match([e]).message[:200] for e in found]


def test_every_recorded_return_schema_gets_valid_answers_for_several_argument_sets() -> None:
    schemas = normalized_returns()
    assert len(schemas) > 600
    failures = {}
    for method, schema in schemas.items():
        for params in PARAM_SETS:
            errors = errors_of(schema, fake_result(method, schema, params))
            if errors:
                failures[method] = errors[:3]
                break
    assert failures == {}


def test_generation_for_all_methods_is_fast_once_schemas_are_compiled() -> None:
    schemas = normalized_returns()
    for method, schema in schemas.items():
        fake_result(method, schema, [])
    start = time.perf_counter()
    for method, schema in schemas.items():
        fake_result(method, schema, ["warm"])
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0, f"{len(schemas)} answers took {elapsed:.2f}s"


def test_same_method_and_arguments_give_the_same_answer() -> None:
    schema = normalized_returns()["interface.query"]
    assert fake_result("interface.query", schema, []) == fake_result("interface.query", schema, [])


def test_different_arguments_or_methods_give_different_answers() -> None:
    schema = normalized_returns()["interface.query"]
    answers = {
        json.dumps(fake_result("interface.query", schema, [[["id", "=", str(i)]]]), default=str)
        for i in range(5)
    }
    assert len(answers) == 5
    assert seed_for("a.b", []) != seed_for("a.c", [])


def test_answers_are_stable_across_processes_and_hash_seeds() -> None:
    code = (
        "import json,sys;from truenas_mcp.sim.fake import fake_result;"
        "s={'type':'object','properties':{'name':{'type':'string'},'size':{'type':'integer'},"
        "'tags':{'type':'array','items':{'type':'string'},'uniqueItems':True}},'required':['name']};"
        "print(json.dumps(fake_result('pool.query',s,[{'b':1,'a':[1,2]}]),sort_keys=True))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "12345")
    }
    assert len(outputs) == 1


def test_argument_key_order_does_not_change_the_answer() -> None:
    assert seed_for("m", [{"a": 1, "b": 2}]) == seed_for("m", [{"b": 2, "a": 1}])


@pytest.mark.parametrize(
    ("options", "kind"), [({}, list), ({"get": True}, dict), ({"count": True}, int), ({"limit": 2}, list)]
)
def test_query_answers_follow_get_and_count_options(options: dict[str, Any], kind: type) -> None:
    schema = normalized_returns()["certificate.query"]
    value = fake_result("certificate.query", schema, [[], options])
    assert type(value) is kind
    assert errors_of(schema, value) == []


HAND_WRITTEN: list[dict[str, Any]] = [
    {"const": "fixed"},
    {"enum": ["A", "B", None]},
    {"type": ["string", "null"], "minLength": 3, "maxLength": 5},
    {"type": "integer", "minimum": 10, "maximum": 12},
    {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 3, "multipleOf": 2},
    {"type": "number", "minimum": 0.5, "maximum": 0.75},
    {"type": "string", "pattern": "^([0-9A-Fa-f]{2}[:-]?){5}([0-9A-Fa-f]{2})$"},
    {"type": "string", "pattern": "^/mnt/[^{}]*$"},
    {"type": "string", "pattern": r"^\w+[\w.-]*$"},
    {"type": "string", "pattern": "^(foo|bar)-[a-c]{2,4}$"},
    {"type": "string", "format": "date-time"},
    {"type": "string", "format": "email"},
    {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}], "items": False},
    {"type": "array", "items": {"enum": [1, 2, 3]}, "minItems": 3, "maxItems": 3, "uniqueItems": True},
    {"type": "object", "additionalProperties": {"type": "integer"}},
    {
        "type": "object",
        "properties": {"a": {"type": "integer"}},
        "required": ["a", "b"],
        "additionalProperties": {"type": "string"},
    },
    {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
            {"properties": {"b": {"type": "string"}}, "required": ["b"]},
        ]
    },
    {"type": "integer", "not": {"enum": [0, 1, 2, 3, 4, 5]}, "minimum": 0, "maximum": 7},
    {
        "oneOf": [
            {"type": "object", "properties": {"x": {"type": "integer"}}},
            {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x", "y"]},
        ]
    },
    {
        "oneOf": [{"$ref": "#/$defs/Disk"}, {"$ref": "#/$defs/Nic"}],
        "discriminator": {"propertyName": "dtype", "mapping": {"DISK": "#/$defs/Disk", "NIC": "#/$defs/Nic"}},
        "$defs": {
            "Disk": {
                "type": "object",
                "properties": {"dtype": {"const": "DISK"}, "path": {"type": "string"}},
                "required": ["dtype", "path"],
            },
            "Nic": {
                "type": "object",
                "properties": {"dtype": {"const": "NIC"}, "mac": {"type": "string"}},
                "required": ["dtype"],
            },
        },
    },
    {
        "$ref": "#/$defs/Node",
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                },
                "required": ["name", "children"],
            }
        },
    },
    {},
]


@pytest.mark.parametrize("schema", HAND_WRITTEN, ids=[json.dumps(s)[:60] for s in HAND_WRITTEN])
def test_hand_written_schema_features_always_validate(schema: dict[str, Any]) -> None:
    for index in range(40):
        value = fake_result("test.method", schema, [index])
        assert errors_of(schema, value) == [], value


def test_names_steer_values_towards_plausible_ones() -> None:
    schema = {
        "type": "object",
        "properties": {
            "mountpoint": {"type": "string"},
            "email": {"type": "string"},
            "uuid": {"type": "string"},
            "description": {"type": "string"},
            "port": {"type": "integer"},
        },
        "required": ["mountpoint", "email", "uuid", "description", "port"],
    }
    value = fake_result("x.y", schema, [])
    assert value["mountpoint"].startswith("/mnt/")
    assert value["email"].endswith("@example.home")
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}", value["uuid"])
    assert not re.fullmatch(r"[\d.]+", value["description"])
    assert 1024 <= value["port"] <= 65535


def test_a_schema_accepting_nothing_is_reported() -> None:
    with pytest.raises(ValueError, match="accepts no value"):
        fake_result("x.y", {"enum": []}, [])
