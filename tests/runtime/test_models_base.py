"""TrueNASModel and validate_arguments: what the tool layer relies on before any call reaches TrueNAS.

The models here are written the way datamodel-code-generator writes them under the pinned option set
(``MISSING`` for optional properties, ``extra="forbid"`` where the schema says so, aliases for wire names).
"""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from pydantic import MISSING, ConfigDict, Field

from truenas_mcp.models import FieldError, TrueNASModel, validate_arguments


class QueryOptions(TrueNASModel):
    model_config = ConfigDict(extra="forbid")
    limit: Annotated[int | MISSING, Field(ge=0)] = MISSING
    order_by: list[str] | MISSING = MISSING


class EncryptionOptions(TrueNASModel):
    model_config = ConfigDict(extra="forbid")
    passphrase: str


class QueryArgs(TrueNASModel):
    model_config = ConfigDict(extra="forbid")
    query_filters: Annotated[list[list[int | str]] | MISSING, Field(alias="query-filters")] = MISSING
    schema_: Annotated[str | MISSING, Field(alias="schema")] = MISSING
    options: QueryOptions | MISSING = MISSING
    pair: tuple[str, int] | MISSING = MISSING
    comments: str | Literal[0] | MISSING | None = MISSING
    encryption: EncryptionOptions | Literal["INHERIT"] | MISSING = MISSING
    name: str


class OpenSettings(TrueNASModel):
    """No ``additionalProperties: false`` upstream: unknown keys are allowed and passed on."""

    name: str


def test_valid_arguments_come_back_unchanged_and_keyed_by_wire_names():
    arguments = {"name": "tank", "query-filters": [["id", "=", 1]], "schema": "s", "options": {"limit": 5}}
    validated, errors = validate_arguments(QueryArgs, arguments)
    assert errors == []
    assert validated == arguments


def test_nothing_the_caller_did_not_send_is_added():
    validated, errors = validate_arguments(QueryArgs, {"name": "tank"})
    assert errors == []
    assert validated == {"name": "tank"}


def test_an_unknown_argument_is_rejected_with_its_path():
    validated, errors = validate_arguments(QueryArgs, {"name": "tank", "options": {"limit": 1, "limt": 2}})
    assert validated is None
    assert errors == [FieldError("options.limt", "Extra inputs are not permitted")]


def test_unknown_keys_pass_through_where_the_schema_allows_them():
    validated, errors = validate_arguments(OpenSettings, {"name": "x", "vendor_flag": True})
    assert errors == []
    assert validated == {"name": "x", "vendor_flag": True}


@pytest.mark.parametrize(
    ("arguments", "path"),
    [
        ({"name": 5}, "name"),  # no number -> string coercion (strict, as the middleware)
        ({"name": "t", "options": {"limit": "5"}}, "options.limit"),  # no string -> int coercion
        ({"name": "t", "options": {"limit": True}}, "options.limit"),  # a bool is not an int
        ({"name": "t", "options": {"limit": 1.5}}, "options.limit"),
        ({"name": "t", "options": {"limit": -1}}, "options.limit"),  # minimum
        ({"name": "t", "options": {"order_by": ["a", 1]}}, "options.order_by.1"),
        ({"name": "t", "query-filters": [["a", None]]}, "query-filters.0.1"),
    ],
)
def test_wrong_types_are_rejected_at_the_offending_position(arguments, path):
    validated, errors = validate_arguments(QueryArgs, arguments)
    assert validated is None
    assert [e.path for e in errors] == [path]


def test_a_missing_required_argument_is_named():
    _, errors = validate_arguments(QueryArgs, {})
    assert errors == [FieldError("name", "Field required")]


def test_null_is_refused_for_an_optional_argument_that_is_not_nullable():
    _, errors = validate_arguments(QueryArgs, {"name": "t", "options": None})
    assert [e.path for e in errors] == ["options"]
    validated, errors = validate_arguments(QueryArgs, {"name": "t", "comments": None})
    assert (validated, errors) == ({"name": "t", "comments": None}, [])


def test_python_field_names_are_not_wire_names():
    _, errors = validate_arguments(QueryArgs, {"name": "t", "schema_": "s"})
    assert errors == [FieldError("schema_", "Extra inputs are not permitted")]
    # Python callers may still build models by field name.
    assert QueryArgs(name="t", schema_="s").model_dump(by_alias=True, exclude_unset=True) == {
        "name": "t",
        "schema": "s",
    }


def test_union_member_labels_are_not_part_of_the_path_and_alternatives_are_joined():
    _, errors = validate_arguments(QueryArgs, {"name": "t", "comments": 7})
    assert len(errors) == 1
    assert errors[0].path == "comments"
    assert "valid string" in errors[0].message
    assert "0" in errors[0].message


def test_a_nested_model_inside_a_union_reports_the_real_key():
    _, errors = validate_arguments(QueryArgs, {"name": "t", "encryption": {}})
    paths = {e.path for e in errors}
    assert "encryption.passphrase" in paths
    assert all("EncryptionOptions" not in p for p in paths)


def test_json_arrays_fill_tuple_fields():
    validated, errors = validate_arguments(QueryArgs, {"name": "t", "pair": ["a", 1]})
    assert (validated, errors) == ({"name": "t", "pair": ["a", 1]}, [])
    _, errors = validate_arguments(QueryArgs, {"name": "t", "pair": ["a", 1, 2]})
    assert [e.path for e in errors] == ["pair"]


def test_arguments_that_are_not_json_are_refused_as_a_whole():
    validated, errors = validate_arguments(QueryArgs, {"name": float("nan")})
    assert validated is None
    assert errors[0].path == ""
    assert "JSON" in errors[0].message


def test_field_error_reads_as_path_and_message():
    assert str(FieldError("options.limit", "bad")) == "options.limit: bad"
    assert str(FieldError("", "bad")) == "bad"


def test_patterns_use_pythons_regex_engine():
    class Lookahead(TrueNASModel):
        value: Annotated[str, Field(pattern=r"^(?!-)[a-z-]+$")]

    assert validate_arguments(Lookahead, {"value": "ab-c"})[1] == []
    assert [e.path for e in validate_arguments(Lookahead, {"value": "-ab"})[1]] == ["value"]
