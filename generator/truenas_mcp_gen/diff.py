"""Tool-surface diff of two recordings: what a client of the generated tools would notice.

Inputs and results are compared in opposite directions. An input that accepts less than before (a new
required argument, a narrower type, a lost enum value, a tighter limit) breaks existing callers; accepting
more does not. A result that may hold more than before (a new type, a property no longer guaranteed) breaks
callers that read it; a result that promises more does not. A tool that disappears, or changes whether it
runs as a job, breaks callers; a tool that moved (same verb and arguments under another namespace, such as
``zfs.snapshot.*`` → ``pool.snapshot.*``) is reported as a rename, found by structure rather than by name.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from truenas_mcp_gen.ir import Tool
from truenas_mcp_gen.pipeline import Surface

# Limits where a larger value accepts more (upper bounds) or less (lower bounds).
_UPPER = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_LOWER = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
# A removed tool pairs with an added one of the same verb when this share of argument names matches.
RENAME_SIMILARITY = 0.6
# ... and the pair declares at least this many argument names between them (a lone ``id`` proves nothing).
MIN_EVIDENCE = 3
# An argument name more tools than this declare (``id``, ``limit``) is too common to be evidence.
COMMON_PATH = 10


@dataclass(frozen=True)
class Change:
    tool: str
    kind: str  # e.g. "required-added", "property-removed", "type-narrowed", "output-type-widened"
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
    moves: tuple[tuple[str, str, int], ...] = ()  # (old namespace, new namespace, tools moved)
    unreviewed: tuple[str, ...] = ()  # methods of the new release whose policy nobody reviewed yet

    @property
    def breaking(self) -> bool:
        return bool(self.removed or self.renamed) or any(c.breaking for c in self.changes)

    @property
    def breaking_count(self) -> int:
        return len(self.removed) + len(self.renamed) + sum(c.breaking for c in self.changes)

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
            "namespace_moves": [{"old": a, "new": b, "tools": n} for a, b, n in self.moves],
            "changes": [asdict(c) for c in self.changes],
            "unreviewed": list(self.unreviewed),
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


class _Comparer:
    """Compares one schema pair; ``output`` flips which direction breaks callers."""

    def __init__(self, tool: str, output: bool) -> None:
        self.tool, self.output = tool, output
        self.changes: list[Change] = []

    def add(self, kind: str, detail: str, narrows: bool) -> None:
        """Record a change that narrows (accepts less) or widens what the schema admits."""
        direction = "narrowed" if narrows else "widened"
        breaking = narrows != self.output  # inputs break when narrowed, results when widened
        prefix = "output-" if self.output else ""
        self.changes.append(Change(self.tool, f"{prefix}{kind}-{direction}", detail, breaking))

    def where(self, path: str) -> str:
        return f"result{'.' + path if path else ''}" if self.output else path or "(arguments)"

    def node(self, path: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        old_t, new_t = _types(old), _types(new)
        if old_t is not None and new_t is not None and old_t != new_t:
            if old_t - new_t:
                self.add("type", f"{self.where(path)}: {sorted(old_t)} → {sorted(new_t)}", True)
            if new_t - old_t:
                self.add("type", f"{self.where(path)}: {sorted(old_t)} → {sorted(new_t)}", False)
        elif old_t is None and new_t is not None:
            self.add("type", f"{self.where(path)}: any → {sorted(new_t)}", True)
        elif old_t is not None and new_t is None:
            self.add("type", f"{self.where(path)}: {sorted(old_t)} → any", False)
        self.enum(path, old.get("enum"), new.get("enum"))
        self.limits(path, old, new)
        if old.get("pattern") != new.get("pattern"):
            if new.get("pattern") is not None:  # a new or different pattern may reject what passed
                self.add("pattern", f"{self.where(path)}: pattern {new.get('pattern')!r}", True)
            else:
                self.add("pattern", f"{self.where(path)}: pattern {old.get('pattern')!r} dropped", False)
        if isinstance(old.get("properties"), dict) or isinstance(new.get("properties"), dict):
            self.object(path, old, new)
        old_items, new_items = old.get("items"), new.get("items")
        if isinstance(old_items, dict) and isinstance(new_items, dict):
            self.node(f"{path}[]", old_items, new_items)

    def enum(self, path: str, old: Any, new: Any) -> None:
        if isinstance(new, list) and not isinstance(old, list):
            self.add("enum", f"{self.where(path)}: now restricted to {new}", True)
        elif isinstance(old, list) and not isinstance(new, list):
            self.add("enum", f"{self.where(path)}: no longer restricted to {old}", False)
        elif isinstance(old, list) and isinstance(new, list):
            lost = sorted(set(map(str, old)) - set(map(str, new)))
            gained = sorted(set(map(str, new)) - set(map(str, old)))
            if lost:
                self.add("enum", f"{self.where(path)}: values removed {lost}", True)
            if gained:
                self.add("enum", f"{self.where(path)}: values added {gained}", False)

    def limits(self, path: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        for key in (*_UPPER, *_LOWER):
            a, b = old.get(key), new.get(key)
            if a == b or not all(isinstance(v, int | float | type(None)) for v in (a, b)):
                continue
            upper = key in _UPPER
            if a is None:
                narrows = True
            elif b is None:
                narrows = False
            else:
                narrows = b < a if upper else b > a
            self.add("limit", f"{self.where(path)}: {key} {a} → {b}", narrows)

    def object(self, path: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        old_props: Mapping[str, Any] = old.get("properties") or {}
        new_props: Mapping[str, Any] = new.get("properties") or {}
        old_req, new_req = set(old.get("required") or ()), set(new.get("required") or ())
        prefix = f"{path}." if path else ""
        for name in sorted(new_props.keys() - old_props.keys()):
            if self.output:
                self.changes.append(
                    Change(self.tool, "output-property-added", self.where(prefix + name), False)
                )
            else:
                required = name in new_req
                kind = "required-added" if required else "property-added"
                self.changes.append(Change(self.tool, kind, prefix + name, required))
        for name in sorted(old_props.keys() - new_props.keys()):
            if self.output:  # a caller reading it gets nothing now
                self.changes.append(
                    Change(self.tool, "output-property-removed", self.where(prefix + name), True)
                )
            else:
                closed = new.get("additionalProperties") is False
                self.changes.append(Change(self.tool, "property-removed", prefix + name, closed))
        for name in sorted(old_props.keys() & new_props.keys()):
            if name in new_req and name not in old_req:
                self.add("required", f"{self.where(prefix + name)} is now required", not self.output)
            if name in old_req and name not in new_req:
                self.add("required", f"{self.where(prefix + name)} is no longer required", self.output)
            if isinstance(old_props[name], dict) and isinstance(new_props[name], dict):
                self.node(prefix + name, old_props[name], new_props[name])


def _compare_schemas(
    tool: str, old: Mapping[str, Any], new: Mapping[str, Any], *, output: bool
) -> list[Change]:
    comparer = _Comparer(tool, output)
    if output:
        comparer.node(
            "", old.get("properties", {}).get("result", {}), new.get("properties", {}).get("result", {})
        )
    else:
        comparer.object("", old, new)
    return sorted(comparer.changes, key=lambda c: (c.kind, c.detail))


def compare_tools(old: Tool, new: Tool) -> list[Change]:
    name = new.name
    changes = _compare_schemas(name, old.input_schema, new.input_schema, output=False)
    changes += _compare_schemas(name, old.output_schema, new.output_schema, output=True)
    if old.policy.job != new.policy.job:
        changes.append(Change(name, "job-flag", f"job {old.policy.job} → {new.policy.job}", True))
    if old.policy.safety != new.policy.safety:
        changes.append(Change(name, "safety", f"{old.policy.safety} → {new.policy.safety}", False))
    if old.policy.roles != new.policy.roles:
        changes.append(Change(name, "roles", f"{list(old.policy.roles)} → {list(new.policy.roles)}", False))
    if old.description != new.description:
        changes.append(Change(name, "description", "description changed", False))
    return changes


def _paths(schema: Any, prefix: str = "") -> set[str]:
    """Every argument path a schema declares (``options.recursive``, ``items[].name``): its fingerprint."""
    found: set[str] = set()
    if not isinstance(schema, dict):
        return found
    for name, sub in (schema.get("properties") or {}).items():
        found.add(prefix + name)
        found |= _paths(sub, f"{prefix}{name}.")
    if isinstance(schema.get("items"), dict):
        found |= _paths(schema["items"], f"{prefix}[].")
    for key in ("anyOf", "oneOf", "allOf"):
        for member in schema.get(key) or ():
            found |= _paths(member, prefix)
    return found


def _leaf_names(tool: Tool) -> frozenset[str]:
    """Argument names at any depth: a release that wraps the arguments in one object keeps them."""
    return frozenset(path.rpartition(".")[2] for path in _paths(tool.input_schema)) - {"[]"}


def _namespace(tool: Tool) -> str:
    return tool.method.rpartition(".")[0]


def _verb(tool: Tool) -> str:
    return tool.method.rpartition(".")[2]


def find_renames(
    removed: Iterable[Tool], added: Iterable[Tool], everything: Iterable[Tool] = ()
) -> list[tuple[Tool, Tool]]:
    """Pairs that look like the same tool under a new name, found by structure.

    Evidence is a pair with the same verb whose argument names (at any depth, so a release that wraps the
    arguments in one object still matches) mostly agree: ``zfs.snapshot.create`` → ``pool.snapshot.create``.
    Names many tools declare (``id``, the query grammar's ``limit``) are no evidence, so ``delete(id)`` proves
    nothing on its own; such a pair, or one sharing only some names, counts when a namespace with real
    evidence moved the same way: ``zfs.snapshot.delete`` follows its siblings.
    """
    removed, added = list(removed), list(added)
    names = {tool.name: _leaf_names(tool) for tool in (*everything, *removed, *added)}
    frequency = Counter(name for leaves in names.values() for name in leaves)

    def fingerprint(tool: Tool) -> set[str]:
        return {name for name in names[tool.name] if frequency[name] <= COMMON_PATH}

    scored = []
    for old in removed:
        old_paths = fingerprint(old)
        for new in added:
            if _verb(old) != _verb(new):
                continue
            new_paths = fingerprint(new)
            union = old_paths | new_paths
            score = len(old_paths & new_paths) / len(union) if union else 0.0
            scored.append((score, len(union) >= MIN_EVIDENCE and score >= RENAME_SIMILARITY, old, new))
    moved = {(_namespace(old), _namespace(new)) for _s, strong, old, new in scored if strong}
    ranked = sorted(scored, key=lambda c: (not c[1], -c[0], c[2].name, c[3].name))
    pairs: list[tuple[Tool, Tool]] = []
    used_old: set[str] = set()
    used_new: set[str] = set()
    for score, strong, old, new in ranked:
        if old.name in used_old or new.name in used_new:
            continue
        same_move = (_namespace(old), _namespace(new)) in moved
        if strong or (same_move and (score > 0 or not fingerprint(old) or not fingerprint(new))):
            pairs.append((old, new))
            used_old.add(old.name)
            used_new.add(new.name)
    return sorted(pairs, key=lambda p: p[0].name)


def diff_surfaces(old: Surface, new: Surface) -> SurfaceDiff:
    old_tools = {t.name: t for t in old.tools}
    new_tools = {t.name: t for t in new.tools}
    removed = [old_tools[n] for n in sorted(old_tools.keys() - new_tools.keys())]
    added = [new_tools[n] for n in sorted(new_tools.keys() - old_tools.keys())]
    pairs = find_renames(removed, added, [*old.tools, *new.tools])
    paired_old = {a.name for a, _ in pairs}
    paired_new = {b.name for _, b in pairs}
    changes: list[Change] = []
    for name in sorted(old_tools.keys() & new_tools.keys()):
        changes += compare_tools(old_tools[name], new_tools[name])
    for a, b in pairs:  # what else changed for callers who follow the rename
        changes += compare_tools(a, b)
    moves = Counter((_namespace(a), _namespace(b)) for a, b in pairs if _namespace(a) != _namespace(b))
    return SurfaceDiff(
        old_version=old.recording.pin.version,
        new_version=new.recording.pin.version,
        added=tuple(t.name for t in added if t.name not in paired_new),
        removed=tuple(t.name for t in removed if t.name not in paired_old),
        renamed=tuple((a.name, b.name) for a, b in pairs),
        changes=tuple(changes),
        moves=tuple((a, b, n) for (a, b), n in sorted(moves.items())),
        unreviewed=tuple(sorted(t.method for t in new.tools if not t.policy.reviewed)),
    )


def _summary(diff: SurfaceDiff) -> str:
    return (
        f"{len(diff.added)} added, {len(diff.removed)} removed, {len(diff.renamed)} renamed, "
        f"{len(diff.changes)} changes; {diff.breaking_count} breaking; "
        f"{len(diff.unreviewed)} with unreviewed policy"
    )


def format_text(diff: SurfaceDiff) -> str:
    if diff.empty:
        return f"no tool-surface changes between {diff.old_version} and {diff.new_version}"
    lines = [f"tool surface {diff.old_version} → {diff.new_version}"]
    lines += [f"  + {name}" for name in diff.added]
    lines += [f"  - {name}  [BREAKING: removed]" for name in diff.removed]
    lines += [f"  ~ {a} → {b}  [BREAKING: renamed]" for a, b in diff.renamed]
    lines += [f"  namespace moved: {a} → {b} ({n} tools)" for a, b, n in diff.moves]
    for change in diff.changes:
        flag = "  [BREAKING]" if change.breaking else ""
        lines.append(f"  * {change.tool}: {change.kind}: {change.detail}{flag}")
    lines += [f"  ? {method}: policy not reviewed (verb rules applied)" for method in diff.unreviewed]
    lines.append(_summary(diff))
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def format_markdown(diff: SurfaceDiff) -> str:
    """The report a maintainer acts on: breaking changes first, then what needs review, then the rest."""
    out = [
        f"# Tool surface: TrueNAS {diff.old_version} → {diff.new_version}",
        "",
        "<!-- Generated by `truenas-mcp-gen diff --format markdown`; do not edit. -->",
        "",
        f"{_summary(diff)}.",
        "",
    ]
    if diff.moves:
        out += ["## Namespace moves", "", "| from | to | tools |", "|---|---|---|"]
        out += [f"| `{a}` | `{b}` | {n} |" for a, b, n in diff.moves] + [""]
    breaking = [c for c in diff.changes if c.breaking]
    out += ["## Breaking", ""]
    if not (diff.removed or diff.renamed or breaking):
        out += ["Nothing breaks existing callers.", ""]
    if diff.renamed:
        out += ["### Renamed", "", "| old tool | new tool |", "|---|---|"]
        out += [f"| `{a}` | `{b}` |" for a, b in diff.renamed] + [""]
    if diff.removed:
        out += ["### Removed", "", *[f"- `{name}`" for name in diff.removed], ""]
    if breaking:
        out += ["### Changed", "", "| tool | change | detail |", "|---|---|---|"]
        out += [f"| `{c.tool}` | {c.kind} | {_md(c.detail)} |" for c in breaking] + [""]
    if diff.unreviewed:
        out += ["## Policy to review", "", "These methods have no reviewed policy: their tools got the verb "
                "rules' safety class and are marked `reviewed = False`.", ""]  # fmt: skip
        out += [f"- `{method}`" for method in diff.unreviewed] + [""]
    if diff.added:
        out += ["## Added", "", *[f"- `{name}`" for name in diff.added], ""]
    rest = [c for c in diff.changes if not c.breaking and c.kind != "description"]
    if rest:
        out += ["## Other changes (not breaking)", "", "| tool | change | detail |", "|---|---|---|"]
        out += [f"| `{c.tool}` | {c.kind} | {_md(c.detail)} |" for c in rest] + [""]
    described = sorted({c.tool for c in diff.changes if c.kind == "description"})
    if described:
        out += ["## Descriptions changed", "", ", ".join(f"`{t}`" for t in described), ""]
    return "\n".join(out)
