"""``truenas-mcp token create`` and ``token inspect``: HS256 tokens for the simple setup, and explanations.

``create`` signs with the server's own ``TRUENAS_MCP_JWT_SECRET_FILE`` and the issuer and audience the server
checks, so a minted token works against that server and nowhere else. ``inspect`` says what a token claims
and, when the server's key settings are present, whether the server would accept it and why not.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import click
import jwt

from truenas_mcp.catalog import Catalog, CatalogNotFound, load_catalog
from truenas_mcp.server.auth import (
    DEFAULT_ISSUER,
    PROFILE_CLAIM,
    TokenError,
    build_verifier,
    mint_token,
    read_secret,
    resource_url,
    scopes_of,
)
from truenas_mcp.server.authz import FULL_ADMIN, READONLY_ADMIN, SCOPE_PREFIX, known_roles
from truenas_mcp.server.profiles import ProfileError, Profiles
from truenas_mcp.server.settings import ServerSettings, SettingsError, load_settings

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
MAX_TTL_SECONDS = 366 * 86_400


def parse_ttl(text: str) -> int:
    """Seconds from ``3600``, ``90m``, ``12h``, ``30d`` or ``2w``."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"--ttl: {text!r} is not a duration such as 3600, 90m, 12h, 30d")
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if not 0 < seconds <= MAX_TTL_SECONDS:
        raise ValueError(f"--ttl: must be between 1 second and 366 days, not {text!r}")
    return seconds


def normalise_scopes(scopes: tuple[str, ...], roles: frozenset[str] | None) -> list[str]:
    """``truenas:<ROLE>`` scopes from ``--scope`` values (the prefix may be left out); unknown roles fail."""
    out = []
    for raw in (part for value in scopes for part in value.replace(",", " ").split()):
        role = raw[len(SCOPE_PREFIX) :] if raw.startswith(SCOPE_PREFIX) else raw
        if roles is not None and role not in roles:
            close = sorted(r for r in roles if role.upper() in r)[:5]
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ValueError(f"--scope: {raw!r} is not a TrueNAS role of this catalog{hint}")
        out.append(SCOPE_PREFIX + role)
    if not out:
        raise ValueError(f"--scope: name at least one role, e.g. {SCOPE_PREFIX}{READONLY_ADMIN}")
    return sorted(set(out))


def client_config(url: str, token: str, name: str = "truenas") -> dict[str, Any]:
    """An ``mcpServers`` entry (Claude Desktop, Cursor, VS Code and most clients read this shape)."""
    return {
        "mcpServers": {name: {"type": "http", "url": url, "headers": {"Authorization": f"Bearer {token}"}}}
    }


def _when(epoch: Any, now: float) -> str:
    if not isinstance(epoch, int | float):
        return "(absent)"
    stamp = datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    delta = int(epoch - now)
    relative = f"in {delta} s" if delta >= 0 else f"{-delta} s ago"
    return f"{stamp} ({relative})"


def explain(token: str, settings: ServerSettings | None, *, now: float | None = None) -> dict[str, Any]:
    """What ``token`` claims, and the server's verdict when ``settings`` name a key (else ``None``)."""
    now = time.time() if now is None else now
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.DecodeError as exc:
        return {"valid": False, "verdict": f"not a JWT ({exc})", "header": None, "claims": None}
    scopes = sorted(scopes_of(claims))
    roles = [s[len(SCOPE_PREFIX) :] for s in scopes if s.startswith(SCOPE_PREFIX)]
    report: dict[str, Any] = {
        "header": header,
        "claims": claims,
        "subject": claims.get("sub"),
        "issuer": claims.get("iss"),
        "audience": claims.get("aud"),
        "roles": roles,
        "full_admin": FULL_ADMIN in roles,
        "profile": claims.get(PROFILE_CLAIM),
        "issued": _when(claims.get("iat"), now),
        "not_before": _when(claims.get("nbf"), now),
        "expires": _when(claims.get("exp"), now),
        "valid": None,
        "verdict": None,
    }
    if settings is not None:
        try:
            verifier = build_verifier(settings)
            asyncio.run(verifier.verify(token))
        except (SettingsError, TokenError) as exc:
            report["valid"] = False
            report["verdict"] = str(exc)
        else:
            report["valid"] = True
            report["verdict"] = "accepted by this server's settings"
    return report


def _settings(config_file: Path | None) -> ServerSettings:
    try:
        return load_settings(config_file)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def token() -> None:
    """Mint and inspect bearer tokens (HS256, the shared-secret setup)."""


