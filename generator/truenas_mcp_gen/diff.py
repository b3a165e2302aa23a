"""Tool-surface diff of two recordings: what a client of the generated tools would notice.

Breaking means an existing caller can fail: a tool disappears, a parameter becomes required, a type or enum
narrows, a job tool stops being one (or starts). Everything else is reported but not breaking.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from truenas_mcp_gen.ir import Tool
from truenas_mcp_gen.pipeline import Surface
from truenas_mcp_gen.schema_doc import canonical


@dataclass(frozen=True)
class Change:
    tool: str
    kind: str  # e.g. "required-added", "property-removed", "type-narrowed", "description"
    detail: str
    breaking: bool


@dataclass(frozen=True)
class SurfaceDiff:
    old_version: str
    new_version: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    renamed: tuple[tuple[str, str], ...] = ()  # (old, new) pairs that look like the same tool moved
    changes: tuple[Change, ...] = field(default=())

    @property
    def breaking(self) -> bool:
        return bool(self.removed or self.renamed) or any(c.breaking for c in self.changes)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.renamed or self.changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "old_version": self.old_version,
            "new_version": self.new_version,
            "breaking": self.breaking,
            "added": list(self.added),
            "removed": list(self.removed),
            "renamed": [{"old": a, "new": b} for a, b in self.renamed],
            "changes": [asdict(c) for c in self.changes],
        }


_JSON_TYPE = {
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    type(None): "null",
    list: "array",
}


def _types(schema: Mapping[str, Any]) -> set[str] | None:
    """The JSON types a schema admits, or None when it does not say (admits anything)."""
    if "const" in schema:
        return {_JSON_TYPE.get(type(schema["const"]), "object")}
    t = schema.get("type")
    if isinstance(t, str):
        return {t, "number"} if t == "integer" else {t}
    if isinstance(t, list):
        return set(t) | ({"number"} if "integer" in t else set())
    members = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(members, list):
        found: set[str] = set()
        for member in members:
            sub = _types(member) if isinstance(member, dict) else None
            if sub is None:
                return None
            found |= sub
        return found
    return None


def _compare_property(tool: str, path: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    changes: list[Change] = []
    old_t, new_t = _types(old), _types(new)
    if old_t is not None and new_t is not None and old_t != new_t:
        narrowed = bool(old_t - new_t)
        changes.append(Change(tool, "type-narrowed" if narrowed else "type-widened",
                              f"{path}: {sorted(old_t)} → {sorted(new_t)}", narrowed))  # fmt: skip
    elif old_t is None and new_t is not None:
        changes.append(Change(tool, "type-narrowed", f"{path}: any → {sorted(new_t)}", True))
    old_enum, new_enum = old.get("enum"), new.get("enum")
    if isinstance(new_enum, list) and (old_enum is None or set(map(str, old_enum)) - set(map(str, new_enum))):
        lost = sorted(set(map(str, old_enum or [])) - set(map(str, new_enum)))
        detail = (
            f"{path}: enum values removed {lost}" if old_enum else f"{path}: now restricted to {new_enum}"
        )
        changes.append(Change(tool, "enum-narrowed", detail, True))
    old_props, new_props = old.get("properties"), new.get("properties")
    if isinstance(old_props, dict) and isinstance(new_props, dict):
        changes += _compare_object(tool, path, old, new)
    return changes


def _compare_object(tool: str, path: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    changes: list[Change] = []
    old_props: Mapping[str, Any] = old.get("properties") or {}
    new_props: Mapping[str, Any] = new.get("properties") or {}
    old_req, new_req = set(old.get("required") or ()), set(new.get("required") or ())
    prefix = f"{path}." if path else ""
    for name in new_props.keys() - old_props.keys():
        required = name in new_req
        kind = "required-added" if required else "property-added"
        changes.append(Change(tool, kind, f"{prefix}{name}", required))
    for name in old_props.keys() - new_props.keys():
        closed = new.get("additionalProperties") is False
        changes.append(Change(tool, "property-removed", f"{prefix}{name}", closed))
    for name in sorted(old_props.keys() & new_props.keys()):
        if name in new_req and name not in old_req:
            changes.append(Change(tool, "required-added", f"{prefix}{name} is now required", True))
        if isinstance(old_props[name], dict) and isinstance(new_props[name], dict):
            changes += _compare_property(tool, f"{prefix}{name}", old_props[name], new_props[name])
    return sorted(changes, key=lambda c: (c.kind, c.detail))


def compare_tools(old: Tool, new: Tool) -> list[Change]:
    name = new.name
    changes = _compare_object(name, "", old.input_schema, new.input_schema)
    if old.output_schema != new.output_schema:
        changes.append(Change(name, "output-changed", "result schema changed", False))
    if old.policy.job != new.policy.job:
        changes.append(Change(name, "job-flag", f"job {old.policy.job} → {new.policy.job}", True))
    if old.policy.safety != new.policy.safety:
        changes.append(Change(name, "safety", f"{old.policy.safety} → {new.policy.safety}", False))
    if old.policy.roles != new.policy.roles:
        changes.append(Change(name, "roles", f"{list(old.policy.roles)} → {list(new.policy.roles)}", False))
    if old.description != new.description:
        changes.append(Change(name, "description", "description changed", False))
    return changes


def _renames(removed: Iterable[Tool], added: Iterable[Tool]) -> list[tuple[Tool, Tool]]:
    """Pairs that look like the same tool under a new name: same verb and same input schema.

    25.04 → 25.10 renamed ``zfs.snapshot.*`` to ``pool.snapshot.*``; reporting those as plain removals would
    hide that callers only need a new name.
    """
    by_key: dict[tuple[str, str], Tool] = {}
    for tool in added:
        by_key.setdefault((tool.method.rpartition(".")[2], canonical(tool.input_schema)), tool)
    pairs = []
    for tool in removed:
        match = by_key.pop((tool.method.rpartition(".")[2], canonical(tool.input_schema)), None)
        if match is not None:
            pairs.append((tool, match))
    return pairs


def diff_surfaces(old: Surface, new: Surface) -> SurfaceDiff:
    old_tools = {t.name: t for t in old.tools}
    new_tools = {t.name: t for t in new.tools}
    removed = [old_tools[n] for n in sorted(old_tools.keys() - new_tools.keys())]
    added = [new_tools[n] for n in sorted(new_tools.keys() - old_tools.keys())]
    pairs = _renames(removed, added)
    paired_old = {a.name for a, _ in pairs}
    paired_new = {b.name for _, b in pairs}
    changes: list[Change] = []
    for name in sorted(old_tools.keys() & new_tools.keys()):
        changes += compare_tools(old_tools[name], new_tools[name])
    return SurfaceDiff(
        old_version=old.recording.pin.version,
        new_version=new.recording.pin.version,
        added=tuple(t.name for t in added if t.name not in paired_new),
        removed=tuple(t.name for t in removed if t.name not in paired_old),
        renamed=tuple((a.name, b.name) for a, b in pairs),
        changes=tuple(changes),
    )


def format_text(diff: SurfaceDiff) -> str:
    if diff.empty:
        return f"no tool-surface changes between {diff.old_version} and {diff.new_version}"
    lines = [f"tool surface {diff.old_version} → {diff.new_version}"]
    lines += [f"  + {name}" for name in diff.added]
    lines += [f"  - {name}  [BREAKING: removed]" for name in diff.removed]
    lines += [f"  ~ {a} → {b}  [BREAKING: renamed]" for a, b in diff.renamed]
    for change in diff.changes:
        flag = "  [BREAKING]" if change.breaking else ""
        lines.append(f"  * {change.tool}: {change.kind}: {change.detail}{flag}")
    total_breaking = len(diff.removed) + len(diff.renamed) + sum(c.breaking for c in diff.changes)
    lines.append(
        f"{len(diff.added)} added, {len(diff.removed)} removed, {len(diff.renamed)} renamed, "
        f"{len(diff.changes)} changes; {total_breaking} breaking"
    )
    return "\n".join(lines)


def format_markdown(diff: SurfaceDiff) -> str:
    return format_text(diff) + "\n"
