from __future__ import annotations

import pytest

from benchmarks import ops


def test_mcp_payload_prefers_structured_content_and_unwraps_result() -> None:
    assert ops.mcp_payload({"structuredContent": {"result": [1, 2]}, "content": []}) == [1, 2]
    assert ops.mcp_payload({"structuredContent": {"version": "x"}}) == {"version": "x"}
    assert ops.mcp_payload({"content": [{"type": "text", "text": "[1]"}]}) == [1]
    assert ops.mcp_payload({"content": [{"type": "text", "text": "done"}]}) == "done"


def test_check_refuses_short_or_wrong_answers() -> None:
    query = ops.OPERATIONS["query"]
    ops.check(query, [{}] * ops.QUERY_ROWS)
    with pytest.raises(ops.WrongAnswer, match="expected 1000 rows, got 50"):
        ops.check(query, [{}] * 50)
    with pytest.raises(ops.WrongAnswer, match="got dict"):
        ops.check(query, {"result": []})
    with pytest.raises(ops.WrongAnswer, match=r"system\.info"):
        ops.check(ops.OPERATIONS["info"], "error text")
