"""Shape each method into an MCP tool: input/output schemas, call shape, description, annotations, policy."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from truenas_mcp.catalog import Annotations
from truenas_mcp_gen import naming, text
from truenas_mcp_gen.errors import Diagnostic, GenerationError, Severity
from truenas_mcp_gen.ir import Method, Schema, Tool, ToolParam, ToolPolicy
from truenas_mcp_gen.overrides import MethodOverride, Overrides, matches, safety_for, toolsets_for
from truenas_mcp_gen.schema_doc import canonical, rewrite_refs

JOB_HANDLE_SCHEMA: Schema = {
    "type": "object",
    "description": "The TrueNAS job that carried out the call.",
    "properties": {
        "id": {"type": "integer"},
        "state": {"enum": ["WAITING", "RUNNING", "SUCCESS", "FAILED", "ABORTED"]},
        "progress": {
            "type": "object",
            "properties": {
                "percent": {"type": ["integer", "number", "null"]},
                "description": {"type": ["string", "null"]},
            },
        },
    },
    "required": ["id", "state"],
}
PAGE_SCHEMA: Schema = {
    "type": "object",
    "description": "Present when the answer was cut to fit a model's context: how to get the rest.",
    "properties": {
        "returned": {"type": "integer"},
        "total": {"type": ["integer", "null"]},
        "next_offset": {"type": ["integer", "null"]},
        "note": {"type": "string"},
    },
    "required": ["returned", "note"],
}
_ROOT_DROP = ("title", "default", "description")


def _renamer(renames: Mapping[str, str]) -> Callable[[str], str]:
    def rewrite(ref: str) -> str:
        name = ref.removeprefix("#/$defs/")
        return f"#/$defs/{renames[name]}" if ref.startswith("#/$defs/") and name in renames else ref

    return rewrite


def _take_defs(schema: Schema, defs: dict[str, Schema]) -> Schema:
    """Move a sub-schema's root ``$defs`` into the shared ``defs``, renaming on a real clash."""
    own = schema.get("$defs")
    if not own:
        return schema
    renames: dict[str, str] = {}
    for name, body in own.items():
        new, n = name, 2
        while new in defs and canonical(defs[new]) != canonical(body):
            new, n = f"{name}{n}", n + 1
        if new != name:
            renames[name] = new
    rewrite = _renamer(renames)
    rest = rewrite_refs({k: v for k, v in schema.items() if k != "$defs"}, rewrite)
    for name, body in own.items():
        defs[renames.get(name, name)] = rewrite_refs(body, rewrite)
    return rest


def _with_defs(schema: Schema, defs: Mapping[str, Schema]) -> Schema:
    return {**schema, "$defs": {k: defs[k] for k in sorted(defs)}} if defs else schema


def should_flatten(method: Method) -> bool:
    if len(method.params) != 1:
        return False
    schema = method.params[0].schema
    return (
        schema.get("type") == "object"
        and bool(schema.get("properties"))
        and not ({"anyOf", "oneOf", "allOf"} & schema.keys())
    )


def input_schema(method: Method, hidden: Mapping[str, Any]) -> tuple[Schema, tuple[ToolParam, ...], bool]:
    defs: dict[str, Schema] = {}
    if should_flatten(method):
        param = method.params[0]
        body = _take_defs(param.schema, defs)
        root = {k: v for k, v in body.items() if k not in _ROOT_DROP}
        props = {k: v for k, v in root["properties"].items() if k not in hidden}
        root["properties"] = props
        required = [r for r in root.get("required", []) if r not in hidden]
        root.pop("required", None)
        if required:
            root["required"] = required
        params = (ToolParam(param.wire_name, None, param.required, param.default),)
        return _with_defs(root, defs), params, True
    properties: dict[str, Schema] = {}
    required = []
    params_list = []
    for param in method.params:
        prop = naming.property_name(param.wire_name)
        if prop in properties:
            raise GenerationError(f"{method.name}: two parameters map to the property {prop!r}")
        params_list.append(ToolParam(param.wire_name, prop, param.required, param.default))
        if prop in hidden:
            continue
        properties[prop] = _take_defs(param.schema, defs)
        if param.required:
            required.append(prop)
    positional: Schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        positional["required"] = required
    return _with_defs(positional, defs), tuple(params_list), False


