"""The server's own tools: discovery (search, describe, call by name) and job follow-up.

They are data like the generated tools (name, schemas, annotations), so listings treat every tool alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SEARCH_TOOLS = "search_tools"
DESCRIBE_TOOL = "describe_tool"
CALL_TOOL = "call_tool"
JOB_STATUS = "job_status"
JOB_WAIT = "job_wait"

DISCOVERY_TOOLS = (SEARCH_TOOLS, DESCRIBE_TOOL, CALL_TOOL)
JOB_TOOLS = (JOB_STATUS, JOB_WAIT)


@dataclass(frozen=True, slots=True)
class BuiltinTool:
    name: str
    read_only: bool
    definition: dict[str, Any]


def _annotations(title: str, *, read_only: bool, destructive: bool = False) -> dict[str, Any]:
    return {
        "title": title,
        "readOnlyHint": read_only,
        "destructiveHint": destructive,
        "idempotentHint": read_only,
        "openWorldHint": False,
    }


_JOB_HANDLE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "state": {"enum": ["WAITING", "RUNNING", "SUCCESS", "FAILED", "ABORTED"]},
        "progress": {
            "type": "object",
            "properties": {
                "percent": {"type": ["integer", "number", "null"]},
                "description": {"type": ["string", "null"]},
            },
        },
    },
    "required": ["id", "state"],
}

_JOB_OUTPUT: dict[str, Any] = {
    "type": "object",
    "properties": {"result": {}, "job": _JOB_HANDLE},
    "required": ["job"],
    "additionalProperties": False,
}


def _search(read_only: bool) -> BuiltinTool:
    scope = "read-only tools" if read_only else "tools"
    return BuiltinTool(
        SEARCH_TOOLS,
        True,
        {
            "name": SEARCH_TOOLS,
            "title": "Search TrueNAS tools",
            "description": (
                f"Find TrueNAS {scope} beyond the ones listed here by describing the task in plain words "
                "(e.g. 'create an NFS share', 'list disks with temperatures'). Returns the best matches, "
                f"ranked. Then use {DESCRIBE_TOOL} for a tool's full input schema and {CALL_TOOL} to run it."
            ),
            "inputSchema": {
                "type": "object",
                "properties": {
                    "query": {"type": "string", "minLength": 1, "description": "what you want to do"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 50, "description": "max hits"},
                },
                "required": ["query"],
                "additionalProperties": False,
            },
            "outputSchema": {
                "type": "object",
                "properties": {
                    "result": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "name": {"type": "string"},
                                "title": {"type": "string"},
                                "summary": {"type": "string"},
                                "safety": {"enum": ["read", "write", "destructive"]},
                                "job": {"type": "boolean"},
                            },
                            "required": ["name", "title", "summary", "safety", "job"],
                        },
                    }
                },
                "required": ["result"],
                "additionalProperties": False,
            },
            "annotations": _annotations("Search TrueNAS tools", read_only=True),
        },
    )


def _describe(read_only: bool) -> BuiltinTool:
    return BuiltinTool(
        DESCRIBE_TOOL,
        True,
        {
            "name": DESCRIBE_TOOL,
            "title": "Describe a TrueNAS tool",
            "description": (
                "The definition of one tool found with "
                f"{SEARCH_TOOLS}: description, input schema (what {CALL_TOOL} expects as `arguments`), "
                "annotations, policy and the fields of its output; `full: true` adds the full output schema "
                "and every field description."
            ),
            "inputSchema": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "minLength": 1, "description": "tool name"},
                    "full": {"type": "boolean", "default": False, "description": "full definition"},
                },
                "required": ["name"],
                "additionalProperties": False,
            },
            "outputSchema": {
                "type": "object",
                "properties": {"result": {"type": "object"}},
                "required": ["result"],
                "additionalProperties": False,
            },
            "annotations": _annotations("Describe a TrueNAS tool", read_only=True),
        },
    )


def _call(read_only: bool) -> BuiltinTool:
    scope = "read-only tool" if read_only else "tool"
    return BuiltinTool(
        CALL_TOOL,
        read_only,
        {
            "name": CALL_TOOL,
            "title": "Call a TrueNAS tool by name",
            "description": (
                f"Run any TrueNAS {scope} found with {SEARCH_TOOLS}. `arguments` are checked against the "
                f"tool's input schema (see {DESCRIBE_TOOL}) exactly as a direct call would be; the answer is "
                "the tool's own answer. A tool that asks for confirmation takes the preview's "
                "`confirmation_token` here or inside `arguments`."
            ),
            "inputSchema": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "minLength": 1, "description": "tool name"},
                    "arguments": {"type": "object", "description": "the tool's arguments"},
                    "confirmation_token": {"type": "string", "description": "from a confirmation preview"},
                },
                "required": ["name"],
                "additionalProperties": False,
            },
            "annotations": _annotations("Call a TrueNAS tool by name", read_only=read_only, destructive=True),
        },
    )


def _job_status() -> BuiltinTool:
    return BuiltinTool(
        JOB_STATUS,
        True,
        {
            "name": JOB_STATUS,
            "title": "TrueNAS job status",
            "description": (
                "State, progress and (once finished) result of a TrueNAS job, e.g. one a tool handed back "
                f"because it was still running. Use {JOB_WAIT} to wait for it to finish."
            ),
            "inputSchema": {
                "type": "object",
                "properties": {"job_id": {"type": "integer", "minimum": 1}},
                "required": ["job_id"],
                "additionalProperties": False,
            },
            "outputSchema": _JOB_OUTPUT,
            "annotations": _annotations("TrueNAS job status", read_only=True),
        },
    )


def _job_wait(wait_seconds: float) -> BuiltinTool:
    return BuiltinTool(
        JOB_WAIT,
        True,
        {
            "name": JOB_WAIT,
            "title": "Wait for a TrueNAS job",
            "description": (
                f"Wait up to `timeout_seconds` (at most {wait_seconds:g}) for a TrueNAS job to finish, "
                "reporting progress; returns its result, or its state if it is still running (call again). "
                "Cancelling this call stops the wait, not the job, unless `abort_on_cancel` is true."
            ),
            "inputSchema": {
                "type": "object",
                "properties": {
                    "job_id": {"type": "integer", "minimum": 1},
                    "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": wait_seconds},
                    "abort_on_cancel": {"type": "boolean", "default": False},
                },
                "required": ["job_id"],
                "additionalProperties": False,
            },
            "outputSchema": _JOB_OUTPUT,
            "annotations": _annotations("Wait for a TrueNAS job", read_only=True),
        },
    )


def builtin_tools(*, read_only: bool, discovery: bool, wait_seconds: float) -> tuple[BuiltinTool, ...]:
    """The server tools a profile lists (discovery only where the profile offers it)."""
    tools = [_job_status(), _job_wait(wait_seconds)]
    if discovery:
        tools += [_search(read_only), _describe(read_only), _call(read_only)]
    return tuple(tools)
