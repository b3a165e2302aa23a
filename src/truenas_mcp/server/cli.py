"""``truenas-mcp serve`` and ``truenas-mcp tools``: thin click commands over the server library.

Register them in the ``truenas-mcp`` group with ``main.add_command(serve)`` and ``main.add_command(tools)``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from truenas_mcp.catalog import Catalog, CatalogNotFound, load_catalog
from truenas_mcp.client import ClientConfig, ClientConfigError
from truenas_mcp.server import portable, presentation, redact, summary
from truenas_mcp.server.access import LOCAL
from truenas_mcp.server.authz import RolePolicy, known_roles
from truenas_mcp.server.chain import ToolChain
from truenas_mcp.server.profiles import ProfileError, Profiles
from truenas_mcp.server.settings import ServerSettings, SettingsError, load_settings

try:  # an offline copy of Claude's BPE; the estimate below is used where it is not installed
    from anthropic_tokenizer import count_tokens as _count_tokens
except ImportError:  # pragma: no cover - depends on the platform's wheels
    _count_tokens = None

TOKENIZER = "anthropic-tokenizer" if _count_tokens is not None else "estimate (JSON bytes / 3.5)"


def count_tokens(text: str) -> int:
    """Tokens of ``text``: Claude's tokenizer when available, else ~3.5 bytes per token (JSON-heavy text)."""
    if _count_tokens is not None:
        return int(_count_tokens(text))
    return round(len(text.encode()) / 3.5)


@dataclass(frozen=True, slots=True)
class ToolCost:
    name: str
    safety: str
    tokens: int


def profile_costs(
    catalog: Catalog,
    profile_name: str,
    settings: ServerSettings,
    family: portable.Family | None = None,
) -> list[ToolCost]:
    """What ``tools/list`` of a profile contains, with each definition's token count (compact JSON);
    with ``family``, the definitions as served in that portable schema mode (``?schema=``)."""
    served = portable.PortableTools()

    def shown(definition: dict[str, Any]) -> str:
        if family is not None:
            definition = served.definition(family, definition)
        return json.dumps(definition, separators=(",", ":"), ensure_ascii=False)

    profiles = Profiles(catalog, job_wait_seconds=settings.job_wait_seconds)
    profile = profiles.named(profile_name)
    # What a FULL_ADMIN caller is offered: the same filter chain as tools/list, so excluded tools and the
    # deployment's deny rules are not counted.
    chain = ToolChain(catalog, RolePolicy.from_settings(settings))
    costs = []
    for name in profile.listed:
        tool = catalog.by_name[name]
        if not chain.offers(profile, LOCAL, tool):
            continue
        text = shown(presentation.listed(tool, catalog.by_method))
        costs.append(ToolCost(name, tool.policy.safety, count_tokens(text)))
    for b in profile.builtins:
        text = shown(b.definition)
        costs.append(ToolCost(b.name, "read" if b.read_only else "write", count_tokens(text)))
    return sorted(costs, key=lambda c: c.name)


