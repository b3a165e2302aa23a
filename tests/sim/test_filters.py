"""TrueNAS query filters and options, table-driven against ``filter_list`` semantics of 25.04.2."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from truenas_mcp.sim.errors import MatchNotFound, ValidationErrors
from truenas_mcp.sim.filters import get_path, partition, query

ROWS: list[dict[str, Any]] = [
    {
        "id": 1,
        "name": "tank",
        "status": "ONLINE",
        "size": 400,
        "comment": "Main pool",
        "tags": ["media", "fast"],
        "disks": [{"name": "sda", "errors": 0}, {"name": "sdb", "errors": 0}],
        "props": {"compression": {"value": "LZ4"}, "quota": None},
        "dotted.key": "a",
        "created": dt.datetime(2025, 1, 10, tzinfo=dt.UTC),
    },
    {
        "id": 2,
        "name": "backup",
        "status": "DEGRADED",
        "size": 100,
        "comment": None,
        "tags": ["slow"],
        "disks": [{"name": "sdg", "errors": 0}, {"name": "sdh", "errors": 130}],
        "props": {"compression": {"value": "ZSTD"}, "quota": 5},
        "dotted.key": "b",
        "created": dt.datetime(2025, 6, 1, tzinfo=dt.UTC),
    },
    {
        "id": 3,
        "name": "Scratch",
        "status": "ONLINE",
        "size": 250,
        "comment": "temporary",
        "tags": [],
        "disks": [],
        "props": {"compression": {"value": "OFF"}, "quota": 1},
        "created": dt.datetime(2025, 3, 5, tzinfo=dt.UTC),
    },
]


def ids(result: list[dict[str, Any]]) -> list[Any]:
    return [row.get("id") for row in result]


FILTER_CASES: list[tuple[str, list[Any], list[int]]] = [
    ("equal", [["name", "=", "tank"]], [1]),
    ("not equal", [["status", "!=", "ONLINE"]], [2]),
    ("greater", [["size", ">", 250]], [1]),
    ("greater or equal", [["size", ">=", 250]], [1, 3]),
    ("less", [["size", "<", 250]], [2]),
    ("less or equal", [["size", "<=", 250]], [2, 3]),
    ("regex match anchors at start", [["name", "~", "ta"]], [1]),
    ("regex does not search inside", [["name", "~", "ank"]], []),
    ("regex treats null as empty string", [["comment", "~", "^$"]], [2]),
    ("in", [["name", "in", ["tank", "backup"]]], [1, 2]),
    ("not in", [["name", "nin", ["tank", "backup"]]], [3]),
    ("not in is false for null", [["comment", "nin", ["x"]]], [1, 3]),
    ("reverse in: list contains value", [["tags", "rin", "media"]], [1]),
    ("reverse in on a string", [["comment", "rin", "pool"]], [1]),
    ("reverse in is false for null", [["comment", "rin", "x"]], []),
    ("reverse not in", [["tags", "rnin", "media"]], [2, 3]),
    ("reverse not in is false for null", [["comment", "rnin", "zzz"]], [1, 3]),
    ("starts with", [["name", "^", "ba"]], [2]),
    ("does not start with", [["name", "!^", "ba"]], [1, 3]),
    ("ends with", [["comment", "$", "pool"]], [1]),
    ("does not end with skips null", [["comment", "!$", "pool"]], [3]),
    ("case-insensitive equal", [["name", "C=", "SCRATCH"]], [3]),
    ("case-insensitive in", [["name", "Cin", ["TANK", "scratch"]]], [1, 3]),
    ("case-insensitive starts with", [["status", "C^", "on"]], [1, 3]),
    ("case-insensitive reverse in on a list", [["tags", "Crin", "MEDIA"]], [1]),
    ("case-sensitive equal does not fold", [["name", "=", "scratch"]], []),
    ("list of filters is AND", [["status", "=", "ONLINE"], ["size", ">", 300]], [1]),
    ("missing key never matches, even !=", [["nonexistent", "!=", 1]], []),
    ("null compares with =", [["comment", "=", None]], [2]),
    ("nested path", [["props.compression.value", "=", "ZSTD"]], [2]),
    ("nested path through null value", [["props.quota", "=", None]], [1]),
    ("list index", [["disks.1.name", "=", "sdh"]], [2]),
    ("list index past the end is null", [["disks.5", "=", None]], [1, 2, 3]),
    ("wildcard matches any member", [["disks.*.errors", ">", 0]], [2]),
    ("wildcard over empty list never matches", [["disks.*.name", "!=", "x"]], [1, 2]),
    ("escaped dot is a literal key", [["dotted\\.key", "=", "b"]], [2]),
    ("date greater", [["created.$date", ">", "2025-02-01T00:00:00+00:00"]], [2, 3]),
    ("date equal with naive timestamp as UTC", [["created.$date", "=", "2025-03-05T00:00:00"]], [3]),
    ("date less or equal", [["created.$date", "<=", "2025-03-05T00:00:00+00:00"]], [1, 3]),
    ("OR of single filters", [["OR", [["name", "=", "tank"], ["name", "=", "backup"]]]], [1, 2]),
    (
        "OR with an AND branch",
        [["OR", [[["status", "=", "ONLINE"], ["size", "<", 300]], ["name", "=", "backup"]]]],
        [2, 3],
    ),
    (
        "OR and AND combined",
        [["status", "=", "ONLINE"], ["OR", [["size", "=", 100], ["size", "=", 250]]]],
        [3],
    ),
    (
        "nested OR within OR",
        [["OR", [["name", "=", "tank"], ["OR", [["name", "=", "Scratch"], ["name", "=", "nope"]]]]]],
        [1, 3],
    ),
]


@pytest.mark.parametrize(("label", "filters", "expected"), FILTER_CASES, ids=[c[0] for c in FILTER_CASES])
def test_filter_operators_select_the_expected_rows(
    label: str, filters: list[Any], expected: list[int]
) -> None:
    assert ids(query(copy.deepcopy(ROWS), filters, {})) == expected


ERROR_CASES: list[tuple[str, list[Any], dict[str, Any], str, str]] = [
    ("unknown operator", [["name", "like", "x"]], {}, "filters", "Invalid operation: like"),
    (
        "case-insensitive regex",
        [["name", "C~", "x"]],
        {},
        "filters",
        "Invalid case-insensitive operation: C~",
    ),
    ("filter of wrong length", [["name", "="]], {}, "filters", "Invalid operation: name"),
    ("filter of four items", [["name", "=", "x", 1]], {}, "filters", "Invalid filter"),
    ("OR without branches", [["OR", []]], {}, "filters", "OR filter requires at least one branch."),
    (
        "date with a non-comparison",
        [["created.$date", "^", "2025"]],
        {},
        "filters",
        "^: invalid timestamp operation.",
    ),
    (
        "date with a bad timestamp",
        [["created.$date", ">", "yesterday"]],
        {},
        "filters",
        "yesterday: must be an ISO-8601",
    ),
    (
        "too deep OR nesting",
        [["OR", [["OR", [["OR", [["OR", [["OR", [["id", "=", 1]]]]]]]]]]]],
        {},
        "filters",
        "query-filters max recursion depth exceeded",
    ),
    ("get with limit", [], {"get": True, "limit": 2}, "options", "`get` implies a single result"),
    ("get with offset", [], {"get": True, "offset": 1}, "options", "`get` implies a single result"),
    ("unknown option", [], {"sort": ["id"]}, "options", "sort: Extra inputs are not permitted"),
    (
        "select of three items",
        [],
        {"select": [["a", "b", "c"]]},
        "options",
        "may only contain two parameters",
    ),
    ("select item not a string", [], {"select": [["a", 1]]}, "options", "second item must be a string"),
    ("select of a number", [], {"select": [5]}, "options", "selectors must be either"),
    ("order_by not strings", [], {"order_by": [1]}, "options", "is not a string"),
]


@pytest.mark.parametrize(
    ("label", "filters", "options", "attribute", "message"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES]
)
def test_bad_filters_and_options_are_validation_errors_naming_the_argument(
    label: str, filters: list[Any], options: dict[str, Any], attribute: str, message: str
) -> None:
    with pytest.raises(ValidationErrors) as info:
        query(copy.deepcopy(ROWS), filters, options)
    [(attr, text, errno)] = info.value.errors
    assert (attr, errno) == (attribute, 22)
    assert text.startswith("Value error, ") and message in text


def test_filters_and_options_errors_are_reported_together_filters_first() -> None:
    with pytest.raises(ValidationErrors) as info:
        query(copy.deepcopy(ROWS), [["a", "bad", 1]], {"get": True, "limit": 2})
    assert [e[0] for e in info.value.errors] == ["filters", "options"]


WALK_ERRORS: list[tuple[str, list[Any], dict[str, Any], type[Exception], str]] = [
    ("wildcard-less path into list", [["disks.name", "=", "x"]], {}, ValueError, "must be array index"),
    ("sorting mixed types", [], {"order_by": ["comment"]}, TypeError, "not supported between"),
    ("selecting by list index", [], {"select": ["disks.0.name"]}, ValueError, "list index"),
]


@pytest.mark.parametrize(
    ("label", "filters", "options", "kind", "message"), WALK_ERRORS, ids=[c[0] for c in WALK_ERRORS]
)
def test_what_fails_while_walking_rows_escapes_as_the_exception_itself(
    label: str, filters: list[Any], options: dict[str, Any], kind: type[Exception], message: str
) -> None:
    # filter_list raises these from inside; the box answers -32001 with that exception, not -32602.
    with pytest.raises(kind, match=message):
        query(copy.deepcopy(ROWS), filters, options)


@pytest.mark.parametrize(("options", "expected"), [({"offset": -1}, [3]), ({"limit": 20000}, [1, 2, 3])])
def test_a_negative_offset_and_a_limit_over_ten_thousand_are_accepted(
    options: dict[str, Any], expected: list[int]
) -> None:
    assert ids(query(copy.deepcopy(ROWS), [], options)) == expected


def test_legacy_methods_name_their_arguments_query_filters_and_query_options() -> None:
    with pytest.raises(ValidationErrors) as info:
        query([], [["a", "bad", 1]], {}, filters_name="query-filters", options_name="query-options")
    assert info.value.errors[0][0] == "query-filters"
    with pytest.raises(ValidationErrors) as info:
        query([], [], {"get": True, "limit": 5}, filters_name="query-filters", options_name="query-options")
    assert info.value.errors[0][0] == "query-options"


SELECT_CASES: list[tuple[str, list[Any], list[dict[str, Any]]]] = [
    ("plain keys", ["id", "name"], [{"id": 1, "name": "tank"}]),
    ("alias", [["name", "pool_name"], "id"], [{"pool_name": "tank", "id": 1}]),
    (
        "dot path builds nested output",
        ["props.compression.value"],
        [{"props": {"compression": {"value": "LZ4"}}}],
    ),
    ("alias of a dot path is flat", [["props.compression.value", "comp"]], [{"comp": "LZ4"}]),
    ("missing keys are dropped", ["id", "nonexistent", "props.nothing"], [{"id": 1}]),
    ("escaped dot", ["dotted\\.key"], [{"dotted.key": "a"}]),
]


@pytest.mark.parametrize(("label", "select", "expected"), SELECT_CASES, ids=[c[0] for c in SELECT_CASES])
def test_select_projects_rows(label: str, select: list[Any], expected: list[dict[str, Any]]) -> None:
    assert query(copy.deepcopy(ROWS), [["id", "=", 1]], {"select": select}) == expected


def test_select_without_filters_projects_every_row() -> None:
    assert query(copy.deepcopy(ROWS), [], {"select": ["name"]}) == [
        {"name": "tank"},
        {"name": "backup"},
        {"name": "Scratch"},
    ]


ORDER_CASES: list[tuple[str, list[str], list[int]]] = [
    ("ascending", ["size"], [2, 3, 1]),
    ("descending", ["-size"], [1, 3, 2]),
    ("string order is case-sensitive", ["name"], [3, 2, 1]),
    ("nested key", ["props.compression.value"], [1, 3, 2]),
    ("nulls first", ["nulls_first:comment"], [2, 1, 3]),
    ("nulls last", ["nulls_last:comment"], [1, 3, 2]),
    ("nulls last descending", ["nulls_last:-comment"], [3, 1, 2]),
    # The middleware sorts once per key, in order: the last key is the primary one.
    ("several keys: the last one wins", ["-size", "status"], [2, 1, 3]),
]


@pytest.mark.parametrize(("label", "order_by", "expected"), ORDER_CASES, ids=[c[0] for c in ORDER_CASES])
def test_order_by_sorts_rows(label: str, order_by: list[str], expected: list[int]) -> None:
    assert ids(query(copy.deepcopy(ROWS), [], {"order_by": order_by})) == expected


PAGING_CASES: list[tuple[str, list[Any], dict[str, Any], Any]] = [
    ("count", [], {"count": True}, 3),
    ("count with filter", [["status", "=", "ONLINE"]], {"count": True}, 2),
    ("count ignores limit", [], {"count": True, "limit": 1}, 3),
    ("offset", [], {"offset": 1}, [2, 3]),
    ("limit", [], {"limit": 2}, [1, 2]),
    ("offset then limit", [], {"offset": 1, "limit": 1}, [2]),
    ("offset past the end", [], {"offset": 10}, []),
    ("order then limit", [], {"order_by": ["-size"], "limit": 2}, [1, 3]),
    ("limit zero means all", [], {"limit": 0}, [1, 2, 3]),
]


@pytest.mark.parametrize(
    ("label", "filters", "options", "expected"), PAGING_CASES, ids=[c[0] for c in PAGING_CASES]
)
def test_count_offset_and_limit(
    label: str, filters: list[Any], options: dict[str, Any], expected: Any
) -> None:
    result = query(copy.deepcopy(ROWS), filters, options)
    assert (result if isinstance(result, int) else ids(result)) == expected


def test_get_returns_the_first_match_after_ordering() -> None:
    assert query(copy.deepcopy(ROWS), [["status", "=", "ONLINE"]], {"get": True})["id"] == 1
    assert query(copy.deepcopy(ROWS), [], {"get": True, "order_by": ["size"]})["id"] == 2
    assert query(copy.deepcopy(ROWS), [], {"get": True, "select": ["name"]}) == {"name": "tank"}
    assert query(copy.deepcopy(ROWS), [], {"get": True, "limit": 1})["id"] == 1


@pytest.mark.parametrize("options", [{"get": True}, {"get": True, "order_by": ["id"]}])
def test_get_without_a_match_raises_match_not_found(options: dict[str, Any]) -> None:
    with pytest.raises(MatchNotFound) as info:
        query(copy.deepcopy(ROWS), [["name", "=", "nope"]], options)
    assert repr(info.value) == "MatchNotFound()"


def test_no_filters_and_no_options_returns_everything_as_a_new_list() -> None:
    rows = copy.deepcopy(ROWS)
    result = query(rows, [], {})
    assert result == rows
    assert result is not rows
    assert query(rows, None, None) == rows


@pytest.mark.parametrize(
    ("path", "expected"),
    [("a.b", ("a", "b")), ("a\\.b.c", ("a.b", "c")), ("a", ("a", "")), ("a\\.b", ("a.b", ""))],
)
def test_partition_splits_at_the_first_unescaped_dot(path: str, expected: tuple[str, str]) -> None:
    assert partition(path) == expected


def test_get_path_reads_nested_values_and_gives_none_for_missing() -> None:
    row = ROWS[1]
    assert get_path(row, "disks.1.errors") == 130
    assert get_path(row, "props.missing") is None
