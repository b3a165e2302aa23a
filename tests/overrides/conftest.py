"""Fixtures for the overrides tests: the pinned recording, read once per session."""

from __future__ import annotations

import json
from typing import Any

import pytest

from truenas_mcp.recordings import resolve_methods


@pytest.fixture(scope="session")
def recording_methods() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(resolve_methods().data)
    return data
