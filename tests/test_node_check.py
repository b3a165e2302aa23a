"""The one node check: tests of the JavaScript clients skip with a reason instead of failing."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from .node import node_problem, npm_install


def _fake(folder: Path, name: str, output: str) -> None:
    script = folder / name
    script.write_text(f"#!/bin/sh\necho {output}\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def test_without_node_on_path_the_reason_is_given(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert node_problem() == "node and npm must be on PATH"


def test_an_old_node_is_refused_with_its_version(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _fake(tmp_path, "node", "v18.19.0")
    _fake(tmp_path, "npm", "10.0.0")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert node_problem() == "Node 20 or later is needed, found v18.19.0"


def test_installed_packages_do_not_stand_in_for_a_missing_node(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    probe = tmp_path / "node_modules" / ".bin" / "mcp-inspector"
    probe.parent.mkdir(parents=True)
    probe.touch()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(pytest.skip.Exception, match="node and npm must be on PATH"):
        npm_install(tmp_path, ["@modelcontextprotocol/inspector"], probe)
