"""``pull``: record a live TrueNAS box's ``core.get_methods`` answer and pin it by sha256.

The recording is written exactly as the project's reference recordings are (sorted keys, one-space indent,
trailing newline) from the answer as received, without ejson decoding, so pulling the same box twice gives
the same bytes and the pin only changes when the API does. Two things make a recording silently incomplete
and are warned about: a session that is not FULL_ADMIN (the server lists only what the caller may call) and a
method count lower than the previous pin's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from truenas_mcp.client import ClientConfig, NotAuthorizedError, TrueNASClient, TrueNASError
from truenas_mcp_gen import spec
from truenas_mcp_gen.errors import GenerationError

_VERSION_PREFIXES = ("TrueNAS-SCALE-", "TrueNAS-")
_SAFE_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]*$")
_PIN_NAME = re.compile(r"^truenas-(?P<version>.+)\.pin\.json$")
DEFAULT_TIMEOUT = 300.0  # core.get_methods builds every schema on the box; it can take a while

Progress = Callable[[str], None]


@dataclass(frozen=True)
class PullResult:
    path: Path
    pin_path: Path
    pin: spec.Pin
    previous: spec.Pin | None
    warnings: tuple[str, ...]


def version_from(system_version: Any) -> str:
    """``TrueNAS-SCALE-25.04.2`` → ``25.04.2``; refuses anything unusable in a file name."""
    if not isinstance(system_version, str):
        raise GenerationError(f"system.version answered {system_version!r}, expected a string")
    version = system_version
    for prefix in _VERSION_PREFIXES:
        if version.startswith(prefix):
            version = version[len(prefix) :]
            break
    if not _SAFE_VERSION.match(version):
        raise GenerationError(f"system.version answered {system_version!r}: not a usable version string")
    return version


def render_recording(methods: Mapping[str, Any]) -> bytes:
    """The canonical bytes of a recording (what the server-side dump of the reference files produces)."""
    return (json.dumps(methods, sort_keys=True, indent=1) + "\n").encode("ascii")


def previous_pin(spec_dir: Path, version: str) -> spec.Pin | None:
    """The pin of the same version, else the most recently pulled pin of any version in ``spec_dir``."""
    same = spec.read_pin(spec_dir, version)
    if same is not None or not spec_dir.is_dir():
        return same
    pins = []
    for entry in spec_dir.iterdir():
        match = _PIN_NAME.match(entry.name)
        if match:
            pin = spec.read_pin(spec_dir, match["version"])
            if pin is not None:
                pins.append(pin)
    pins.sort(key=lambda p: (p.pulled_at or "", p.version))
    return pins[-1] if pins else None


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


async def _system_version(client: TrueNASClient, timeout: float) -> Any:
    """``system.version``; an API key without FULL_ADMIN may not call it, but ``system.info`` (READONLY_ADMIN)
    carries the same string."""
    try:
        return await client.call("system.version", timeout=timeout)
    except NotAuthorizedError:
        info = await client.call("system.info", timeout=timeout)
        return info.get("version") if isinstance(info, dict) else None


async def pull(
    config: ClientConfig,
    out_dir: Path,
    *,
    progress: Progress | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    now: Callable[[], dt.datetime] | None = None,
) -> PullResult:
    """Log in, record ``core.get_methods`` into ``out_dir`` and write/update its pin."""
    say = progress or (lambda _message: None)
    warnings: list[str] = []
    say(f"connecting to {config.ws_url}")
    try:
        async with TrueNASClient(config) as client:
            roles = sorted(client.roles)
            say(f"logged in as {config.username or '(anonymous)'} (roles: {', '.join(roles) or 'none'})")
            version = version_from(await _system_version(client, timeout))
            say(f"TrueNAS {version}: fetching core.get_methods")
            methods = await client.call("core.get_methods", timeout=timeout, decode=False)
    except TrueNASError as exc:
        raise GenerationError(f"pull from {config.ws_url} failed: {exc}") from exc
    if not isinstance(methods, dict) or not methods:
        raise GenerationError(
            f"core.get_methods answered {type(methods).__name__}, expected a non-empty object"
        )
    if "FULL_ADMIN" not in roles:
        warnings.append(
            f"user {config.username!r} is not FULL_ADMIN (roles: {', '.join(roles) or 'none'}): "
            "core.get_methods lists only the methods this session may call, so the recording is incomplete"
        )
    previous = previous_pin(out_dir, version)
    if previous is not None and len(methods) < previous.method_count:
        warnings.append(
            f"method count fell from {previous.method_count} (pin of {previous.version}) to {len(methods)}"
        )

    data = render_recording(methods)
    path = out_dir / spec.recording_name(version)
    _write_atomically(path, data)
    say(f"wrote {path} ({len(methods)} methods, {len(data)} bytes)")
    pulled_at = (now or (lambda: dt.datetime.now(dt.UTC)))().astimezone(dt.UTC)
    pin = spec.Pin(
        version=version,
        file=path.name,
        sha256=spec.sha256_file(path),
        size=len(data),
        method_count=len(methods),
        pulled_at=pulled_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        pulled_by=config.username,
        roles=tuple(roles),
    )
    pin_path = spec.write_pin(out_dir, pin)
    say(f"pinned {pin.file} sha256 {pin.sha256} in {pin_path}")
    return PullResult(path=path, pin_path=pin_path, pin=pin, previous=previous, warnings=tuple(warnings))


def current_api_url(url: str) -> str:
    """A pull records the box's own release, so a URL without a path means ``/api/current`` (the client's
    default, the installed tools' versioned API, would record the older API the box adapts to)."""
    text = url.strip()
    with_scheme = text if "://" in text else f"wss://{text}"
    return text if urlsplit(with_scheme).path not in ("", "/") else f"{text.rstrip('/')}/api/current"


