"""Load a recording of ``core.get_methods`` through the shared resolver and pin it on first use.

The recording is found and verified by ``truenas_mcp.recordings`` (the one resolver the simulator and the
demo use too); this module adds what only the generator does: parse the answer, and write the pin of a new
recording into the project's ``spec/`` so every later generation is reproducible.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from truenas_mcp.recordings import (
    SHIPPED_RELEASE,
    Pin,
    RecordingError,
    read_pin,
    resolve_methods,
    sha256_bytes,
    write_pin,
)
from truenas_mcp_gen.errors import GenerationError

DEFAULT_VERSION = SHIPPED_RELEASE
__all__ = ["DEFAULT_VERSION", "Pin", "Recording", "load_recording", "parse_methods", "read_pin", "write_pin"]


@dataclass(frozen=True)
class Recording:
    """A loaded, verified recording."""

    path: Path
    pin: Pin
    methods: Mapping[str, Mapping[str, Any]]
    pinned: bool = True  # False: first use; ``generate`` writes the pin once the output is written


def recording_name(version: str) -> str:
    return f"truenas-{version}.methods.json"


def sha256_file(path: Path) -> str:
    return sha256_bytes(path.read_bytes())


def load_recording(
    spec: Path | None = None,
    *,
    project: Path | None = None,
    release: str | None = None,
    pin_if_missing: bool | None = True,
) -> Recording:
    """Locate, verify and parse a recording.

    A recording no pin vouches for needs ``release``; ``pin_if_missing=False`` refuses it, otherwise it is
    accepted with ``pinned=False`` and a pin made from its content. Nothing is written here: ``generate``
    writes the pin after a successful generation, so a pin never describes a file that failed.
    """
    try:
        found = resolve_methods(spec, project=project, release=release)
    except RecordingError as exc:
        raise GenerationError(str(exc)) from exc
    methods = parse_methods(found.path, found.data)
    pin = found.pin
    if pin is None:
        assert release is not None  # the resolver refuses an unpinned recording without a release
        if pin_if_missing is False:
            raise GenerationError(
                f"{found.path}: not pinned (sha256 {found.sha256}); run `truenas-mcp-gen generate` to pin it"
            )
        pin = Pin(
            version=release,
            file=found.path.name,
            sha256=found.sha256,
            size=len(found.data),
            method_count=len(methods),
        )
        return Recording(path=found.path, pin=pin, methods=methods, pinned=False)
    return Recording(path=found.path, pin=pin, methods=methods)


def parse_methods(path: Path, raw: bytes) -> dict[str, dict[str, Any]]:
    """Parse a ``core.get_methods`` answer and check the one thing every dialect shares: an object of method
    entries, each with an ``accepts`` list. Other keys are read (and missing ones inferred) by ``dialect``."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise GenerationError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(data, dict) or not data:
        raise GenerationError(f"{path}: expected a non-empty object keyed by method name")
    for name, entry in data.items():
        if not isinstance(entry, dict):
            raise GenerationError(f"{path}: method {name!r} is not an object")
        if not isinstance(entry.get("accepts"), list):
            raise GenerationError(f"{path}: method {name!r}: 'accepts' must be a list")
    return data
