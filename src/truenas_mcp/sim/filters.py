"""Query filters and options exactly as the TrueNAS 25.04.2 middleware applies them.

The semantics follow ``filter_list`` in ``middlewared/utils/__init__.py`` of that release, including its
quirks, because clients are written against the real behaviour:

* a filter on a missing key never matches; a numeric path component past the end of a list yields ``None``;
* ``*`` fans out over a list and matches when any member matches;
* ``C`` makes an operator case-insensitive (casefold on both sides) and is refused for ``~``;
* ``field.$date`` compares a datetime with an ISO-8601 string (only comparison operators);
* ``select`` silently drops missing keys; ``order_by`` sorts stably, in the order given, so the *last*
  key listed is the primary one (the middleware re-sorts the whole list once per key);
* ``count`` is applied before ordering and paging, ``get`` after ordering and before paging.

Errors the middleware reports as a ``ValueError`` from ``validate_filters``/``validate_options`` become a
``ValidationErrors`` naming the argument (``filters``/``options`` with pydantic's ``Value error, `` prefix
for new-style methods, the bare message on the legacy ``query-filters``/``query-options``), as the
parameter validation of the server does. Negative offsets and any limit are accepted. What fails only
while rows are walked (a mixed-type sort, selecting by list index) is raised as the exception itself.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Callable, Sequence
from typing import Any, Final, NamedTuple

from truenas_mcp.sim.errors import MatchNotFound, ValidationErrors

MAX_FILTERS_DEPTH: Final = 3
LEGACY_FILTERS: Final = "query-filters"
NULLS_FIRST: Final = "nulls_first:"
NULLS_LAST: Final = "nulls_last:"
TIMESTAMP_DESIGNATOR: Final = ".$date"
_TIMESTAMP_OPS: Final = frozenset({"=", "!=", ">", ">=", "<", "<="})

QUERY_OPTION_KEYS: Final = frozenset(
    {
        "relationships",
        "extend",
        "extend_context",
        "prefix",
        "extra",
        "order_by",
        "select",
        "count",
        "get",
        "offset",
        "limit",
        "force_sql_filters",
    }
)


class _Undefined:
    """Marks a missing key, distinct from a stored ``None``."""

    def __repr__(self) -> str:
        return "undefined"


UNDEFINED: Final = _Undefined()


def _op_in(x: Any, y: Any) -> bool:
    return x in y


def _op_nin(x: Any, y: Any) -> bool:
    return x is not None and x not in y


def _op_rin(x: Any, y: Any) -> bool:
    return x is not None and y in x


def _op_rnin(x: Any, y: Any) -> bool:
    return x is not None and y not in x


def _op_re(x: Any, y: Any) -> bool:
    # Nullable string fields match as the empty string, so a regex never raises on None.
    return re.match(y, x or "") is not None


def _op_startswith(x: Any, y: Any) -> bool:
    return x is not None and x.startswith(y)


def _op_notstartswith(x: Any, y: Any) -> bool:
    return x is not None and not x.startswith(y)


def _op_endswith(x: Any, y: Any) -> bool:
    return x is not None and x.endswith(y)


def _op_notendswith(x: Any, y: Any) -> bool:
    return x is not None and not x.endswith(y)


OPMAP: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "~": _op_re,
    "in": _op_in,
    "nin": _op_nin,
    "rin": _op_rin,
    "rnin": _op_rnin,
    "^": _op_startswith,
    "!^": _op_notstartswith,
    "$": _op_endswith,
    "!$": _op_notendswith,
}


class _Got(NamedTuple):
    result: Any
    rest: str | None = None
    done: bool = True


def partition(path: str) -> tuple[str, str]:
    """Split ``path`` at the first unescaped dot; ``\\.`` stands for a literal dot in a key."""
    acc = ""
    while True:
        left, sep, right = path.partition(".")
        if not sep:
            return acc + left, right
        if left.endswith("\\"):
            acc += left[:-1] + sep
            path = right
        else:
            return acc + left, right


def _get_impl(obj: Any, path: str) -> _Got:
    right = path
    cur = obj
    while right:
        left, right = partition(right)
        if isinstance(cur, dict):
            cur = cur.get(left, UNDEFINED)
        elif isinstance(cur, list | tuple):
            if not left.isdigit():
                if left == "*":
                    return _Got(cur, right, done=False)
                raise ValueError(f"{left}: must be array index or wildcard character")
            index = int(left)
            cur = cur[index] if index < len(cur) else None
        # Any other value (a datetime reached through ``.$date``) stays as it is.
    return _Got(cur)


def get_path(obj: Any, path: str) -> Any:
    """The value at a dotted ``path`` of ``obj``; ``None`` when a key is missing."""
    result = _get_impl(obj, path).result
    return None if result is UNDEFINED else result


def _casefold(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, list | tuple):
        return [item.casefold() for item in value]
    raise ValueError(f"{type(value)}: support for casefolding object type not implemented.")


def _comparable(source: Any, value: Any) -> tuple[Any, Any]:
    """Compare an aware stored datetime with a naive filter timestamp as UTC instead of raising."""
    if isinstance(source, dt.datetime) and isinstance(value, dt.datetime):
        if source.tzinfo is None and value.tzinfo is not None:
            source = source.replace(tzinfo=dt.UTC)
        elif source.tzinfo is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
    return source, value


def _filterop(item: Any, flt: Sequence[Any]) -> bool:
    name, op, value = flt
    got = _get_impl(item, name)
    if got.result is UNDEFINED:
        return False
    if not got.done:
        branch = [got.rest, op, value]
        return any(_filterop(member, branch) for member in got.result)
    source = got.result
    if op[0] == "C":
        fn = OPMAP[op[1:]]
        source, value = _casefold(source), _casefold(value)
    else:
        fn = OPMAP[op]
    source, value = _comparable(source, value)
    return bool(fn(source, value))


def _eval(item: Any, flt: Sequence[Any], stamps: dict[str, dt.datetime]) -> bool:
    if len(flt) == 2:
        for branch in flt[1]:
            if isinstance(branch[0], list):
                hit = all(_eval(item, sub, stamps) for sub in branch)
            else:
                hit = _eval(item, branch, stamps)
            if hit:
                return True
        return False
    if not stamps:
        return _filterop(item, flt)
    left = stamps.get(flt[0], flt[0]) if isinstance(flt[0], str) else flt[0]
    right = stamps.get(flt[2], flt[2]) if isinstance(flt[2], str) else flt[2]
    return _filterop(item, (left, flt[1], right))


def validate_filters(filters: Any, stamps: dict[str, dt.datetime] | None = None, depth: int = 0) -> None:
    """Raise ``ValueError`` with the middleware's message for a malformed filter list."""
    if depth > MAX_FILTERS_DEPTH:
        raise ValueError("query-filters max recursion depth exceeded")
    if not isinstance(filters, list | tuple):
        raise ValueError(f"Invalid filters {filters!r}: must be a list")
    for flt in filters:
        if not isinstance(flt, list | tuple):
            raise ValueError(f"Invalid filter {flt}")
        if len(flt) == 2:
            op, branches = flt
            if op != "OR":
                raise ValueError(f"Invalid operation: {op}")
            if not branches:
                raise ValueError("OR filter requires at least one branch.")
            if not isinstance(branches, list | tuple):
                raise ValueError(f"Invalid filter {flt}")
            for branch in branches:
                if not isinstance(branch, list | tuple) or not branch:
                    raise ValueError(f"Invalid filter {branch}")
                if isinstance(branch[0], list):
                    validate_filters(branch, stamps, depth + 1)
                else:
                    validate_filters([branch], stamps, depth + 1)
            continue
        if len(flt) != 3:
            raise ValueError(f"Invalid filter {flt}")
        if not isinstance(flt[0], str):
            raise ValueError(f"Invalid filter {flt}: the field name must be a string")
        raw_op = flt[1]
        if not isinstance(raw_op, str) or not raw_op:
            raise ValueError(f"Invalid operation: {raw_op}")
        op = raw_op
        if op[0] == "C":
            op = op[1:]
            if op == "~":
                raise ValueError(f"Invalid case-insensitive operation: {raw_op}")
        if op not in OPMAP:
            raise ValueError(f"Invalid operation: {raw_op}")
        for operand in (flt[0], flt[2]):
            if not isinstance(operand, str) or not operand.endswith(TIMESTAMP_DESIGNATOR):
                continue
            if op not in _TIMESTAMP_OPS:
                raise ValueError(f"{op}: invalid timestamp operation.")
            other = flt[2] if operand == flt[0] else flt[0]
            try:
                stamp = dt.datetime.fromisoformat(other)
            except (TypeError, ValueError):
                raise ValueError(f"{other}: must be an ISO-8601 formatted timestamp string") from None
            if stamps is not None:
                stamps[other] = stamp


