"""Hand-written policy and documentation, as validated data merged onto the IR (never onto text).

``overrides/policy.toml`` holds the default rules (safety class by verb, idempotency, open world, toolsets);
``overrides/methods/*.toml`` holds per-method entries keyed by method name. Both are checked strictly: an
unknown key or a method that is not in the recording is an error naming the file and line, because a typo in
a safety override must never silently fall back to a default.
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from truenas_mcp_gen.errors import GenerationError

Safety = Literal["read", "write", "destructive"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SafetyRule(_Strict):
    match: tuple[str, ...] = Field(min_length=1)
    safety: Safety
    reason: str = Field(min_length=1)


class GlobRule(_Strict):
    match: tuple[str, ...] = Field(min_length=1)
    reason: str = Field(min_length=1)


class PolicyFile(_Strict):
    """``overrides/policy.toml``: defaults that apply when a method has no entry of its own."""

    safety: tuple[SafetyRule, ...] = Field(min_length=1)
    idempotent: GlobRule
    open_world: GlobRule
    confirm_destructive: bool = True
    toolsets: Mapping[str, tuple[str, ...]]
    core: tuple[str, ...] = ()


class MethodOverride(_Strict):
    """One method's reviewed policy and documentation."""

    name: str | None = None
    title: str | None = None
    description: str | None = None
    description_mode: Literal["append", "replace"] = "append"
    safety: Safety | None = None
    reason: str | None = None
    confirm: bool | None = None
    idempotent: bool | None = None
    open_world: bool | None = None
    hidden: Mapping[str, Any] = Field(default_factory=dict)
    toolsets: tuple[str, ...] = ()
    # Generated (the package stays a complete image of the API) but never served; the reason is kept.
    exclude: str | None = None

    @field_validator("reason")
    @classmethod
    def _reason_not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return value


@dataclass(frozen=True)
class Overrides:
    policy: PolicyFile
    methods: Mapping[str, MethodOverride]
    sources: Mapping[str, str]  # method → "file:line", for reports
    # Methods whose policy (rules included) a maintainer reviewed: reviewed.toml plus every method entry.
    reviewed: frozenset[str] = frozenset()

    def for_method(self, method: str) -> MethodOverride | None:
        return self.methods.get(method)

    def is_reviewed(self, method: str) -> bool:
        return method in self.reviewed or method in self.methods


def _line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return 1


def _read_toml(path: Path) -> tuple[dict[str, Any], str]:
    try:
        text = path.read_text(encoding="utf-8")
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise GenerationError(f"{path}: invalid TOML ({exc})") from exc
    except OSError as exc:
        raise GenerationError(f"{path}: cannot read ({exc.strerror})") from exc


def _explain(path: Path, text: str, exc: ValidationError, prefix: tuple[str, ...] = ()) -> GenerationError:
    first = exc.errors()[0]
    loc = [str(p) for p in (*prefix, *first["loc"])]
    needle = next((p for p in reversed(loc) if not p.isdigit()), loc[0] if loc else "")
    line = _line_of(text, needle)
    return GenerationError(f"{path}:{line}: {'.'.join(loc)}: {first['msg']}")


def load_policy(path: Path) -> PolicyFile:
    data, text = _read_toml(path)
    try:
        return PolicyFile.model_validate(data)
    except ValidationError as exc:
        raise _explain(path, text, exc) from exc


def load_method_overrides(
    directory: Path,
    known_methods: Iterable[str],
    *,
    ignore_unknown: bool = False,
    other_releases: frozenset[str] = frozenset(),
) -> tuple[dict[str, MethodOverride], dict[str, str]]:
    """Entries for methods of this recording; an entry for a method another reviewed release has (listed in
    ``reviewed.toml``) is skipped, since entries carry over by method name; any other name is a typo."""
    known = set(known_methods)
    methods: dict[str, MethodOverride] = {}
    sources: dict[str, str] = {}
    for path in sorted(directory.glob("*.toml")):
        data, text = _read_toml(path)
        for method, raw in data.items():
            line = _line_of(text, f'"{method}"') if '"' in text else _line_of(text, method)
            where = f"{path}:{line}"
            if method not in known:
                if ignore_unknown or method in other_releases:
                    continue
                raise GenerationError(f"{where}: unknown method {method!r} (not in the recording)")
            if method in methods:
                raise GenerationError(f"{where}: {method!r} already overridden at {sources[method]}")
            if not isinstance(raw, dict):
                raise GenerationError(f"{where}: {method!r} must be a table")
            try:
                methods[method] = MethodOverride.model_validate(raw)
            except ValidationError as exc:
                raise _explain(path, text, exc, (method,)) from exc
            sources[method] = where
    return methods, sources


def load_overrides(
    directory: Path, known_methods: Iterable[str], *, ignore_unknown: bool = False
) -> Overrides:
    """Load and validate all overrides; ``ignore_unknown`` serves comparisons with other releases."""
    policy = load_policy(directory / "policy.toml")
    reviewed = load_reviewed(directory / "reviewed.toml")
    methods, sources = load_method_overrides(
        directory / "methods", known_methods, ignore_unknown=ignore_unknown, other_releases=reviewed
    )
    return Overrides(policy=policy, methods=methods, sources=sources, reviewed=reviewed)


class ReviewedFile(_Strict):
    """``overrides/reviewed.toml``: the methods whose rule-given policy was checked, by release."""

    releases: Mapping[str, tuple[str, ...]]


def load_reviewed(path: Path) -> frozenset[str]:
    """Method names carry over between releases: a name reviewed once stays reviewed; a new name is not."""
    if not path.is_file():
        return frozenset()
    data, text = _read_toml(path)
    try:
        parsed = ReviewedFile.model_validate(data)
    except ValidationError as exc:
        raise _explain(path, text, exc) from exc
    return frozenset(name for names in parsed.releases.values() for name in names)


def matches(method: str, globs: Iterable[str]) -> str | None:
    """The first glob matching ``method`` (fnmatchcase: policy must not depend on the OS)."""
    return next((g for g in globs if fnmatch.fnmatchcase(method, g)), None)


def safety_for(method: str, overrides: Overrides) -> tuple[Safety, str]:
    """Safety class and where it came from: an override, a named default rule, or the write fallback."""
    entry = overrides.for_method(method)
    if entry is not None and entry.safety is not None:
        return entry.safety, "override"
    for rule in overrides.policy.safety:
        glob = matches(method, rule.match)
        if glob is not None:
            return rule.safety, f"rule:{glob}"
    return "write", "fallback"


def toolsets_for(method: str, namespace: str, overrides: Overrides) -> tuple[str, ...]:
    entry = overrides.for_method(method)
    named = {name for name, globs in overrides.policy.toolsets.items() if matches(method, globs)}
    named.update(entry.toolsets if entry else ())
    unknown = named - set(overrides.policy.toolsets)
    if unknown:
        raise GenerationError(
            f"{overrides.sources.get(method, method)}: unknown toolset(s) {sorted(unknown)}"
        )
    return tuple(sorted(named))
