"""``truenas-mcp demo``: the simulator with its demo world and the MCP server in one process, on loopback.

What a newcomer runs first. It starts the TrueNAS simulator (seeded demo world), connects the server's
TrueNAS client to it, serves MCP over streamable HTTP with bearer authentication on (as in production),
mints a FULL_ADMIN token with a random HS256 secret, and prints the URL, the token and configurations for
Cursor, Claude Code, VS Code, Claude Desktop and the MCP Inspector that can be pasted as they are. It then
serves until Ctrl-C or SIGTERM.

The secret, the Inspector's configuration file and (with ``--state-dir``) the simulated world live in a
state folder: a temporary one removed on exit, or ``--state-dir`` kept between runs so a token printed
once keeps working after a restart on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import click

from truenas_mcp.server.settings import ServerSettings, SettingsError, is_loopback, load_settings

SERVER_NAME = "truenas"
DEMO_SUBJECT = "demo"
DEMO_SCOPES = ("truenas:FULL_ADMIN",)
DEFAULT_TTL_SECONDS = 24 * 3600
# Pinned so that a printed command behaves the same tomorrow as in the tests that run it today.
INSPECTOR_PACKAGE = "@modelcontextprotocol/inspector@2.12.0"
MCP_REMOTE_PACKAGE = "mcp-remote@0.15.1"
SECRET_FILE = "jwt.secret"
WORLD_FILE = "world.json"
INSPECTOR_FILE = "inspector.json"
READY_LINE = "Ready. Serving until Ctrl-C."
_SHUTDOWN_GRACE_SECONDS = 3


class DemoError(Exception):
    """The demo cannot start; the message names the option or setting at fault."""


# Client configurations ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Snippet:
    """One client's configuration: ``text`` goes where ``where`` says, as it is."""

    key: str  # stable identifier: cursor, claude_code, vscode, claude_desktop, inspector
    client: str
    where: str
    kind: Literal["json", "shell"]
    text: str


def _json(value: Any) -> str:
    return json.dumps(value, indent=2)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def inspector_config(url: str, token: str) -> dict[str, Any]:
    """The MCP Inspector's ``--config`` file: one streamable-HTTP server with the bearer header."""
    return {"mcpServers": {SERVER_NAME: {"type": "streamable-http", "url": url, "headers": _bearer(token)}}}


def client_snippets(url: str, token: str, inspector_file: Path) -> list[Snippet]:
    """Ready-to-paste configurations for the clients the README documents (see docs/clients.md)."""
    cursor = {"mcpServers": {SERVER_NAME: {"url": url, "headers": _bearer(token)}}}
    vscode = {"servers": {SERVER_NAME: {"type": "http", "url": url, "headers": _bearer(token)}}}
    # Claude Desktop's own remote connectors are added in its settings and reach the server from Anthropic's
    # cloud with OAuth, which a loopback demo cannot offer; the mcp-remote bridge runs locally and sends the
    # header. The header travels in an environment variable: a space inside `args` breaks on some platforms.
    desktop = {
        "mcpServers": {
            SERVER_NAME: {
                "command": "npx",
                "args": ["-y", MCP_REMOTE_PACKAGE, url, "--header", "Authorization:${TRUENAS_MCP_AUTH}"],
                "env": {"TRUENAS_MCP_AUTH": f"Bearer {token}"},
            }
        }
    }
    claude_code = shlex.join(
        [
            "claude",
            "mcp",
            "add",
            "--transport",
            "http",
            SERVER_NAME,
            url,
            "--header",
            f"Authorization: Bearer {token}",
        ]
    )
    inspector = [
        "npx",
        "-y",
        INSPECTOR_PACKAGE,
        "--cli",
        "--config",
        str(inspector_file),
        "--server",
        SERVER_NAME,
        "--method",
        "tools/list",
    ]
    web = ["npx", "-y", INSPECTOR_PACKAGE, "--config", str(inspector_file), "--server", SERVER_NAME]
    return [
        Snippet(
            "cursor", "Cursor", "~/.cursor/mcp.json (or .cursor/mcp.json in a project)", "json", _json(cursor)
        ),
        Snippet("claude_code", "Claude Code", "a shell", "shell", claude_code),
        Snippet("vscode", "VS Code", ".vscode/mcp.json in a workspace", "json", _json(vscode)),
        Snippet(
            "claude_desktop",
            "Claude Desktop",
            "claude_desktop_config.json (Settings > Developer > Edit Config), then restart Claude Desktop",
            "json",
            _json(desktop),
        ),
        Snippet(
            "inspector",
            "MCP Inspector",
            f"a shell: the first line lists the tools, the second opens the web UI ({inspector_file} is "
            "written for you)",
            "shell",
            shlex.join(inspector) + "\n" + shlex.join(web),
        ),
    ]