def validate_options(options: Any) -> tuple[dict[str, Any], list[Any], list[str]]:
    """Check ``options`` as ``QueryOptions`` does; return it with its ``select`` and ``order_by``."""
    if options is None:
        return {}, [], []
    if not isinstance(options, dict):
        raise ValueError("Options must be an object")
    unknown = sorted(set(options) - QUERY_OPTION_KEYS)
    if unknown:
        raise ValueError(f"{unknown[0]}: Extra inputs are not permitted")
    for key in ("count", "get", "relationships", "force_sql_filters"):
        if key in options and not isinstance(options[key], bool):
            raise ValueError(f"{key}: Input should be a valid boolean")
    for key in ("offset", "limit"):
        # Negative offsets (the last N rows) and limits over 10,000 are accepted, as on the box.
        if key in options and (not isinstance(options[key], int) or isinstance(options[key], bool)):
            raise ValueError(f"{key}: Input should be a valid integer")
    if options.get("get") and options.get("limit", 0) > 1:
        raise ValueError("Invalid options combination. `get` implies a single result.")
    if options.get("get") and options.get("offset"):
        raise ValueError("Invalid options combination. `get` implies a single result.")
    select = options.get("select", [])
    if not isinstance(select, list):
        raise ValueError("select: Input should be a valid list")
    for sel in select:
        if isinstance(sel, str):
            continue
        if isinstance(sel, list):
            if len(sel) != 2:
                raise ValueError(
                    f"{sel}: A select as list may only contain two parameters: the name of the parameter "
                    "being selected, and the name to which to assign it in resulting data."
                )
            for idx, part in enumerate(sel):
                if not isinstance(part, str):
                    raise ValueError(f"{sel}: {'first' if idx == 0 else 'second'} item must be a string.")
            continue
        raise ValueError(
            f"{sel}: selectors must be either a parameter name as a string or a list containing two items "
            "[<parameter name>, <as name>] to emulate SELECT <parameter name> AS <as name>."
        )
    order_by = options.get("order_by", [])
    if not isinstance(order_by, list):
        raise ValueError("order_by: Input should be a valid list")
    for idx, key in enumerate(order_by):
        if not isinstance(key, str):
            raise ValueError(f"{order_by}: parameter at index {idx} [{key}] is not a string.")
    return options, select, order_by


