"""``truenas-mcp-gen``: a thin command line over the library calls in ``pipeline``, ``check`` and ``diff``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from truenas_mcp_gen import __version__
from truenas_mcp_gen.errors import GenerationError, Severity
from truenas_mcp_gen.pipeline import DEFAULT_OUT, DEFAULT_OVERRIDES, GenerateConfig, generate
from truenas_mcp_gen.spec import ENV_SPEC, PIN_DIR

spec_option = click.option(
    "--spec",
    type=click.Path(path_type=Path),
    envvar=ENV_SPEC,
    help=f"Recording (truenas-<version>.methods.json) or a folder holding it; default: ${ENV_SPEC}, "
    "$TRUENAS_MCP_SPEC_DIR, then ../shared/spec.",
)
out_option = click.option("--out", type=click.Path(path_type=Path), default=DEFAULT_OUT, show_default=True)
overrides_option = click.option(
    "--overrides", type=click.Path(path_type=Path), default=DEFAULT_OVERRIDES, show_default=True
)


def _progress(label: str, seconds: float) -> None:
    click.echo(f"  {label:<28} {seconds:6.2f}s", err=True)


@click.group()
@click.version_option(__version__, prog_name="truenas-mcp-gen")
def main() -> None:
    """Generate MCP tools from a recorded TrueNAS API."""


@main.command("generate")
@spec_option
@out_option
@overrides_option
@click.option("--strict", is_flag=True, help="Treat schema warnings as errors.")
@click.option("-q", "--quiet", is_flag=True, help="No progress display.")
def generate_command(spec: Path | None, out: Path, overrides: Path, strict: bool, quiet: bool) -> None:
    """Generate the tool package (the output folder is replaced)."""
    config = GenerateConfig(spec=spec, out=out, overrides=overrides, spec_dir=PIN_DIR, strict=strict,
                            progress=None if quiet else _progress)  # fmt: skip
    try:
        result = generate(config)
    except GenerationError as exc:
        raise click.ClickException(str(exc)) from exc
    warnings = [d for d in result.diagnostics if d.severity >= Severity.WARNING]
    for diagnostic in warnings:
        click.echo(str(diagnostic), err=True)
    click.echo(
        f"generated {len(result.surface.tools)} tools ({result.files} files) into {result.out} "
        f"from TrueNAS {result.surface.recording.pin.version}; {len(warnings)} warning(s)"
    )


@main.command("check")
@spec_option
@out_option
@overrides_option
def check_command(spec: Path | None, out: Path, overrides: Path) -> None:
    """Fail if regenerating would change the committed output."""
    from truenas_mcp_gen.check import check

    try:
        drift = check(GenerateConfig(spec=spec, out=out, overrides=overrides))
    except GenerationError as exc:
        raise click.ClickException(str(exc)) from exc
    if drift.clean:
        click.echo(f"{out}: no drift")
        return
    for label, paths in (("missing", drift.added), ("stale", drift.removed), ("changed", drift.changed)):
        for path in paths:
            click.echo(f"{label}: {path}", err=True)
    if drift.first_diff:
        click.echo(drift.first_diff, err=True)
    click.echo(
        f"{out} has drifted from its inputs; run `truenas-mcp-gen generate` and commit the result", err=True
    )
    sys.exit(1)


@main.command("diff")
@click.argument("old", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@overrides_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def diff_command(old: Path, new: Path, overrides: Path, as_json: bool) -> None:
    """Compare the tool surfaces of two recordings; exit status 1 when anything breaking changed."""
    import json

    from truenas_mcp_gen.diff import diff_surfaces, format_text
    from truenas_mcp_gen.pipeline import build_surface

    try:
        surfaces = [
            build_surface(path, overrides, PIN_DIR, pin_if_missing=None, ignore_unknown_overrides=True)
            for path in (old, new)
        ]
    except GenerationError as exc:
        raise click.ClickException(str(exc)) from exc
    result = diff_surfaces(*surfaces)
    click.echo(json.dumps(result.to_json(), indent=2) if as_json else format_text(result))
    sys.exit(1 if result.breaking else 0)


def _register_pull() -> None:
    from truenas_mcp_gen.pull import pull_command

    main.add_command(pull_command, "pull")


_register_pull()


if __name__ == "__main__":
    main()
