"""Parameter validation against the recording's ``accepts`` schemas, with the middleware's error shapes.

The middleware validates positional params one schema each and reports ``[attribute, message, errno]``
triples whose attribute starts with the parameter's ``_name_`` (``user_create.username``). Messages follow
pydantic's wording (``Field required``, ``Input should be a valid integer``) because 414 of the 771 methods
are pydantic models and clients match on those texts more often than on legacy ones.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterable
from typing import Any, Final

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from truenas_mcp_gen.normalize import normalize_schema

from truenas_mcp import ejson
from truenas_mcp.sim import filters, legacy_schema
from truenas_mcp.sim.errors import ValidationErrors

_TYPE_WORDS = {
    "integer": "a valid integer",
    "number": "a valid number",
    "string": "a valid string",
    "boolean": "a valid boolean",
    "array": "a valid list",
    "object": "a valid dictionary",
    "null": "None",
}


def standard_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The recorded schema as standard JSON Schema 2020-12, by the generator's normaliser (one authority)."""
    return dict(normalize_schema(schema))


_VALIDATORS: dict[int, Draft202012Validator] = {}


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    found = _VALIDATORS.get(id(schema))
    if found is None or found.schema is not schema:
        found = Draft202012Validator(schema)
        _VALIDATORS[id(schema)] = found
    return found


def _quote(values: Iterable[Any]) -> str:
    items = [repr(v) if isinstance(v, str) else str(v) for v in values]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


# Model names pydantic puts in "valid dictionary or instance of X"; the recording keeps only field names,
# and the one model every query method shares is ``QueryOptions``.
_MODEL_NAMES: Final = {"options": "QueryOptions"}

# pydantic's tag for each member of a plain union (``str | list``), which it puts in the error location;
# every model sets ``str_max_length``, so strings are constrained.
_UNION_TAGS: Final = {
    "string": "constrained-str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "array": "list[any]",
    "object": "dict[str,any]",
}


def _union_members(error: ValidationError) -> list[tuple[list[str], str]] | None:
    """A failed union of plain types (no null member) as pydantic reports it: one error per member."""
    if error.validator != "anyOf" or not error.context:
        return None
    branches = error.validator_value if isinstance(error.validator_value, list) else []
    kinds = [b.get("type") for b in branches if isinstance(b, dict)]
    if len(kinds) != len(branches) or "null" in kinds or not all(k in _UNION_TAGS for k in kinds):
        return None
    if any(e.validator != "type" or list(e.relative_path) for e in error.context):
        return None
    path = [str(p) for p in error.absolute_path]
    return [([*path, _UNION_TAGS[str(k)]], f"Input should be {_TYPE_WORDS[str(k)]}") for k in kinds]


def _leaf(error: ValidationError) -> ValidationError:
    """For ``anyOf``/``oneOf`` failures, descend into the branch that got furthest (pydantic's choice)."""
    while error.validator in {"anyOf", "oneOf"} and error.context:
        non_null = [e for e in error.context if not (e.validator == "type" and e.validator_value == "null")]
        error = max(non_null or error.context, key=lambda e: (len(e.absolute_path), e.validator != "type"))
    return error


def _describe(error: ValidationError) -> list[tuple[list[str], str]]:
    """(relative path, pydantic-style message) pairs for one jsonschema error."""
    path = [str(p) for p in error.absolute_path]
    kind = error.validator
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        return [([*path, missing], "Field required")]
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        return [([*path, str(k)], "Extra inputs are not permitted") for k in error.instance if k not in known]
    if kind == "type":
        value = error.validator_value
        wanted: list[Any] = value if isinstance(value, list) else [value]
        words = [_TYPE_WORDS.get(str(t), str(t)) for t in wanted if t != "null"] or ["None"]
        return [(path, f"Input should be {' or '.join(words)}")]
    if kind == "enum":
        return [(path, f"Input should be {_quote(error.validator_value)}")]
    if kind == "const":
        return [(path, f"Input should be {_quote([error.validator_value])}")]
    if kind in {"minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"}:
        bound = {
            "minimum": "greater than or equal to",
            "exclusiveMinimum": "greater than",
            "maximum": "less than or equal to",
            "exclusiveMaximum": "less than",
        }[str(kind)]
        return [(path, f"Input should be {bound} {error.validator_value}")]
    if kind == "minLength":
        return [(path, f"String should have at least {error.validator_value} character(s)")]
    if kind == "maxLength":
        return [(path, f"String should have at most {error.validator_value} character(s)")]
    if kind == "minItems":
        return [(path, f"List should have at least {error.validator_value} item(s)")]
    if kind == "maxItems":
        return [(path, f"List should have at most {error.validator_value} item(s)")]
    if kind == "pattern":
        return [(path, f"String should match pattern '{error.validator_value}'")]
    return [(path, error.message)]


