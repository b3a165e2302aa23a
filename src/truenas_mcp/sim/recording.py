"""The recorded ``core.get_methods`` answer the simulator serves and validates against.

The recording is 5 MB of JSON; parsing it per test would dominate the suite's run time, so it is parsed once
per process and path, and each method's schemas are normalised only when that method is first called.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

SPEC_FILENAME = "truenas-25.04.2.methods.json"
EVENTS_FILENAME = "truenas-25.04.2.events.json"
ENV_SPEC_FILE = "TRUENAS_MCP_SPEC"
ENV_SPEC_DIR = "TRUENAS_MCP_SPEC_DIR"


class RecordingNotFoundError(FileNotFoundError):
    """No recording was found; the message names every place that was tried."""


def _shared_spec_candidates(start: Path) -> list[Path]:
    """``../shared/spec/<file>`` beside every ancestor of ``start`` (the checkout sits next to ``shared``)."""
    start = start.resolve()
    return [parent / "shared" / "spec" / SPEC_FILENAME for parent in (start, *start.parents)]


def locate_recording(explicit: Path | None = None) -> Path:
    """Find the methods recording: ``explicit``, then ``$TRUENAS_MCP_SPEC``, ``$TRUENAS_MCP_SPEC_DIR``, then
    ``shared/spec/`` beside the checkout, searched upwards from the working directory and this package."""
    tried: list[str] = []
    if explicit is not None:
        if explicit.is_file():
            return explicit
        raise RecordingNotFoundError(f"--spec {explicit}: no such file")
    env_file = os.environ.get(ENV_SPEC_FILE)
    if env_file:
        if Path(env_file).is_file():
            return Path(env_file)
        tried.append(f"${ENV_SPEC_FILE}={env_file} (no such file)")
    env_dir = os.environ.get(ENV_SPEC_DIR)
    if env_dir:
        candidate = Path(env_dir) / SPEC_FILENAME
        if candidate.is_file():
            return candidate
        tried.append(f"${ENV_SPEC_DIR}={env_dir} ({candidate} does not exist)")
    seen: set[Path] = set()
    for start in (Path.cwd(), Path(__file__).parent):
        for candidate in _shared_spec_candidates(start):
            if candidate in seen:
                continue
            seen.add(candidate)
            if candidate.is_file():
                return candidate
            tried.append(str(candidate))
    raise RecordingNotFoundError(
        f"cannot find the TrueNAS API recording {SPEC_FILENAME}; pass --spec PATH or set ${ENV_SPEC_FILE}. "
        "Tried: " + "; ".join(tried)
    )


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


_CACHE: dict[tuple[Path, int], Recording] = {}
_CACHE_LOCK = threading.Lock()


def load_recording(path: Path | None = None) -> Recording:
    """Parse the recording at ``path`` (or the located one) once per process; later calls share it.

    The cached object is shared by every simulator in the process, so it must never be mutated.
    """
    resolved = locate_recording(path).resolve()
    key = (resolved, resolved.stat().st_mtime_ns)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        try:
            methods = json.loads(resolved.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{resolved}: not a JSON recording of core.get_methods ({exc})") from exc
        if not isinstance(methods, dict) or not all(isinstance(v, dict) for v in methods.values()):
            raise ValueError(f"{resolved}: expected an object keyed by method name")
        events_path = resolved.with_name(EVENTS_FILENAME)
        events = json.loads(events_path.read_text(encoding="utf-8")) if events_path.is_file() else {}
        recording = Recording(path=resolved, methods=methods, events=events)
        _CACHE[key] = recording
        return recording