def check_credential_roles(settings: ServerSettings, catalog: Catalog) -> None:
    """Every role a credential names must be a role of the recording (a typo would never match a token)."""
    known = known_roles(catalog)
    for index, credential in enumerate(settings.credentials):
        unknown = sorted(set(credential.roles) - known)
        if unknown:
            raise ValueError(
                f"credentials[{index}].roles ({credential.name}): unknown TrueNAS role(s) "
                + ", ".join(unknown)
            )


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@click.command()
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), help="TOML file.")
@click.option("--host", help="Address to listen on [TRUENAS_MCP_HOST, default 127.0.0.1].")
@click.option("--port", type=click.IntRange(0, 65535), help="Port [TRUENAS_MCP_PORT, default 8080].")
def serve(config_file: Path | None, host: str | None, port: int | None) -> None:
    """Serve the TrueNAS tools over MCP streamable HTTP (/mcp, /mcp/readonly, /mcp/all, /mcp/x/<toolsets>).

    TrueNAS is reached with TRUENAS_URL, TRUENAS_USERNAME and TRUENAS_API_KEY[_FILE] (single credential), or
    with TRUENAS_URL and one API key per role tier in the `credentials` setting; server settings are
    TRUENAS_MCP_* variables or the [server] table of --config.
    """
    import uvicorn

    from truenas_mcp.client import TrueNASClient
    from truenas_mcp.server.app import build_app, settle_heap
    from truenas_mcp.server.calls import ToolRuntime
    from truenas_mcp.server.credentials import CredentialPool
    from truenas_mcp.server.logs import configure_logging

    try:
        settings = load_settings(config_file, host=host, port=port)
        client_config = ClientConfig.from_env()
        catalog = load_catalog(settings.catalog)
        configure_logging(settings.log_level, settings.log_json)
        if settings.credentials:
            check_credential_roles(settings, catalog)
            if client_config.credential() is not None:
                raise ValueError(
                    "TRUENAS_USERNAME/TRUENAS_API_KEY[_FILE] and the credentials setting are both set; in "
                    "the per-role mode every TrueNAS credential is an entry of credentials "
                    "(TRUENAS_MCP_CREDENTIALS)"
                )
            pool = CredentialPool.per_role(client_config, settings.credentials)
        else:
            credential = client_config.credential()
            if credential is not None:
                redact.register_secret(credential.secret.get_secret_value())
            pool = CredentialPool.single(TrueNASClient(client_config))
        runtime = ToolRuntime(catalog, pool, settings)
        app = build_app(runtime)
    except (SettingsError, ClientConfigError, CatalogNotFound, ValueError) as exc:
        _fail(str(exc))
        return
    settle_heap()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds) or None,
        lifespan="on",
        ssl_certfile=settings.tls_cert_file,
        ssl_keyfile=settings.tls_key_file,
        # Behind a reverse proxy, trust its X-Forwarded-* headers only when it is named explicitly.
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or None,
    )


@click.command()
@click.option(
    "--profile",
    "profile_name",
    default="default",
    show_default=True,
    help="default, readonly, all, or x:<toolset>[,<toolset>] (e.g. x:storage,sharing).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--summary",
    "as_summary",
    is_flag=True,
    help="Tool counts and token costs of each profile, and every tool not served with the reason.",
)
@click.option(
    "--schema",
    "family",
    type=click.Choice(portable.FAMILIES),
    default=None,
    help="Count the definitions as served in this portable schema mode (the URL's ?schema=).",
)
def tools(profile_name: str, as_json: bool, as_summary: bool, family: portable.Family | None) -> None:
    """List the tools a profile exposes and what their definitions cost in tokens."""
    try:
        settings = load_settings()
        catalog = load_catalog(settings.catalog)
        if as_summary:
            _summary(catalog, settings, as_json)
            return
        costs = profile_costs(catalog, profile_name, settings, family)
    except (SettingsError, CatalogNotFound, ProfileError) as exc:
        _fail(str(exc))
        return
    total = sum(c.tokens for c in costs)
    if as_json:
        doc: dict[str, Any] = {
            "profile": profile_name,
            "schema": family,
            "tokenizer": TOKENIZER,
            "tool_count": len(costs),
            "total_tokens": total,
            "tools": [{"name": c.name, "safety": c.safety, "tokens": c.tokens} for c in costs],
        }
        click.echo(json.dumps(doc, indent=2))
        return
    width = max((len(c.name) for c in costs), default=4)
    for c in costs:
        click.echo(f"{c.name:<{width}}  {c.safety:<11}  {c.tokens:>7}")
    click.echo(f"{len(costs)} tools, {total} tokens of definitions ({TOKENIZER})")


def _summary(catalog: Catalog, settings: ServerSettings, as_json: bool) -> None:
    counted = summary.summarize(catalog, settings)
    tokens = {
        p.name: sum(c.tokens for c in profile_costs(catalog, p.name, settings)) for p in counted.profiles
    }
    if not as_json:
        click.echo(summary.render(counted, tokens))
        click.echo(f"(tokens of each tool list by {TOKENIZER}, compact JSON; as seen with FULL_ADMIN)")
        return
    doc = {
        "truenas_version": counted.truenas_version,
        "methods": counted.methods,
        "namespaces": counted.namespaces,
        "served": counted.served,
        "tokenizer": TOKENIZER,
        "profiles": [
            {
                "name": p.name,
                "path": p.path,
                "tools": p.tools,
                "generated": p.catalog_tools,
                "server": p.server_tools,
                "tokens": tokens[p.name],
            }
            for p in counted.profiles
        ],
        "not_served": [{"tool": n.tool, "method": n.method, "reason": n.reason} for n in counted.not_served],
    }
    click.echo(json.dumps(doc, indent=2))