def _field_order(raw: dict[str, Any], path: list[str]) -> list[tuple[int, int]]:
    """Sort key of an error path: each step's position in ``_attrs_order_``; unknown keys after, in the
    order the caller sent them (the sort is stable)."""
    key: list[tuple[int, int]] = []
    node: Any = raw
    for step in path:
        order = node.get("_attrs_order_") if isinstance(node, dict) else None
        if isinstance(order, list) and step in order:
            key.append((0, order.index(step)))
        elif step.isdigit():
            key.append((0, int(step)))
        else:
            key.append((1, 0))
        node = _child(node, step)
    return key


def _child(node: Any, step: str) -> Any:
    if not isinstance(node, dict):
        return None
    if step in (node.get("properties") or {}):
        return node["properties"][step]
    items = node.get("items")
    if step.isdigit() and isinstance(items, list) and items:
        return items[0]
    if step.isdigit() and isinstance(items, dict):
        return items
    return None


def _model_validators(name: str, value: Any) -> list[tuple[list[str], str]]:
    """``QueryArgs``' own validators, run by pydantic once a field's type is right: their ``ValueError``
    becomes ``Value error, ...`` on the field (``api/v25_04_2/common.py``)."""
    checks: dict[str, Callable[[Any], Any]] = {
        "filters": filters.validate_filters,
        "options": filters.validate_options,
    }
    check = checks.get(name)
    if check is None:
        return []
    try:
        check(value)
    except ValueError as exc:
        return [([], f"Value error, {exc}")]
    return []


def validate_params(
    raw_accepts: list[dict[str, Any]], schemas: list[dict[str, Any]], params: list[Any]
) -> list[Any]:
    """Check ``params`` as the middleware would against a method's ``accepts``; the params the body gets.

    Methods whose recorded parameters come from legacy ``@accepts`` attributes are cleaned the legacy way
    (``legacy_schema``: coercions, defaults, its messages); the others the pydantic way, with the params
    returned unchanged. ``raw_accepts`` gives the attribute prefixes (``_name_``) and which parameters are
    required; ``schemas`` are the same parameters normalised. ejson values are checked in their wire form.
    Raises ``ValidationErrors`` (or ``CallError`` for too many legacy arguments).
    """
    if legacy_schema.is_legacy(raw_accepts):
        return legacy_schema.clean_params(raw_accepts, params)
    if len(params) > len(schemas):
        raise ValidationErrors(
            [("", f"Too many arguments (expected {len(schemas)}, found {len(params)})", errno.EINVAL)]
        )
    errors = ValidationErrors()
    for index, raw in enumerate(raw_accepts):
        name = str(raw.get("_name_") or raw.get("title") or index)
        if index >= len(params):
            if raw.get("_required_"):
                errors.add(name, "Field required")
            continue
        value = ejson.to_ejson(params[index])
        described = [
            (path, message)
            for error in _validator(schemas[index]).iter_errors(value)
            for path, message in (_union_members(error) or _describe(_leaf(error)))
        ]
        if not described:
            described = _model_validators(name, params[index])
        # pydantic reports in the model's field order (extra keys after the fields), not alphabetically.
        model = _MODEL_NAMES.get(name)
        if model is not None:
            # A model-typed field names its model when the value is not an object at all.
            wrong = "Input should be a valid dictionary"
            described = [
                (p, f"{m} or instance of {model}" if not p and m == wrong else m) for p, m in described
            ]
        for path, message in sorted(described, key=lambda d: _field_order(raw, d[0])):
            errors.add(".".join([name, *path]), message)
    errors.check()
    return params
