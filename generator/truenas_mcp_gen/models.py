"""The ``models`` stage: pydantic v2 models for every tool's arguments and result, one module per namespace.

datamodel-code-generator (called as a library, one call per module) writes the classes from one JSON Schema
document per module whose ``$defs`` hold ``<Prefix>Args`` and ``<Prefix>Result`` of each tool plus the tool's
own ``$defs``. Its options are pinned in ``PINNED_OPTIONS``; nothing else varies between runs, so the output
depends only on the input schemas. Modules are independent, so they are generated in a process pool.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import MappingProxyType
from typing import Any

from truenas_mcp_gen.errors import Diagnostic, GenerationError, Severity
from truenas_mcp_gen.schema_doc import ModuleSchema, build_module_schema

BASE_CLASS = "truenas_mcp.models.TrueNASModel"
_MODULE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_CLASS_PREFIX = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_CLASS_LINE = re.compile(r"^class (\w+)\(", re.MULTILINE)

# The one option set of datamodel-code-generator, as ``generate(**options)`` keywords. Why each is here:
PINNED_OPTIONS: Mapping[str, Any] = MappingProxyType(
    {
        "input_file_type": "jsonschema",
        "output_model_type": "pydantic_v2.BaseModel",
        "target_python_version": "3.11",  # the project's floor: ``X | Y`` unions, no typing_extensions
        # 2.14 imports ``MISSING`` from pydantic itself (stable since 2.14, deprecated in experimental/).
        "target_pydantic_version": "2.14",
        "base_class": BASE_CLASS,  # hand-written behaviour (strictness, extra handling) enters by import
        # JSON Schema's "absent" is not "null": an optional property without a default becomes
        # ``T | MISSING = MISSING``, so a null for a non-nullable property is refused as the box refuses it.
        "use_missing_sentinel": True,
        "strict_nullable": True,  # a property with a default is not nullable unless the schema says so
        "enum_field_as_literal": "all",  # ``Literal[...]`` validates JSON strings under strict mode; Enum not
        "use_annotated": True,  # constraints in ``Annotated[..., Field(...)]``, not ``constr()`` calls
        "field_constraints": True,
        # Nested classes are named by their path (``PoolDatasetCreateArgsEncryptionOptions``): stable, and
        # no ``Options1``/``Options2`` numbering that shifts when an unrelated method is added upstream.
        "naming_strategy": "full-path",
        "skip_root_model": True,  # the document's root is only a holder for ``$defs``
        # String formats stay ``str``: the box validates them itself, pydantic's URL type would rewrite the
        # caller's value (``http://a`` -> ``http://a/``) and ``EmailStr`` would need email-validator.
        "type_mappings": [
            "date-time=string",
            "date=string",
            "time=string",
            "uri=string",
            "email=string",
            "ipvanyaddress=string",
            "ipvanyinterface=string",
            "ipvanynetwork=string",
            "file-path=string",
        ],
        "formatters": ["builtin"],  # the pipeline's ``fmt`` stage runs ruff over the whole package later
        "disable_timestamp": True,
        "use_double_quotes": True,
    }
)


@dataclasses.dataclass(frozen=True)
class ModelInput:
    """One tool as the models stage needs it (schemas are JSON Schema 2020-12, root ``type: object``)."""

    tool: str  # tool name, e.g. "pool_dataset_delete"
    module: str  # per-namespace module, e.g. "pool_dataset"
    class_prefix: str  # PascalCase, e.g. "PoolDatasetDelete" -> PoolDatasetDeleteArgs / ...Result
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class ModelRef:
    """Where a tool's models live: ``<package>.<module>.<args_class>``."""

    module: str
    args_class: str
    result_class: str


@dataclasses.dataclass(frozen=True)
class _ModuleResult:
    module: str
    code: str
    diagnostics: tuple[Diagnostic, ...]


