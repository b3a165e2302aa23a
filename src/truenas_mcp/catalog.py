"""Tool specifications: the data a generated tool package hands to the runtime.

A generated package (e.g. ``truenas_mcp_tools``) holds one ``ToolSpec`` per TrueNAS method, built from these
types, and registers itself under the ``truenas_mcp.catalogs`` entry point group. The runtime finds it there
and never imports a generated module by name. Schemas live in per-namespace JSON files read on first use, so
that listing 771 tools costs neither seconds nor hundreds of megabytes.
"""

from __future__ import annotations

import functools
import importlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from importlib.metadata import entry_points
from typing import Any, Literal

ENTRY_POINT_GROUP = "truenas_mcp.catalogs"
Safety = Literal["read", "write", "destructive"]
Pipe = Literal["upload", "download"]


@dataclass(frozen=True, slots=True)
class Annotations:
    """MCP tool annotations; all four are always explicit (clients' defaults are unsafe guesses)."""

    read_only: bool
    destructive: bool
    idempotent: bool
    open_world: bool

    def to_mcp(self) -> dict[str, bool]:
        return {
            "readOnlyHint": self.read_only,
            "destructiveHint": self.destructive,
            "idempotentHint": self.idempotent,
            "openWorldHint": self.open_world,
        }


@dataclass(frozen=True, slots=True)
class Policy:
    """What the server enforces about a tool; data, so that filtering never depends on tool names."""

    safety: Safety
    confirm: bool
    roles: tuple[str, ...]  # recorded roles granting CALL; empty means FULL_ADMIN only
    job: bool
    pipe: Pipe | None
    namespace: str
    toolsets: tuple[str, ...]
    filterable: bool
    no_auth: bool = False
    excluded: str | None = None  # why the server never offers this tool, if it does not
    admin_only: str | None = None  # why only FULL_ADMIN principals may use this tool through the server
    reviewed: bool = True  # False: no reviewed override; the generator applied its verb rules unchecked
    # Paths of secret fields in the tool's arguments and in its result: dot-separated field names, ``*``
    # for any array item or any key (``*`` alone: the whole value), as ``truenas_mcp/secrets.py`` reads them.
    secret_inputs: tuple[str, ...] = ()
    secret_outputs: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "safety": self.safety,
            "confirm": self.confirm,
            "roles": list(self.roles),
            "job": self.job,
            "pipe": self.pipe,
            "namespace": self.namespace,
            "toolsets": list(self.toolsets),
            "filterable": self.filterable,
            "no_auth": self.no_auth,
            "excluded": self.excluded,
            "admin_only": self.admin_only,
            "reviewed": self.reviewed,
            "secret_inputs": list(self.secret_inputs),
            "secret_outputs": list(self.secret_outputs),
        }


_NO_DEFAULT: Any = object()


@dataclass(frozen=True, slots=True)
class Param:
    """One positional parameter on the wire and where its value comes from in the tool arguments.

    ``argument`` is ``None`` for a flattened tool: the whole argument object is this parameter.
    """

    wire_name: str
    argument: str | None
    required: bool
    default: Any = _NO_DEFAULT

    @property
    def has_default(self) -> bool:
        return self.default is not _NO_DEFAULT


@dataclass(frozen=True, slots=True)
class ModelRef:
    """Where the generated pydantic models of a tool live (module within the package's ``models``)."""

    module: str
    args_class: str
    result_class: str


@dataclass(frozen=True, slots=True)
class SchemaRef:
    """A per-namespace schema file inside a generated package."""

    package: str
    module: str


@functools.cache
def _load_schema_file(package: str, module: str) -> dict[str, dict[str, Any]]:
    text = resources.files(package).joinpath("schemas", f"{module}.json").read_text(encoding="utf-8")
    data: dict[str, dict[str, Any]] = json.loads(text)
    return data


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """One MCP tool for one TrueNAS method."""

    name: str
    method: str
    title: str
    description: str
    annotations: Annotations
    policy: Policy
    params: tuple[Param, ...]
    flatten: bool
    schemas: SchemaRef
    models: ModelRef
    hidden: Mapping[str, Any] = field(default_factory=dict)

    @property
    def input_schema(self) -> dict[str, Any]:
        return _load_schema_file(self.schemas.package, self.schemas.module)[self.name]["input"]

    @property
    def output_schema(self) -> dict[str, Any]:
        return _load_schema_file(self.schemas.package, self.schemas.module)[self.name]["output"]

    def args_model(self) -> Any:
        """The generated pydantic model validating this tool's arguments (imported on first use)."""
        module = importlib.import_module(f"{self.schemas.package}.models.{self.models.module}")
        return getattr(module, self.models.args_class)

    def result_model(self) -> Any:
        module = importlib.import_module(f"{self.schemas.package}.models.{self.models.module}")
        return getattr(module, self.models.result_class)

    def to_wire_params(self, arguments: Mapping[str, Any]) -> list[Any]:
        """Turn validated tool arguments into the method's positional parameters.

        Trailing parameters the caller left out are not sent, so the middleware applies its own defaults;
        a gap before a given parameter is filled with the recorded default.
        """
        merged = {**arguments, **self.hidden}
        if self.flatten:
            return [merged]
        values: list[Any] = []
        pending: list[Any] = []
        for param in self.params:
            assert param.argument is not None
            if param.argument in merged:
                values += pending
                pending = []
                values.append(merged[param.argument])
            elif param.has_default:
                pending.append(param.default)
            else:
                # Unreachable after validation for required params; optional ones without a recorded
                # default are sent as null, which is what the middleware's own clients do.
                pending.append(None)
        return values

    def definition(self) -> dict[str, Any]:
        """The MCP ``Tool`` object as JSON (what ``tools/list`` returns for this tool)."""
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "inputSchema": self.input_schema,
            "outputSchema": self.output_schema,
            "annotations": {"title": self.title, **self.annotations.to_mcp()},
        }


@dataclass(frozen=True)
class Catalog:
    """All tools of one generated package, in their canonical (sorted by name) order."""

    package: str
    truenas_version: str
    spec_sha256: str
    tools: tuple[ToolSpec, ...]

    @functools.cached_property
    def by_name(self) -> Mapping[str, ToolSpec]:
        return {tool.name: tool for tool in self.tools}

    @functools.cached_property
    def by_method(self) -> Mapping[str, ToolSpec]:
        return {tool.method: tool for tool in self.tools}

    def __iter__(self) -> Iterator[ToolSpec]:
        return iter(self.tools)

    def __len__(self) -> int:
        return len(self.tools)


class CatalogNotFound(LookupError):
    pass


def load_catalog(name: str | None = None) -> Catalog:
    """Load an installed tool catalog through its entry point (the only one, or the one named)."""
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    if not found:
        raise CatalogNotFound(
            "no generated tool package is installed (entry point group "
            f"{ENTRY_POINT_GROUP!r}); install one, e.g. `pip install ./generated`"
        )
    if name is None:
        if len(found) > 1:
            raise CatalogNotFound(
                f"several tool catalogs are installed ({', '.join(sorted(found))}); pick one"
            )
        (entry,) = found.values()
    elif name in found:
        entry = found[name]
    else:
        raise CatalogNotFound(f"no tool catalog named {name!r}; installed: {', '.join(sorted(found))}")
    factory = entry.load()
    catalog = factory()
    if not isinstance(catalog, Catalog):
        raise CatalogNotFound(f"entry point {entry.value} did not return a Catalog")
    return catalog
