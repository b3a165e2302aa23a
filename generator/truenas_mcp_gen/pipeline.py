"""``generate(config) -> result``: the one library call behind the CLI, the tests and the ``check`` stage."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema_rs
from jsonschema import Draft202012Validator

from truenas_mcp.recordings import project_spec_dir
from truenas_mcp_gen import __version__, compose, fmt, models, render
from truenas_mcp_gen.errors import Diagnostic, GenerationError, Severity
from truenas_mcp_gen.ir import Method, Tool, build_methods
from truenas_mcp_gen.overrides import load_overrides
from truenas_mcp_gen.schema_doc import escape_pointer
from truenas_mcp_gen.spec import Pin, Recording, load_recording, write_pin

Progress = Callable[[str, float], None]
MARKER = ".truenas-mcp-gen"
# Reviewed overrides ship with the generator (pyproject force-include) so a project folder without its own
# still gets the reviewed policy; in a checkout they sit at the top level.
_BUNDLED_OVERRIDES = Path(__file__).resolve().parent / "overrides"
PACKAGED_OVERRIDES = (
    _BUNDLED_OVERRIDES if _BUNDLED_OVERRIDES.is_dir() else Path(__file__).resolve().parents[2] / "overrides"
)


@dataclass(frozen=True)
class GenerateConfig:
    """Configuration as given; paths left ``None`` resolve from ``project`` (default: working directory)."""

    project: Path | None = None
    spec: Path | None = None
    release: str | None = None
    out: Path | None = None
    overrides: Path | None = None
    strict: bool = False
    pin_if_missing: bool | None = True
    progress: Progress | None = None

    @property
    def project_dir(self) -> Path:
        return self.project if self.project is not None else Path.cwd()

    @property
    def out_dir(self) -> Path:
        return self.out if self.out is not None else self.project_dir / "generated"

    @property
    def overrides_dir(self) -> Path:
        return self.overrides if self.overrides is not None else project_overrides(self.project_dir)


def project_overrides(project: Path) -> Path:
    """The project's ``overrides/`` when it has one, else the reviewed ones shipped with the generator."""
    own = project / "overrides"
    return own if (own / "policy.toml").is_file() else PACKAGED_OVERRIDES


@dataclass(frozen=True)
class Surface:
    """The tool surface of one recording: what ``generate`` renders and ``diff`` compares."""

    recording: Recording
    methods: tuple[Method, ...]
    tools: tuple[Tool, ...]
    diagnostics: tuple[Diagnostic, ...]


@dataclass(frozen=True)
class GenerateResult:
    surface: Surface
    out: Path
    files: int
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    written: bool = True

    @property
    def worst(self) -> Severity | None:
        return max((d.severity for d in self.diagnostics), default=None)


class _Stages:
    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress

    def run(self, label: str, fn: Callable[[], object]) -> object:
        start = time.perf_counter()
        value = fn()
        if self.progress is not None:
            self.progress(label, time.perf_counter() - start)
        return value


def build_surface(
    spec: Path | None,
    overrides_dir: Path | None = None,
    *,
    project: Path | None = None,
    release: str | None = None,
    pin_if_missing: bool | None = True,
    progress: Progress | None = None,
    ignore_unknown_overrides: bool = False,
) -> Surface:
    stages = _Stages(progress)
    diagnostics: list[Diagnostic] = []
    recording = stages.run(
        "load and verify recording",
        lambda: load_recording(spec, project=project, release=release, pin_if_missing=pin_if_missing),
    )
    overrides_dir = overrides_dir if overrides_dir is not None else project_overrides(project or Path.cwd())
    assert isinstance(recording, Recording)
    methods = stages.run("normalize schemas", lambda: build_methods(recording, diagnostics))
    assert isinstance(methods, tuple)
    overrides = stages.run(
        "load overrides",
        lambda: load_overrides(overrides_dir, recording.methods, ignore_unknown=ignore_unknown_overrides),
    )
    tools = stages.run("compose tools", lambda: compose.build_tools(methods, overrides, diagnostics))  # type: ignore[arg-type]
    assert isinstance(tools, tuple)
    stages.run("validate schemas", lambda: validate_schemas(tools, diagnostics))
    return Surface(recording, methods, tools, tuple(sorted(diagnostics)))


