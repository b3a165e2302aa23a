"""Parameter cleaning for legacy ``@accepts`` methods, as ``middlewared/schema`` does it on 25.04.2.

About 350 methods still validate with the legacy attribute classes, whose behaviour differs from
pydantic's: ``Str`` turns an integer into a string, ``Int`` parses a string of digits, messages are
``Not a string``, ``Not an integer``, ``Not a boolean``, ``Not a list``, ``A dict was expected``,
``Field was not expected``, ``null not allowed``, ``attribute required``, ``Invalid choice: X``; a list
item that fits no item type is ``Item#N is not valid per list types: [attr] message``; too many
positional arguments is a ``CallError``, not a validation error. The recorded ``to_json_schema`` output
of each attribute says which class it was; cleaning returns the values the method body receives
(coerced, defaults filled).
"""

from __future__ import annotations

import copy
import errno
from collections.abc import Callable
from typing import Any, Final

from truenas_mcp.sim import filters
from truenas_mcp.sim.errors import CallError, ValidationErrors

Schema = dict[str, Any]


class _Missing:
    def __repr__(self) -> str:
        return "NOT_PROVIDED"


NOT_PROVIDED: Final = _Missing()


class AttributeError_(Exception):
    """``middlewared.schema.Error``: one attribute's problem; ``str()`` is ``[attribute] message``."""

    def __init__(self, attribute: str, errmsg: str, code: int = errno.EINVAL) -> None:
        super().__init__(errmsg)
        self.attribute = attribute
        self.errmsg = errmsg
        self.errno = code

    def __str__(self) -> str:
        return f"[{self.attribute}] {self.errmsg}"


# Per recorded schema node (they live as long as the recording): (main type, nullable, has validators).
_FACTS: dict[int, tuple[Schema, str | None, bool, bool]] = {}


def _facts(schema: Schema) -> tuple[str | None, bool, bool]:
    found = _FACTS.get(id(schema))
    if found is None or found[0] is not schema:
        kind = schema.get("type")
        kinds = [str(k) for k in kind] if isinstance(kind, list) else [str(kind)] if kind is not None else []
        main = next((k for k in kinds if k != "null"), None)
        nullable = "null" in kinds or bool(schema.get("nullable"))
        members = (schema.get("properties") or {}).values()
        validated = schema.get("_name_") in _VALIDATORS or any(_facts(m)[2] for m in members)
        found = (schema, main, nullable, validated)
        _FACTS[id(schema)] = found
    return found[1], found[2], found[3]


def _nullable(schema: Schema) -> bool:
    return _facts(schema)[1]


def _main_type(schema: Schema) -> str | None:
    return _facts(schema)[0]


def _base_clean(schema: Schema, name: str, value: Any) -> Any:
    """``Attribute.clean``: null and missing values."""
    if value is None and not _nullable(schema):
        raise AttributeError_(name, "null not allowed")
    if value is NOT_PROVIDED:
        if "default" in schema:
            return copy.deepcopy(schema["default"])
        raise AttributeError_(name, "attribute required")
    return value


def _enum_check(schema: Schema, name: str, value: Any) -> Any:
    """``EnumMixin.clean``: every member of a list value must be a choice too."""
    choices = schema.get("enum")
    if choices is None or (value is None and _nullable(schema)):
        return value
    for item in value if isinstance(value, list | tuple) else [value]:
        if item not in choices:
            raise AttributeError_(name, f"Invalid choice: {value}")
    return value


def _clean_str(schema: Schema, name: str, value: Any) -> Any:
    if value is None:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise AttributeError_(name, "Not a string")
    return value


def _clean_int(schema: Schema, name: str, value: Any) -> Any:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise AttributeError_(name, "Not an integer")


def _clean_float(schema: Schema, name: str, value: Any) -> Any:
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise AttributeError_(name, "Not a floating point number")


