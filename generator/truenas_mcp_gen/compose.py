"""Shape each method into an MCP tool: input/output schemas, call shape, description, annotations, policy."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from truenas_mcp.catalog import Annotations
from truenas_mcp.wire import SECRET_VALUE
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


def _branches(node: Any, defs: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """``node`` and the alternatives it stands for ($ref, anyOf/oneOf/allOf), flattened."""
    if not isinstance(node, Mapping):
        return []
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return _branches(defs.get(ref.removeprefix("#/$defs/")), defs)
    out = [node]
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in node.get(key) or ():
            out += _branches(sub, defs)
    return out


def _children(node: Any, segment: str, defs: Mapping[str, Any]) -> list[Any]:
    found: list[Any] = []
    for branch in _branches(node, defs):
        props = branch.get("properties")
        if segment == "*":
            items = branch.get("items")
            found += items if isinstance(items, list) else [items] if isinstance(items, Mapping) else []
            if isinstance(props, Mapping):
                found += props.values()
        elif isinstance(props, Mapping) and segment in props:
            found.append(props[segment])
        extra = branch.get("additionalProperties")
        if isinstance(extra, Mapping) or (
            extra is not False and branch.get("type") == "object" and not props
        ):
            found.append(extra if isinstance(extra, Mapping) else {})
    return found


def resolves(schema: Schema, path: str) -> bool:
    """Whether a secret-field path names something the schema can hold (``*`` alone: the value itself)."""
    defs = schema.get("$defs", {})
    nodes: list[Any] = [schema]
    for segment in path.split("."):
        if path == "*":
            return True
        nodes = [child for node in nodes for child in _children(node, segment, defs)]
        if not nodes:
            return False
    return True


def secret_paths(
    method: Method,
    entry: MethodOverride | None,
    schemas: tuple[Schema, Schema],
    where: str,
    diagnostics: list[Diagnostic],
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The secret paths of a tool: the source's marks plus reviewed additions, each checked to exist.

    A path the schema does not hold is a warning, not an error: overrides reviewed for one release carry
    over to the next by method name, where a field may have moved; the warning names what to review."""
    if entry is None:
        return (), ()
    review = entry.secret_review
    inputs = tuple(sorted({*entry.secret_inputs, *(review.inputs if review else ())}))
    outputs = tuple(sorted({*entry.secret_outputs, *(review.outputs if review else ())}))
    kept: list[tuple[str, ...]] = []
    for kind, paths, schema in (("input", inputs, schemas[0]), ("output", outputs, schemas[1])):
        missing = [p for p in paths if not resolves(schema, p)]
        if missing:
            diagnostics.append(
                Diagnostic(
                    Severity.WARNING,
                    method.name,
                    "",
                    f"{where}: secret {kind} path(s) {missing} not in the {kind} schema; review the override",
                )
            )
        kept.append(tuple(p for p in paths if p not in missing))
    return kept[0], kept[1]


MASK_SCHEMA: Schema = {"const": SECRET_VALUE, "description": "Redacted: a secret this caller may not see."}
_ANY_STRING_KEYS = ("enum", "const", "pattern", "format", "minLength", "maxLength")


def _admits_mask(node: Any) -> bool:
    if not isinstance(node, Mapping):
        return True
    t = node.get("type")
    strings = t == "string" or (isinstance(t, list) and "string" in t)
    return strings and not any(k in node for k in _ANY_STRING_KEYS)


def _widen(node: Any, parts: list[str], defs: dict[str, Any]) -> Any:
    """``node`` with the schema at ``parts`` also admitting the mask (refs are followed into ``defs``)."""
    if not isinstance(node, Mapping):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and ref.removeprefix("#/$defs/") in defs:
        name = ref.removeprefix("#/$defs/")
        defs[name] = _widen(defs[name], parts, defs)
        return node
    if not parts:
        return node if _admits_mask(node) else {"anyOf": [dict(node), MASK_SCHEMA]}
    out = dict(node)
    head, rest = parts[0], parts[1:]
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(out.get(key), list):
            out[key] = [_widen(sub, parts, defs) for sub in out[key]]
    props = out.get("properties")
    if isinstance(props, Mapping):
        names = list(props) if head == "*" else [head] if head in props else []
        out["properties"] = {k: _widen(v, rest, defs) if k in names else v for k, v in props.items()}
    if head == "*":
        items = out.get("items")
        if isinstance(items, list):
            out["items"] = [_widen(sub, rest, defs) for sub in items]
        elif isinstance(items, Mapping):
            out["items"] = _widen(items, rest, defs)
    extra = out.get("additionalProperties")
    if isinstance(extra, Mapping):
        out["additionalProperties"] = _widen(extra, rest, defs)
    return out


def admit_masks(schema_out: Schema, secret_outputs: Sequence[str]) -> Schema:
    """The output schema with every secret result field also admitting TrueNAS's redaction placeholder.

    Callers without the namespace's write role get ``"********"`` in those fields (from TrueNAS or from
    the server), whatever their declared type; the schema must say so or a client rejects the answer.
    """
    if not secret_outputs:
        return schema_out
    defs = dict(schema_out.get("$defs", {}))
    props = dict(schema_out["properties"])
    result = props["result"]
    for path in secret_outputs:
        result = _widen(result, path.split("."), defs)
    props["result"] = result
    out = {**schema_out, "properties": props}
    if defs:
        out["$defs"] = defs
    return out


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
    schema_out = output_schema(method)
    result_schema = {**schema_out["properties"]["result"], "$defs": schema_out.get("$defs", {})}
    secret_inputs, secret_outputs = secret_paths(
        method, entry, (schema_in, result_schema), where, diagnostics
    )
    return Tool(
        name=name,
        method=method.name,
        title=entry.title if entry and entry.title else naming.title(method.name),
        description=describe,
        summary=text.summary(describe),
        input_schema=schema_in,
        output_schema=admit_masks(schema_out, secret_outputs),
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
            admin_only=entry.admin_only if entry else None,
            secret_inputs=secret_inputs,
            secret_outputs=secret_outputs,
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
