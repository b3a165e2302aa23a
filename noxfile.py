"""Developer and CI entry points. `nox -s tests` is the one test command (README, .ci/run).

Run through ``python3 tools/nox.py`` on a machine without nox: it sets nox up in ``.cache/bootstrap``.
Sessions run on a supported Python found on this machine (the one running nox when it is supported, else
the newest on PATH) and fail, saying so, when there is none: a session that cannot run must not pass.
"""

from __future__ import annotations

import shutil
import sys

import nox

nox.options.default_venv_backend = "uv|venv"  # uv needs no ensurepip (stock Debian has none)
nox.options.sessions = ["tests"]
nox.options.error_on_missing_interpreters = True
nox.options.download_python = "never"

SUPPORTED = ("3.11", "3.12", "3.13")  # keep in step with requires-python and the classifiers' range
PACKAGES = ["-e", ".[gen,dev]", "-e", "./generated"]
LINTED = ["generator", "src", "tests", "benchmarks", "tools", "noxfile.py"]
# The floors session installs the lowest version each requirement allows; these must be exactly these.
FLOORS = {"pydantic": "2.14.2", "mcp": "2.3.0"}


def _interpreter() -> str | None:
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if running in SUPPORTED:
        return running
    return next((v for v in reversed(SUPPORTED) if shutil.which(f"python{v}")), None)


PYTHON = _interpreter()
NO_PYTHON = (
    f"no supported Python on this machine: the sessions need CPython {' or '.join(SUPPORTED)} "
    f"(nox runs on {sys.version.split()[0]}; none of {', '.join(f'python{v}' for v in SUPPORTED)} is on PATH)"
)


def _python(session: nox.Session) -> None:
    """Fail the session, with the reason, when no supported interpreter was found (never skip)."""
    if PYTHON is None:
        session.error(NO_PYTHON)


@nox.session(python=PYTHON or False)
def tests(session: nox.Session) -> None:
    """Lint, type-check, check generated code for drift, and run the test suite (README checks included)."""
    _python(session)
    session.install(*PACKAGES)
    session.run("ruff", "check", *LINTED)
    session.run("ruff", "format", "--check", *LINTED)
    session.run("mypy")
    session.run("truenas-mcp-gen", "check")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON or False, venv_backend="uv")
def floors(session: nox.Session) -> None:
    """The quick tests with the lowest versions the packages declare (uv's lowest-direct resolution)."""
    _python(session)
    session.install("--resolution", "lowest-direct", *PACKAGES)
    report = session.run(
        "python",
        "-c",
        "import importlib.metadata as m, sys; print(' '.join(f'{n}=={m.version(n)}' for n in sys.argv[1:]))",
        *FLOORS,
        silent=True,
    )
    found = dict(item.split("==") for item in str(report).split())
    if found != FLOORS:
        session.error(f"the floors resolved to {found}, expected {FLOORS}: update FLOORS or the declarations")
    session.run("pytest", "-m", "not slow", *session.posargs)


@nox.session(python=PYTHON or False)
def generate(session: nox.Session) -> None:
    """Regenerate `generated/` from the pinned recording."""
    _python(session)
    session.install(*PACKAGES)
    session.run("truenas-mcp-gen", "generate", *session.posargs)


@nox.session(python=PYTHON or False)
def snapshots(session: nox.Session) -> None:
    """Rewrite the per-tool snapshots after a deliberate change; review the diff before committing."""
    _python(session)
    session.install(*PACKAGES)
    session.run("pytest", "tests/generator/test_tool_snapshots.py", "--snapshot-update", *session.posargs)


@nox.session(python=PYTHON or False)
def bench(session: nox.Session) -> None:
    """Measure speed, memory and context cost against the simulator and a peer MCP server; writes
    docs/benchmarks.md and docs/benchmarks.json (``nox -s bench -- --quick`` for a smoke run)."""
    _python(session)
    session.install(*PACKAGES)
    session.run("python", "-m", "benchmarks.run", *session.posargs)


@nox.session(python=PYTHON or False)
def demo(session: nox.Session) -> None:
    """Try it: the simulator's demo world and the MCP server on loopback, with a token and client configs."""
    _python(session)
    session.install("-e", ".", "-e", "./generated")
    session.run("truenas-mcp", "demo", *session.posargs)


@nox.session(python=False)
def install(session: nox.Session) -> None:
    """Install truenas-mcp and the generated tools (not editable) into a new environment at the given path:
    ``nox -s install -- DIR``; then run ``DIR/bin/truenas-mcp``."""
    _python(session)
    if len(session.posargs) != 1:
        session.error("give the folder of the new environment: nox -s install -- DIR")
    target = session.posargs[0]
    uv = _uv()
    session.run(uv, "venv", "--quiet", "--python", str(PYTHON), target, external=True)
    session.run(uv, "pip", "install", "--quiet", "--python", target, ".", "./generated", external=True)
    session.log(f"installed: {target}/bin/truenas-mcp")


def _uv() -> str:
    """uv beside nox (``tools/nox.py`` installs it there), else on PATH."""
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found]

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found is None:
            raise nox.command.CommandFailed("uv is needed: run this through python3 tools/nox.py") from None
        return found


@nox.session(python=False)
def readme(session: nox.Session) -> None:
    """Follow README.md word for word in a fresh copy of the repository (slow: builds its environments)."""
    session.run(sys.executable, "tests/readme/walkthrough.py", *session.posargs)
