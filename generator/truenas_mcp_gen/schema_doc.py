"""Combine many tools' JSON Schemas into one document with a shared definitions section.

Both the models stage (one JSON Schema document per module, fed to datamodel-code-generator) and the OpenAPI
emitter (``components/schemas``) need the same move: each tool schema's own ``$defs`` go into one shared
section, under names that do not clash, and every reference is rewritten to the new place. Keeping it here
means both outputs agree on what a definition is called.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from truenas_mcp_gen.errors import Diagnostic, GenerationError, Severity

Schema = dict[str, Any]
_QUOTED = re.compile(r"'([^']+)'")

# Keywords whose value is a map of name -> subschema, a list of subschemas, or one subschema (2020-12).
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_SINGLES = (
    "items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else",
    "unevaluatedItems", "unevaluatedProperties",
)  # fmt: skip
# Keywords that never make a value valid or invalid. The models drop them: the tool definitions carry the
# documentation, and ``default`` is the box's business (the arguments sent are only what the caller set).
# Keeping ``default`` would also be wrong: 333 recorded defaults fail their own schema (``{}`` for an object
# with required keys), and pydantic validates an object default whenever the argument is omitted.
MODEL_IRRELEVANT = frozenset(
    {"title", "description", "examples", "$comment", "deprecated", "readOnly", "writeOnly", "default"}
)


def map_subschemas_at(node: Any, fn: Callable[[Any, str], Any]) -> Any:
    """Apply ``fn(subschema, json_pointer_suffix)`` to each direct subschema of ``node``.

    Schema-aware: property names are not keywords. The suffix (``/properties/name``, ``/anyOf/0``,
    ``/items``) is already escaped for JSON pointers.
    """
    if not isinstance(node, dict):
        return node
    out = dict(node)
    for key in _SCHEMA_MAPS:
        if isinstance(node.get(key), dict):
            out[key] = {name: fn(sub, f"/{key}/{escape_pointer(name)}") for name, sub in node[key].items()}
    for key in _SCHEMA_LISTS:
        if isinstance(node.get(key), list):
            out[key] = [fn(sub, f"/{key}/{i}") for i, sub in enumerate(node[key])]
    for key in _SCHEMA_SINGLES:
        if isinstance(node.get(key), dict):
            out[key] = fn(node[key], f"/{key}")
    return out


def map_subschemas(node: Any, fn: Callable[[Any], Any]) -> Any:
    """Apply ``fn`` to each direct subschema of ``node``."""
    return map_subschemas_at(node, lambda sub, _suffix: fn(sub))


def escape_pointer(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def strip_for_models(node: Any) -> Any:
    """Drop ``MODEL_IRRELEVANT`` keywords at every level of a schema."""
    if not isinstance(node, dict):
        return node
    node = {k: v for k, v in node.items() if k not in MODEL_IRRELEVANT}
    return map_subschemas(node, strip_for_models)


def rewrite_refs(node: Any, rewrite: Any) -> Any:
    """Rewrite every ``$ref`` (and ``discriminator.mapping`` target) with ``rewrite(ref) -> ref``."""
    if not isinstance(node, dict):
        return node
    node = dict(node)
    if isinstance(node.get("$ref"), str):
        node["$ref"] = rewrite(node["$ref"])
    disc = node.get("discriminator")
    if isinstance(disc, dict) and isinstance(disc.get("mapping"), dict):
        mapping = {k: rewrite(v) if isinstance(v, str) else v for k, v in disc["mapping"].items()}
        node["discriminator"] = {**disc, "mapping": mapping}
    return map_subschemas(node, lambda sub: rewrite_refs(sub, rewrite))


def canonical(value: Any) -> str:
    """One spelling per JSON value: how schemas are compared for equality throughout the generator."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _has_ref(node: Any) -> bool:
    return '"$ref"' in canonical(node)


