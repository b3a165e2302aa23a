"""End-to-end fixtures: ``truenas-mcp demo`` as a real subprocess, and real MCP clients installed from npm.

``demo`` starts the command exactly as a user would, waits for its ready line (no sleeps), parses what it
printed and hands that to the test; on teardown it sends SIGTERM and checks for a clean exit. The npm
packages go into the git-ignored ``.cache/npm`` folder once per session.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from truenas_mcp.demo import INSPECTOR_PACKAGE, MCP_REMOTE_PACKAGE, READY_LINE
from truenas_mcp.sim.world_seed import demo_world

from ..node import NPM_CACHE, npm_install

SDK_CLIENT = "@modelcontextprotocol/client@2.4.0"
ERAS = ("legacy", "modern")
START_TIMEOUT = 60.0
_HEADING = re.compile(r"^== (?P<client>.+?) ==(?:  (?P<where>.*))?$")
_FIELD = re.compile(r"^  (?P<label>[A-Za-z][A-Za-z -]*?)\s{2,}(?P<value>\S.*)$")


@dataclass
class Announcement:
    """What ``truenas-mcp demo`` printed: the fields of the header and one text block per client."""

    text: str
    fields: dict[str, str] = field(default_factory=dict)
    sections: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.fields["MCP URL"]

    @property
    def token(self) -> str:
        return self.fields["token"]

    @property
    def state_dir(self) -> Path:
        return Path(self.fields["state"])


def parse_announcement(text: str) -> Announcement:
    """Split the demo's text into header fields and ``== Client ==`` sections (their bodies verbatim)."""
    found = Announcement(text)
    current: list[str] | None = None
    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading:
            current = []
            found.sections[heading["client"]] = ""
            name = heading["client"]
            continue
        if line == READY_LINE:
            current = None
            continue
        if current is not None:
            current.append(line)
            found.sections[name] = "\n".join(current).strip("\n")
            continue
        matched = _FIELD.match(line)
        if matched:
            found.fields[matched["label"].strip()] = matched["value"].split("  ")[0].strip()
    return found


def truenas_mcp_command() -> list[str]:
    """The installed console script next to this interpreter (what a user runs), else the module."""
    script = Path(sys.executable).with_name("truenas-mcp")
    return (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "from truenas_mcp.cli import main; main()"]
    )


@dataclass
class RunningDemo:
    process: asyncio.subprocess.Process
    printed: Announcement
    stderr_lines: list[str]


@contextlib.asynccontextmanager
async def start_demo(*args: str, stop: signal.Signals = signal.SIGTERM) -> AsyncIterator[RunningDemo]:
    """Run ``truenas-mcp demo ARGS`` until its ready line; stop it with ``stop`` and expect exit status 0."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = await asyncio.create_subprocess_exec(
        *truenas_mcp_command(),
        "demo",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    assert process.stdout is not None and process.stderr is not None
    lines: list[str] = []
    stderr_lines: list[str] = []

    async def drain_stderr() -> None:
        assert process.stderr is not None
        async for raw in process.stderr:
            stderr_lines.append(raw.decode(errors="replace"))

    stderr_task = asyncio.create_task(drain_stderr())
    try:
        async with asyncio.timeout(START_TIMEOUT):
            while True:
                raw = await process.stdout.readline()
                if not raw:
                    await process.wait()
                    raise AssertionError(
                        f"demo exited ({process.returncode}) before it was ready:\n"
                        + "".join(lines)
                        + "".join(stderr_lines)
                    )
                lines.append(raw.decode())
                # --json prints one line; the text ends with the ready line.
                if "--json" in args or raw.decode().rstrip("\n") == READY_LINE:
                    break
        yield RunningDemo(process, parse_announcement("".join(lines)), stderr_lines)
    finally:
        if process.returncode is None:
            process.send_signal(stop)
        async with asyncio.timeout(30):
            code = await process.wait()
        await stderr_task
    assert code == 0, f"demo exited with {code} after {stop.name}:\n{''.join(stderr_lines)[-3000:]}"


def demo_snapshots(count: int) -> list[str]:
    """Snapshots of the demo world that can be deleted (no holds, no clones): same seed, same world."""
    rows = demo_world().table("zfs.snapshot")
    ids = [row["id"] for row in rows if not row.get("holds") and not row.get("clones")]
    assert len(ids) >= count, "the demo world has too few deletable snapshots for this test"
    return ids[:count]


@pytest.fixture(scope="session")
def inspector() -> Path:
    """The MCP Inspector's launcher, installed where tests/server/test_inspector.py installs it."""
    binary = NPM_CACHE / "node_modules" / ".bin" / "mcp-inspector"
    npm_install(NPM_CACHE, [INSPECTOR_PACKAGE], binary)
    return binary


@pytest.fixture(scope="session")
def sdk_modules() -> Path:
    """An npm prefix holding the TypeScript SDK client and the mcp-remote bridge (pinned versions)."""
    prefix = NPM_CACHE / "e2e"
    probe = prefix / "node_modules" / "mcp-remote" / "package.json"
    npm_install(prefix, [SDK_CLIENT, MCP_REMOTE_PACKAGE], probe)
    return prefix