_CREDENTIAL_VARS = ("TRUENAS_API_KEY", "TRUENAS_API_KEY_FILE", "TRUENAS_PASSWORD", "TRUENAS_PASSWORD_FILE")
_FILE = click.Path(path_type=Path, dir_okay=False)


@click.command("pull")
@click.option(
    "--url", envvar="TRUENAS_URL", required=True,
    help="HOST or wss://HOST[/PATH]; without a path /api/current, the box's own API  [env TRUENAS_URL]",
)  # fmt: skip
@click.option(
    "--username", envvar="TRUENAS_USERNAME", required=True, help="API key owner  [env TRUENAS_USERNAME]"
)
@click.option("--api-key-file", type=_FILE, help="file holding the API key (or env TRUENAS_API_KEY[_FILE])")
@click.option(
    "--password-file", type=_FILE, help="file holding the password (or env TRUENAS_PASSWORD[_FILE])"
)
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("spec"))
@click.option("--ca-bundle", type=_FILE, help="PEM bundle of the CA that signed the box's certificate")
@click.option("--no-verify-tls", is_flag=True, help="do not verify the TLS certificate (unsafe)")
@click.option(
    "--allow-insecure-transport",
    is_flag=True,
    help="LAB ONLY: allow plain ws:// to a non-loopback host (TrueNAS revokes API keys sent that way)",
)
@click.option("--timeout", type=click.FloatRange(min=1), default=DEFAULT_TIMEOUT, show_default=True)
def pull_command(
    url: str,
    username: str,
    api_key_file: Path | None,
    password_file: Path | None,
    out_dir: Path,
    ca_bundle: Path | None,
    no_verify_tls: bool,
    allow_insecure_transport: bool,
    timeout: float,
) -> None:
    """Record a live box's core.get_methods answer into OUT and pin it by sha256.

    The secret is read from a file or an environment variable, never from the command line.
    """
    env = dict(os.environ)
    url = current_api_url(url)
    if api_key_file or password_file:  # an explicit file replaces whatever the environment offers
        for var in _CREDENTIAL_VARS:
            env.pop(var, None)
    try:
        config = ClientConfig.from_env(
            env,
            url=url,
            username=username,
            api_key_file=api_key_file,
            password_file=password_file,
            ca_bundle=ca_bundle,
            verify_tls=False if no_verify_tls else None,
            allow_insecure_transport=True if allow_insecure_transport else None,
            call_timeout=timeout,
        )
        if config.credential() is None:
            raise click.UsageError("no credential: give --api-key-file or set TRUENAS_API_KEY(_FILE)")
        result = asyncio.run(
            pull(config, out_dir, progress=lambda m: click.echo(m, err=True), timeout=timeout)
        )
    except (TrueNASError, GenerationError) as exc:
        raise click.ClickException(str(exc)) from exc
    for warning in result.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
