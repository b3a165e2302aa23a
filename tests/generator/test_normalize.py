"""Each normalizer pass on small hand-made schemas, then the whole recording against the 2020-12 schema."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from truenas_mcp_gen import normalize
from truenas_mcp_gen.errors import Diagnostic, Severity
from truenas_mcp_gen.normalize import normalize_schema


def test_required_flags_become_a_required_list_in_declared_order() -> None:
    schema = {
        "type": "object",
        "_attrs_order_": ["b", "a", "c"],
        "properties": {
            "a": {"type": "string", "_required_": True, "_name_": "a"},
            "b": {"type": "string", "_required_": True, "_name_": "b"},
            "c": {"type": "string", "_required_": False, "_name_": "c"},
        },
    }
    out = normalize_schema(schema)
    assert list(out["properties"]) == ["b", "a", "c"]
    assert out["required"] == ["b", "a"]
    assert all("_required_" not in p and "_name_" not in p for p in out["properties"].values())
    assert "_attrs_order_" not in out


def test_existing_required_list_is_kept_and_merged() -> None:
    schema = {"type": "object", "required": ["x"], "properties": {"x": {}, "y": {"_required_": True}}}
    assert normalize_schema(schema)["required"] == ["x", "y"]


def test_no_required_key_when_nothing_is_required() -> None:
    assert "required" not in normalize_schema({"type": "object", "properties": {"x": {"_required_": False}}})


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([{"type": "integer"}], {"items": {"type": "integer"}}),
        ([], {}),
        (
            [{"type": "integer"}, {"type": "string"}],
            {"prefixItems": [{"type": "integer"}, {"type": "string"}]},
        ),
    ],
    ids=["wrapped-single-schema", "empty-means-any", "tuple"],
)
def test_list_form_items(items: list[Any], expected: dict[str, Any]) -> None:
    out = normalize_schema({"type": "array", "items": items})
    assert out == {"type": "array", **expected}


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "string", "nullable": True}, {"type": ["string", "null"]}),
        ({"type": ["string", "null"], "nullable": True}, {"type": ["string", "null"]}),
        (
            {"anyOf": [{"type": "integer"}], "nullable": True},
            {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        ),
        ({"type": "string", "nullable": False}, {"type": "string"}),
    ],
)
def test_nullable_becomes_a_null_type(schema: dict[str, Any], expected: dict[str, Any]) -> None:
    assert normalize_schema(schema) == expected


def test_float_is_not_a_json_type() -> None:
    assert normalize_schema({"type": "float"}) == {"type": "number"}
    assert normalize_schema({"type": ["float", "null"]}) == {"type": ["number", "null"]}


def test_unset_limits_written_as_null_are_dropped() -> None:
    assert normalize_schema({"type": "array", "minItems": None, "maxItems": 3}) == {
        "type": "array",
        "maxItems": 3,
    }


def test_titles_that_repeat_the_property_name_are_dropped_but_real_titles_stay() -> None:
    out = normalize_schema(
        {"type": "object", "properties": {"name": {"title": "name"}, "x": {"title": "Readable X"}}}
    )
    assert out["properties"]["name"] == {}
    assert out["properties"]["x"] == {"title": "Readable X"}


def test_dangling_discriminator_mapping_is_repaired_into_defs() -> None:
    member_a = {"type": "object", "title": "ASchema", "properties": {"kind": {"const": "a"}}}
    member_b = {"type": "object", "properties": {"kind": {"const": "b"}}}
    schema = {
        "type": "object",
        "properties": {
            "attrs": {
                "oneOf": [member_a, member_b],
                "discriminator": {
                    "propertyName": "kind",
                    "mapping": {"a": "#/$defs/ASchema", "b": "#/$defs/BSchema"},
                },
            }
        },
    }
    out = normalize_schema(schema)
    attrs = out["properties"]["attrs"]
    assert attrs["oneOf"] == [{"$ref": "#/$defs/ASchema"}, {"$ref": "#/$defs/BSchema"}]
    assert out["$defs"] == {"ASchema": member_a, "BSchema": member_b}
    validator = jsonschema.Draft202012Validator(out)
    assert validator.is_valid({"attrs": {"kind": "b"}})
    assert not validator.is_valid({"attrs": {"kind": "c"}})


def test_boolean_discriminators_are_matched_by_python_spelling() -> None:
    members = [
        {"type": "object", "properties": {"gen": {"const": True}}},
        {"type": "object", "properties": {"gen": {"const": False}}},
    ]
    schema = {
        "oneOf": members,
        "discriminator": {"propertyName": "gen", "mapping": {"True": "#/$defs/New", "False": "#/$defs/Old"}},
    }
    out = normalize_schema(schema)
    assert out["oneOf"] == [{"$ref": "#/$defs/New"}, {"$ref": "#/$defs/Old"}]


def test_union_of_empty_members_collapses_with_a_note() -> None:
    diagnostics: list[Diagnostic] = []
    schema = {"oneOf": [{}, {}], "discriminator": {"propertyName": "k", "mapping": {"a": "#/$defs/A"}}}
    assert normalize_schema(schema, method="m", diagnostics=diagnostics) == {}
    assert [d.severity for d in diagnostics] == [Severity.INFO]


def test_an_unknown_construct_degrades_to_a_permissive_schema_with_a_warning_naming_method_and_pointer():
    diagnostics: list[Diagnostic] = []
    out = normalize_schema(
        {"type": "object", "properties": {"x": {"type": "widget", "frobnicate": 1, "minimum": 2}}},
        method="thing.create",
        pointer="/accepts/0",
        diagnostics=diagnostics,
    )
    assert out == {"type": "object", "properties": {"x": {"minimum": 2}}}
    jsonschema.Draft202012Validator.check_schema(out)
    assert {(d.method, d.pointer, d.severity) for d in diagnostics} == {
        ("thing.create", "/accepts/0/properties/x", Severity.WARNING)
    }
    assert sorted(d.message for d in diagnostics) == [
        "unknown schema keyword 'frobnicate' dropped",
        "unknown type 'widget' dropped; accepts any value",
    ]


def test_new_standard_keywords_are_kept_and_their_subschemas_normalized() -> None:
    diagnostics: list[Diagnostic] = []
    schema = {
        "type": "object",
        "patternProperties": {"^fc": {"type": "object", "nullable": True, "_name_": "p"}},
        "propertyNames": {"pattern": "^[a-z]+$"},
        "properties": {"n": {"type": "integer", "exclusiveMaximum": 10, "ge": 1, "le": 4094}},
        "prefixItems": [{"const": 1}],
    }
    out = normalize_schema(schema, method="m", diagnostics=diagnostics)
    assert out["patternProperties"] == {"^fc": {"type": ["object", "null"]}}
    assert out["propertyNames"] == {"pattern": "^[a-z]+$"}
    assert out["properties"]["n"] == {"type": "integer", "exclusiveMaximum": 10}
    assert out["prefixItems"] == [{"const": 1}]
    assert {(d.severity, d.message) for d in diagnostics} == {
        (Severity.INFO, "non-standard keyword 'ge' dropped"),
        (Severity.INFO, "non-standard keyword 'le' dropped"),
    }


def test_input_is_not_modified() -> None:
    schema = {
        "type": "object",
        "_attrs_order_": ["a"],
        "properties": {"a": {"_required_": True, "items": [{}]}},
    }
    before = repr(schema)
    normalize_schema(schema)
    assert repr(schema) == before


def test_every_recorded_schema_normalizes_to_valid_json_schema(recording_methods: dict[str, Any]) -> None:
    diagnostics: list[Diagnostic] = []
    invalid = []
    for name, entry in recording_methods.items():
        for where, raw in [
            *(("accepts", a) for a in entry["accepts"]),
            *(("returns", r) for r in entry["returns"] or []),
        ]:
            out = normalize_schema(raw, method=name, diagnostics=diagnostics)
            try:
                jsonschema.Draft202012Validator.check_schema(out)
            except jsonschema.SchemaError as exc:
                invalid.append(f"{name} {where}: {exc.message}")
            assert not normalize.LEGACY_KEYS & set(_all_keys(out)), name
    assert invalid == []
    assert [d for d in diagnostics if d.severity >= Severity.WARNING] == []


def _all_keys(node: Any) -> list[str]:
    if isinstance(node, dict):
        keys = [k for k in node if k != "properties"]
        for key, value in node.items():
            keys += (
                _all_keys(value) if key != "properties" else [k for v in value.values() for k in _all_keys(v)]
            )
        return keys
    if isinstance(node, list):
        return [k for v in node for k in _all_keys(v)]
    return []