# Announcement -------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DemoInfo:
    """What the demo prints: everything a client or a script needs to connect."""

    url: str
    token: str
    expires_in: int
    simulator_url: str
    simulator_username: str
    simulator_api_key: str
    state_dir: Path
    inspector_file: Path

    @property
    def base_url(self) -> str:
        return self.url.removesuffix("/mcp")

    def urls(self) -> dict[str, str]:
        base = self.base_url
        return {
            "default": self.url,
            "readonly": f"{base}/mcp/readonly",
            "toolsets": f"{base}/mcp/x/storage,sharing",
            "all": f"{base}/mcp/all",
            "health": f"{base}/healthz",
        }

    def snippets(self) -> list[Snippet]:
        return client_snippets(self.url, self.token, self.inspector_file)

    def as_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "urls": self.urls(),
            "token": self.token,
            "expires_in": self.expires_in,
            "simulator": {
                "url": self.simulator_url,
                "username": self.simulator_username,
                "api_key": self.simulator_api_key,
            },
            "state_dir": str(self.state_dir),
            "clients": {s.key: s.text for s in self.snippets()},
        }

    def render(self) -> str:
        """The human announcement. Each client's snippet sits under its own ``== Client ==`` heading."""
        urls = self.urls()
        lines = [
            "TrueNAS MCP demo: the TrueNAS 25.04.2 simulator (demo world) and the MCP server, on loopback.",
            "",
            f"  MCP URL         {urls['default']}",
            f"  read-only URL   {urls['readonly']}",
            f"  toolsets URL    {urls['toolsets']}   (any of storage, sharing, apps, network, system, ...)",
            f"  every tool      {urls['all']}",
            f"  token           {self.token}",
            f"                  (FULL_ADMIN, expires in {self.expires_in // 3600} h; send it as "
            "'Authorization: Bearer <token>')",
            f"  simulator       {self.simulator_url}  user {self.simulator_username}  "
            f"API key {self.simulator_api_key}",
            f"  state           {self.state_dir}",
        ]
        for snippet in self.snippets():
            lines += ["", f"== {snippet.client} ==  {snippet.where}", snippet.text]
        lines += ["", READY_LINE]
        return "\n".join(lines)


# Running ------------------------------------------------------------------------------------------------
def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _bind(host: str, port: int, what: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # so asyncio sets TCP_NODELAY
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise DemoError(f"{what}: cannot listen on {host}:{port} ({exc.strerror})") from None
    return sock


@contextlib.contextmanager
def state_folder(path: Path | None) -> Iterator[Path]:
    """``path`` (created private if missing, kept), or a private temporary folder removed afterwards."""
    if path is None:
        folder = Path(tempfile.mkdtemp(prefix="truenas-mcp-demo-"))
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    if path.exists() and not path.is_dir():
        raise DemoError(f"--state-dir: {path} exists and is not a folder")
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    yield path


def ensure_secret(folder: Path) -> Path:
    """The folder's HS256 secret, created (48 random bytes, owner-only) on first use."""
    path = folder / SECRET_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_urlsafe(48) + "\n")
    return path


def demo_settings(host: str, port: int, folder: Path) -> ServerSettings:
    """Server settings of the demo: the environment's ``TRUENAS_MCP_*`` values, with the demo's own
    address, bearer authentication by the folder's secret, and the audit log kept in the folder."""
    # One local user whose every CLI invocation opens a session (several requests): the per-caller rate
    # limit, meant for shared deployments, would refuse a scripted tour. The environment can still set it.
    rate = None if os.environ.get("TRUENAS_MCP_RATE_LIMIT_PER_MINUTE") else 0
    # The demo mints its own tokens, so it is their issuer. Naming it by URL keeps the RFC 9728 metadata
    # (which lists the issuer under authorization_servers) a list of URLs, as OAuth-aware clients such as
    # the mcp-remote bridge require; the default issuer name "truenas-mcp" is not one.
    issuer = None if os.environ.get("TRUENAS_MCP_JWT_ISSUER") else f"http://{_netloc(host, port)}"
    try:
        return load_settings(
            host=host,
            port=port,
            rate_limit_per_minute=rate,
            jwt_issuer=issuer,
            auth="jwt",
            jwt_secret_file=ensure_secret(folder),
            audit_log=str(folder / "audit.log"),
            log_json=False,
            log_level=os.environ.get("TRUENAS_MCP_LOG_LEVEL", "WARNING"),
        )
    except SettingsError as exc:
        raise DemoError(str(exc)) from None


def _mcp_server(app: Any) -> Any:
    """uvicorn for the MCP app, started with ``startup()`` so the demo keeps SIGINT/SIGTERM to itself
    (``serve()`` would install its own handlers and re-raise the signal after shutdown)."""
    import uvicorn

    config = uvicorn.Config(
        app,
        lifespan="on",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=_SHUTDOWN_GRACE_SECONDS,
    )
    config.load()
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)
    return server


