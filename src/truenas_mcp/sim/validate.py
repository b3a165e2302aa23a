"""Parameter validation against the recording's ``accepts`` schemas, with the middleware's error shapes.

The middleware validates positional params one schema each and reports ``[attribute, message, errno]``
triples whose attribute starts with the parameter's ``_name_`` (``user_create.username``). Messages follow
pydantic's wording (``Field required``, ``Input should be a valid integer``) because 414 of the 771 methods
are pydantic models and clients match on those texts more often than on legacy ones.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from truenas_mcp_gen.normalize import normalize_schema

from truenas_mcp import ejson
from truenas_mcp.sim import legacy_schema
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
        found = sorted(_validator(schemas[index]).iter_errors(value), key=lambda e: list(map(str, e.path)))
        for error in found:
            for path, message in _describe(_leaf(error)):
                errors.add(".".join([name, *path]), message)
    errors.check()
    return params
