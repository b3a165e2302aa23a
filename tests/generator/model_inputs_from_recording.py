"""Test helper: ``ModelInput``s and call examples built straight from the recording.

The pipeline builds the real inputs from its IR; this builds the same shape independently of it (one
object parameter is the input schema, several become named properties; the result is wrapped as
``{"result": ...}``), so the models and OpenAPI stages are tested on all 771 recorded methods without
depending on naming or override decisions made elsewhere.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from truenas_mcp_gen.models import ModelInput
from truenas_mcp_gen.normalize import normalize_schema
from truenas_mcp_gen.spec import parse_methods

from truenas_mcp.recordings import resolve_methods


@cache
def recording() -> Mapping[str, Mapping[str, Any]]:
    found = resolve_methods()
    return parse_methods(found.path, found.data)


def tool_name(method: str) -> str:
    return method.replace(".", "_").replace("-", "_").lower()


def single_object_parameter(entry: Mapping[str, Any]) -> bool:
    accepts = entry["accepts"]
    return len(accepts) == 1 and isinstance(accepts[0], dict) and accepts[0].get("type") == "object"


def parameter_names(entry: Mapping[str, Any]) -> list[str]:
    return [p.get("_name_") or f"arg{i}" for i, p in enumerate(entry["accepts"])]


def model_input(method: str, entry: Mapping[str, Any]) -> ModelInput:
    accepts = entry["accepts"]
    if single_object_parameter(entry):
        input_schema = normalize_schema(accepts[0], method=method, pointer="/accepts/0")
    else:
        properties: dict[str, Any] = {}
        defs: dict[str, Any] = {}
        required = []
        for i, (name, param) in enumerate(zip(parameter_names(entry), accepts, strict=True)):
            schema = dict(normalize_schema(param, method=method, pointer=f"/accepts/{i}"))
            defs.update(schema.pop("$defs", {}))
            properties[name] = schema
            if param.get("_required_"):
                required.append(name)
        input_schema = {"type": "object", "properties": properties, "additionalProperties": False}
        if required:
            input_schema["required"] = required
        if defs:
            input_schema["$defs"] = defs
    returns = entry["returns"]
    result = dict(normalize_schema(returns[0], method=method, pointer="/returns/0")) if returns else {}
    output_schema: dict[str, Any] = {"type": "object", "properties": {}, "required": ["result"]}
    if "$defs" in result:
        output_schema["$defs"] = result.pop("$defs")
    output_schema["properties"]["result"] = result
    namespace = method.rsplit(".", 1)[0]
    return ModelInput(
        tool=tool_name(method),
        module=tool_name(namespace),
        class_prefix="".join(part.capitalize() for part in tool_name(method).split("_")),
        input_schema=input_schema,
        output_schema=output_schema,
    )


@cache
def all_inputs() -> tuple[ModelInput, ...]:
    return tuple(model_input(name, entry) for name, entry in sorted(recording().items()))


def inputs_for(*methods: str) -> list[ModelInput]:
    return [model_input(m, recording()[m]) for m in methods]


_OPEN_BRACE = re.compile(r"\{")


def example_calls(method: str) -> Iterator[list[Any]]:
    """The ``params`` of every JSON call example in the method's docstring examples that parses as JSON."""
    decoder = json.JSONDecoder()
    for texts in (recording()[method]["examples"] or {}).values():
        for text in texts:
            pos = 0
            while (match := _OPEN_BRACE.search(text, pos)) is not None:
                try:
                    value, end = decoder.raw_decode(text, match.start())
                except ValueError:
                    pos = match.start() + 1
                    continue
                pos = end
                if (
                    isinstance(value, dict)
                    and value.get("method") == method
                    and isinstance(value.get("params"), list)
                ):
                    yield value["params"]


def call_arguments(method: str, params: list[Any]) -> dict[str, Any]:
    """Positional ``params`` as the tool's arguments object (the inverse of the tool layer's mapping)."""
    entry = recording()[method]
    if single_object_parameter(entry):
        return params[0] if params else {}
    return dict(zip(parameter_names(entry), params, strict=False))
