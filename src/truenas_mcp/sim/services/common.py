"""Helpers every service module shares: positional arguments, query/get_instance, errors, events."""

from __future__ import annotations

import copy
import datetime as dt
import errno
from collections.abc import Callable, Iterable
from typing import Any

from truenas_mcp.sim import filters
from truenas_mcp.sim.api import CallContext, Handler
from truenas_mcp.sim.errors import CallError, MatchNotFound, ValidationErrors, instance_not_found
from truenas_mcp.sim.state import World

RowsFn = Callable[[CallContext, dict[str, Any]], list[dict[str, Any]]]
"""Produce the full, freshly built rows of a collection (the options are passed for ``extra``)."""


def arg(params: list[Any], index: int, default: Any = None) -> Any:
    """Positional parameter ``index``; sim-core hands them over without defaults filled in."""
    if index < len(params) and params[index] is not None:
        return params[index]
    return copy.deepcopy(default)


def world(ctx: CallContext) -> World:
    return ctx.sim.world


def run_query(rows: list[dict[str, Any]], params: list[Any], *, legacy: bool) -> Any:
    """``query(filters, options)`` over ``rows`` with the argument names the method's schema uses."""
    names = ("query-filters", "query-options") if legacy else ("filters", "options")
    filter_list = arg(params, 0, [])
    options = arg(params, 1, {})
    return filters.query(rows, filter_list, options, filters_name=names[0], options_name=names[1])


def query_handler(rows_fn: RowsFn, *, legacy: bool = False) -> Handler:
    async def handler(ctx: CallContext, params: list[Any]) -> Any:
        return run_query(rows_fn(ctx, arg(params, 1, {}) or {}), params, legacy=legacy)

    return handler


def get_instance_handler(rows_fn: RowsFn, verbose_name: str, key: str = "id") -> Handler:
    """``get_instance(id, options)``: query by primary key with ``get``; a miss is ``InstanceNotFound``."""

    async def handler(ctx: CallContext, params: list[Any]) -> Any:
        ident = arg(params, 0)
        options = dict(arg(params, 1, {}) or {})
        return lookup(rows_fn(ctx, options), key, ident, verbose_name, options)

    return handler


def lookup(
    rows: list[dict[str, Any]], key: str, ident: Any, verbose_name: str, options: dict[str, Any] | None = None
) -> dict[str, Any]:
    opts = {k: v for k, v in (options or {}).items() if k not in ("get", "limit", "offset", "count")}
    try:
        result = filters.query(rows, [[key, "=", ident]], {**opts, "get": True})
    except MatchNotFound:
        raise instance_not_found(verbose_name, ident) from None
    return result


def require(row: dict[str, Any] | None, verbose_name: str, ident: Any) -> dict[str, Any]:
    if row is None:
        raise instance_not_found(verbose_name, ident)
    return row


def as_datetime(value: Any, attr: str) -> dt.datetime | None:
    """A timestamp argument as an aware datetime: ejson ``{"$date"}`` arrives decoded, ISO-8601 as text."""
    if value is None or isinstance(value, dt.datetime):
        return value if value is None or value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValidationErrors([(attr, f"{value!r}: not an ISO-8601 timestamp", errno.EINVAL)]) from None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)
    raise ValidationErrors([(attr, "Input should be a valid datetime", errno.EINVAL)])


def check_choice(verrors: ValidationErrors, attr: str, value: Any, choices: Iterable[Any]) -> None:
    allowed = list(choices)
    if value is not None and value not in allowed:
        verrors.add(attr, f"Invalid choice: {value!r}. Valid choices are: {', '.join(map(str, allowed))}")


def already_exists(attr: str, what: str) -> ValidationErrors:
    return ValidationErrors([(attr, f"{what} already exists", errno.EEXIST)])


def busy(message: str) -> CallError:
    return CallError(message, errno.EBUSY)


def fresh(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Deep copies: query results are handed to the protocol layer and must not alias stored rows."""
    return [copy.deepcopy(row) for row in rows]


def emit(ctx: CallContext, collection: str, kind: str, ident: Any) -> None:
    """CRUD events carry only the id (``{msg, collection, id}``), as the middleware's CRUDService sends."""
    ctx.sim.emit(collection, kind, ident)  # type: ignore[arg-type]


def progress(ctx: CallContext, percent: int, description: str) -> None:
    if ctx.job is not None:
        ctx.job.set_progress(percent, description)


async def checkpoint(ctx: CallContext) -> None:
    if ctx.job is not None:
        await ctx.job.checkpoint()
