"""One JSON snapshot per generated tool: name, title, description, schemas, annotations, policy.

A tool without a snapshot fails. Updating snapshots is deliberate: `nox -s snapshots`, then review the diff.
"""

from __future__ import annotations

from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from truenas_mcp.catalog import ToolSpec, load_catalog

CATALOG = load_catalog()


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


def snapshot_of(tool: ToolSpec) -> dict[str, Any]:
    return {**tool.definition(), "method": tool.method, "policy": tool.policy.to_json()}


@pytest.mark.parametrize("name", [tool.name for tool in CATALOG.tools])
def test_tool_snapshot(name: str, snapshot_json: SnapshotAssertion) -> None:
    assert snapshot_of(CATALOG.by_name[name]) == snapshot_json
