"""What a tool call answers: ``CallToolResult`` JSON, and the one failure type every stage raises.

Failures a model can act on are tool results with ``isError: true`` and a message naming what to change,
never protocol errors; each stage of the call pipeline raises :class:`ToolError` and the pipeline turns it
into such a result once.
"""

from __future__ import annotations

from typing import Any


class ToolError(Exception):
    """A failure reported to the model as an ``isError`` result; ``outcome`` labels the metric."""

    def __init__(self, message: str, outcome: str) -> None:
        super().__init__(message)
        self.outcome = outcome


class ToolResult(dict[str, Any]):
    """A ``CallToolResult`` (a plain dict to everything that reads it).

    ``structured_json`` is set when the one text block is exactly the JSON of ``structuredContent``: a
    writer that encodes the reply itself embeds that text instead of encoding the same data twice.
    """

    structured_json: str | None = None


def text_result(
    structured: dict[str, Any] | None, text: str, *, error: bool = False, same: bool = False
) -> ToolResult:
    """``same``: ``text`` is the JSON encoding of ``structured`` (as :func:`shaping.encode` makes it)."""
    result = ToolResult(content=[{"type": "text", "text": text}], isError=error)
    if structured is not None:
        result["structuredContent"] = structured
        if same:
            result.structured_json = text
    return result


def error_result(message: str) -> ToolResult:
    return text_result(None, message, error=True)
