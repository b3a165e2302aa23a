"""Short errors a model can act on: the tool to use for a wrong name, and argument errors in a few lines.

An error costs context like any answer. Pydantic reports an enum mismatch once per union member, each
with the whole value list (669 tokens for a lower-case compression name); here the allowed values are
listed once, the close ones first, and long lists are cut with the way to the full list.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from truenas_mcp.catalog import ToolSpec

# Most values of an enum an error lists; the rest is in the tool's schema (describe_tool).
MAX_VALUES = 12
MAX_LINES = 6
MAX_LINE_CHARS = 300
_ENUM = re.compile(r"^Input should be (.+)$")
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")


class FieldProblem(Protocol):
    @property
    def path(self) -> str: ...

    @property
    def message(self) -> str: ...


def unknown_tool(name: str, by_name: Mapping[str, ToolSpec], by_method: Mapping[str, ToolSpec]) -> str:
    """What to say for a tool name the catalog does not have: the tool a TrueNAS method name means, or
    the closest tool names."""
    method = by_method.get(name)
    if method is not None:
        return f"unknown tool {name!r}: that is a TrueNAS method name; its tool is {method.name}"
    dotted = by_name.get(name.replace(".", "_").replace("-", "_").lower())
    if dotted is not None:
        return f"unknown tool {name!r}; did you mean {dotted.name}?"
    close = difflib.get_close_matches(name, list(by_name), n=3, cutoff=0.75)
    if close:
        return f"unknown tool {name!r}; did you mean {' or '.join(close)}?"
    return f"unknown tool {name!r}; use search_tools to find tools by what they do"


def field_lines(problems: Iterable[FieldProblem], arguments: Mapping[str, Any]) -> list[str]:
    """One short line per offending field (at most :data:`MAX_LINES`)."""
    items = list(problems)
    lines = []
    for problem in items[:MAX_LINES]:
        text = _short(problem.message, _value_at(arguments, problem.path))
        if len(text) > MAX_LINE_CHARS:
            text = text[: MAX_LINE_CHARS - 1].rstrip() + "…"
        lines.append(f"- {problem.path or '(arguments)'}: {text}")
    if len(items) > MAX_LINES:
        lines.append(f"- and {len(items) - MAX_LINES} more")
    return lines


def _short(message: str, given: Any) -> str:
    parts = [part.strip() for part in message.split("; ")]
    allowed: list[str] = []
    other: list[str] = []
    for part in parts:
        match = _ENUM.match(part)
        values = _QUOTED.findall(match.group(1)) if match else []
        if values:
            allowed += [v for v in values if v not in allowed]
        elif part not in other:
            other.append(part)
    if not allowed:
        return "; ".join(other)
    said = []
    if isinstance(given, str):
        exact = [v for v in allowed if v.lower() == given.lower()]
        if exact:
            said.append(f"{given!r} is not allowed; values are case-sensitive: did you mean {exact[0]!r}?")
        else:
            lower = {v.lower(): v for v in allowed}
            close = [lower[v] for v in difflib.get_close_matches(given.lower(), list(lower), n=3, cutoff=0.6)]
            said.append(f"{given!r} is not allowed" + (f"; close: {', '.join(close)}" if close else ""))
    if len(allowed) <= MAX_VALUES:
        said.append("allowed: " + ", ".join(allowed))
    else:
        said.append(
            f"one of {len(allowed)} values, e.g. {', '.join(allowed[:MAX_VALUES])} "
            "(describe_tool lists them all)"
        )
    return "; ".join(said + [p for p in other if not p.startswith("Input should be a valid")])


def _value_at(arguments: Any, path: str) -> Any:
    node = arguments
    for part in re.findall(r"[^.\[\]]+", path):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node