def _clean_bool(schema: Schema, name: str, value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    raise AttributeError_(name, "Not a boolean")


def _clean_list(schema: Schema, name: str, value: Any) -> Any:
    if value is None:
        return copy.deepcopy(schema.get("default", []))
    if not isinstance(value, list | tuple):
        raise AttributeError_(name, "Not a list")
    value = list(value)
    items = [i for i in schema.get("items") or [] if isinstance(i, dict)]
    for index, member in enumerate(value):
        if not items:
            break
        found: Exception | None = None
        for item in items:
            try:
                value[index] = clean(item, copy.deepcopy(member))
                found = None
                break
            except (AttributeError_, ValidationErrors) as exc:
                found = exc
        if found is not None:
            raise AttributeError_(name, f"Item#{index} is not valid per list types: {found}")
    return value


def _clean_dict(schema: Schema, name: str, value: Any) -> Any:
    if value is None:
        return None if _nullable(schema) else copy.deepcopy(schema.get("default", {}))
    if not isinstance(value, dict):
        raise AttributeError_(name, "A dict was expected")
    data = dict(value)
    properties: dict[str, Schema] = schema.get("properties") or {}
    additional = schema.get("additionalProperties", False) is not False
    # ``Patch(..., ('attr', {'update': True}))`` makes the ``<x>_update`` dicts: given keys only, no
    # defaults and nothing required (the recording keeps the name, not the flag).
    update = name.endswith("_update")
    verrors = ValidationErrors()
    for key, member in list(data.items()):
        if key not in properties:
            if not additional:
                verrors.add(f"{name}.{key}", "Field was not expected")
            continue
        data[key] = _clean_member(properties[key], name, member, verrors)
    for key in [] if update else schema.get("_attrs_order_") or list(properties):
        attr = properties.get(key)
        if attr is None or key in data:
            continue
        if attr.get("_required_") or "default" in attr:
            data[key] = _clean_member(attr, name, NOT_PROVIDED, verrors)
    verrors.check()
    return data


def _clean_member(attr: Schema, parent: str, value: Any, verrors: ValidationErrors) -> Any:
    try:
        return clean(attr, value)
    except AttributeError_ as exc:
        verrors.add(f"{parent}.{exc.attribute}", exc.errmsg, exc.errno)
    except ValidationErrors as exc:
        for attribute, message, code in exc.errors:
            verrors.add(f"{parent}.{attribute}", message, code)
    return None


_CLEANERS: Final[dict[str | None, Callable[[Schema, str, Any], Any]]] = {
    "string": _clean_str,
    "integer": _clean_int,
    "number": _clean_float,
    "boolean": _clean_bool,
    "array": _clean_list,
    "object": _clean_dict,
}


def clean(schema: Schema, value: Any) -> Any:
    """One attribute's ``clean``: raises ``AttributeError_`` or ``ValidationErrors``."""
    name = str(schema.get("_name_") or schema.get("title") or "")
    value = _base_clean(schema, name, value)
    # ``class Str(EnumMixin, Attribute)``: the choices are checked before the type is.
    value = _enum_check(schema, name, value)
    cleaner = _CLEANERS.get(_main_type(schema))
    if cleaner is not None:
        value = cleaner(schema, name, value)
    return value


# Validators attached to the registered query attributes (``validators.py QueryFilters/QueryOptions``).
_VALIDATORS: Final[dict[str, Callable[[Any], Any]]] = {
    "query-filters": filters.validate_filters,
    "query-options": filters.validate_options,
}


def _validate(schema: Schema, value: Any) -> None:
    """``Attribute.validate``: the validators, of this attribute and (``Dict.validate``) of its members."""
    if not _facts(schema)[2]:
        return
    name = str(schema.get("_name_") or "")
    verrors = ValidationErrors()
    check = _VALIDATORS.get(name)
    if check is not None:
        try:
            check(value)
        except ValueError as exc:
            verrors.add(name, str(exc))
    if _main_type(schema) == "object" and isinstance(value, dict):
        for key, attr in (schema.get("properties") or {}).items():
            if key not in value:
                continue
            try:
                _validate(attr, value[key])
            except ValidationErrors as exc:
                for attribute, message, code in exc.errors:
                    verrors.add(f"{name}.{attribute}", message, code)
    verrors.check()


def clean_params(raw_accepts: list[Schema], params: list[Any]) -> list[Any]:
    """``accepts``' ``clean_and_validate_args``: every argument cleaned, all errors raised at once."""
    if len(params) > len(raw_accepts):
        raise CallError(
            f"Too many arguments (expected {len(raw_accepts)}, found {len(params)})", errno.EINVAL
        )
    verrors = ValidationErrors()
    cleaned: list[Any] = []
    for index, schema in enumerate(raw_accepts):
        value = params[index] if index < len(params) else NOT_PROVIDED
        try:
            result = clean(schema, value)
            _validate(schema, result)
        except AttributeError_ as exc:
            verrors.add(exc.attribute, exc.errmsg, exc.errno)
            result = None
        except ValidationErrors as exc:
            verrors.errors.extend(exc.errors)
            result = None
        cleaned.append(result)
    verrors.check()
    return cleaned


def _walk(node: Any, seen: set[str]) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("type"), list) or node.get("items") == []:
            seen.add("legacy")
        if "anyOf" in node or "oneOf" in node or "const" in node or isinstance(node.get("required"), list):
            seen.add("pydantic")
        if "minLength" in node or "discriminator" in node or "$defs" in node:
            seen.add("pydantic")
        for member in node.values():
            _walk(member, seen)
    elif isinstance(node, list):
        for member in node:
            _walk(member, seen)


_FLAVOURS: dict[int, tuple[list[Schema], bool]] = {}


def is_legacy(raw_accepts: list[Schema]) -> bool:
    """Whether the parameters are legacy ones (see ``_is_legacy``); decided once per recorded list."""
    found = _FLAVOURS.get(id(raw_accepts))
    if found is None or found[0] is not raw_accepts:
        found = (raw_accepts, _is_legacy(raw_accepts))
        _FLAVOURS[id(raw_accepts)] = found
    return found[1]


def _is_legacy(raw_accepts: list[Schema]) -> bool:
    """Whether the recorded parameters come from legacy attributes rather than a pydantic model.

    Only pydantic writes ``anyOf``, ``const``, ``minLength`` or a ``required`` list; only the legacy
    ``to_json_schema`` writes a list as ``type`` or an empty ``items``. The registered legacy query
    parameters (``query-filters``) are legacy by name. Parameters that show neither are validated the
    pydantic way (the more common flavour).
    """
    if any(isinstance(p, dict) and p.get("_name_") == "query-filters" for p in raw_accepts):
        return True
    seen: set[str] = set()
    _walk(raw_accepts, seen)
    return seen == {"legacy"}
