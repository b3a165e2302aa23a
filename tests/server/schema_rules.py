"""Schema checkers for two model families' function declarations, written from their published rules.

* Gemini function declarations (Gemini API ``FunctionDeclaration`` / ``Schema`` reference, Vertex AI
  ``FunctionDeclaration``): function name starts with a letter or underscore, then ``a-z A-Z 0-9 _ . -``,
  at most 64; parameter names ``^[A-Za-z_][A-Za-z0-9_]*$``, at most 64; the ``Schema`` object is a
  subset of OpenAPI 3.0: ``type`` (one of STRING, NUMBER, INTEGER, BOOLEAN, ARRAY, OBJECT, a single
  value, required), ``format``, ``title``, ``description``, ``nullable``, ``enum`` (strings, on STRING),
  ``maxItems``, ``minItems``, ``properties``, ``required``, ``minProperties``, ``maxProperties``,
  ``minLength``, ``maxLength``, ``pattern``, ``example``, ``anyOf``, ``propertyOrdering``, ``default``,
  ``items``, ``minimum``, ``maximum``; STRING formats only ``enum`` and ``date-time``. No ``$ref``,
  ``oneOf``, ``allOf``, ``const``, ``additionalProperties``, ``exclusiveMinimum``, type lists.
* OpenAI function calling with ``strict: true`` (Structured Outputs "Supported schemas"): function name
  ``^[a-zA-Z0-9_-]{1,64}$``, description at most 1,024 characters; root is an object, not ``anyOf``;
  types string, number, integer, boolean, object, array, null (one per node, ``anyOf`` for unions);
  every object has ``additionalProperties: false`` and lists every property in ``required``;
  supported keywords: strings ``pattern``, ``format`` (date-time, time, date, duration, email,
  hostname, ipv4, ipv6, uuid); numbers ``multipleOf``, ``maximum``, ``exclusiveMaximum``, ``minimum``,
  ``exclusiveMinimum``; arrays ``minItems``, ``maxItems``; plus ``enum``, ``const``, ``description``,
  ``title``, ``$ref``/``$defs``; at most 5,000 properties and 10 levels of nesting.

Each returns the list of violations (empty when the definition is accepted), as ``path: problem``.
"""

from __future__ import annotations

import re
from typing import Any

PARAM = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
GEMINI_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$")
OPENAI_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
DESCRIPTION_LIMIT = 1024

_GEMINI_TYPES = {"string", "number", "integer", "boolean", "array", "object"}
_GEMINI_KEYS = {
    "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties",
    "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf",
    "propertyOrdering", "default", "items", "minimum", "maximum",
}  # fmt: skip
_OPENAI_TYPES = {"string", "number", "integer", "boolean", "object", "array", "null"}
_OPENAI_KEYS = {
    "type", "description", "title", "properties", "required", "additionalProperties", "items", "anyOf",
    "enum", "const", "$ref", "$defs", "pattern", "format", "multipleOf", "maximum", "exclusiveMaximum",
    "minimum", "exclusiveMinimum", "minItems", "maxItems",
}  # fmt: skip
_OPENAI_FORMATS = {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}


def check_gemini(tool: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if not GEMINI_NAME.match(tool["name"]):
        problems.append(f"name {tool['name']!r} is not a Gemini function name")
    schema = tool["inputSchema"]
    if schema.get("type") != "object":
        problems.append("parameters: root type must be object")
    _gemini(schema, "parameters", problems)
    return problems


def _gemini(node: Any, path: str, problems: list[str]) -> None:
    if not isinstance(node, dict):
        problems.append(f"{path}: a schema must be an object")
        return
    for key in node:
        if key not in _GEMINI_KEYS:
            problems.append(f"{path}: {key} is not a Gemini Schema field")
    if "anyOf" in node:
        for i, branch in enumerate(node["anyOf"]):
            _gemini(branch, f"{path}.anyOf[{i}]", problems)
        return
    kind = node.get("type")
    if not isinstance(kind, str) or kind not in _GEMINI_TYPES:
        problems.append(f"{path}: type must be one of {sorted(_GEMINI_TYPES)}, got {kind!r}")
        return
    if "enum" in node and (kind != "string" or not all(isinstance(v, str) for v in node["enum"])):
        problems.append(f"{path}: enum must be strings on a string")
    if kind == "string" and "format" in node and node["format"] not in ("enum", "date-time"):
        problems.append(f"{path}: string format {node['format']!r} is not supported")
    for name, child in node.get("properties", {}).items():
        if not PARAM.match(name) or len(name) > 64:
            problems.append(f"{path}: parameter name {name!r} is not allowed")
        _gemini(child, f"{path}.{name}", problems)
    for name in node.get("required", []):
        if name not in node.get("properties", {}):
            problems.append(f"{path}: required {name!r} is not a property")
    if kind == "array":
        if "items" not in node:
            problems.append(f"{path}: an array needs items")
        else:
            _gemini(node["items"], f"{path}[]", problems)


def check_openai_strict(tool: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if not OPENAI_NAME.match(tool["name"]):
        problems.append(f"name {tool['name']!r} is not an OpenAI function name")
    if len(tool.get("description", "")) > DESCRIPTION_LIMIT:
        problems.append(f"description is {len(tool['description'])} characters, above {DESCRIPTION_LIMIT}")
    schema = tool["inputSchema"]
    if schema.get("type") != "object" or "anyOf" in schema:
        problems.append("parameters: root must be an object, not anyOf")
    counts = {"properties": 0}
    _openai(schema, "parameters", problems, 1, counts)
    if counts["properties"] > 5000:
        problems.append(f"{counts['properties']} properties, above 5000")
    return problems


def _openai(node: Any, path: str, problems: list[str], depth: int, counts: dict[str, int]) -> None:
    if not isinstance(node, dict):
        problems.append(f"{path}: a schema must be an object")
        return
    if depth > 10:
        problems.append(f"{path}: nested deeper than 10 levels")
    for key in node:
        if key not in _OPENAI_KEYS:
            problems.append(f"{path}: {key} is not supported in strict mode")
    if "anyOf" in node:
        for i, branch in enumerate(node["anyOf"]):
            _openai(branch, f"{path}.anyOf[{i}]", problems, depth, counts)
        return
    if "$ref" in node:
        return
    kind = node.get("type")
    if not isinstance(kind, str) or kind not in _OPENAI_TYPES:
        problems.append(f"{path}: type must be one of {sorted(_OPENAI_TYPES)}, got {kind!r}")
        return
    if kind == "string" and "format" in node and node["format"] not in _OPENAI_FORMATS:
        problems.append(f"{path}: string format {node['format']!r} is not supported")
    if kind == "object":
        props = node.get("properties")
        if not isinstance(props, dict):
            problems.append(f"{path}: an object needs properties")
            return
        if node.get("additionalProperties") is not False:
            problems.append(f"{path}: additionalProperties must be false")
        if sorted(node.get("required", [])) != sorted(props):
            problems.append(f"{path}: every property must be required")
        counts["properties"] += len(props)
        for name, child in props.items():
            if not PARAM.match(name):
                problems.append(f"{path}: parameter name {name!r} is not allowed")
            _openai(child, f"{path}.{name}", problems, depth + 1, counts)
    if kind == "array":
        if "items" not in node:
            problems.append(f"{path}: an array needs items")
        else:
            _openai(node["items"], f"{path}[]", problems, depth + 1, counts)


CHECKERS = {"gemini": check_gemini, "openai": check_openai_strict}
