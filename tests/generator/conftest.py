"""Fixtures for generator tests: the pinned recording, read once per session."""

from __future__ import annotations

import json
from typing import Any

import pytest
from truenas_mcp_gen.pipeline import Surface, build_surface

from truenas_mcp.recordings import resolve_methods


@pytest.fixture(scope="session")
def recording_methods() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(resolve_methods().data)
    return data


@pytest.fixture(scope="session")
def surface() -> Surface:
    """The tool surface of the pinned recording with the project's overrides (pin verified, never written)."""
    return build_surface(None, pin_if_missing=False)
