"""Locate, load and verify recordings of ``core.get_methods`` against their sha256 pins.

A recording is never committed (it is the box's own data); its pin is. The pin makes every generation
reproducible and refuses a recording that silently changed under the same name.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from truenas_mcp_gen.errors import GenerationError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PIN_DIR = PROJECT_ROOT / "spec"
DEFAULT_VERSION = "25.04.2"
ENV_SPEC = "TRUENAS_MCP_SPEC"
ENV_SPEC_DIR = "TRUENAS_MCP_SPEC_DIR"

# Every entry of a 25.04-era answer carries exactly these keys (truenas-api.md, "Entry format").
ENTRY_KEYS = frozenset(
    {
        "accepts", "check_pipes", "cli_description", "description", "downloadable", "examples",
        "extra_methods", "filterable", "filterable_schema", "item_method", "job", "no_auth_required",
        "pass_application", "require_websocket", "returns", "roles", "uploadable",
    }
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Pin:
    """What a recording must hash to, and where it came from."""

    version: str
    file: str
    sha256: str
    size: int
    method_count: int
    pulled_at: str | None = None
    pulled_by: str | None = None
    roles: tuple[str, ...] = ()

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data["roles"] = list(self.roles)
        return json.dumps(data, indent=2, sort_keys=True) + "\n"


@dataclasses.dataclass(frozen=True)
class Recording:
    """A loaded, verified recording."""

    path: Path
    pin: Pin
    methods: Mapping[str, Mapping[str, Any]]


def recording_name(version: str) -> str:
    return f"truenas-{version}.methods.json"


def pin_path(spec_dir: Path, version: str) -> Path:
    return spec_dir / f"truenas-{version}.pin.json"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_pin(spec_dir: Path, version: str) -> Pin | None:
    path = pin_path(spec_dir, version)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        data["roles"] = tuple(data.get("roles") or ())
        return Pin(**data)
    except (ValueError, TypeError) as exc:
        raise GenerationError(f"{path}: not a valid pin file ({exc})") from exc


def write_pin(spec_dir: Path, pin: Pin) -> Path:
    spec_dir.mkdir(parents=True, exist_ok=True)
    path = pin_path(spec_dir, pin.version)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(pin.to_json())
    tmp.replace(path)
    return path


def version_of(path: Path) -> str:
    """``truenas-25.04.2.methods.json`` → ``25.04.2``."""
    name = path.name
    if not (name.startswith("truenas-") and name.endswith(".methods.json")):
        raise GenerationError(f"{path}: recording names look like truenas-<version>.methods.json")
    return name[len("truenas-") : -len(".methods.json")]


def locate_recording(explicit: Path | None = None, version: str = DEFAULT_VERSION) -> Path:
    """Find a recording: explicit path, ``$TRUENAS_MCP_SPEC``, ``$TRUENAS_MCP_SPEC_DIR``, ../shared/spec."""
    candidates: list[Path] = []
    if explicit is not None:
        candidates.append(explicit / recording_name(version) if explicit.is_dir() else explicit)
    elif os.environ.get(ENV_SPEC):
        candidates.append(Path(os.environ[ENV_SPEC]))
    elif os.environ.get(ENV_SPEC_DIR):
        candidates.append(Path(os.environ[ENV_SPEC_DIR]) / recording_name(version))
    else:
        candidates += [
            PIN_DIR / recording_name(version),
            PROJECT_ROOT.parent / "shared" / "spec" / recording_name(version),
            Path.cwd().parent / "shared" / "spec" / recording_name(version),
        ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise GenerationError(
        f"no recording found (looked at {looked}); pass --spec PATH or set {ENV_SPEC} / {ENV_SPEC_DIR}"
    )


def load_recording(path: Path, spec_dir: Path = PIN_DIR, *, pin_if_missing: bool | None = True) -> Recording:
    """Load ``path`` and verify it against its pin.

    Without a pin: ``pin_if_missing=True`` pins it (first use), ``False`` refuses it, ``None`` accepts it
    unpinned (comparing two recordings must not pin either). Nothing is written unless the recording is
    valid: a pin must never describe a broken file.
    """
    version = version_of(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise GenerationError(f"{path}: cannot read recording ({exc.strerror})") from exc
    digest = hashlib.sha256(raw).hexdigest()
    pin = read_pin(spec_dir, version)
    if pin is not None and pin.sha256 != digest:
        raise GenerationError(
            f"{path}: sha256 {digest} does not match its pin {pin_path(spec_dir, version)} ({pin.sha256}); "
            "refusing a recording that changed under the same version"
        )
    methods = parse_methods(path, raw)
    if pin is None:
        if pin_if_missing is False:
            raise GenerationError(f"{path}: no pin at {pin_path(spec_dir, version)}; run generate to pin it")
        pin = Pin(version=version, file=path.name, sha256=digest, size=len(raw), method_count=len(methods))
        if pin_if_missing:
            write_pin(spec_dir, pin)
    return Recording(path=path, pin=pin, methods=methods)


def parse_methods(path: Path, raw: bytes) -> dict[str, dict[str, Any]]:
    """Parse and shape-check a ``core.get_methods`` answer; one-line errors naming the file."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise GenerationError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(data, dict) or not data:
        raise GenerationError(f"{path}: expected a non-empty object keyed by method name")
    for name, entry in data.items():
        if not isinstance(entry, dict):
            raise GenerationError(f"{path}: method {name!r} is not an object")
        missing = ENTRY_KEYS - entry.keys()
        if missing:
            raise GenerationError(f"{path}: method {name!r} lacks {', '.join(sorted(missing))}")
        if not isinstance(entry["accepts"], list):
            raise GenerationError(f"{path}: method {name!r}: 'accepts' must be a list")
        if entry["returns"] is not None and not isinstance(entry["returns"], list):
            raise GenerationError(f"{path}: method {name!r}: 'returns' must be a list or null")
    return data
