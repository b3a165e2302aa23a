"""``generate(config) -> result``: the one library call behind the CLI, the tests and the ``check`` stage."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from truenas_mcp_gen import __version__, compose, fmt, models, openapi, render
from truenas_mcp_gen.errors import Diagnostic, GenerationError, Severity
from truenas_mcp_gen.ir import Method, Tool, build_methods
from truenas_mcp_gen.overrides import load_overrides
from truenas_mcp_gen.spec import PIN_DIR, PROJECT_ROOT, Recording, load_recording, locate_recording

DEFAULT_OUT = PROJECT_ROOT / "generated"
DEFAULT_OVERRIDES = PROJECT_ROOT / "overrides"
Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class GenerateConfig:
    spec: Path | None = None
    out: Path = DEFAULT_OUT
    overrides: Path = DEFAULT_OVERRIDES
    spec_dir: Path = PIN_DIR
    strict: bool = False
    pin_if_missing: bool | None = True
    progress: Progress | None = None


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
    overrides_dir: Path = DEFAULT_OVERRIDES,
    spec_dir: Path = PIN_DIR,
    *,
    pin_if_missing: bool | None = True,
    progress: Progress | None = None,
    ignore_unknown_overrides: bool = False,
) -> Surface:
    stages = _Stages(progress)
    diagnostics: list[Diagnostic] = []
    recording = stages.run(
        "load and verify recording",
        lambda: load_recording(locate_recording(spec), spec_dir, pin_if_missing=pin_if_missing),
    )
    assert isinstance(recording, Recording)
    methods = stages.run("normalize schemas", lambda: build_methods(recording, diagnostics))
    assert isinstance(methods, tuple)
    overrides = stages.run(
        "load overrides",
        lambda: load_overrides(overrides_dir, recording.methods, ignore_unknown=ignore_unknown_overrides),
    )
    tools = stages.run("compose tools", lambda: compose.build_tools(methods, overrides, diagnostics))  # type: ignore[arg-type]
    assert isinstance(tools, tuple)
    return Surface(recording, methods, tools, tuple(sorted(diagnostics)))


def generate(config: GenerateConfig) -> GenerateResult:
    """Generate the tool package into ``config.out``, replacing whatever was there.

    Everything is written to a staging folder first and swapped in at the end, so a failure leaves the
    previous output untouched.
    """
    stages = _Stages(config.progress)
    surface = build_surface(
        config.spec, config.overrides, config.spec_dir, pin_if_missing=config.pin_if_missing,
        progress=config.progress,
    )  # fmt: skip
    diagnostics = list(surface.diagnostics)
    pin = surface.recording.pin
    with tempfile.TemporaryDirectory(prefix="truenas-mcp-gen-") as tmp:
        staging = Path(tmp) / "out"
        files = stages.run(
            "render templates", lambda: render.render_package(surface.tools, pin, package_version=__version__)
        )
        assert isinstance(files, dict)
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
        stages.run("emit openapi", lambda: _write_openapi(surface, staging))
        stages.run("format", lambda: fmt.format_tree(staging))
        if config.strict and any(d.severity >= Severity.WARNING for d in diagnostics):
            raise GenerationError(
                f"--strict: {len(diagnostics)} diagnostics, first: {sorted(diagnostics)[-1]}"
            )
        count = sum(1 for p in staging.rglob("*") if p.is_file())
        stages.run("write output", lambda: _replace_tree(staging, config.out))
    return GenerateResult(
        surface=surface, out=config.out, files=count, diagnostics=tuple(sorted(diagnostics))
    )


@dataclass(frozen=True)
class _Operation:
    """What ``openapi.build_openapi`` reads of a tool."""

    tool: str
    title: str
    description: str
    input_schema: dict[str, object]
    output_schema: dict[str, object]


def _write_openapi(surface: Surface, staging: Path) -> None:
    pin = surface.recording.pin
    document = openapi.build_openapi(
        [
            models.ModelInput(t.name, t.module, t.class_prefix, t.input_schema, t.output_schema)
            for t in surface.tools
        ],
        title=f"TrueNAS {pin.version} MCP tools",
        version=pin.version,
    )
    document["info"]["x-generated"] = render.header_text(pin)
    (staging / render.PACKAGE / "openapi.json").write_text(
        json.dumps(document, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8"
    )


def _replace_tree(staging: Path, out: Path) -> None:
    """Wipe ``out`` and move the staged tree in: stale files from removed namespaces must not survive."""
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(staging, out)
