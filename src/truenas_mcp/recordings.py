"""Find, decompress and verify TrueNAS API recordings: the one resolver the generator, ``check``, the
simulator and the demo share.

A recording is identified by its content, not its name: a pin (``truenas-<release>.pin.json``) holds the
sha256 of the uncompressed answer and the release it came from, so any file name works and a renamed copy
is still the same recording. Recordings may sit uncompressed, as ``.xz`` or as ``.gz`` (recognised by their
magic bytes, not their suffix); the sha256 is always checked after decompression.

Where a recording is looked for, first match wins:

1. an explicit path (``--spec``): a recording file or a folder of pins and recordings;
2. ``$TRUENAS_MCP_SPEC``: the same, from the environment;
3. ``spec/`` in the project folder (the working directory, or ``--project``);
4. the copy shipped inside this package (``truenas_mcp/spec/``): a ``pip install`` works without a checkout.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import lzma
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ENV_SPEC = "TRUENAS_MCP_SPEC"
PROJECT_SPEC_DIR = "spec"
PACKAGED_DIR = Path(__file__).resolve().parent / "spec"
# The release of the recording shipped with this package (and of the shipped tools).
SHIPPED_RELEASE = "25.04.2"
_XZ_MAGIC = b"\xfd7zXZ\x00"
_GZIP_MAGIC = b"\x1f\x8b"
_COMPRESSED_SUFFIXES = (".xz", ".gz")


class RecordingError(ValueError):
    """A recording cannot be found, read or trusted; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Pin:
    """What a recording must hash to (uncompressed), and where it came from."""

    version: str
    file: str
    sha256: str
    size: int
    method_count: int
    pulled_at: str | None = None
    pulled_by: str | None = None
    roles: tuple[str, ...] = ()
    # The event registry recorded with the same release, pinned the same way (the simulator serves it).
    events_file: str | None = None
    events_sha256: str | None = None

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data["roles"] = list(self.roles)
        return json.dumps(data, indent=2, sort_keys=True) + "\n"


@dataclass(frozen=True)
class Resolved:
    """A located, decompressed recording and the pin that vouches for it (``None``: not pinned yet)."""

    path: Path
    data: bytes
    sha256: str
    pin: Pin | None
    pin_path: Path | None
    source: str  # where it was found: "--spec", "$TRUENAS_MCP_SPEC", "project spec/", "packaged copy"

    @property
    def release(self) -> str | None:
        return self.pin.version if self.pin is not None else None


def pin_path(spec_dir: Path, version: str) -> Path:
    return spec_dir / f"truenas-{version}.pin.json"


def read_pin_file(path: Path) -> Pin:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        data["roles"] = tuple(data.get("roles") or ())
        return Pin(**data)
    except (OSError, ValueError, TypeError) as exc:
        raise RecordingError(f"{path}: not a valid pin file ({exc})") from exc


def read_pin(spec_dir: Path, version: str) -> Pin | None:
    path = pin_path(spec_dir, version)
    return read_pin_file(path) if path.is_file() else None


def write_pin(spec_dir: Path, pin: Pin) -> Path:
    spec_dir.mkdir(parents=True, exist_ok=True)
    path = pin_path(spec_dir, pin.version)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(pin.to_json(), encoding="utf-8")
    tmp.replace(path)
    return path


def pins_in(spec_dir: Path) -> list[tuple[Path, Pin]]:
    """Every pin in ``spec_dir``, sorted by file name (deterministic whatever the file system's order)."""
    if not spec_dir.is_dir():
        return []
    return [(p, read_pin_file(p)) for p in sorted(spec_dir.glob("truenas-*.pin.json"))]


