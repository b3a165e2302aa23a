"""Turn the middleware's schema flavour into standard JSON Schema 2020-12.

``core.get_methods`` answers with two flavours (pydantic-generated and legacy ``middlewared.schema``), both
decorated with non-standard keys. Each pass below is a small pure function over one schema node; the walker
applies them bottom-up and records a ``Diagnostic`` for anything it does not understand, so one odd method
never stops the other 770.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import jsonschema

from truenas_mcp_gen.errors import Diagnostic, Severity
from truenas_mcp_gen.schema_doc import canonical, escape_pointer, map_subschemas_at

Schema = dict[str, Any]
Pass = Callable[[Schema], Schema]

# The JSON Schema 2020-12 vocabulary (core, applicator, validation, meta-data, format, content) plus the
# OpenAPI ``discriminator`` the middleware writes: kept as they are. Anything else is dropped with a report.
KNOWN_KEYWORDS = frozenset(
    {
        "$anchor", "$comment", "$defs", "$dynamicAnchor", "$dynamicRef", "$id", "$ref", "$schema",
        "additionalProperties", "allOf", "anyOf", "const", "contains", "contentEncoding", "contentMediaType",
        "contentSchema", "default", "dependentRequired", "dependentSchemas", "deprecated", "description",
        "discriminator", "else", "enum", "examples", "exclusiveMaximum", "exclusiveMinimum", "format", "if",
        "items", "maxContains", "maxItems", "maxLength", "maxProperties", "maximum", "minContains",
        "minItems", "minLength", "minProperties", "minimum", "multipleOf", "not", "oneOf", "pattern",
        "patternProperties", "prefixItems", "properties", "propertyNames", "readOnly", "required", "then",
        "title", "type", "unevaluatedItems", "unevaluatedProperties", "uniqueItems", "writeOnly",
    }
)  # fmt: skip
# Non-standard keys pydantic copies from ``json_schema_extra`` (25.10 writes ``ge``/``le`` there without the
# matching ``minimum``/``maximum``, and ``exclude_json_schema``): metadata, not constraints any validator
# applies, so dropping them is routine (INFO); an unknown key elsewhere is worth a warning.
EXTRA_METADATA_KEYS = frozenset({"ge", "gt", "le", "lt", "exclude_json_schema"})
# Decorations added by the middleware (``add_attrs`` in api/base/jsonschema.py, legacy ``to_json_schema``).
LEGACY_KEYS = frozenset({"_name_", "_required_", "_attrs_order_", "nullable"})
JSON_TYPES = frozenset({"array", "boolean", "integer", "null", "number", "object", "string"})
# Keywords whose value must be a number or string; the legacy flavour writes ``null`` for "unset".
_VALUED_KEYWORDS = (
    "description", "title", "format", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "minLength", "maxLength", "minItems", "maxItems", "multipleOf",
)  # fmt: skip


def drop_unset_keywords(node: Schema) -> Schema:
    """Legacy schemas spell "no limit" as ``"maxItems": null``; 2020-12 requires a number, so drop them."""
    return {k: v for k, v in node.items() if not (k in _VALUED_KEYWORDS and v is None)}


def float_to_number(node: Schema) -> Schema:
    """Legacy ``Float`` attributes declare ``"type": "float"``, which is not a JSON type."""
    t = node.get("type")
    if t == "float":
        return {**node, "type": "number"}
    if isinstance(t, list) and "float" in t:
        return {**node, "type": ["number" if x == "float" else x for x in t]}
    return node


def nullable_to_type(node: Schema) -> Schema:
    """``nullable`` is OpenAPI 3.0; in JSON Schema a null value must be allowed by ``type`` or ``anyOf``."""
    if not node.get("nullable"):
        return node
    t = node.get("type")
    if isinstance(t, str):
        return {**node, "type": [t, "null"]} if t != "null" else node
    if isinstance(t, list):
        return node if "null" in t else {**node, "type": [*t, "null"]}
    for key in ("anyOf", "oneOf"):
        members = node.get(key)
        if isinstance(members, list):
            if any(m.get("type") == "null" for m in members if isinstance(m, dict)):
                return node
            return {**node, key: [*members, {"type": "null"}]}
    return node  # no type constraint at all: null is already allowed


def items_list_to_standard(node: Schema) -> Schema:
    """Tuple-form ``items`` is not 2020-12.

    The middleware wraps a single item schema into a one-element list (``add_attrs``) and legacy ``List``
    writes ``[]`` for "any item", so those become ``items: X`` and no constraint. A longer list is a real
    positional tuple and becomes ``prefixItems``.
    """
    items = node.get("items")
    if not isinstance(items, list):
        return node
    out = {k: v for k, v in node.items() if k != "items"}
    if len(items) == 1:
        out["items"] = items[0]
    elif len(items) > 1:
        out["prefixItems"] = items
    return out


def required_from_flags(node: Schema) -> Schema:
    """Fold each property's ``_required_`` flag into the parent's standard ``required`` list."""
    props = node.get("properties")
    if not isinstance(props, dict):
        return node
    flagged = [name for name, sub in props.items() if isinstance(sub, dict) and sub.get("_required_") is True]
    existing = node.get("required") or []
    required = [n for n in props if n in set(existing) | set(flagged)]
    required += [n for n in existing if n not in props]  # keep what upstream declared, even if odd
    out = {k: v for k, v in node.items() if k != "required"}
    if required:
        out["required"] = required
    return out


def order_properties(node: Schema) -> Schema:
    """The recording is serialized with sorted keys; ``_attrs_order_`` keeps the declared field order."""
    props = node.get("properties")
    order = node.get("_attrs_order_")
    if not isinstance(props, dict) or not isinstance(order, list):
        return node
    ordered = {name: props[name] for name in order if name in props}
    ordered.update({name: sub for name, sub in props.items() if name not in ordered})
    return {**node, "properties": ordered}


def drop_legacy_keys(node: Schema) -> Schema:
    """``_name_``/``_required_``/``_attrs_order_``/``nullable`` have been folded into standard keywords."""
    return {k: v for k, v in node.items() if k not in LEGACY_KEYS}


def drop_name_titles(node: Schema, name: str | None) -> Schema:
    """Every property carries ``title`` = its own name: pure token cost for a model reading the schema."""
    title = node.get("title")
    if name is not None and isinstance(title, str) and title == name:
        return {k: v for k, v in node.items() if k != "title"}
    return node


def drop_invalid_default(node: Schema) -> Schema:
    """Remove a ``default`` its own schema rejects (``{}`` for an object with required keys, ...).

    The middleware never validates its defaults (25.04.2 records 333 such values); shown to a model they
    contradict the schema next to them. Runs on the fully normalized node; a node holding a ``$ref`` keeps its
    default, since it cannot be judged without the root.
    """
    if "default" not in node:
        return node
    bare = {k: v for k, v in node.items() if k != "default"}
    if "$ref" in json.dumps(bare) or jsonschema.Draft202012Validator(bare).is_valid(node["default"]):
        return node
    return bare


NODE_PASSES: tuple[Pass, ...] = (
    drop_unset_keywords,
    float_to_number,
    nullable_to_type,
    items_list_to_standard,
    order_properties,
    required_from_flags,
)


class _Walker:
    def __init__(self, method: str, diagnostics: list[Diagnostic] | None) -> None:
        self.method = method
        self.diagnostics = diagnostics

    def report(self, pointer: str, message: str, severity: Severity = Severity.WARNING) -> None:
        if self.diagnostics is not None:
            self.diagnostics.append(Diagnostic(severity, self.method, pointer, message))

    def walk(self, node: Any, pointer: str, name: str | None) -> Any:
        if isinstance(node, bool):
            return node
        if not isinstance(node, dict):
            self.report(pointer, f"schema is a {type(node).__name__}, not an object; replaced by {{}}")
            return {}
        own_name = node.get("_name_") if isinstance(node.get("_name_"), str) else None
        for apply in NODE_PASSES:
            node = apply(node)
        node = drop_name_titles(node, name if name is not None else own_name)
        node = drop_legacy_keys(node)
        node = self.degrade(node, pointer)
        return drop_invalid_default(self.walk_children(node, pointer))

    def walk_children(self, node: Schema, pointer: str) -> Schema:
        def child(sub: Any, suffix: str) -> Any:
            name = suffix[len("/properties/") :] if suffix.startswith("/properties/") else None
            name = name.replace("~1", "/").replace("~0", "~") if name is not None else None
            return self.walk(sub, pointer + suffix, name)

        result: Schema = map_subschemas_at(node, child)
        return result

    def degrade(self, node: Schema, pointer: str) -> Schema:
        """Drop what JSON Schema does not define, so the result is valid and no stricter than upstream.

        An unknown keyword is removed (validators would ignore it anyway, and clients reject some); an
        unknown ``type`` name is removed from the type list, and a node left without a known type accepts
        any value: permissive but honest, and reported with the method and path.
        """
        out: Schema = {}
        for key, value in node.items():
            if key in KNOWN_KEYWORDS:
                out[key] = value
            elif key in EXTRA_METADATA_KEYS:
                self.report(pointer, f"non-standard keyword {key!r} dropped", Severity.INFO)
            else:
                self.report(pointer, f"unknown schema keyword {key!r} dropped")
        t = out.get("type")
        types = t if isinstance(t, list) else [t] if t is not None else []
        unknown = [item for item in types if item not in JSON_TYPES]
        if unknown:
            known = [item for item in types if item in JSON_TYPES]
            names = ", ".join(map(repr, unknown))
            self.report(pointer, f"unknown type {names} dropped" + ("" if known else "; accepts any value"))
            if not known:
                del out["type"]
            else:
                out["type"] = known if len(known) > 1 else known[0]
        return out


def hoist_discriminated_members(root: Schema, walker: _Walker) -> Schema:
    """Give dangling ``discriminator.mapping`` targets a home.

    Upstream inlined every ``$ref`` but kept mappings such as ``"cloudflare": "#/$defs/CloudFlareSchema"``,
    which point nowhere. Each ``oneOf`` member is moved to the root ``$defs`` under the name its mapping
    uses and referenced from the ``oneOf``, so the mapping resolves and typed unions keep their names.
    """
    defs: dict[str, Any] = dict(root.get("$defs", {}))

    def visit(node: Any, pointer: str) -> Any:
        if not isinstance(node, dict):
            return node
        node = map_subschemas_at(node, lambda sub, suffix: visit(sub, pointer + suffix))
        disc = node.get("discriminator")
        members = node.get("oneOf")
        if not (
            isinstance(disc, dict) and isinstance(disc.get("mapping"), dict) and isinstance(members, list)
        ):
            return node
        if all(m == {} for m in members):
            # Upstream lost the members while inlining (Secret-wrapped unions in query results): five
            # empty alternatives make ``oneOf`` match nothing, so the union is reduced to "any value".
            walker.report(pointer, "discriminated union with empty members collapsed", Severity.INFO)
            return {k: v for k, v in node.items() if k not in ("oneOf", "discriminator")}
        prop = disc.get("propertyName")
        mapping = dict(disc["mapping"])
        new_members = list(members)
        for value, target in sorted(mapping.items()):
            if not (isinstance(target, str) and target.startswith("#/$defs/")):
                continue
            index = _member_for(members, prop, value, target[len("#/$defs/") :])
            if index is None:
                walker.report(
                    f"{pointer}/discriminator/mapping/{escape_pointer(value)}",
                    f"no oneOf member has {prop}={value!r}",
                )
                continue
            def_name = _unique_def_name(defs, target[len("#/$defs/") :], members[index])
            defs[def_name] = members[index]
            new_members[index] = {"$ref": f"#/$defs/{def_name}"}
            mapping[value] = f"#/$defs/{def_name}"
        node["oneOf"] = new_members
        node["discriminator"] = {**disc, "mapping": mapping}
        return node

    out = visit({k: v for k, v in root.items() if k != "$defs"}, "")
    if defs:
        out["$defs"] = {name: defs[name] for name in sorted(defs)}
    return out


def _member_for(members: list[Any], prop: Any, value: str, def_name: str) -> int | None:
    """The member a mapping entry means: same title as the target definition, else the matching const.

    Boolean discriminators are mapped by Python's ``str(bool)`` (``"True"``), hence the string comparison.
    """
    for i, member in enumerate(members):
        if isinstance(member, dict) and member.get("title") == def_name:
            return i
    for i, member in enumerate(members):
        sub = member.get("properties", {}).get(prop) if isinstance(member, dict) else None
        if isinstance(sub, dict) and "const" in sub and str(sub["const"]) in (value, str(value)):
            return i
    return None


def _unique_def_name(defs: dict[str, Any], wanted: str, schema: Any) -> str:
    """Same name and same schema share a definition; a clash with a different schema gets a suffix."""
    name, n = wanted, 2
    while name in defs and canonical(defs[name]) != canonical(schema):
        name, n = f"{wanted}{n}", n + 1
    return name


def normalize_schema(
    schema: Any, *, method: str = "", pointer: str = "", diagnostics: list[Diagnostic] | None = None
) -> Schema:
    """Return a standard JSON Schema 2020-12 equivalent of one recorded schema.

    The input is never modified; leaf values (defaults, enums) are shared with it, so treat the result as
    read-only or copy it. A ``$defs`` section appears at the root only when discriminated unions needed one.
    """
    walker = _Walker(method, diagnostics)
    node = walker.walk(schema, pointer, None)
    return hoist_discriminated_members(node, walker) if isinstance(node, dict) else node
