"""The TrueNAS calls measured, as each contender makes them.

Every operation is one TrueNAS call seen four ways: an MCP tool of our server, the same tool of the peer
server, a ``TrueNASClient`` call, and the raw JSON-RPC message a bare WebSocket sends. ``check`` confirms
that an answer is the real one (e.g. really 1,000 rows), so no contender is timed on a short cut.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

QUERY_ROWS = 1000  # the simulator is seeded to hold exactly this many snapshots
JOB_APP = "plex"  # an app of the demo world; starting a running app is a quick, repeatable job


@dataclass(frozen=True)
class Operation:
    key: str
    title: str
    method: str  # the TrueNAS method
    params: tuple[Any, ...]  # its positional parameters (JSON)
    job: bool
    tool: str  # our MCP tool
    arguments: dict[str, Any]
    peer_tool: str  # the peer's MCP tool making the same TrueNAS call
    peer_arguments: dict[str, Any]
    rows: int | None = None  # rows the answer must hold (queries)


# Order matters to the report: the 1,000-row query runs last, so the memory peaks of the lighter
# operations are not the heap the big answers left behind (CPython rarely returns it to the system).
OPERATIONS: dict[str, Operation] = {
    op.key: op
    for op in (
        Operation(
            key="info",
            title="small read (`system.info`)",
            method="system.info",
            params=(),
            job=False,
            tool="system_info",
            arguments={},
            peer_tool="system_info",
            peer_arguments={},
        ),
        Operation(
            key="job",
            title=f"job to completion (`app.start {JOB_APP}`)",
            method="app.start",
            params=(JOB_APP,),
            job=True,
            tool="app_start",
            arguments={"app_name": JOB_APP},
            peer_tool="start_app",
            peer_arguments={"app_name": JOB_APP},
        ),
        Operation(
            key="query",
            title=f"query returning {QUERY_ROWS:,} rows (`zfs.snapshot.query`)",
            method="zfs.snapshot.query",
            params=([], {"limit": QUERY_ROWS}),
            job=False,
            tool="zfs_snapshot_query",
            # Explicit limit: the server's default (50 rows) would otherwise answer a different question.
            arguments={"options": {"limit": QUERY_ROWS}},
            peer_tool="list_snapshots",
            peer_arguments={},
            rows=QUERY_ROWS,
        ),
    )
}


class WrongAnswer(AssertionError):
    """An answer that is not what the operation asks for (wrong row count, missing result)."""


def mcp_payload(result: dict[str, Any]) -> Any:
    """The answer of an MCP tool result: structured content when given, else the JSON of its text."""
    structured = result.get("structuredContent")
    if isinstance(structured, dict):
        # Both servers wrap non-object answers as {"result": ...}; ours adds "page"/"job" beside it.
        return structured.get("result", structured)
    text = "".join(str(block.get("text", "")) for block in result.get("content", []))
    try:
        return json.loads(text)
    except ValueError:
        return text


def check(op: Operation, answer: Any) -> None:
    """Raise ``WrongAnswer`` unless ``answer`` is a full answer to ``op``."""
    if op.rows is not None and (not isinstance(answer, list) or len(answer) != op.rows):
        got = len(answer) if isinstance(answer, list) else type(answer).__name__
        raise WrongAnswer(f"{op.key}: expected {op.rows} rows, got {got}")
    if op.key == "info" and not (isinstance(answer, dict) and "version" in answer):
        raise WrongAnswer(f"{op.key}: expected the system.info object, got {str(answer)[:200]}")
