"""OpenAPI 3.1 description of the whole tool surface (``openapi.json``).

One ``POST /tools/{tool}`` operation per tool: the request body is the tool's input schema, the 200 response
its output schema. It is a contract, not a server: tests check real answers against it with ``openapi-core``
and any OpenAPI tool can browse the surface. OpenAPI 3.1 schemas are JSON Schema 2020-12, so the tool
schemas go in unchanged except that every ``$defs`` entry moves to ``components/schemas`` (a ``$ref`` into
an operation's inline ``$defs`` is not addressable from the document root).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

import jsonschema

from truenas_mcp_gen.errors import GenerationError
from truenas_mcp_gen.schema_doc import map_subschemas, merge_schema, rewrite_refs

OPENAPI_VERSION = "3.1.0"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
COMPONENTS = "#/components/schemas/"
# OpenAPI 3.1, "Components Object": keys of ``components`` maps must match this.
_COMPONENT_NAME = re.compile(r"^[a-zA-Z0-9.\-_]+$")
_NOT_COMPONENT_CHARS = re.compile(r"[^a-zA-Z0-9.\-_]")


class ToolLike(Protocol):
    """What ``build_openapi`` reads from a tool (a ``ModelInput`` or the IR's tool both qualify)."""

    @property
    def tool(self) -> str: ...
    @property
    def input_schema(self) -> dict[str, Any]: ...
    @property
    def output_schema(self) -> dict[str, Any]: ...


def build_openapi(tools: Sequence[ToolLike], *, title: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document for ``tools`` (operations sorted by tool name).

    Each tool's definitions are merged into ``components/schemas`` by ``schema_doc.merge_schema``: a name
    is kept when free (or already holding an identical reference-free schema) and otherwise prefixed with
    ``<tool>.``; a schema that references its own root gets that root as ``<tool>.input``/``<tool>.output``.
    Optional ``title``/``description`` attributes of a tool become the operation's summary/description.
    """
    schemas: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    seen: set[str] = set()
    for tool in sorted(tools, key=lambda t: t.tool):
        if tool.tool in seen:
            raise GenerationError(f"openapi: tool {tool.tool!r} appears twice")
        seen.add(tool.tool)
        request = _place(tool.tool, "input", tool.input_schema, schemas)
        response = _place(tool.tool, "output", tool.output_schema, schemas)
        paths[f"/tools/{tool.tool}"] = {"post": _operation(tool, request, response)}
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": title, "version": version},
        "jsonSchemaDialect": DIALECT,
        "paths": paths,
        "components": {"schemas": {name: schemas[name] for name in sorted(schemas)}},
    }


def _place(tool: str, kind: str, schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(schema, dict):
        raise GenerationError(f"openapi: tool {tool!r}: {kind} schema is not an object")
    root_name = f"{tool}.{kind}"
    if root_name in schemas:
        raise GenerationError(f"openapi: component {root_name!r} is taken by another tool's definition")
    schemas[root_name] = None  # reserved: a definition must never take the root's name
    root, _, root_used = merge_schema(
        drop_invalid_defaults(_component_safe_defs(schema)),
        root_name=root_name,
        prefix=f"{tool}.",
        defs=schemas,
        base=COMPONENTS,
    )
    if root_used:
        schemas[root_name] = root
        return {"$ref": f"{COMPONENTS}{root_name}"}
    del schemas[root_name]
    return root


def drop_invalid_defaults(node: Any) -> Any:
    """Remove ``default`` values their own schema rejects (``{}`` for an object with required keys, ...).

    The middleware never validates its defaults and 25.04.2 records 333 such values; JSON Schema only
    annotates with ``default``, but OpenAPI validators check them and refuse the whole document. A node
    whose schema holds a ``$ref`` keeps its default (it cannot be judged without resolving the reference).
    """
    if not isinstance(node, dict):
        return node
    if "default" in node:
        bare = {k: v for k, v in node.items() if k not in ("default", "$defs")}
        if "$ref" not in repr(bare) and not jsonschema.Draft202012Validator(bare).is_valid(node["default"]):
            node = {k: v for k, v in node.items() if k != "default"}
    return map_subschemas(node, drop_invalid_defaults)


def _component_safe_defs(schema: dict[str, Any]) -> dict[str, Any]:
    """Rename ``$defs`` whose names OpenAPI does not allow as component keys (and the refs to them)."""
    defs = schema.get("$defs")
    if not isinstance(defs, dict) or all(_COMPONENT_NAME.match(name) for name in defs):
        return schema
    renamed: dict[str, str] = {}
    for name in defs:
        new = _NOT_COMPONENT_CHARS.sub("_", name) or "_"
        while new in renamed.values() or (new != name and new in defs):
            new += "_"
        renamed[name] = new

    def rewrite(ref: str) -> str:
        if ref.startswith("#/$defs/"):
            head, sep, rest = ref[len("#/$defs/") :].partition("/")
            decoded = head.replace("~1", "/").replace("~0", "~")
            if decoded in renamed:
                return f"#/$defs/{renamed[decoded]}{sep}{rest}"
        return ref

    out = rewrite_refs({k: v for k, v in schema.items() if k != "$defs"}, rewrite)
    out["$defs"] = {renamed[name]: rewrite_refs(sub, rewrite) for name, sub in defs.items()}
    return out


def _operation(tool: ToolLike, request: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": tool.tool}
    summary = getattr(tool, "title", None)
    description = getattr(tool, "description", None)
    if isinstance(summary, str) and summary:
        operation["summary"] = summary
    if isinstance(description, str) and description:
        operation["description"] = description
    operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": request}}}
    operation["responses"] = {
        "200": {
            "description": "The tool's structured result",
            "content": {"application/json": {"schema": response}},
        }
    }
    return operation
