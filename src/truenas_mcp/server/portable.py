"""Portable schemas: tool input schemas inside what Gemini and OpenAI strict mode accept, and back.

A URL flag picks the family (``/mcp?schema=gemini``, ``/mcp?schema=openai``); the listing is the same
tools with each input schema rewritten, and each call's arguments are mapped back to what the tool takes
before anything else sees them. The two families cannot share one schema: Gemini's function declarations
take an OpenAPI 3.0 subset without ``additionalProperties``, while OpenAI's strict mode requires
``additionalProperties: false`` on every object and every property to be required.

What the rewrite does, in both families:

* ``$ref`` is inlined (a cycle is cut to a JSON-text value), type lists and ``oneOf`` become ``anyOf``
  (or a single type when only ``null`` is beside it), a ``const`` becomes a one-string enum or a note in
  the description, non-string enums and bounds a family lacks become notes (the server validates the
  real schema after mapping back);
* a value of any type (``{}``), which neither family can declare, is carried as JSON text and parsed;
* property names outside ``^[A-Za-z_][A-Za-z0-9_]*$`` (``query-filters``) get a safe name, mapped back.

OpenAI strict mode only: optional properties become required and nullable; ``null`` for a property the
tool does not require means "left out" (so an explicit ``null`` cannot be sent for such a property), and
free-form objects are carried as JSON text. So is an optional bag of options with defaults, such as
query-options, whose forced expansion (every field a nullable ``anyOf``) would cost four times its text;
its description lists the fields and their types.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Family = Literal["gemini", "openai"]
FAMILIES: tuple[Family, ...] = ("gemini", "openai")
QUERY_FLAG = "schema"
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_INLINE_DEPTH = 12
_JSON_NOTE = "JSON text of the value"
# Strict mode makes every field required and nullable, so an optional object of optional fields with
# defaults (query-options) expands to an ``anyOf`` per field; from this many fields it is carried as JSON
# text instead, its fields and their types listed. Measured on query-options (12 fields): 368 tokens
# expanded, 85 as text.
_OPTIONS_AS_TEXT = 8

# Per family: the string formats and the keywords kept as they are (besides structure and types).
_FORMATS: dict[Family, frozenset[str]] = {
    "gemini": frozenset({"date-time", "enum"}),
    "openai": frozenset(
        {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
    ),
}
_KEPT: dict[Family, tuple[str, ...]] = {
    "gemini": ("minimum", "maximum", "minItems", "maxItems", "minLength", "maxLength", "pattern"),
    "openai": ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minItems",
               "maxItems", "pattern"),
}  # fmt: skip
_NUMBERS = ("integer", "number")
_APPLIES = {
    "minimum": _NUMBERS,
    "maximum": _NUMBERS,
    "exclusiveMinimum": _NUMBERS,
    "exclusiveMaximum": _NUMBERS,
    "multipleOf": _NUMBERS,
    "minItems": ("array",),
    "maxItems": ("array",),
    "minLength": ("string",),
    "maxLength": ("string",),
    "pattern": ("string",),
}
_BOUND_NOTES = {"exclusiveMinimum": "greater than", "exclusiveMaximum": "less than"}


class PortableError(ValueError):
    """Arguments that cannot be mapped back (e.g. JSON text that does not parse); names the field."""


@dataclass(frozen=True)
class Decoder:
    """How to turn one portable value back into the tool's own argument value."""

    kind: Literal["same", "json", "object", "array", "anyof"] = "same"
    # object: portable name -> (wire name, decoder, null means "left out")
    fields: Mapping[str, tuple[str, Decoder, bool]] = field(default_factory=dict)
    item: Decoder | None = None
    branches: tuple[tuple[str, Decoder], ...] = ()  # anyof: (json type, decoder)

    def decode(self, value: Any, path: str) -> Any:
        if self.kind == "json":
            if not isinstance(value, str):
                return value
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise PortableError(f"{path or '(arguments)'}: not valid JSON text ({exc.msg})") from None
        if self.kind == "object" and isinstance(value, dict):
            out = {}
            for key, item in value.items():
                wire, decoder, null_is_absent = self.fields.get(key, (key, SAME, False))
                if item is None and null_is_absent:
                    continue
                out[wire] = decoder.decode(item, f"{path}.{wire}" if path else wire)
            return out
        if self.kind == "array" and isinstance(value, list) and self.item is not None:
            return [self.item.decode(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if self.kind == "anyof":
            kind = _json_type(value)
            for branch_type, decoder in self.branches:
                if branch_type == kind:
                    return decoder.decode(value, path)
            for branch_type, decoder in self.branches:
                if branch_type == "json":
                    return decoder.decode(value, path)
        return value


SAME = Decoder()


def _json_type(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    return "scalar"


@dataclass(frozen=True)
class Portable:
    schema: dict[str, Any]
    decoder: Decoder


def family_of(value: str | None) -> Family | None:
    """The family a URL flag names (``None`` when absent); an unknown one is an error listing the known."""
    if value is None or value == "":
        return None
    if value not in FAMILIES:
        raise PortableError(f"unknown schema family {value!r} in ?{QUERY_FLAG}=; use {' or '.join(FAMILIES)}")
    return value


def convert(schema: dict[str, Any], family: Family) -> Portable:
    """The portable form of an input schema (root is an object) and the way back."""
    node, decoder, _ = _Converter(family, schema.get("$defs", {})).node(schema, 0)
    node.pop("nullable", None)
    if node.get("type") != "object":
        node = {"type": "object", "properties": {}}
        if family == "openai":
            node |= {"required": [], "additionalProperties": False}
    return Portable(node, decoder)


class _Converter:
    def __init__(self, family: Family, defs: Mapping[str, Any]) -> None:
        self.family = family
        self.defs = defs

    def json_text(self, schema: Mapping[str, Any], why: str) -> tuple[dict[str, Any], Decoder, str]:
        note = _join(schema.get("description"), f"{_JSON_NOTE} ({why})")
        return {"type": "string", "description": note}, Decoder("json"), "json"

    def options_text(self, schema: Mapping[str, Any]) -> tuple[dict[str, Any], Decoder, str]:
        fields = ", ".join(_field(name, value) for name, value in schema["properties"].items())
        return self.json_text(schema, f"an object with any of: {fields}")

    def any_value(self, schema: Mapping[str, Any]) -> tuple[dict[str, Any], Decoder, str]:
        """A value of any type, which neither family can declare: a scalar or a list of scalars (what
        query filters hold, e.g. ``["name", "in", ["a", "b"]]``); an object needs JSON text elsewhere."""
        scalars: list[dict[str, Any]] = [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]
        if self.family == "openai":
            scalars.append({"type": "null"})
        else:
            scalars[0] = {"type": "string", "nullable": True}
        out: dict[str, Any] = {"anyOf": [*scalars, {"type": "array", "items": {"anyOf": scalars}}]}
        if isinstance(schema.get("description"), str):
            out["description"] = schema["description"]
        return out, SAME, "any"

    def node(self, schema: Any, depth: int, optional: bool = False) -> tuple[dict[str, Any], Decoder, str]:
        """(portable schema, decoder, json type it carries: object/array/string/scalar/json/any);
        ``optional``: the parent does not require it."""
        if not isinstance(schema, dict) or depth > _MAX_INLINE_DEPTH:
            return self.json_text({}, "a value nested too deep to declare")
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = self.defs.get(ref.removeprefix("#/$defs/"), {})
            merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            return self.node(merged, depth + 1, optional)
        notes: list[str] = []
        kinds = schema.get("type")
        branches = schema.get("anyOf") or schema.get("oneOf")
        if isinstance(kinds, list):
            branches = [{**_without(schema, "type", "anyOf", "oneOf"), "type": k} for k in kinds]
        nullable = False
        if isinstance(branches, list):
            real = [b for b in branches if not (isinstance(b, dict) and b.get("type") == "null")]
            nullable = len(real) < len(branches)
            base = _without(schema, "type", "anyOf", "oneOf")
            if len(real) == 1:
                node, decoder, carried = self.node({**base, **real[0]}, depth + 1, optional)
            else:
                node, decoder, carried = self.union(base, real, depth)
            return self.nullable(node, nullable), decoder, carried
        if "const" in schema:
            const = schema["const"]
            if isinstance(const, str):
                schema = {**schema, "type": "string", "enum": [const]}
            else:
                notes.append(f"must be {json.dumps(const)}")
        enum = schema.get("enum")
        if isinstance(enum, list) and not all(isinstance(v, str) for v in enum):
            nullable = nullable or None in enum
            shown = [v for v in enum if v is not None]
            notes.append("one of " + ", ".join(json.dumps(v) for v in shown))
            enum = None
        kind = kinds if isinstance(kinds, str) else None
        if kind is None and isinstance(enum, list):
            kind = "string"
        if kind is None:
            return self.any_value(schema)
        out: dict[str, Any] = {"type": kind}
        for key in _KEPT[self.family]:
            if key in schema and kind in _APPLIES[key]:
                out[key] = schema[key]
        for key, words in _BOUND_NOTES.items():
            if key in schema and key not in _KEPT[self.family]:
                notes.append(f"{words} {schema[key]}")
        fmt = schema.get("format")
        if isinstance(fmt, str):
            if fmt in _FORMATS[self.family] and kind == "string":
                out["format"] = fmt
            else:
                notes.append(f"format {fmt}")
        if isinstance(enum, list) and kind == "string":
            out["enum"] = enum
        decoder = SAME
        carried = "string" if kind == "string" else "scalar"
        if kind == "object":
            if optional and self.family == "openai" and _options_with_defaults(schema, _OPTIONS_AS_TEXT):
                return self.options_text(schema)
            obj = self.obj(schema, out, depth)
            if obj is None:
                return self.json_text(schema, "an object")
            out, decoder = obj
            carried = "object"
        elif kind == "array":
            item, item_decoder, _ = self.node(schema.get("items", {}), depth + 1)
            out["items"] = item
            decoder = Decoder("array", item=item_decoder) if item_decoder is not SAME else SAME
            carried = "array"
        description = _join(schema.get("description"), "; ".join(notes) if notes else None)
        if description:
            out["description"] = description
        return self.nullable(out, nullable), decoder, carried

    def obj(
        self, schema: Mapping[str, Any], out: dict[str, Any], depth: int
    ) -> tuple[dict[str, Any], Decoder] | None:
        props = schema.get("properties")
        if not isinstance(props, dict) or not props:
            # Free-form: Gemini takes an object without properties, strict mode cannot declare one.
            return None if self.family == "openai" else (out, SAME)
        if self.family == "openai" and schema.get("additionalProperties") not in (None, False):
            return None  # named fields plus arbitrary others: only JSON text carries both
        required = set(schema.get("required", []))
        names = _safe_names(list(props))
        properties: dict[str, Any] = {}
        fields: dict[str, tuple[str, Decoder, bool]] = {}
        for wire, value in props.items():
            optional = wire not in required
            node, decoder, _ = self.node(value, depth + 1, optional)
            if self.family == "openai" and optional:
                node = self.nullable(node, True)
            name = names[wire]
            if name != wire:
                node["description"] = _join(node.get("description"), f"(TrueNAS name: {wire})")
            properties[name] = node
            renamed = name != wire or decoder is not SAME or (self.family == "openai" and optional)
            if renamed:
                fields[name] = (wire, decoder, self.family == "openai" and optional)
        out["properties"] = properties
        if self.family == "openai":
            out["required"] = list(properties)
            out["additionalProperties"] = False
        elif required:
            out["required"] = [names[w] for w in props if w in required]
        return out, (Decoder("object", fields=fields) if fields else SAME)

    def union(
        self, base: Mapping[str, Any], branches: list[Any], depth: int
    ) -> tuple[dict[str, Any], Decoder, str]:
        converted = [self.node({**base, **b} if isinstance(b, dict) else b, depth + 1) for b in branches]
        kinds = [kind for _, _, kind in converted]
        if "json" in kinds or "any" in kinds or len(set(kinds)) < len(kinds):
            # Two branches of one JSON type cannot be told apart when mapping back: one JSON text.
            if all(decoder is SAME for _, decoder, _ in converted):
                nodes = [_without(node, "description") for node, _, _ in converted]
                out = {"anyOf": nodes}
                if base.get("description"):
                    out["description"] = base["description"]
                return out, SAME, "scalar"
            return self.json_text(base, "one of several shapes")
        out = {"anyOf": [_without(node, "description") for node, _, _ in converted]}
        if base.get("description"):
            out["description"] = base["description"]
        decoders = tuple((kind, decoder) for _, decoder, kind in converted)
        same = all(decoder is SAME for _, decoder in decoders)
        return out, (SAME if same else Decoder("anyof", branches=decoders)), "scalar"

    def nullable(self, node: dict[str, Any], nullable: bool) -> dict[str, Any]:
        if not nullable:
            return node
        if self.family == "gemini":
            return {**node, "nullable": True}
        if "anyOf" in node:
            if not any(b.get("type") == "null" for b in node["anyOf"]):
                node = {**node, "anyOf": [*node["anyOf"], {"type": "null"}]}
            return node
        description = node.get("description")
        inner = _without(node, "description")
        out: dict[str, Any] = {"anyOf": [inner, {"type": "null"}]}
        if description:
            out["description"] = description
        return out


def _field(name: str, schema: Any) -> str:
    """A field of an object carried as text, with its type when it has one besides null."""
    kinds = schema.get("type") if isinstance(schema, dict) else None
    kinds = [kinds] if isinstance(kinds, str) else kinds if isinstance(kinds, list) else []
    real = [k for k in kinds if k != "null"]
    return f"{name} ({real[0]})" if len(real) == 1 else name


def _options_with_defaults(schema: Mapping[str, Any], at_least: int) -> bool:
    """Options with defaults (query-options): left out as a whole or field by field, nothing changes. An
    update payload, with fields that have no default and which is what the model fills, stays declared."""
    props = schema.get("properties")
    if not isinstance(props, dict) or len(props) < at_least or schema.get("required"):
        return False
    return all(isinstance(p, dict) and ("default" in p or _free_form(p)) for p in props.values())


def _free_form(schema: Mapping[str, Any]) -> bool:
    """An object of any keys (query-options' ``extra``), which strict mode carries as JSON text anyway."""
    return schema.get("type") == "object" and not schema.get("properties")


def _safe_names(wire_names: list[str]) -> dict[str, str]:
    taken = {name for name in wire_names if NAME.match(name)}
    out = {}
    for wire in wire_names:
        if NAME.match(wire):
            out[wire] = wire
            continue
        base = re.sub(r"[^A-Za-z0-9_]", "_", wire)
        base = base if NAME.match(base) else "_" + base
        name, n = base, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        out[wire] = name
    return out


def _without(schema: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k not in keys}


def _join(first: Any, second: str | None) -> str | None:
    parts = [p for p in (first if isinstance(first, str) else None, second) if p]
    return " ".join(parts) if parts else None


class PortableTools:
    """Portable definitions and decoders per (family, tool name), built on first use and kept."""

    def __init__(self) -> None:
        self._cache: dict[tuple[Family, str], Portable] = {}

    def get(self, family: Family, name: str, schema: dict[str, Any]) -> Portable:
        key = (family, name)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = convert(schema, family)
        return found

    def definition(self, family: Family, definition: dict[str, Any]) -> dict[str, Any]:
        """A listed tool definition with its input schema in ``family``'s subset."""
        portable = self.get(family, definition["name"], definition["inputSchema"])
        return {**definition, "inputSchema": portable.schema}

    def arguments(
        self, family: Family, name: str, schema: dict[str, Any] | None, arguments: dict[str, Any]
    ) -> dict[str, Any]:
        """A call's arguments mapped back to the tool's own names and values."""
        if schema is None:
            return arguments
        decoded = self.get(family, name, schema).decoder.decode(arguments, "")
        return decoded if isinstance(decoded, dict) else arguments
