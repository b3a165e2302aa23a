"""The ``truenas-mcp`` command line: a thin layer over library calls."""

from __future__ import annotations

import asyncio
import json
import ssl
from pathlib import Path

import click


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from truenas_mcp.version import describe

    click.echo(describe())
    ctx.exit()


@click.group()
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show this program's version and the TrueNAS release its tools were generated from.",
)
def main() -> None:
    """TrueNAS SCALE API as MCP tools, and a simulator to try them against."""


def _key_from_file(path: Path) -> str:
    key = path.read_text(encoding="utf-8").strip()
    ident, sep, secret = key.partition("-")
    if not sep or not ident.isdigit() or not secret:
        raise click.BadParameter(
            f"{path}: expected one API key of the form <id>-<secret>", param_hint="--api-key-file"
        )
    return key


def _password_from_file(path: Path) -> str:
    # One line; the newline an editor or ``echo`` adds is not part of the password.
    password = path.read_text(encoding="utf-8").removesuffix("\n").removesuffix("\r")
    if not password or "\n" in password:
        raise click.BadParameter(f"{path}: expected one non-empty line", param_hint="--password-file")
    return password


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=0, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port."
)
@click.option(
    "--spec", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="The methods recording."
)
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    help="State file: loaded at start if it exists (else the demo world), saved on exit.",
)
@click.option(
    "--tls", nargs=2, type=click.Path(exists=True, dir_okay=False), metavar="CERT KEY", help="Serve wss://."
)
@click.option(
    "--api-key-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File holding the API key (<id>-<secret>) to install for truenas_admin.",
)
@click.option(
    "--password-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File holding the password to set for truenas_admin (default: the demo's truenas-demo).",
)
@click.option(
    "--insecure-loopback", is_flag=True, help="Treat loopback clients as insecure (API keys get revoked)."
)
@click.option("--faults", "faults_json", help="Faults to inject, as JSON, e.g. '{\"delay_seconds\": 0.5}'.")
@click.option(
    "--coverage",
    is_flag=True,
    help="Print how each method is answered (stateful / static-realistic / not simulated) and exit.",
)
def sim(
    host: str,
    port: int,
    spec: Path | None,
    state: Path | None,
    tls: tuple[str, str] | None,
    api_key_file: Path | None,
    password_file: Path | None,
    insecure_loopback: bool,
    faults_json: str | None,
    coverage: bool,
) -> None:
    """Run the TrueNAS 25.04.2 simulator; prints its URLs and every seeded account's credentials."""
    if coverage:
        from truenas_mcp.sim.engine.coverage import render

        click.echo(render(), nl=False)
        return
    from truenas_mcp.sim.faults import Faults
    from truenas_mcp.sim.recording import RecordingNotFoundError
    from truenas_mcp.sim.server import Simulator, run_until_stopped
    from truenas_mcp.sim.state import World
    from truenas_mcp.sim.world_seed import demo_world

    try:
        faults = Faults.from_dict(json.loads(faults_json)) if faults_json else Faults()
    except (ValueError, TypeError) as exc:
        raise click.BadParameter(str(exc), param_hint="--faults") from exc
    context = None
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.load_cert_chain(tls[0], tls[1])
        except (ssl.SSLError, OSError) as exc:
            raise click.BadParameter(f"cannot load certificate/key: {exc}", param_hint="--tls") from exc
    world = World.load(state) if state is not None and state.exists() else demo_world()
    key = _key_from_file(api_key_file) if api_key_file else None
    password = _password_from_file(password_file) if password_file else None
    try:
        simulator = Simulator(
            spec,
            world,
            insecure_loopback=insecure_loopback,
            faults=faults,
            admin_api_key=key,
            admin_password=password,
        )
    except RecordingNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc

    def announce(line: str) -> None:
        click.echo(line)

    asyncio.run(run_until_stopped(simulator, host, port, ssl=context, state_path=state, announce=announce))


def _register_server_commands() -> None:
    from truenas_mcp.server.cli import serve, tools
    from truenas_mcp.server.token_cli import token

    main.add_command(serve)
    main.add_command(tools)
    main.add_command(token)


_register_server_commands()


def _register_demo_command() -> None:
    from truenas_mcp.demo import demo

    main.add_command(demo)


_register_demo_command()