@token.command()
@click.option("--sub", "subject", required=True, help="Who the token is for (appears in the audit log).")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    help=f"A TrueNAS role, e.g. {SCOPE_PREFIX}{READONLY_ADMIN}; repeat or separate with spaces.",
)
@click.option("--ttl", default="30d", show_default=True, help="Lifetime: 3600, 90m, 12h, 30d, 2w.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), help="TOML file.")
@click.option("--url", help="MCP URL clients connect to (default: the audience, i.e. the /mcp endpoint).")
@click.option(
    "--profile",
    "profile_name",
    help="Bind the token to a profile (default, readonly, all, x:<toolsets>): refused on wider ones.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def create(
    subject: str,
    scopes: tuple[str, ...],
    ttl: str,
    config_file: Path | None,
    url: str | None,
    profile_name: str | None,
    as_json: bool,
) -> None:
    """Mint an HS256 token signed with TRUENAS_MCP_JWT_SECRET_FILE and print a client config snippet."""
    settings = _settings(config_file)
    if settings.jwt_secret_file is None:
        raise click.ClickException(
            "jwt_secret_file (TRUENAS_MCP_JWT_SECRET_FILE) is not set: tokens can be minted only in the "
            "shared-secret setup; with an identity provider, ask it for tokens"
        )
    try:
        catalog: Catalog | None = load_catalog(settings.catalog)
    except CatalogNotFound:
        catalog = None
    roles = known_roles(catalog) if catalog is not None else None
    profile = None
    if profile_name is not None:
        if catalog is None:
            raise click.ClickException(
                "--profile: the tool catalog is not installed, so profiles are unknown"
            )
        try:
            profile = Profiles(catalog, job_wait_seconds=settings.job_wait_seconds).named(profile_name)
        except ProfileError as exc:
            raise click.ClickException(f"--profile: {exc}") from None
    try:
        seconds = parse_ttl(ttl)
        if seconds > settings.jwt_max_lifetime_seconds:
            raise ValueError(
                f"--ttl: {ttl} is longer than the server accepts ({settings.jwt_max_lifetime_seconds} s, "
                "jwt_max_lifetime_seconds)"
            )
        granted = normalise_scopes(scopes, roles)
        secret = read_secret(settings.jwt_secret_file)
    except (ValueError, SettingsError) as exc:
        raise click.ClickException(str(exc)) from None
    audience = resource_url(settings)
    minted = mint_token(
        secret,
        subject=subject,
        scopes=granted,
        ttl_seconds=seconds,
        issuer=settings.jwt_issuer or DEFAULT_ISSUER,
        audience=audience,
        profile=profile.name if profile is not None else None,
    )
    if url is None and profile is not None:
        url = audience.removesuffix("/mcp") + profile.path
    config = client_config(url or audience, minted)
    if as_json:
        doc = {"token": minted, "scopes": granted, "expires_in": seconds, "client_config": config}
        click.echo(json.dumps(doc, indent=2))
        return
    click.echo(minted)
    click.echo(f"\n# {subject}: {' '.join(granted)}; expires in {seconds} s. Client configuration:", err=True)
    click.echo(json.dumps(config, indent=2))


@token.command()
@click.argument("value", metavar="TOKEN", default="-")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), help="TOML file.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def inspect(value: str, config_file: Path | None, as_json: bool) -> None:
    """Explain TOKEN (or "-": read stdin): claims, roles, times, and whether this server accepts it."""
    text = sys.stdin.read().strip() if value == "-" else value.strip()
    text = text.removeprefix("Bearer ").strip()
    settings = _settings(config_file)
    has_key = settings.jwt_secret_file or settings.jwt_public_key_file or settings.jwks_url
    report = explain(text, settings if has_key else None)
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
    else:
        if report["claims"] is None:
            click.echo(f"invalid: {report['verdict']}")
        else:
            click.echo(f"algorithm   {report['header'].get('alg')}")
            for label, key in [("subject", "subject"), ("issuer", "issuer"), ("audience", "audience")]:
                click.echo(f"{label:<11} {report[key]}")
            click.echo(f"roles       {', '.join(report['roles']) or '(none: the server answers 403)'}")
            click.echo(f"profile     {report['profile'] or '(any)'}")
            for label, key in [("issued", "issued"), ("not before", "not_before"), ("expires", "expires")]:
                click.echo(f"{label:<11} {report[key]}")
            verdict = report["verdict"] or "not verified (no key settings: TRUENAS_MCP_JWT_SECRET_FILE, ...)"
            click.echo(f"verdict     {verdict}")
    if report["valid"] is False:
        sys.exit(1)
