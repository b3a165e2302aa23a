"""Keeping answers inside a model's context: default query limits, a byte cap, and paging notes.

A query without ``options.limit`` gets the configured default, and one row more is asked for so the
server knows whether more exist without a second (count) query. Every answer is measured as JSON; a list
longer than the cap is cut to the rows that fit, and the tool's ``page`` object (part of every query
tool's output schema) says how many rows came back, where the next page starts and how to narrow the
answer. A non-list answer over the cap is refused with the same advice rather than cut into invalid data.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from dataclasses import dataclass
from typing import Any

import orjson

from truenas_mcp.catalog import ToolSpec

# Datetimes go through ``json_default`` like every other value the client decodes from ejson, so the
# text says exactly what ``json_default`` says and ``encode`` learns that the data held one.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def json_default(value: Any) -> Any:
    """JSON for values the client decodes from ejson: times as ISO 8601, sets as sorted lists."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    if isinstance(value, ipaddress.IPv4Interface | ipaddress.IPv6Interface):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _dumps(value: Any, default: Any) -> tuple[bytes, bool]:
    """Compact UTF-8 JSON, and whether orjson made it (then every integer in it fits 64 bits)."""
    try:
        return orjson.dumps(value, default=default, option=_ORJSON_OPTIONS), True
    except orjson.JSONEncodeError:
        # ZFS counters can exceed 64 bits; so can any integer a caller sends.
        text = json.dumps(value, default=default, ensure_ascii=False, separators=(",", ":"))
        return text.encode(), False


def dumps_bytes(value: Any, default: Any = json_default) -> bytes:
    return _dumps(value, default)[0]


def dumps(value: Any) -> str:
    return dumps_bytes(value).decode()


def encode(structured: dict[str, Any], *, clean: bool = True) -> tuple[dict[str, Any], str]:
    """The JSON text of ``structured`` and a JSON-clean copy of it (the same object when already clean).

    The client decodes ejson into datetimes and sets; the structured answer must carry exactly what the
    text says, so it is re-read from the text when such a value was met. ``clean=False`` skips that
    copy for a reply written from the text itself (:class:`~truenas_mcp.server.results.ToolResult`).
    """
    structured, data = _encode(structured, clean)
    return structured, data.decode()


def _encode(structured: dict[str, Any], clean: bool) -> tuple[dict[str, Any], bytes]:
    converted = False

    def default(value: Any) -> Any:
        nonlocal converted
        converted = True
        return json_default(value)

    data, fits = _dumps(structured, default)
    if converted and clean:
        # orjson reads integers beyond 64 bits as floats; such an answer was written by json.
        structured = orjson.loads(data) if fits else json.loads(data)
    return structured, data


@dataclass(frozen=True, slots=True)
class QueryPlan:
    """What the server changed in a query's options, to explain the answer afterwards."""

    limit: int | None  # the limit the caller gets (None: not limited by the server)
    offset: int
    probe: bool  # one extra row was asked for to learn whether more exist


def is_paged(tool: ToolSpec) -> bool:
    return tool.policy.filterable and "page" in tool.output_schema.get("properties", {})


def plan_query(
    tool: ToolSpec, arguments: dict[str, Any], default_limit: int
) -> tuple[dict[str, Any], QueryPlan]:
    """Arguments with the server's default limit applied (validated arguments in, arguments out)."""
    if not is_paged(tool):
        return arguments, QueryPlan(None, 0, False)
    options = arguments.get("options")
    options = dict(options) if isinstance(options, dict) else {}
    given_offset = options.get("offset")
    offset = given_offset if isinstance(given_offset, int) else 0
    if options.get("count") or options.get("get"):
        return arguments, QueryPlan(None, offset, False)
    limit = options.get("limit")
    if isinstance(limit, int) and limit > 0:
        return arguments, QueryPlan(limit, offset, False)
    options["limit"] = default_limit + 1
    return {**arguments, "options": options}, QueryPlan(default_limit, offset, True)


@dataclass(frozen=True, slots=True)
class Shaped:
    structured: dict[str, Any] | None
    text: str
    error: str | None = None
    size: int = 0  # bytes of ``text`` as UTF-8


def _note(returned: int, next_offset: int | None, why: str) -> str:
    more = (
        f"call again with options.offset={next_offset} for the next rows, " if next_offset is not None else ""
    )
    return (
        f"{why}: {returned} row(s) returned; {more}or narrow the answer with `filters` and "
        "`options.select` (a list of the fields you need)."
    )


def shape_result(
    tool: ToolSpec,
    result: Any,
    plan: QueryPlan,
    max_bytes: int,
    extra: dict[str, Any] | None = None,
    *,
    clean: bool = True,
    busy: bool = False,
) -> Shaped:
    """``{"result": ...}`` (plus ``extra``, e.g. the job handle) within ``max_bytes`` of JSON; ``clean`` as
    in :func:`encode`; ``busy``: ``max_bytes`` is the room other answers left, not the configured cap."""
    page: dict[str, Any] | None = None
    if isinstance(result, list) and plan.probe and plan.limit is not None and len(result) > plan.limit:
        result = result[: plan.limit]
        next_offset = plan.offset + plan.limit
        page = {
            "returned": len(result),
            "total": None,
            "next_offset": next_offset,
            "note": _note(
                len(result), next_offset, f"more rows exist than the default limit of {plan.limit}"
            ),
        }
    structured: dict[str, Any] = {"result": result, **(extra or {})}
    if page is not None:
        structured["page"] = page
    structured, data = _encode(structured, clean)
    size = len(data)
    if size <= max_bytes:
        return Shaped(structured, data.decode(), size=size)
    if isinstance(result, list) and is_paged(tool):
        return _cut_rows(result, plan, max_bytes, extra, clean, busy)
    message = (
        f"{tool.name}: the answer is {size} bytes of JSON, above this server's cap of {max_bytes} bytes. "
        + (
            "Narrow it with `filters` and `options.select` (the fields you need) or page with "
            "`options.limit`/`options.offset`."
            if tool.policy.filterable
            else "Ask for less (narrower arguments), or use the TrueNAS UI for this answer."
        )
    )
    return Shaped(None, message, error=message)


def _cut_rows(
    rows: list[Any],
    plan: QueryPlan,
    max_bytes: int,
    extra: dict[str, Any] | None,
    clean: bool,
    busy: bool = False,
) -> Shaped:
    # Rows are measured one by one (plus a fixed allowance for the envelope and the note) so the cut is a
    # single pass, not a search over re-encodings of the whole answer.
    budget = max_bytes - 600 - (len(dumps_bytes(extra)) if extra else 0)
    used = 2
    keep = 0
    for row in rows:
        size = len(dumps_bytes(row)) + 1
        if used + size > budget:
            break
        used += size
        keep += 1
    kept = rows[:keep]
    next_offset = plan.offset + keep
    page = {
        "returned": keep,
        "total": None,
        "next_offset": next_offset,
        "note": _note(
            keep,
            next_offset,
            f"the server is busy with other large answers, so this one was cut to {max_bytes} bytes"
            if busy
            else f"the answer was cut to fit {max_bytes} bytes",
        ),
    }
    structured, data = _encode({"result": kept, **(extra or {}), "page": page}, clean)
    return Shaped(structured, data.decode(), size=len(data))