def _select_path(obj: dict[str, Any], path: str) -> tuple[list[str], Any]:
    keys: list[str] = []
    right = path
    cur: Any = obj
    while right:
        left, right = partition(right)
        if isinstance(cur, dict):
            cur = cur.get(left, UNDEFINED)
            keys.append(left)
        elif isinstance(cur, list | tuple):
            raise ValueError("Selecting by list index is not supported")
        # A scalar stays as it is and the rest of the path is ignored (``select_path`` on the box).
    return keys, cur


def _do_select(rows: list[dict[str, Any]], select: list[Any]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        entry: dict[str, Any] = {}
        for sel in select:
            target, alias = (sel[0], sel[1]) if isinstance(sel, list) else (sel, None)
            keys, value = _select_path(row, target)
            if value is UNDEFINED:
                continue
            if alias is not None:
                entry[alias] = value
                continue
            last = keys.pop()
            node = entry
            for key in keys:
                node = node.setdefault(key, {})
            node[last] = value
        out.append(entry)
    return out


def _sort_key(path: str) -> Callable[[Any], Any]:
    return lambda row: get_path(row, path)


def _do_order(rows: list[dict[str, Any]], order_by: list[str]) -> list[dict[str, Any]]:
    for spec in order_by:
        nulls: str | None = None
        if spec.startswith(NULLS_FIRST):
            nulls, spec = "first", spec[len(NULLS_FIRST) :]
        elif spec.startswith(NULLS_LAST):
            nulls, spec = "last", spec[len(NULLS_LAST) :]
        reverse = spec.startswith("-")
        key = spec[1:] if reverse else spec
        if nulls is None:
            # Mixed types raise TypeError, which the box answers as -32001 with that exception.
            rows = sorted(rows, key=_sort_key(key), reverse=reverse)
            continue
        # The middleware tests the top-level key for None here, not the dotted path.
        none_rows = [row for row in rows if row.get(key) is None]
        rest = sorted((row for row in rows if row.get(key) is not None), key=_sort_key(key), reverse=reverse)
        rows = none_rows + rest if nulls == "first" else rest + none_rows
    return rows


def query(
    rows: list[dict[str, Any]],
    filters: list[Any] | None,
    options: dict[str, Any] | None,
    *,
    filters_name: str = "filters",
    options_name: str = "options",
) -> Any:
    """Apply TrueNAS ``filters`` and ``options`` to ``rows`` (``filter_list``).

    Returns a list, a single row (``get``) or an int (``count``). Raises ``MatchNotFound`` for ``get``
    without a match, ``ValidationErrors`` (attribute ``filters_name``/``options_name``) for input the
    validators refuse, and ``TypeError``/``ValueError`` for what fails only while rows are walked.
    The rows are not copied: callers hand in rows they are free to give away.
    """
    legacy = filters_name == LEGACY_FILTERS
    # pydantic reports a validator's ValueError as "Value error, ..." on the field, filters before options;
    # the legacy validators report the bare message.
    prefix = "" if legacy else "Value error, "
    errors = ValidationErrors()
    stamps: dict[str, dt.datetime] = {}
    checked: dict[str, Any] = {}
    select: list[Any] = []
    order_by: list[str] = []
    if filters:
        try:
            validate_filters(filters, stamps)
        except ValueError as exc:
            errors.add(filters_name, f"{prefix}{exc}")
    try:
        checked, select, order_by = validate_options(options)
    except ValueError as exc:
        errors.add(options_name, f"{prefix}{exc}")
    errors.check()
    # What goes wrong while walking rows (``name.x`` through a list, selecting by list index, sorting or
    # comparing mixed types) escapes as the exception itself: the box answers -32001 with it.
    return _apply(rows, filters or [], checked, select, order_by, stamps)


def _apply(
    rows: list[dict[str, Any]],
    filters: list[Any],
    options: dict[str, Any],
    select: list[Any],
    order_by: list[str],
    stamps: dict[str, dt.datetime],
) -> Any:
    shortcircuit = bool(options.get("get")) and not order_by
    result: list[dict[str, Any]]
    if filters:
        result = []
        for row in rows:
            if all(_eval(row, flt, stamps) for flt in filters):
                result.append(_do_select([row], select)[0] if select else row)
                if shortcircuit:
                    break
        if shortcircuit:
            if not result:
                raise MatchNotFound()
            return result[0]
    elif select:
        result = _do_select(rows, select)
    else:
        result = list(rows)
    if options.get("count") is True:
        return len(result)
    result = _do_order(result, order_by)
    if options.get("get") is True:
        if not result:
            raise MatchNotFound()
        return result[0]
    if options.get("offset"):
        result = result[options["offset"] :]
    if options.get("limit"):
        return result[: options["limit"]]
    return result
