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


def text_result(structured: dict[str, Any] | None, text: str, *, error: bool = False) -> dict[str, Any]:
    result: dict[str, Any] = {"content": [{"type": "text", "text": text}], "isError": error}
    if structured is not None:
        result["structuredContent"] = structured
    return result


def error_result(message: str) -> dict[str, Any]:
    return text_result(None, message, error=True)
