"""Developer and CI entry points. `nox -s tests` is the one test command (README, .ci/run)."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests"]

PYTHON = "3.11"
PACKAGES = ["-e", ".[gen,dev]", "-e", "./generated"]


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Lint, type-check, check generated code for drift, and run the test suite."""
    session.install(*PACKAGES)
    session.run("ruff", "check", "generator", "src", "tests", "noxfile.py")
    session.run("ruff", "format", "--check", "generator", "src", "tests", "noxfile.py")
    session.run("mypy")
    session.run("truenas-mcp-gen", "check")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def generate(session: nox.Session) -> None:
    """Regenerate `generated/` from the pinned recording."""
    session.install(*PACKAGES)
    session.run("truenas-mcp-gen", "generate", *session.posargs)


@nox.session(python=PYTHON)
def snapshots(session: nox.Session) -> None:
    """Rewrite the per-tool snapshots after a deliberate change; review the diff before committing."""
    session.install(*PACKAGES)
    session.run("pytest", "tests/generator/test_tool_snapshots.py", "--snapshot-update", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Measure speed, memory and context cost against the simulator and a peer MCP server; writes
    docs/benchmarks.md and docs/benchmarks.json (``nox -s bench -- --quick`` for a smoke run)."""
    session.install(*PACKAGES)
    session.run("python", "-m", "benchmarks.run", *session.posargs)


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """Try it: the simulator's demo world and the MCP server on loopback, with a token and client configs."""
    session.install("-e", ".", "-e", "./generated")
    session.run("truenas-mcp", "demo", *session.posargs)


@nox.session(python=False)
def readme(session: nox.Session) -> None:
    """Follow README.md word for word in a fresh copy of the repository (slow: builds its environments)."""
    session.run("python3", "tests/readme/walkthrough.py", *session.posargs)