def loosen_rows(node: Any) -> Any:
    """Query answers shaped by ``select`` (fields left out, ``[field, alias]`` renames, dotted paths) must
    still validate: rows of a query result keep their types but lose ``required`` and closed objects."""
    if isinstance(node, dict):
        out = {k: loosen_rows(v) for k, v in node.items() if k != "required"}
        if out.get("additionalProperties") is False:
            del out["additionalProperties"]
        return out
    if isinstance(node, list):
        return [loosen_rows(v) for v in node]
    return node


def output_schema(method: Method) -> Schema:
    defs: dict[str, Schema] = {}
    result = _take_defs(method.returns, defs) if method.returns is not None else {}
    if method.filterable:
        result = loosen_rows(result)
        defs = {name: loosen_rows(body) for name, body in defs.items()}
    properties: dict[str, Schema] = {"result": result}
    required = ["result"]
    if method.job:
        properties["job"] = JOB_HANDLE_SCHEMA
        required = ["job"]  # a job still running after the wait bound has no result yet
    if method.filterable:
        properties["page"] = PAGE_SCHEMA
    root: Schema = {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    return _with_defs(root, defs)


def description(method: Method, entry: MethodOverride | None, pipe: str | None) -> str:
    upstream = text.clean(method.description)
    extra = entry.description if entry and entry.description else ""
    body = extra if entry and entry.description_mode == "replace" else text.join(upstream, extra)
    return text.join(
        body or naming.title(method.name),
        text.QUERY_GRAMMAR if method.filterable else "",
        text.JOB_NOTE if method.job else "",
        text.PIPE_NOTES.get(pipe or "", ""),
    )


def build_tool(method: Method, overrides: Overrides, diagnostics: list[Diagnostic]) -> Tool:
    entry = overrides.for_method(method.name)
    where = overrides.sources.get(method.name, method.name)
    name = naming.check_tool_name(
        entry.name if entry and entry.name else naming.tool_name(method.name), where
    )
    hidden = dict(entry.hidden) if entry else {}
    schema_in, params, flatten = input_schema(method, hidden)
    allowed = set(method.params[0].schema.get("properties", {})) if flatten else {p.argument for p in params}
    unknown_hidden = set(hidden) - allowed
    if unknown_hidden:
        raise GenerationError(f"{where}: hidden argument(s) {sorted(unknown_hidden)} are not parameters")
    safety, source = safety_for(method.name, overrides)
    if source == "fallback":
        diagnostics.append(
            Diagnostic(
                Severity.WARNING, method.name, "", "safety class 'write' from the fallback; add a rule"
            )
        )
    pipe = "upload" if method.uploadable else "download" if method.downloadable else None
    policy_file = overrides.policy
    idempotent = (
        entry.idempotent
        if entry and entry.idempotent is not None
        else safety == "read" or matches(method.name, policy_file.idempotent.match) is not None
    )
    open_world = (
        entry.open_world
        if entry and entry.open_world is not None
        else matches(method.name, policy_file.open_world.match) is not None
    )
    confirm = (
        entry.confirm
        if entry and entry.confirm is not None
        else safety == "destructive" and policy_file.confirm_destructive
    )
    describe = description(method, entry, pipe)
    return Tool(
        name=name,
        method=method.name,
        title=entry.title if entry and entry.title else naming.title(method.name),
        description=describe,
        summary=text.summary(describe),
        input_schema=schema_in,
        output_schema=output_schema(method),
        annotations=Annotations(
            read_only=safety == "read",
            destructive=safety == "destructive",
            idempotent=idempotent,
            open_world=open_world,
        ),
        policy=ToolPolicy(
            safety=safety,
            safety_source=source,
            confirm=confirm,
            roles=method.roles,
            job=method.job,
            pipe=pipe,
            namespace=method.namespace,
            toolsets=toolsets_for(method.name, method.namespace, overrides),
            filterable=method.filterable,
            no_auth=method.no_auth,
            excluded=entry.exclude if entry else None,
            reviewed=overrides.is_reviewed(method.name),
        ),
        params=params,
        flatten=flatten,
        module=naming.module_name(method.namespace),
        class_prefix=naming.class_prefix(name),
        hidden=hidden,
    )


def build_tools(
    methods: Sequence[Method], overrides: Overrides, diagnostics: list[Diagnostic]
) -> tuple[Tool, ...]:
    tools = [build_tool(m, overrides, diagnostics) for m in methods]
    seen: dict[str, str] = {}
    for tool in tools:
        if tool.name in seen:
            raise GenerationError(f"tool name {tool.name!r} used by both {seen[tool.name]} and {tool.method}")
        seen[tool.name] = tool.method
    return tuple(sorted(tools, key=lambda t: t.name))