def generate_models(
    inputs: Sequence[ModelInput],
    out_dir: Path,
    *,
    header: str,
    workers: int = 2,
    diagnostics: list[Diagnostic] | None = None,
) -> dict[str, ModelRef]:
    """Write ``out_dir/<module>.py`` for every module of ``inputs``; return each tool's ``ModelRef``.

    ``header`` starts every file verbatim. Warnings of datamodel-code-generator never stop the run: they are
    appended to ``diagnostics`` (severity WARNING, naming the tool and a pointer into its schema where the
    message allows). A module datamodel-code-generator cannot handle is retried tool by tool, and a tool
    that still fails gets permissive models (any object) plus a diagnostic, so one schema never costs the
    other 770 tools their validation.
    """
    groups = _group(inputs)
    refs = {
        item.tool: ModelRef(item.module, f"{item.class_prefix}Args", f"{item.class_prefix}Result")
        for item in inputs
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    for result in _run_all(groups, header, workers):
        (out_dir / f"{result.module}.py").write_text(result.code, encoding="utf-8", newline="\n")
        if diagnostics is not None:
            diagnostics.extend(result.diagnostics)
    return dict(sorted(refs.items()))


def _group(inputs: Sequence[ModelInput]) -> dict[str, list[ModelInput]]:
    """Validate names and group tools by module, each group sorted by tool name (order = output order)."""
    groups: dict[str, list[ModelInput]] = {}
    tools: set[str] = set()
    for item in inputs:
        if not _MODULE_NAME.match(item.module):
            raise GenerationError(f"models: tool {item.tool!r}: module {item.module!r} is not a module name")
        if not _CLASS_PREFIX.match(item.class_prefix):
            raise GenerationError(
                f"models: tool {item.tool!r}: class_prefix {item.class_prefix!r} is not a PascalCase name"
            )
        if item.tool in tools:
            raise GenerationError(f"models: tool {item.tool!r} appears twice")
        tools.add(item.tool)
        groups.setdefault(item.module, []).append(item)
    for module, items in groups.items():
        prefixes = [i.class_prefix for i in items]
        clash = sorted({p for p in prefixes if prefixes.count(p) > 1})
        if clash:
            raise GenerationError(f"models: module {module!r}: class_prefix {clash[0]!r} used by two tools")
        items.sort(key=lambda i: i.tool)
    return dict(sorted(groups.items()))


def _run_all(groups: dict[str, list[ModelInput]], header: str, workers: int) -> Iterable[_ModuleResult]:
    jobs = [(module, items, header) for module, items in groups.items()]
    if workers <= 1 or len(jobs) <= 1:
        return [_generate_module(*job) for job in jobs]
    # Largest modules first so one big namespace does not start last and finish alone.
    order = sorted(jobs, key=lambda job: -sum(_size(i) for i in job[1]))
    # ``spawn``: workers must not inherit the parent's threads or state; results are put back in module order.
    with ProcessPoolExecutor(
        min(workers, len(jobs)), mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        done = {r.module: r for r in pool.map(_generate_module, *zip(*order, strict=True))}
    return [done[module] for module in groups]


def _size(item: ModelInput) -> int:
    return len(json.dumps(item.input_schema)) + len(json.dumps(item.output_schema))


def _generate_module(module: str, items: list[ModelInput], header: str) -> _ModuleResult:
    """Generate one module; fall back to tool-by-tool generation if the module as a whole fails."""
    found: list[Diagnostic] = []
    items = [
        dataclasses.replace(
            i,
            input_schema=drop_unusable_patterns(i.input_schema, i.tool, "/inputSchema", found),
            output_schema=drop_unusable_patterns(i.output_schema, i.tool, "/outputSchema", found),
        )
        for i in items
    ]
    doc = build_module_schema(
        [(i.tool, i.class_prefix, i.input_schema, i.output_schema) for i in items], module
    )
    try:
        code = _run_codegen(doc, header, found)
    except Exception as exc:  # any failure of the library is reported, then isolated
        return _generate_isolated(module, items, header, found, exc)
    _check_classes(module, code, items)
    return _ModuleResult(module, code, tuple(found))


def _generate_isolated(
    module: str, items: list[ModelInput], header: str, found: list[Diagnostic], exc: Exception
) -> _ModuleResult:
    """Find the tools whose schemas datamodel-code-generator rejects; give those permissive models."""
    usable: list[ModelInput] = []
    for item in items:
        single = build_module_schema(
            [(item.tool, item.class_prefix, item.input_schema, item.output_schema)], module
        )
        try:
            _run_codegen(single, header, [])
        except Exception as tool_exc:
            found.append(
                Diagnostic(
                    Severity.WARNING,
                    item.tool,
                    "",
                    f"could not be modelled ({type(tool_exc).__name__}: {_first_line(tool_exc)}); "
                    "its arguments and result are checked as plain objects",
                )
            )
            item = dataclasses.replace(
                item, input_schema={"type": "object"}, output_schema={"type": "object"}
            )
        usable.append(item)
    doc = build_module_schema(
        [(i.tool, i.class_prefix, i.input_schema, i.output_schema) for i in usable], module
    )
    try:
        code = _run_codegen(doc, header, found)
    except Exception as final:  # the failure only shows with several tools together: not recoverable here
        raise GenerationError(
            f"models: module {module!r} fails in datamodel-code-generator ({_first_line(exc)}), "
            f"and still fails with the offending tools replaced ({_first_line(final)})"
        ) from final
    _check_classes(module, code, usable)
    return _ModuleResult(module, code, tuple(found))


def drop_unusable_patterns(node: Any, tool: str, pointer: str, found: list[Diagnostic]) -> Any:
    """Remove ``pattern``s Python's regex engine cannot compile, with a diagnostic for each.

    The generated module would import fine and then fail the first time the model is used (validators are
    built lazily), which is a failure far from its cause; better to validate that one string less strictly.
    """
    if not isinstance(node, dict):
        return node
    out = dict(node)
    pattern = node.get("pattern")
    if isinstance(pattern, str):
        try:
            re.compile(pattern)
        except re.error as exc:
            found.append(
                Diagnostic(
                    Severity.WARNING, tool, f"{pointer}/pattern", f"pattern dropped, not a regex: {exc}"
                )
            )
            del out["pattern"]
    for key, value in node.items():
        if key in ("properties", "patternProperties", "$defs", "dependentSchemas") and isinstance(
            value, dict
        ):
            out[key] = {
                name: drop_unusable_patterns(sub, tool, f"{pointer}/{key}/{_escape(name)}", found)
                for name, sub in value.items()
            }
        elif key in ("anyOf", "oneOf", "allOf", "prefixItems") and isinstance(value, list):
            out[key] = [
                drop_unusable_patterns(sub, tool, f"{pointer}/{key}/{i}", found)
                for i, sub in enumerate(value)
            ]
        elif isinstance(value, dict) and key not in ("const", "default", "enum", "examples", "discriminator"):
            out[key] = drop_unusable_patterns(value, tool, f"{pointer}/{key}", found)
    return out


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _run_codegen(doc: ModuleSchema, header: str, found: list[Diagnostic]) -> str:
    from datamodel_code_generator import generate  # the generator's own dependency, imported where used

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = generate(doc.document, custom_file_header=header.rstrip("\n"), **PINNED_OPTIONS)
    for warning in caught:
        found.append(doc.locate(str(warning.message)))
    if not isinstance(code, str):
        raise GenerationError("models: datamodel-code-generator returned several modules for one document")
    return code if code.endswith("\n") else code + "\n"


def _check_classes(module: str, code: str, items: Iterable[ModelInput]) -> None:
    """Every tool's two classes must exist under the names the ``ModelRef`` promises."""
    classes = set(_CLASS_LINE.findall(code))
    for item in items:
        for suffix in ("Args", "Result"):
            if f"{item.class_prefix}{suffix}" not in classes:
                raise GenerationError(
                    f"models: module {module!r}: datamodel-code-generator did not emit class "
                    f"{item.class_prefix}{suffix} for tool {item.tool!r} (renamed on a clash?)"
                )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
