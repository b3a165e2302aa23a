"""Base class of every generated argument/result model, and the argument check the server runs.

Generated modules import ``TrueNASModel`` from here (behaviour enters generated code by import, never by
editing output). The configuration below is what makes a model built from a recorded JSON Schema reject
what the middleware would reject, and pass on exactly what the caller sent:

* ``strict``: the middleware's own pydantic models are strict (``api/base/model.py``): ``"5"`` is not an
  integer and ``1`` is not ``true``. Lax coercion would also rewrite the caller's values before they reach
  the box, so strictness keeps the validated arguments identical to the sent ones.
* ``extra="allow"``: JSON Schema allows unknown properties unless ``additionalProperties`` is ``false``; the
  generator writes ``extra="forbid"`` on every model whose schema says so (all new-style middleware models).
  ``"ignore"`` (pydantic's default) is never right: an argument dropped in silence is a call the caller did
  not ask for.
* ``validate_by_alias`` + ``validate_by_name``: properties that are not Python identifiers (``query-filters``,
  ``schema``, names with dots or spaces) become aliased fields. Python callers may use either spelling;
  ``validate_arguments`` accepts only the wire names, as the box does.
* ``regex_engine="python-re"``: ``pattern`` is an ECMA-262 regex; Python's engine understands the
  look-arounds and back-references Rust's engine refuses (which would fail at import, not at validation).
* ``protected_namespaces=()``: the generator already renames properties that would shadow pydantic's own
  attributes (``model_dump`` -> ``model_dump_`` aliased to ``model_dump``); pydantic's prefix warning about
  the renamed field would only be noise at import.
* ``defer_build``: a namespace module defines hundreds of classes; building validators only when a model is
  first used keeps importing a module, and listing every tool, cheap.

Not copied from the middleware: its ``str_max_length=1024``. It is not part of the recorded schema and does
not apply to legacy methods or to fields typed ``LongString`` upstream (certificates, keys), so enforcing it
here would refuse valid calls.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = ["FieldError", "TrueNASModel", "validate_arguments"]


class TrueNASModel(BaseModel):
    """Base class of the generated models (see the module docstring for why each setting is here)."""

    model_config = ConfigDict(
        extra="allow",
        strict=True,
        validate_by_alias=True,
        validate_by_name=True,
        regex_engine="python-re",
        defer_build=True,
        protected_namespaces=(),
    )


@dataclasses.dataclass(frozen=True)
class FieldError:
    """One rejected argument: ``path`` is dotted from the arguments' root (``options.limit``, ``ids.0``);
    ``""`` means the arguments object as a whole."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def validate_arguments(
    model: type[BaseModel], arguments: Mapping[str, Any]
) -> tuple[dict[str, Any] | None, list[FieldError]]:
    """Validate tool arguments against ``model``; return ``(arguments, [])`` or ``(None, errors)``.

    The arguments are validated as the JSON they arrived as (so JSON arrays fill tuple fields and strict mode
    judges JSON types), by their wire names only. The returned dict holds only what the caller sent
    (``exclude_unset``), keyed by the original names, ready to be sent to TrueNAS: defaults are the box's
    business, and a default filled in here could differ from the one the box would apply.
    """
    try:
        text = json.dumps(arguments, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return None, [FieldError("", f"arguments are not representable as JSON: {exc}")]
    try:
        instance = model.model_validate_json(text, by_alias=True, by_name=False)
    except ValidationError as exc:
        return None, field_errors(exc, json.loads(text))
    return instance.model_dump(mode="json", by_alias=True, exclude_unset=True), []


def field_errors(exc: ValidationError, data: Any) -> list[FieldError]:
    """Turn pydantic's errors into one ``FieldError`` per offending position of the input.

    Pydantic's ``loc`` mixes input keys with labels of union members (``str``, ``literal['INHERIT']``, a
    model's class name) that mean nothing to the caller. The location is therefore replayed against the
    input and only real keys and indices are kept; messages from several union members for the same
    position are joined so the caller sees every accepted shape at once.
    """
    merged: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False, include_context=False, include_input=False):
        path = _data_path(error["loc"], data, error["type"])
        messages = merged.setdefault(path, [])
        if error["msg"] not in messages:
            messages.append(error["msg"])
    return [FieldError(path, "; ".join(messages)) for path, messages in merged.items()]


def _data_path(loc: Sequence[int | str], data: Any, error_type: str) -> str:
    parts: list[str] = []
    node = data
    for i, element in enumerate(loc):
        last = i == len(loc) - 1
        in_dict = isinstance(node, dict) and isinstance(element, str) and element in node
        in_list = isinstance(node, list) and isinstance(element, int) and 0 <= element < len(node)
        if in_dict or in_list:
            node = node[element]
        elif last and isinstance(node, dict) and error_type in ("missing", "extra_forbidden"):
            pass  # a required key the input lacks (or an extra one): the name is the position
        else:
            continue  # a union member's label, not a position in the input
        parts.append(str(element))
    return ".".join(parts)
