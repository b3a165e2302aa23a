"""Defaults and row shapes from the recorded (normalised) schemas.

Writes get the defaults the middleware's argument models fill in (``default`` keywords of ``accepts``);
stored rows are completed against the ``returns`` entry so every declared field is present, as a row read
back from the middleware's database is. A field with neither a value nor a default gets the empty value of
its type (``null`` where allowed), which is what an unset column reads as.
"""

from __future__ import annotations

import copy
from typing import Any

Schema = dict[str, Any]


def resolve(schema: Any, root: Schema) -> Any:
    """``schema`` with local ``$ref`` chains followed (the recording only uses ``#/$defs/...``)."""
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 32:
        ref = str(schema["$ref"])
        node: Any = root
        for part in ref.removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        schema = node
        seen += 1
    return schema


def query_item(returns: Schema | None) -> Schema | None:
    """The row schema of a query method: the ``items`` of the list branch of its ``anyOf``."""
    if not isinstance(returns, dict):
        return None
    for member in returns.get("anyOf", ()):
        member = resolve(member, returns)
        if isinstance(member, dict) and member.get("type") == "array":
            items = resolve(member.get("items", {}), returns)
            return items if isinstance(items, dict) else None
    return None


def _members(schema: Schema) -> list[Any]:
    return list(schema.get("anyOf") or schema.get("oneOf") or ())


def _object_member(schema: Schema, root: Schema) -> Schema | None:
    """The object-with-properties branch of ``schema`` (itself, or one member of a union)."""
    if isinstance(schema.get("properties"), dict):
        return schema
    for member in _members(schema):
        member = resolve(member, root)
        if isinstance(member, dict) and isinstance(member.get("properties"), dict):
            return member
    return None


def with_defaults(schema: Any, value: Any, root: Schema) -> Any:
    """``value`` with the defaults of ``schema`` filled in where keys are missing (nested objects too)."""
    schema = resolve(schema, root)
    if not isinstance(schema, dict) or not isinstance(value, dict):
        return value
    obj = _object_member(schema, root)
    if obj is None:
        return value
    out = dict(value)
    for key, sub in obj["properties"].items():
        sub = resolve(sub, root)
        if key in out:
            out[key] = with_defaults(sub, out[key], root)
        elif isinstance(sub, dict) and "default" in sub:
            out[key] = copy.deepcopy(sub["default"])
    return out


def empty_value(schema: Any, root: Schema) -> Any:
    """An unset field of ``schema``: its default, else ``null`` or the empty value of its type."""
    schema = resolve(schema, root)
    if not isinstance(schema, dict):
        return None
    if "default" in schema:
        return copy.deepcopy(schema["default"])
    if "const" in schema:
        return schema["const"]
    types = schema.get("type")
    kinds = types if isinstance(types, list) else [types] if types else []
    if not kinds:
        members = [resolve(m, root) for m in _members(schema)]
        kinds = [m.get("type") for m in members if isinstance(m, dict)]
        if "null" in kinds or not members:
            return None
        if "enum" not in schema and members:
            return empty_value(members[0], root)
    if "null" in kinds:
        return None
    if schema.get("enum"):
        return schema["enum"][0]
    kind = kinds[0] if kinds else None
    if kind == "object" or isinstance(schema.get("properties"), dict):
        return complete(schema, {}, root)
    return {"array": [], "string": "", "integer": 0, "number": 0, "boolean": False}.get(str(kind))


def complete(schema: Any, value: Any, root: Schema) -> Any:
    """``value`` as a stored row of ``schema``: every declared field present, undeclared ones dropped when
    the schema forbids extra fields (write-only inputs never show up in a read)."""
    schema = resolve(schema, root)
    if not isinstance(schema, dict) or not isinstance(value, dict):
        return value
    obj = _object_member(schema, root)
    if obj is None:
        return value
    props: dict[str, Any] = obj["properties"]
    out: dict[str, Any] = {}
    for key, sub in props.items():
        out[key] = complete(sub, value[key], root) if key in value else empty_value(sub, root)
    if obj.get("additionalProperties", True) is not False:
        for key, item in value.items():
            out.setdefault(key, item)
    return out
