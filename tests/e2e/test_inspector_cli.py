"""The MCP Inspector CLI, run with the command and configuration file ``truenas-mcp demo`` prints.

Both protocol eras: list the tools, call a read tool, a job tool, and a destructive tool through the
two-step confirmation (the CLI answers no elicitation, so the server offers a preview and a token).
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
from pathlib import Path
from typing import Any

import pytest

from truenas_mcp.demo import INSPECTOR_PACKAGE

from .conftest import ERAS, demo_snapshots, start_demo

pytestmark = pytest.mark.slow


class Inspector:
    """The printed Inspector command line, with ``npx -y <package>`` replaced by the installed launcher."""

    def __init__(self, binary: Path, printed_command: str, era: str) -> None:
        argv = shlex.split(printed_command)
        assert argv[:3] == ["npx", "-y", INSPECTOR_PACKAGE], printed_command
        method = argv.index("--method")
        self.listing = [str(binary), *argv[3:], "--protocol-era", era, "--format", "json"]
        self.base = [str(binary), *argv[3:method], "--protocol-era", era, "--format", "json"]

    async def _run(self, argv: list[str]) -> tuple[int, dict[str, Any]]:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "MCP_INSPECTOR_SECRET_STORE": "memory"},
        )
        async with asyncio.timeout(120):
            out, err = await process.communicate()
        assert process.returncode is not None
        assert out.strip(), f"no output (exit {process.returncode}):\n{err.decode()[-3000:]}"
        return process.returncode, json.loads(out)

    async def list_tools(self) -> list[str]:
        code, doc = await self._run(self.listing)
        assert code == 0, doc
        return [tool["name"] for tool in doc["result"]["tools"]]

    async def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        argv = [*self.base, "--method", "tools/call", "--tool-name", tool]
        code, doc = await self._run([*argv, "--tool-args-json", json.dumps(arguments)])
        result: dict[str, Any] = doc["result"]
        # The CLI exits non-zero exactly when the tool answered isError (e.g. a confirmation preview).
        assert (code != 0) == bool(result.get("isError")), (code, result)
        return result


@pytest.mark.parametrize("era", ERAS)
async def test_inspector_cli_with_the_printed_command(inspector: Path, era: str) -> None:
    (snapshot,) = demo_snapshots(1)
    async with start_demo() as demo:
        command = demo.printed.sections["MCP Inspector"].splitlines()[0]
        cli = Inspector(inspector, command, era)

        tools = await cli.list_tools()
        assert {"system_info", "app_stop", "call_tool", "zfs_snapshot_query"} <= set(tools)

        info = await cli.call("system_info", {})
        assert info["structuredContent"]["result"]["version"] == "25.04.2"

        stopped = await cli.call("app_stop", {"app_name": "plex"})
        assert stopped["structuredContent"]["job"]["state"] == "SUCCESS"
        apps = await cli.call("app_query", {"filters": [["name", "=", "plex"]]})
        assert [app["state"] for app in apps["structuredContent"]["result"]] == ["STOPPED"]

        target = {"name": "zfs_snapshot_delete", "arguments": {"id": snapshot}}
        preview = await cli.call("call_tool", target)
        confirmation = preview["structuredContent"]["confirmation"]
        assert confirmation["arguments"] == {"id": snapshot}
        still_there = await cli.call("zfs_snapshot_query", {"filters": [["id", "=", snapshot]]})
        assert len(still_there["structuredContent"]["result"]) == 1, "a preview must not delete anything"

        token = confirmation["confirmation_token"]
        confirmed = {**target, "arguments": {"id": snapshot, "confirmation_token": token}}
        deleted = await cli.call("call_tool", confirmed)
        assert deleted["structuredContent"]["result"] is True
        gone = await cli.call("zfs_snapshot_query", {"filters": [["id", "=", snapshot]]})
        assert gone["structuredContent"]["result"] == []

        replay = await cli.call("call_tool", confirmed)
        assert replay["isError"] is True and "already used" in replay["content"][0]["text"]
