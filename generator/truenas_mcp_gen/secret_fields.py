"""Which argument and result fields of each method hold secrets, read from the TrueNAS middleware source.

The recorded schemas do not say which fields are secret; the middleware's source does, in two ways:

* legacy ``@accepts``/``@returns`` schemas: an attribute built with ``private=True`` (or a ``Password``, which
  is private by construction) inside a ``Dict``/``Patch`` named like the recorded object;
* pydantic models of ``api/v25_04_2``: a field annotated ``Secret[...]``.

The source is read as text (``ast``), never imported: its modules pull in system libraries at import time.
The marks are then joined with the recording: a recorded object named like a legacy ``Dict`` (directly or
through the ``Patch`` chain that derived it) takes that ``Dict``'s private fields; a recorded object whose
property names are exactly the field names of a pydantic model takes that model's ``Secret`` fields. The
result is one pair of path lists per method, in the notation of ``catalog.Policy`` (dot-separated fields,
``*`` for any array item or any key), relative to the tool's arguments and to the method's result.

Run over an extracted source tree to print or compare the marks (``python -m truenas_mcp_gen.secret_fields
SRC``); the reviewed copy lives in ``overrides/methods/*.toml`` and a test re-extracts and compares.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from truenas_mcp_gen import naming

PACKAGE = Path("src/middlewared/middlewared")  # inside the extracted release archive


@dataclass
class SourceMarks:
    """Secret marks found in the source, before they are joined with the recording."""

    # (legacy Dict name, field name): the field is private in that Dict.
    legacy: set[tuple[str, str]] = field(default_factory=set)
    # Patch new name → original name, so a derived schema inherits its original's private fields.
    patches: dict[str, set[str]] = field(default_factory=dict)
    # (enclosing schema name, legacy Dict name, key): ``private_keys`` of a free-form Dict, masked whether
    # or not the key is declared. The enclosing name is kept because such Dicts have generic names.
    legacy_keys: set[tuple[str, str, str]] = field(default_factory=set)
    # (function name, parameter or result name) for private attributes given directly to @accepts/@returns.
    legacy_top: set[tuple[str, str]] = field(default_factory=set)
    # pydantic model name → (field names on the wire, secret field names)
    models: dict[str, tuple[frozenset[str], frozenset[str]]] = field(default_factory=dict)


# Legacy schema ------------------------------------------------------------------------------------------
def _call_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name):
            return func.id
        if isinstance(func, ast.Attribute):
            return func.attr
    return None


def _string_arg(node: ast.Call, index: int) -> str | None:
    if len(node.args) > index:
        arg = node.args[index]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return arg.value
    return None


def _keyword(node: ast.Call, name: str) -> Any:
    for kw in node.keywords:
        if kw.arg == name and isinstance(kw.value, ast.Constant):
            return kw.value.value
    return None


def _is_private_attribute(node: ast.Call) -> bool:
    """A schema attribute (capitalised constructor with its name first) that is private."""
    name = _call_name(node)
    if not name or not name[0].isupper() or (_string_arg(node, 0) is None and _keyword(node, "name") is None):
        return False
    return name == "Password" or _keyword(node, "private") is True


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}


def _enclosing_name(node: ast.AST, parents: Mapping[ast.AST, ast.AST]) -> str | None:
    """The name of the nearest ``Dict`` (or the new name of the ``Patch``) a schema node sits in."""
    up = parents.get(node)
    while up is not None:
        if isinstance(up, ast.Call) and _call_name(up) == "Dict" and _string_arg(up, 0) is not None:
            return _string_arg(up, 0)
        if isinstance(up, ast.Call) and _call_name(up) == "Patch" and _string_arg(up, 1) is not None:
            return _string_arg(up, 1)
        up = parents.get(up)
    return None


def _legacy_marks(tree: ast.AST, marks: SourceMarks) -> None:
    parents = _parents(tree)
    for node in ast.walk(tree):
        name = _call_name(node)
        if name == "Patch" and isinstance(node, ast.Call):
            orig, new = _string_arg(node, 0), _string_arg(node, 1)
            if orig and new:
                marks.patches.setdefault(new, set()).add(orig)
        if name == "Dict" and isinstance(node, ast.Call) and _string_arg(node, 0) is not None:
            for kw in node.keywords:
                if kw.arg == "private_keys" and isinstance(kw.value, ast.List | ast.Tuple):
                    outer = _enclosing_name(node, parents)
                    for key in kw.value.elts:
                        if outer and isinstance(key, ast.Constant) and isinstance(key.value, str):
                            marks.legacy_keys.add((outer, str(_string_arg(node, 0)), key.value))
        if not isinstance(node, ast.Call) or not _is_private_attribute(node):
            continue
        attr = _string_arg(node, 0) or _keyword(node, "name")
        up = parents.get(node)
        while up is not None:
            kind = _call_name(up)
            if isinstance(up, ast.Call) and kind == "Dict" and _string_arg(up, 0) is not None:
                marks.legacy.add((str(_string_arg(up, 0)), attr))
                break
            if isinstance(up, ast.Call) and kind == "Patch" and _string_arg(up, 1) is not None:
                marks.legacy.add((str(_string_arg(up, 1)), attr))
                break
            if isinstance(up, ast.Call) and kind in ("accepts", "returns"):
                function = parents.get(up)
                if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    marks.legacy_top.add((function.name.removeprefix("do_"), attr))
                break
            up = parents.get(up)


# Pydantic models ----------------------------------------------------------------------------------------
def _alias(value: ast.AST | None, annotation: ast.AST) -> str | None:
    calls = [n for n in (value, annotation) if n is not None]
    for root in calls:
        for node in ast.walk(root):
            if isinstance(node, ast.Call) and _call_name(node) == "Field":
                alias = _keyword(node, "alias")
                if isinstance(alias, str):
                    return alias
    return None


def _own_fields(cls: ast.ClassDef) -> dict[str, tuple[str, bool] | None]:
    """Field name → (wire name, secret) for fields the class declares; ``None`` removes an inherited one."""
    out: dict[str, tuple[str, bool] | None] = {}
    for stmt in cls.body:
        if not isinstance(stmt, ast.AnnAssign) or not isinstance(stmt.target, ast.Name):
            continue
        text = ast.unparse(stmt.annotation)
        if stmt.target.id.startswith("_") or text.startswith("ClassVar"):
            continue
        if text == "Excluded":
            out[stmt.target.id] = None
            continue
        wire = _alias(stmt.value, stmt.annotation) or stmt.target.id
        out[stmt.target.id] = (wire, "Secret[" in text)
    return out


def _model_marks(trees: list[ast.AST], marks: SourceMarks) -> None:
    classes: dict[str, ast.ClassDef] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                classes.setdefault(node.name, node)
    resolved: dict[str, dict[str, tuple[str, bool]]] = {}

    def fields_of(name: str, seen: tuple[str, ...] = ()) -> dict[str, tuple[str, bool]]:
        if name in resolved:
            return resolved[name]
        cls = classes.get(name)
        if cls is None or name in seen:
            return {}
        merged: dict[str, tuple[str, bool]] = {}
        for base in reversed(cls.bases):
            base_name = ast.unparse(base).rpartition(".")[2]
            merged.update(fields_of(base_name, (*seen, name)))
        for attr, spec in _own_fields(cls).items():
            if spec is None:
                merged.pop(attr, None)
            else:
                merged[attr] = spec
        resolved[name] = merged
        return merged

    for name in classes:
        fields = fields_of(name)
        if fields:
            wire = frozenset(w for w, _ in fields.values())
            secret = frozenset(w for w, s in fields.values() if s)
            marks.models[name] = (wire, secret)


def read_source(root: Path) -> SourceMarks:
    """Secret marks of the middleware package under ``root`` (an extracted release archive)."""
    package = root / PACKAGE if (root / PACKAGE).is_dir() else root
    if not (package / "plugins").is_dir():
        raise FileNotFoundError(f"{root}: not a middleware source tree (no {PACKAGE}/plugins)")
    marks = SourceMarks()
    for path in sorted((package / "plugins").rglob("*.py")):
        _legacy_marks(ast.parse(path.read_text(encoding="utf-8"), str(path)), marks)
    model_files = sorted((package / "api" / "v25_04_2").glob("*.py")) + sorted(
        (package / "api" / "base").rglob("*.py")
    )
    _model_marks([ast.parse(p.read_text(encoding="utf-8"), str(p)) for p in model_files], marks)
    return marks


# Join with the recording --------------------------------------------------------------------------------
def _origins(name: str, patches: Mapping[str, set[str]]) -> set[str]:
    found, todo = {name}, [name]
    while todo:
        for orig in patches.get(todo.pop(), ()):
            if orig not in found:
                found.add(orig)
                todo.append(orig)
    return found


def _names(node: Mapping[str, Any], marks: SourceMarks) -> set[str]:
    """The legacy schema names a recorded object answers to: its own and those it was patched from."""
    own = {str(node.get(k)) for k in ("_name_", "title") if isinstance(node.get(k), str)}
    return {origin for name in own for origin in _origins(name, marks.patches)}


def _secret_properties(
    node: Mapping[str, Any], marks: SourceMarks, outer: frozenset[str] = frozenset()
) -> set[str]:
    props = node.get("properties")
    names = _names(node, marks)
    secret: set[str] = set()
    if node.get("type") != "object":
        return secret
    secret.update(f for o, d, f in marks.legacy_keys if d in names and o in outer)
    if not isinstance(props, Mapping) or not props:
        return secret
    secret.update(f for d, f in marks.legacy if d in names and f in props)
    keys = frozenset(props)
    for wire, secrets in marks.models.values():
        if wire == keys:
            secret.update(secrets)
    return secret


def _paths(
    node: Any, marks: SourceMarks, prefix: tuple[str, ...], outer: frozenset[str] = frozenset()
) -> Iterator[tuple[str, ...]]:
    if isinstance(node, list):
        for item in node:
            yield from _paths(item, marks, prefix, outer)
        return
    if not isinstance(node, Mapping):
        return
    secret = _secret_properties(node, marks, outer)
    inner = frozenset(_names(node, marks)) if node.get("properties") else outer
    props = node.get("properties") or {}
    yield from ((*prefix, name) for name in sorted(secret - set(props)))
    for name, sub in props.items():
        if name in secret:
            yield (*prefix, name)
        else:
            yield from _paths(sub, marks, (*prefix, name), inner)
    for key in ("anyOf", "oneOf", "allOf"):
        yield from _paths(node.get(key) or [], marks, prefix, outer)
    if "items" in node:
        yield from _paths(node["items"], marks, (*prefix, "*"), outer)
    extra = node.get("additionalProperties")
    if isinstance(extra, Mapping):
        yield from _paths(extra, marks, (*prefix, "*"), outer)


def _param_prefix(entry: Mapping[str, Any]) -> list[tuple[tuple[str, ...], Any, str]]:
    """Each parameter's schema with the prefix of its fields in the tool's arguments.

    A method with one object parameter becomes a flattened tool (its fields are the tool's arguments);
    otherwise each parameter is one argument, named as ``naming.property_name`` names it.
    """
    accepts = entry.get("accepts") or []
    params = [(str(raw.get("_name_") or f"arg{i}"), raw) for i, raw in enumerate(accepts)]
    only = params[0][1] if len(params) == 1 else None
    if (
        isinstance(only, Mapping)
        and only.get("type") == "object"
        and only.get("properties")
        and not ({"anyOf", "oneOf", "allOf"} & only.keys())
    ):
        return [((), only, params[0][0])]
    return [((naming.property_name(wire),), raw, wire) for wire, raw in params]


def _pseudo_object(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The positional parameters as one object, as a pydantic ``...Args`` model declares them."""
    accepts = entry.get("accepts") or []
    return {str(raw.get("_name_") or f"arg{i}"): raw for i, raw in enumerate(accepts)}


def _render(paths: Iterator[tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(sorted({".".join(p) for p in paths if p}))


def method_secrets(name: str, entry: Mapping[str, Any], marks: SourceMarks) -> tuple[tuple[str, ...], ...]:
    """``(secret_inputs, secret_outputs)`` of one recorded method."""
    verb = name.rpartition(".")[2]
    inputs: list[tuple[str, ...]] = []
    params = _param_prefix(entry)
    top = _secret_properties({"properties": _pseudo_object(entry)}, marks)
    for prefix, schema, wire in params:
        if prefix and (wire in top or (verb, wire) in marks.legacy_top):
            inputs.append(prefix)
        else:
            inputs.extend(_paths(schema, marks, prefix))
    returns = entry.get("returns") or []
    outputs: list[tuple[str, ...]] = list(_paths(returns[0], marks, ())) if returns else []
    if (
        returns
        and isinstance(returns[0], Mapping)
        and (verb, str(returns[0].get("_name_"))) in marks.legacy_top
    ):
        outputs.append(("*",) if returns[0].get("type") == "array" else ())
    return _render(iter(inputs)), tuple(sorted({".".join(p) or "*" for p in outputs}))


def extract(source: Path, recording: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, list[str]]]:
    """Secret paths per method (only methods with at least one), from the source joined with a recording."""
    marks = read_source(source)
    found: dict[str, dict[str, list[str]]] = {}
    for name in sorted(recording):
        inputs, outputs = method_secrets(name, recording[name], marks)
        if inputs or outputs:
            found[name] = {"secret_inputs": list(inputs), "secret_outputs": list(outputs)}
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("source", type=Path, help="extracted middleware release archive")
    parser.add_argument("recording", type=Path, help="recorded core.get_methods answer (JSON)")
    args = parser.parse_args(argv)
    recording = json.loads(args.recording.read_text(encoding="utf-8"))
    json.dump(extract(args.source, recording), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
