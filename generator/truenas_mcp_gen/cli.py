"""``truenas-mcp-gen``: a thin command line over the library calls in ``pipeline``, ``check`` and ``diff``.

Every path defaults to the project folder (``--project``, default: the working directory), never to where
the generator is installed: ``spec/`` for recordings and pins, ``overrides/`` (else the reviewed overrides
shipped with the generator) and ``generated/`` for the output.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from truenas_mcp.recordings import ENV_SPEC
from truenas_mcp_gen import __version__
from truenas_mcp_gen.errors import Diagnostic, GenerationError, Severity
from truenas_mcp_gen.pipeline import GenerateConfig, generate

_PATH = click.Path(path_type=Path)
project_option = click.option(
    "--project", type=click.Path(path_type=Path, file_okay=False), default=None,
    help="Project folder holding spec/, overrides/ and generated/ (default: the working directory).",
)  # fmt: skip
spec_option = click.option(
    "--spec", type=_PATH, envvar=ENV_SPEC,
    help=f"Recording (any name; .json, .json.xz or .json.gz) or a folder of pins and recordings "
    f"[env {ENV_SPEC}]; default: the project's spec/, then the copy shipped with truenas-mcp.",
)  # fmt: skip
release_option = click.option(
    "--release", default=None,
    help="TrueNAS release of a recording no pin vouches for yet (e.g. 25.10.6); its pin is written to spec/.",
)  # fmt: skip
out_option = click.option(
    "--out", type=_PATH, default=None, help="Output folder (default: PROJECT/generated)."
)
overrides_option = click.option(
    "--overrides", type=_PATH, default=None,
    help="Overrides folder (default: PROJECT/overrides, else the reviewed ones shipped with the generator).",
)  # fmt: skip
strict_option = click.option("--strict", is_flag=True, help="Treat warnings as errors.")


def _progress(label: str, seconds: float) -> None:
    click.echo(f"  {label:<28} {seconds:6.2f}s", err=True)


def _report(diagnostics: tuple[Diagnostic, ...], strict: bool) -> int:
    """Print warnings and errors; return how many make the run fail."""
    shown = [d for d in diagnostics if d.severity >= Severity.WARNING]
    for diagnostic in shown:
        click.echo(str(diagnostic), err=True)
    floor = Severity.WARNING if strict else Severity.ERROR
    return sum(1 for d in shown if d.severity >= floor)


@click.group()
@click.version_option(__version__, prog_name="truenas-mcp-gen")
def main() -> None:
    """Generate MCP tools from a recorded TrueNAS API."""


@main.command("generate")
@project_option
@spec_option
@release_option
@out_option
@overrides_option
@strict_option
@click.option("-q", "--quiet", is_flag=True, help="No progress display.")
def generate_command(
    project: Path | None, spec: Path | None, release: str | None, out: Path | None, overrides: Path | None,
    strict: bool, quiet: bool,
) -> None:  # fmt: skip
    """Generate the tool package (an output folder the generator made is replaced whole).

    Exit status 1 when a diagnostic is an error (with --strict: a warning); nothing is written then.
    """
    config = GenerateConfig(project=project, spec=spec, release=release, out=out, overrides=overrides,
                            strict=strict, progress=None if quiet else _progress)  # fmt: skip
    try:
        result = generate(config)
    except GenerationError as exc:
        raise click.ClickException(str(exc)) from exc
    failing = _report(result.diagnostics, strict)
    unreviewed = [t.method for t in result.surface.tools if not t.policy.reviewed]
    for method in unreviewed:
        click.echo(f"unreviewed policy (verb rules applied): {method}", err=True)
    warnings = sum(1 for d in result.diagnostics if d.severity == Severity.WARNING)
    errors = sum(1 for d in result.diagnostics if d.severity >= Severity.ERROR)
    counts = f"{errors} error(s), {warnings} warning(s), {len(unreviewed)} method(s) with unreviewed policy"
    if not result.written:
        click.echo(f"nothing written to {result.out}: {failing} failing diagnostic(s); {counts}", err=True)
        sys.exit(1)
    click.echo(
        f"generated {len(result.surface.tools)} tools ({result.files} files) into {result.out} "
        f"from TrueNAS {result.surface.recording.pin.version}; {counts}"
    )


@main.command("check")
@project_option
@spec_option
@release_option
@out_option
@overrides_option
def check_command(
    project: Path | None, spec: Path | None, release: str | None, out: Path | None, overrides: Path | None
) -> None:
    """Fail if regenerating would change the committed output, or if generation reports an error."""
    from truenas_mcp_gen.check import check

    config = GenerateConfig(project=project, spec=spec, release=release, out=out, overrides=overrides)
    try:
        drift = check(config)
    except GenerationError as exc:
        raise click.ClickException(str(exc)) from exc
    target = config.out_dir
    if drift.clean:
        click.echo(f"{target}: no drift")
        return
    for diagnostic in drift.errors:
        click.echo(str(diagnostic), err=True)
    for label, paths in (("missing", drift.added), ("stale", drift.removed), ("changed", drift.changed)):
        for path in paths:
            click.echo(f"{label}: {path}", err=True)
    if drift.first_diff:
        click.echo(drift.first_diff, err=True)
    if drift.errors:
        click.echo(f"generation reports {len(drift.errors)} error(s)", err=True)
    else:
        click.echo(
            f"{target} has drifted from its inputs; run `truenas-mcp-gen generate` and commit the result",
            err=True,
        )
    sys.exit(1)


@main.command("diff")
@click.argument("old", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@project_option
@click.option("--old-release", default=None, help="Release of OLD when no pin vouches for it.")
@click.option("--new-release", default=None, help="Release of NEW when no pin vouches for it.")
@overrides_option
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True
)
@click.option("--output", type=_PATH, default=None, help="Write the report to this file instead of stdout.")
def diff_command(
    old: Path, new: Path, project: Path | None, old_release: str | None, new_release: str | None,
    overrides: Path | None, fmt: str, output: Path | None,
) -> None:  # fmt: skip
    """Compare the tool surfaces of two recordings; exit status 1 when anything breaking changed."""
    import json

    from truenas_mcp_gen.diff import diff_surfaces, format_markdown, format_text
    from truenas_mcp_gen.pipeline import build_surface

    try:
        surfaces = [
            build_surface(
                path,
                overrides,
                project=project,
                release=release,
                pin_if_missing=None,
                ignore_unknown_overrides=True,
            )
            for path, release in ((old, old_release), (new, new_release))
        ]
    except GenerationError as exc:
        raise click.ClickException(str(exc)) from exc
    result = diff_surfaces(*surfaces)
    if fmt == "json":
        text = json.dumps(result.to_json(), indent=2) + "\n"
    elif fmt == "markdown":
        text = format_markdown(result)
    else:
        text = format_text(result) + "\n"
    if output is not None:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
    sys.exit(1 if result.breaking else 0)


def _register_pull() -> None:
    from truenas_mcp_gen.pull import pull_command

    main.add_command(pull_command, "pull")


_register_pull()


if __name__ == "__main__":
    main()