def merge_schema(
    schema: Schema, *, root_name: str, prefix: str, defs: dict[str, Any], base: str
) -> tuple[Schema, dict[str, str], bool]:
    """Move ``schema``'s ``$defs`` into ``defs`` and rewrite its references to ``base + name``.

    A definition keeps its own name when that name is free, or when the same name already holds an identical
    schema without references (so identical discriminated-union members are shared); otherwise it becomes
    ``prefix + name`` (then ``prefix + name + N``). References to the schema's root (``#``,
    ``#/properties/…``) point at ``base + root_name``. Returns the rewritten root, the old -> new definition
    names, and whether anything referenced the root (then the caller must place the root under
    ``root_name``).
    """
    own: Mapping[str, Any] = schema.get("$defs") or {}
    root = {k: v for k, v in schema.items() if k != "$defs"}
    names: dict[str, str] = {}
    for name, sub in own.items():
        if name not in defs or (canonical(defs[name]) == canonical(sub) and not _has_ref(sub)):
            names[name] = name
            defs.setdefault(name, sub)  # placeholder; replaced by the rewritten schema below
            continue
        new, n = f"{prefix}{name}", 2
        while new in defs:
            new, n = f"{prefix}{name}{n}", n + 1
        names[name] = new
        defs[new] = sub
    root_used = False

    def rewrite(ref: str) -> str:
        nonlocal root_used
        if ref.startswith("#/$defs/"):
            head, _, rest = ref[len("#/$defs/") :].partition("/")
            head = head.replace("~1", "/").replace("~0", "~")  # a JSON pointer token
            if head in names:
                return f"{base}{names[head]}{'/' + rest if rest else ''}"
        if ref == "#" or ref.startswith("#/"):
            root_used = True
            return f"{base}{root_name}{ref[1:]}"
        return ref  # external or unresolvable: left for the validator to report

    for name, new in names.items():
        defs[new] = rewrite_refs(own[name], rewrite)
    return rewrite_refs(root, rewrite), names, root_used


@dataclasses.dataclass(frozen=True)
class ModuleSchema:
    """One module's JSON Schema document and, per definition, the tool and schema pointer it came from."""

    module: str
    document: Schema
    owners: Mapping[str, tuple[str, str]]

    def locate(self, message: str) -> Diagnostic:
        """A diagnostic for a datamodel-code-generator warning, attributed to the definition it names."""
        text = f"datamodel-code-generator: {message}"
        # Longest name first, so ``XArgsFoo`` wins over ``XArgs``.
        for name in sorted(self.owners, key=len, reverse=True):
            if name in message:
                tool, pointer = self.owners[name]
                return Diagnostic(Severity.WARNING, tool, pointer, text)
        # No definition named: the first definition holding a quoted value of the message (a format name...).
        for token in _QUOTED.findall(message):
            needle = json.dumps(token)
            for name in sorted(self.owners):
                if needle in json.dumps(self.document["$defs"].get(name)):
                    tool, pointer = self.owners[name]
                    return Diagnostic(Severity.WARNING, tool, pointer, text)
        return Diagnostic(Severity.WARNING, self.module, "", text)


def build_module_schema(tools: Sequence[tuple[str, str, Schema, Schema]], module: str = "") -> ModuleSchema:
    """One document whose ``$defs`` hold ``<prefix>Args``/``<prefix>Result`` per (tool, prefix, in, out).

    Documentation and defaults are stripped (``strip_for_models``). The Args/Result names are reserved
    before any tool's own definitions are placed, so a definition can never take a name a ``ModelRef``
    promises.
    """
    defs: dict[str, Any] = {}
    owners: dict[str, tuple[str, str]] = {}
    for tool, prefix, _, _ in tools:
        for suffix in ("Args", "Result"):
            if f"{prefix}{suffix}" in defs:
                raise GenerationError(f"models: {prefix}{suffix} is claimed by two tools (second: {tool!r})")
            defs[f"{prefix}{suffix}"] = None
    for tool, prefix, input_schema, output_schema in tools:
        for suffix, pointer, schema in (
            ("Args", "/inputSchema", input_schema),
            ("Result", "/outputSchema", output_schema),
        ):
            root_name = f"{prefix}{suffix}"
            root, names, _ = merge_schema(
                strip_for_models(schema), root_name=root_name, prefix=prefix, defs=defs, base="#/$defs/"
            )
            defs[root_name] = root
            owners[root_name] = (tool, pointer)
            for old, new in names.items():
                owners.setdefault(new, (tool, f"{pointer}/$defs/{old}"))
    return ModuleSchema(module, {"$defs": defs}, owners)
