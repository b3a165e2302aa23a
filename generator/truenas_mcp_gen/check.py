"""Drift guard: regenerate into a temporary folder and compare with the committed output, byte for byte."""

from __future__ import annotations

import dataclasses
import difflib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from truenas_mcp_gen.errors import Diagnostic, Severity
from truenas_mcp_gen.pipeline import GenerateConfig, generate


@dataclass(frozen=True)
class Drift:
    added: tuple[str, ...]  # files generation would add
    removed: tuple[str, ...]  # committed files generation would not produce
    changed: tuple[str, ...]
    first_diff: str
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity >= Severity.ERROR)

    @property
    def clean(self) -> bool:
        return not (self.added or self.removed or self.changed or self.errors)


def _files(root: Path) -> dict[str, Path]:
    if not root.exists():
        return {}
    skip = {"__pycache__", ".pytest_cache"}
    return {
        p.relative_to(root).as_posix(): p
        for p in root.rglob("*")
        if p.is_file() and not skip & set(p.relative_to(root).parts) and ".egg-info" not in p.as_posix()
    }


def compare(expected_root: Path, actual_root: Path) -> Drift:
    expected, actual = _files(expected_root), _files(actual_root)
    changed = sorted(
        k for k in expected.keys() & actual.keys() if expected[k].read_bytes() != actual[k].read_bytes()
    )
    first = ""
    if changed:
        a = actual[changed[0]].read_text(errors="replace").splitlines()
        e = expected[changed[0]].read_text(errors="replace").splitlines()
        first = "\n".join(
            list(
                difflib.unified_diff(
                    a, e, f"committed/{changed[0]}", f"regenerated/{changed[0]}", lineterm=""
                )
            )[:40]
        )
    return Drift(
        added=tuple(sorted(expected.keys() - actual.keys())),
        removed=tuple(sorted(actual.keys() - expected.keys())),
        changed=tuple(changed),
        first_diff=first,
    )


def check(config: GenerateConfig) -> Drift:
    """Compare a fresh generation with ``config.out_dir`` (which is left untouched); errors fail it too."""
    with tempfile.TemporaryDirectory(prefix="truenas-mcp-check-") as tmp:
        fresh = Path(tmp) / "generated"
        result = generate(dataclasses.replace(config, out=fresh, pin_if_missing=False))
        drift = compare(fresh, config.out_dir) if result.written else compare(config.out_dir, config.out_dir)
        return dataclasses.replace(drift, diagnostics=result.diagnostics)
