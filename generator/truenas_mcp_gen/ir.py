"""The intermediate representation: frozen dataclasses with everything later stages need precomputed.

``Method`` is one recorded method with normalized schemas; ``Tool`` is the MCP tool made from it once
naming, overrides and policy have been applied. Templates only print fields of these objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from truenas_mcp.catalog import Annotations, Safety
from truenas_mcp_gen.dialect import Entry, EntryReader
from truenas_mcp_gen.errors import Diagnostic, Severity
from truenas_mcp_gen.normalize import normalize_schema
from truenas_mcp_gen.spec import Recording

Schema = dict[str, Any]
NO_DEFAULT: Any = type("NoDefault", (), {"__repr__": lambda self: "NO_DEFAULT"})()


@dataclass(frozen=True)
class MethodParam:
    wire_name: str
    schema: Schema
    required: bool

    @property
    def default(self) -> Any:
        return self.schema.get("default", NO_DEFAULT)


@dataclass(frozen=True)
class Method:
    name: str
    namespace: str
    verb: str
    description: str
    params: tuple[MethodParam, ...]
    returns: Schema | None
    job: bool
    filterable: bool
    item_method: bool
    no_auth: bool
    roles: tuple[str, ...]
    downloadable: bool
    uploadable: bool
    require_websocket: bool
    examples: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class ToolParam:
    wire_name: str
    argument: str | None
    required: bool
    default: Any = NO_DEFAULT

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT


@dataclass(frozen=True)
class ToolPolicy:
    safety: Safety
    safety_source: str  # "override", "rule:<glob>" or "fallback": reported so reviewers see what was guessed
    confirm: bool
    roles: tuple[str, ...]
    job: bool
    pipe: str | None
    namespace: str
    toolsets: tuple[str, ...]
    filterable: bool
    no_auth: bool
    excluded: str | None = None
    reviewed: bool = True  # False: no reviewed override; the verb rules' policy was applied unchecked


@dataclass(frozen=True)
class Tool:
    name: str
    method: str
    title: str
    description: str
    summary: str
    input_schema: Schema
    output_schema: Schema
    annotations: Annotations
    policy: ToolPolicy
    params: tuple[ToolParam, ...]
    flatten: bool
    module: str
    class_prefix: str
    hidden: Mapping[str, Any] = field(default_factory=dict)


def namespace_of(method: str) -> str:
    return method.rpartition(".")[0] or method


def _allows_null(schema: Any) -> bool:
    if not isinstance(schema, dict) or not schema or schema.get("nullable") is True:
        return True
    t = schema.get("type")
    if t is None and not any(k in schema for k in ("anyOf", "oneOf", "enum", "const")):
        return True
    if t == "null" or (isinstance(t, list) and "null" in t):
        return True
    return any(_allows_null(m) for key in ("anyOf", "oneOf") for m in schema.get(key) or ())


def _effectively_required(raw: Any) -> bool:
    """Whether a positional parameter must be given.

    Legacy schemas mark most positional parameters ``_required_: false`` even when the method cannot work
    without them: a missing argument becomes the attribute's default, or ``null`` when it has none, which
    then fails validation unless null is allowed. Declaring those required tells the model up front.
    """
    if not isinstance(raw, dict):
        return False
    return bool(raw.get("_required_")) or ("default" not in raw and not _allows_null(raw))


def partial_update(name: str, params: tuple[MethodParam, ...]) -> tuple[MethodParam, ...]:
    """``*.update`` methods take partial objects: nothing in the update object is required.

    Legacy ``Dict(..., update=True)`` schemas are recorded with the create-time ``_required_`` flags (e.g.
    ``sharing.smb.update`` would demand ``name`` and ``path``), yet the middleware accepts any subset; the
    pydantic-era update models already have no required fields, so the rule holds for both flavours.
    """
    if not name.endswith(".update"):
        return params
    return tuple(
        MethodParam(p.wire_name, {k: v for k, v in p.schema.items() if k != "required"}, p.required)
        if p.schema.get("type") == "object"
        else p
        for p in params
    )


def build_method(name: str, entry: Entry, diagnostics: list[Diagnostic]) -> Method:
    params = tuple(
        MethodParam(
            wire_name=str(raw.get("_name_") or f"arg{i}") if isinstance(raw, dict) else f"arg{i}",
            schema=normalize_schema(raw, method=name, pointer=f"/accepts/{i}", diagnostics=diagnostics),
            required=_effectively_required(raw),
        )
        for i, raw in enumerate(entry.accepts)
    )
    returns = entry.returns
    return Method(
        name=name,
        namespace=namespace_of(name),
        verb=name.rpartition(".")[2],
        description=entry.description,
        params=partial_update(name, params),
        returns=(
            normalize_schema(returns[0], method=name, pointer="/returns/0", diagnostics=diagnostics)
            if returns
            else None
        ),
        job=entry.job,
        filterable=entry.filterable,
        item_method=entry.item_method,
        no_auth=entry.no_auth,
        roles=entry.roles,
        downloadable=entry.downloadable,
        uploadable=entry.uploadable,
        require_websocket=entry.require_websocket,
        examples={k: tuple(v) for k, v in sorted(entry.examples.items()) if isinstance(v, list)},
    )


def build_methods(recording: Recording, diagnostics: list[Diagnostic]) -> tuple[Method, ...]:
    """Every method of the recording; entry keys a release lacks are inferred and reported once each."""
    reader = EntryReader()
    methods = []
    for name in sorted(recording.methods):
        try:
            methods.append(build_method(name, reader.read(name, recording.methods[name]), diagnostics))
        except Exception as exc:  # one method the normalizer cannot read must not hide the other findings
            diagnostics.append(
                Diagnostic(Severity.ERROR, name, "", f"cannot build the method: {type(exc).__name__}: {exc}")
            )
    diagnostics.extend(reader.diagnostics())
    return tuple(methods)
