"""Overrides are strict data: mistakes name the file and line; policy comes from entries or named rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from truenas_mcp_gen.errors import GenerationError
from truenas_mcp_gen.overrides import load_overrides, safety_for
from truenas_mcp_gen.pipeline import Surface

DEFAULT_OVERRIDES = Path(__file__).resolve().parents[2] / "overrides"

POLICY = """
[[safety]]
safety = "read"
reason = "getters"
match = ["*.query"]

[idempotent]
reason = "r"
match = ["*.update"]

[open_world]
reason = "r"
match = ["cloudsync.*"]

[toolsets]
storage = ["pool.*"]
"""
KNOWN = ["pool.query", "pool.create", "pool.dataset.delete"]


def make(tmp_path: Path, methods: str, policy: str = POLICY) -> Path:
    (tmp_path / "methods").mkdir()
    (tmp_path / "policy.toml").write_text(policy)
    (tmp_path / "methods" / "pool.toml").write_text(methods)
    return tmp_path


def test_unknown_method_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    root = make(tmp_path, '\n["pool.query"]\ntitle = "Pools"\n\n["pool.qurey"]\ntitle = "typo"\n')
    with pytest.raises(GenerationError) as info:
        load_overrides(root, KNOWN)
    assert str(info.value).startswith(f"{root / 'methods' / 'pool.toml'}:5: unknown method 'pool.qurey'")


def test_unknown_key_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    root = make(tmp_path, '["pool.create"]\nsafety = "write"\nreason = "r"\nconfrim = true\n')
    with pytest.raises(GenerationError) as info:
        load_overrides(root, KNOWN)
    assert str(info.value).startswith(f"{root / 'methods' / 'pool.toml'}:4: pool.create.confrim")


def test_invalid_safety_value_is_rejected(tmp_path: Path) -> None:
    root = make(tmp_path, '["pool.create"]\nsafety = "harmless"\n')
    with pytest.raises(GenerationError, match=r"pool\.toml:2: pool\.create\.safety"):
        load_overrides(root, KNOWN)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    root = make(tmp_path, '["pool.create"\n')
    with pytest.raises(GenerationError, match=r"pool\.toml: invalid TOML"):
        load_overrides(root, KNOWN)


def test_policy_file_is_validated_too(tmp_path: Path) -> None:
    root = make(tmp_path, "", POLICY.replace('safety = "read"', 'safety = "read"\nseverity = 1'))
    with pytest.raises(GenerationError, match=r"policy\.toml:\d+: safety\.0\.severity"):
        load_overrides(root, KNOWN)


def test_safety_comes_from_entry_then_rule_then_fallback(tmp_path: Path) -> None:
    root = make(tmp_path, '["pool.dataset.delete"]\nsafety = "destructive"\nreason = "loses data"\n')
    overrides = load_overrides(root, KNOWN)
    assert safety_for("pool.dataset.delete", overrides) == ("destructive", "override")
    assert safety_for("pool.query", overrides) == ("read", "rule:*.query")
    assert safety_for("pool.create", overrides) == ("write", "fallback")


def test_unknown_methods_can_be_ignored_when_comparing_releases(tmp_path: Path) -> None:
    root = make(tmp_path, '["pool.gone"]\ntitle = "x"\n')
    assert load_overrides(root, KNOWN, ignore_unknown=True).methods == {}


def test_project_overrides_leave_no_method_on_the_fallback(surface: Surface) -> None:
    fallbacks = sorted(t.method for t in surface.tools if t.policy.safety_source == "fallback")
    assert fallbacks == []


def test_project_overrides_load(surface: Surface) -> None:
    overrides = load_overrides(DEFAULT_OVERRIDES, surface.recording.methods)
    assert overrides.policy.safety