@contextlib.asynccontextmanager
async def run_demo(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    simulator_port: int = 0,
    state_dir: Path | None = None,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
) -> AsyncIterator[DemoInfo]:
    """Run the simulator and the MCP server until the context exits; yields what to print.

    With ``state_dir`` the simulated world is loaded from it (when saved before) and saved back on a
    normal exit; the token secret there is reused, so earlier tokens for the same port stay valid.
    """
    from truenas_mcp.catalog import CatalogNotFound, load_catalog
    from truenas_mcp.client import ClientConfig, TrueNASClient
    from truenas_mcp.server.app import build_app
    from truenas_mcp.server.auth import DEFAULT_ISSUER, mint_token, read_secret, resource_url
    from truenas_mcp.server.calls import ToolRuntime
    from truenas_mcp.server.logs import configure_logging
    from truenas_mcp.sim.recording import RecordingNotFoundError
    from truenas_mcp.sim.server import Simulator
    from truenas_mcp.sim.state import World
    from truenas_mcp.sim.world_seed import demo_world

    if not is_loopback(host):
        raise DemoError(
            f"--host: the demo serves a FULL_ADMIN token and listens on loopback only, not {host!r}; "
            "use `truenas-mcp serve` (see deploy/README.md) to serve other hosts"
        )
    try:
        catalog = load_catalog()
    except CatalogNotFound as exc:
        raise DemoError(str(exc)) from None
    with state_folder(state_dir) as folder:
        world_file = folder / WORLD_FILE
        try:
            world = World.load(world_file) if state_dir is not None and world_file.exists() else demo_world()
            simulator = Simulator(world=world)
        except (RecordingNotFoundError, ValueError) as exc:
            raise DemoError(str(exc)) from None
        async with contextlib.AsyncExitStack() as stack:  # unwinds in reverse: server, client, simulator
            sock = _bind(host, port, "--port")
            stack.callback(sock.close)
            settings = demo_settings(host, sock.getsockname()[1], folder)
            configure_logging(settings.log_level, settings.log_json)
            try:
                sim = await stack.enter_async_context(simulator.serve(host, simulator_port))
            except OSError as exc:
                raise DemoError(f"--sim-port: {exc.strerror or exc}") from None
            config = ClientConfig.build(url=sim.url, username=sim.admin_username, api_key=sim.admin_api_key)
            truenas = await stack.enter_async_context(TrueNASClient(config))
            server = _mcp_server(build_app(ToolRuntime(catalog, truenas, settings), own_client=False))
            try:
                await server.startup(sockets=[sock])
            except SystemExit:  # uvicorn's way of saying the app's startup failed (logged above)
                raise DemoError("the MCP server failed to start (see the log above)") from None
            stack.push_async_callback(server.shutdown, [sock])

            url = resource_url(settings)
            token = mint_token(
                read_secret(ensure_secret(folder)),  # the file demo_settings gave the verifier
                subject=DEMO_SUBJECT,
                scopes=DEMO_SCOPES,
                ttl_seconds=ttl_seconds,
                issuer=settings.jwt_issuer or DEFAULT_ISSUER,
                audience=url,
            )
            inspector_file = folder / INSPECTOR_FILE
            inspector_file.write_text(_json(inspector_config(url, token)) + "\n", encoding="utf-8")
            inspector_file.chmod(0o600)
            yield DemoInfo(
                url=url,
                token=token,
                expires_in=ttl_seconds,
                simulator_url=sim.url,
                simulator_username=sim.admin_username,
                simulator_api_key=sim.admin_api_key,
                state_dir=folder,
                inspector_file=inspector_file,
            )
        if state_dir is not None:
            simulator.world.save(world_file)


async def serve_until_stopped(
    announce: Callable[[DemoInfo], None],
    host: str = "127.0.0.1",
    port: int = 0,
    **options: Any,
) -> None:
    """``run_demo`` until SIGINT or SIGTERM; ``announce`` prints once everything is ready."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        async with run_demo(host, port, **options) as info:
            announce(info)
            await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(sig)


def _ttl(ctx: click.Context, param: click.Parameter, value: str) -> int:
    from truenas_mcp.server.token_cli import parse_ttl

    try:
        return parse_ttl(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc).removeprefix("--ttl: ")) from None


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to listen on.")
@click.option(
    "--port",
    default=0,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="MCP port; 0 picks a free one.",
)
@click.option(
    "--sim-port",
    default=0,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Simulator port; 0 picks a free one.",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the token secret and the simulated world here between runs (default: a temporary folder).",
)
@click.option(
    "--ttl", default="24h", show_default=True, callback=_ttl, help="Token lifetime: 3600, 90m, 12h, 7d."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of the text.")
def demo(host: str, port: int, sim_port: int, state_dir: Path | None, ttl: int, as_json: bool) -> None:
    """Try it: the simulator with its demo world and the MCP server on loopback, with a token and
    ready-to-paste configurations for Cursor, Claude Code, VS Code, Claude Desktop and the MCP Inspector."""

    def announce(info: DemoInfo) -> None:
        click.echo(json.dumps(info.as_json()) if as_json else info.render())

    try:
        asyncio.run(
            serve_until_stopped(
                announce, host, port, simulator_port=sim_port, state_dir=state_dir, ttl_seconds=ttl
            )
        )
    except DemoError as exc:
        raise click.ClickException(str(exc)) from None
