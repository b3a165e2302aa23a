"""The recorded ``core.get_methods`` answer the simulator serves and validates against.

The recording is 5 MB of JSON; parsing it per test would dominate the suite's run time, so it is parsed once
per process and path, and each method's schemas are normalised only when that method is first called.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from truenas_mcp.recordings import ENV_SPEC, SHIPPED_RELEASE, RecordingError, resolve_events, resolve_methods

ENV_SPEC_FILE = ENV_SPEC
# Kept for callers that catch it by this name; every resolver failure is a RecordingError.
RecordingNotFoundError = RecordingError


@dataclass
class Recording:
    """The parsed recording plus per-method normalised schemas, computed on first use."""

    path: Path
    methods: dict[str, dict[str, Any]]
    events: dict[str, dict[str, Any]]
    _accepts: dict[str, list[dict[str, Any]]] = field(default_factory=dict, repr=False)
    _returns: dict[str, dict[str, Any] | None] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def entry(self, method: str) -> dict[str, Any] | None:
        return self.methods.get(method)

    @cached_property
    def no_auth_methods(self) -> frozenset[str]:
        return frozenset(name for name, entry in self.methods.items() if entry["no_auth_required"])

    def accepts(self, method: str) -> list[dict[str, Any]]:
        """The method's parameter schemas as standard JSON Schema, in positional order."""
        cached = self._accepts.get(method)
        if cached is None:
            from truenas_mcp.sim.validate import standard_schema

            cached = [standard_schema(schema) for schema in self.methods[method]["accepts"]]
            with self._lock:
                self._accepts[method] = cached
        return cached

    def returns(self, method: str) -> dict[str, Any] | None:
        """The method's result schema as standard JSON Schema; ``None`` for legacy methods without one."""
        if method not in self._returns:
            from truenas_mcp.sim.validate import standard_schema

            raw = self.methods[method]["returns"]
            schema = standard_schema(raw[0]) if raw else None
            with self._lock:
                self._returns[method] = schema
        return self._returns[method]

    def listing(self, *, authenticated: bool, allowed: Any = None) -> dict[str, Any]:
        """``core.get_methods`` as the given session sees it.

        Unauthenticated sessions see only the ``no_auth_required`` methods; ``allowed`` (a predicate over
        method names) drops what a non-admin credential may not call. A FULL_ADMIN gets the recording itself.
        """
        if not authenticated:
            return {name: entry for name, entry in self.methods.items() if entry["no_auth_required"]}
        if allowed is None:
            return self.methods
        return {name: entry for name, entry in self.methods.items() if allowed(name)}


_CACHE: dict[tuple[Path, int, str], Recording] = {}
_CACHE_LOCK = threading.Lock()


def load_recording(path: Path | None = None) -> Recording:
    """Parse the recording at ``path`` (or the one the shared resolver finds) once per process.

    The events recording pinned beside it is loaded with it. The cached object is shared by every
    simulator in the process, so it must never be mutated.
    """
    found = resolve_methods(path, release=None if path else SHIPPED_RELEASE, allow_unpinned=True)
    resolved = found.path.resolve()
    key = (resolved, resolved.stat().st_mtime_ns, found.sha256)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        try:
            methods = json.loads(found.data)
        except json.JSONDecodeError as exc:
            raise RecordingError(f"{resolved}: not a JSON recording of core.get_methods ({exc})") from exc
        if not isinstance(methods, dict) or not all(isinstance(v, dict) for v in methods.values()):
            raise RecordingError(f"{resolved}: expected an object keyed by method name")
        events_data = resolve_events(found)
        events = json.loads(events_data) if events_data is not None else {}
        recording = Recording(path=resolved, methods=methods, events=events)
        _CACHE[key] = recording
        return recording