def read_recording_bytes(path: Path) -> bytes:
    """The uncompressed bytes of a recording file, whatever it is called."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read recording ({exc.strerror or exc})") from exc
    try:
        if raw.startswith(_XZ_MAGIC):
            return lzma.decompress(raw)
        if raw.startswith(_GZIP_MAGIC):
            return gzip.decompress(raw)
    except (lzma.LZMAError, OSError, EOFError) as exc:
        raise RecordingError(f"{path}: corrupt compressed recording ({exc})") from exc
    return raw


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _stem(name: str) -> str:
    for suffix in _COMPRESSED_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def pinned_file(spec_dir: Path, name: str) -> Path | None:
    """The file a pin names, as it sits in ``spec_dir``: uncompressed, ``.xz`` or ``.gz``."""
    stem = _stem(name)
    for candidate in (stem, *(stem + s for s in _COMPRESSED_SUFFIXES)):
        if (spec_dir / candidate).is_file():
            return spec_dir / candidate
    return None


def project_spec_dir(project: Path | None = None) -> Path:
    return (project if project is not None else Path.cwd()) / PROJECT_SPEC_DIR


def _pin_dirs(first: Path | None, project: Path | None) -> list[Path]:
    dirs = [first] if first is not None else []
    dirs += [project_spec_dir(project), PACKAGED_DIR]
    unique: list[Path] = []
    for d in dirs:
        if d.resolve() not in {u.resolve() for u in unique}:
            unique.append(d)
    return unique


def _from_file(
    path: Path, source: str, project: Path | None, release: str | None, allow_unpinned: bool
) -> Resolved:
    """A recording given by path: its release comes from the pin holding its sha256, else ``release``."""
    data = read_recording_bytes(path)
    digest = sha256_bytes(data)
    claims: list[tuple[Path, Pin]] = []
    for spec_dir in _pin_dirs(path.parent, project):
        for p_path, pin in pins_in(spec_dir):
            if pin.sha256 == digest:
                if release is not None and pin.version != release:
                    raise RecordingError(
                        f"{path}: pinned as release {pin.version} by {p_path}, not {release}; "
                        "a recording has one release"
                    )
                return Resolved(path, data, digest, pin, p_path, source)
            if release is not None and pin.version == release:
                claims.append((p_path, pin))
    if claims:
        p_path, pin = claims[0]
        other = pinned_file(p_path.parent, pin.file)
        raise RecordingError(
            f"{path} (sha256 {digest}) and {other or p_path.parent / pin.file} (sha256 {pin.sha256}, pinned "
            f"by {p_path}) are different recordings claiming release {release}; remove one pin or choose "
            "another --release"
        )
    if release is None and not allow_unpinned:
        raise RecordingError(
            f"{path}: no pin holds its sha256 {digest}; name its release with --release (a pin is written "
            "on first generation)"
        )
    return Resolved(path, data, digest, None, None, source)


def _from_dir(spec_dir: Path, source: str, release: str | None) -> Resolved | None:
    """The pinned recording of ``release`` in ``spec_dir`` (default: its only pin, else the shipped one)."""
    pins = pins_in(spec_dir)
    if release is None:
        release = pins[0][1].version if len(pins) == 1 else SHIPPED_RELEASE
    for p_path, pin in pins:
        if pin.version != release:
            continue
        path = pinned_file(spec_dir, pin.file)
        if path is None:
            return None
        data = read_recording_bytes(path)
        digest = sha256_bytes(data)
        if digest != pin.sha256:
            raise RecordingError(
                f"{path}: sha256 {digest} does not match its pin {p_path} ({pin.sha256}); refusing a "
                "recording that changed under a pinned release"
            )
        return Resolved(path, data, digest, pin, p_path, source)
    return None


def resolve_methods(
    explicit: Path | None = None,
    *,
    project: Path | None = None,
    release: str | None = None,
    env: Mapping[str, str] | None = None,
    allow_unpinned: bool = False,
) -> Resolved:
    """Locate the methods recording (see the module docstring for the order) and verify it.

    A recording given by path must be pinned or come with its ``release``, unless ``allow_unpinned`` (the
    simulator serves any recording it is handed; only the generator needs to know the release).
    """
    environ = os.environ if env is None else env
    given = [(explicit, "--spec")] if explicit is not None else []
    if not given and environ.get(ENV_SPEC):
        given = [(Path(environ[ENV_SPEC]), f"${ENV_SPEC}")]
    for path, source in given:
        if path.is_file():
            return _from_file(path, source, project, release, allow_unpinned)
        if path.is_dir():
            found = _from_dir(path, source, release)
            if found is not None:
                return found
            raise RecordingError(f"{source} {path}: no pinned recording of release {release or 'any'} there")
        raise RecordingError(f"{source} {path}: no such file or folder")
    tried = []
    for spec_dir, source in ((project_spec_dir(project), "project spec/"), (PACKAGED_DIR, "packaged copy")):
        found = _from_dir(spec_dir, source, release)
        if found is not None:
            return found
        tried.append(str(spec_dir))
    raise RecordingError(
        f"cannot find the TrueNAS {release or SHIPPED_RELEASE} API recording (looked in {', '.join(tried)}); "
        f"pass --spec PATH or set ${ENV_SPEC}"
    )


def resolve_events(methods: Resolved) -> bytes | None:
    """The event registry pinned beside ``methods``, verified; ``None`` when its pin names none."""
    pin, where = methods.pin, methods.pin_path
    if pin is None or where is None or pin.events_file is None:
        return None
    path = pinned_file(where.parent, pin.events_file) or pinned_file(methods.path.parent, pin.events_file)
    if path is None:
        raise RecordingError(f"{where}: names the events recording {pin.events_file}, which is not beside it")
    data = read_recording_bytes(path)
    digest = sha256_bytes(data)
    if digest != pin.events_sha256:
        raise RecordingError(
            f"{path}: sha256 {digest} does not match {where} ({pin.events_sha256}); refusing it"
        )
    return data
