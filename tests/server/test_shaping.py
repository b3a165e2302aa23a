"""Answer shaping: default limits, byte caps and the notes that say how to get the rest."""

from __future__ import annotations

import pytest

from truenas_mcp.catalog import Catalog, ToolSpec
from truenas_mcp.server.shaping import QueryPlan, dumps, plan_query, shape_result


@pytest.fixture(scope="module")
def query_tool(catalog: Catalog) -> ToolSpec:
    return catalog.by_name["user_query"]


def test_a_query_without_limit_asks_for_one_row_more_than_the_default(query_tool: ToolSpec) -> None:
    args, plan = plan_query(query_tool, {"filters": []}, 50)
    assert args["options"]["limit"] == 51
    assert plan == QueryPlan(50, 0, True)


def test_explicit_limits_count_and_get_are_left_alone(query_tool: ToolSpec) -> None:
    for options in ({"limit": 5}, {"count": True}, {"get": True}):
        args, plan = plan_query(query_tool, {"options": options}, 50)
        assert args["options"] == options
        assert not plan.probe


def test_non_query_tools_are_not_planned(catalog: Catalog) -> None:
    args, plan = plan_query(catalog.by_name["system_info"], {}, 50)
    assert args == {} and plan.limit is None


def test_more_rows_than_the_default_limit_are_cut_with_a_paging_note(query_tool: ToolSpec) -> None:
    rows = [{"id": i} for i in range(11)]
    shaped = shape_result(query_tool, rows, QueryPlan(10, 20, True), 65536)
    assert shaped.structured is not None
    assert shaped.structured["result"] == rows[:10]
    page = shaped.structured["page"]
    assert page["returned"] == 10 and page["next_offset"] == 30
    assert "options.offset=30" in page["note"] and "options.select" in page["note"]
    assert shaped.text == dumps(shaped.structured)


def test_answers_over_the_byte_cap_keep_the_rows_that_fit(query_tool: ToolSpec) -> None:
    rows = [{"id": i, "blob": "x" * 100} for i in range(100)]
    shaped = shape_result(query_tool, rows, QueryPlan(None, 0, False), 4096)
    assert shaped.structured is not None
    kept = shaped.structured["result"]
    assert 0 < len(kept) < 100 and kept == rows[: len(kept)]
    assert len(shaped.text.encode()) <= 4096
    assert shaped.structured["page"]["next_offset"] == len(kept)


def test_a_non_list_answer_over_the_cap_is_an_error_with_advice(catalog: Catalog) -> None:
    shaped = shape_result(catalog.by_name["system_info"], {"x": "y" * 5000}, QueryPlan(None, 0, False), 1024)
    assert shaped.structured is None
    assert shaped.error is not None and "1024" in shaped.error


def test_datetimes_become_iso_strings() -> None:
    import datetime as dt

    assert (
        dumps({"t": dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)}) == '{"t":"2025-01-02T03:04:05+00:00"}'
    )