def validate_schemas(tools: tuple[Tool, ...], diagnostics: list[Diagnostic]) -> None:
    """Every schema a client receives must be valid JSON Schema 2020-12; one that is not is an error
    naming the method and the path inside the tool's schema.

    The Rust validator screens all 1,500 schemas in milliseconds; only a schema it rejects is walked again
    by ``jsonschema`` (seconds for the whole surface) for errors with paths.
    """
    for tool in tools:
        for label, schema in (("inputSchema", tool.input_schema), ("outputSchema", tool.output_schema)):
            if jsonschema_rs.meta.is_valid(schema):
                continue
            for error in Draft202012Validator(Draft202012Validator.META_SCHEMA).iter_errors(schema):
                pointer = "".join(f"/{escape_pointer(str(p))}" for p in error.absolute_path)
                diagnostics.append(
                    Diagnostic(
                        Severity.ERROR, tool.method, f"/{label}{pointer}", f"invalid schema: {error.message}"
                    )
                )


def generate(config: GenerateConfig) -> GenerateResult:
    """Generate the tool package into ``config.out_dir``.

    Everything is built in a staging folder beside the output and swapped in at the end, so a failure
    leaves the previous output untouched. Nothing is written when a diagnostic is an error (or, with
    ``strict``, a warning): the result says why, and the command's exit status follows from it.
    """
    stages = _Stages(config.progress)
    out = config.out_dir
    refuse_foreign_output(out)
    surface = build_surface(
        config.spec, config.overrides_dir, project=config.project_dir, release=config.release,
        pin_if_missing=config.pin_if_missing, progress=config.progress,
    )  # fmt: skip
    diagnostics = list(surface.diagnostics)
    pin = surface.recording.pin
    if _fails(diagnostics, config.strict):
        return GenerateResult(surface, out, 0, tuple(sorted(diagnostics)), written=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        files = stages.run(
            "render templates", lambda: render.render_package(surface.tools, pin, package_version=__version__)
        )
        assert isinstance(files, dict)
        files[MARKER] = marker_text(pin)
        for rel, text in files.items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        inputs = [
            models.ModelInput(t.name, t.module, t.class_prefix, t.input_schema, t.output_schema)
            for t in surface.tools
        ]
        stages.run(
            "generate models",
            lambda: models.generate_models(
                inputs,
                staging / render.PACKAGE / "models",
                header=render.header_hash(pin),
                diagnostics=diagnostics,
            ),
        )
        stages.run("format", lambda: fmt.format_tree(staging))
        count = sum(1 for p in staging.rglob("*") if p.is_file())
        if _fails(diagnostics, config.strict):
            return GenerateResult(surface, out, 0, tuple(sorted(diagnostics)), written=False)
        stages.run("write output", lambda: swap_in(staging, out))
        if config.pin_if_missing and not surface.recording.pinned:
            write_pin(project_spec_dir(config.project_dir), pin)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return GenerateResult(surface=surface, out=out, files=count, diagnostics=tuple(sorted(diagnostics)))


def _fails(diagnostics: list[Diagnostic], strict: bool) -> bool:
    worst = max((d.severity for d in diagnostics), default=Severity.INFO)
    return worst >= (Severity.WARNING if strict else Severity.ERROR)


def marker_text(pin: Pin) -> str:
    """The marker that makes an output folder the generator's to replace; static, so ``check`` compares it."""
    return (
        f"{render.header_hash(pin)}\n"
        "# The generator replaces this folder whole; a folder without this file it never replaces.\n"
    )


def refuse_foreign_output(out: Path) -> None:
    """Replacing a folder wipes it, so only a folder the generator made (it holds the marker) is replaced."""
    if out.exists() and not out.is_dir():
        raise GenerationError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise GenerationError(
            f"--out {out}: refusing to replace a folder truenas-mcp-gen did not create (no {MARKER} in it); "
            "choose an empty or new folder, or remove this one"
        )


def swap_in(staging: Path, out: Path) -> None:
    """Move the staged tree to ``out`` by renames within one folder: readers see the old tree or the new one,
    and stale files from removed namespaces do not survive."""
    if not out.exists():
        staging.rename(out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    old.rmdir()
    out.rename(old)
    try:
        staging.rename(out)
    except OSError:
        old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)
