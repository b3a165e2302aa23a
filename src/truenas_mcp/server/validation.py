"""Validate: a call's arguments against the tool's generated model, before anything reaches TrueNAS."""

from __future__ import annotations

from typing import Any

from truenas_mcp.catalog import ToolSpec
from truenas_mcp.models import validate_arguments
from truenas_mcp.server import messages
from truenas_mcp.server.confirm import TOKEN_ARGUMENT
from truenas_mcp.server.results import ToolError


def validate(tool: ToolSpec, arguments: dict[str, Any], token: Any) -> dict[str, Any]:
    """The validated arguments; ``ToolError`` listing every problem (nothing was sent to TrueNAS)."""
    if token is not None and not isinstance(token, str):
        raise ToolError(f"{tool.name}: `{TOKEN_ARGUMENT}` must be a string", "invalid_arguments")
    validated, errors = validate_arguments(tool.args_model(), arguments)
    if validated is None:
        lines = [f"invalid arguments for {tool.name} (nothing was sent to TrueNAS):"]
        lines += messages.field_lines(errors, arguments)
        raise ToolError("\n".join(lines), "invalid_arguments")
    return dict(validated)
