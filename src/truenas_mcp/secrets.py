"""Masking of secret fields by reviewed path: shared by the MCP server and the simulator.

The reviewed overrides list, for each method, the paths of its secret result fields
(``Policy.secret_outputs``). The server masks them in answers for callers who may not see secrets; the
simulator masks them where the middleware would (``main.py dump_result``). Both must read a path the same
way, so the reading lives here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from truenas_mcp.wire import SECRET_VALUE

MASK = SECRET_VALUE


def _mask_at(value: Any, path: list[str]) -> Any:
    if not path:
        return value if value is None else MASK
    head, rest = path[0], path[1:]
    if isinstance(value, Mapping):
        if head == "*":
            return {k: _mask_at(v, rest) for k, v in value.items()}
        if head in value:
            return {**value, head: _mask_at(value[head], rest)}
        return value
    if isinstance(value, list | tuple) and head == "*":
        return [_mask_at(item, rest) for item in value]
    if head == "*" and not rest and value is not None:
        return MASK  # ``*`` as the last step over a scalar: the value itself is the secret
    return value


def mask_paths(value: Any, paths: Iterable[str]) -> Any:
    """A copy of ``value`` with every value at one of ``paths`` replaced by :data:`MASK` (``None`` stays).

    A path is dot-separated field names; ``*`` matches any array item or any key, and ``*`` alone masks
    the whole value. A path that is absent from ``value`` changes nothing.
    """
    for path in paths:
        value = _mask_at(value, path.split("."))
    return value
