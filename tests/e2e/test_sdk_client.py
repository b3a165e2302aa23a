"""The TypeScript SDK client (``@modelcontextprotocol/client``) against ``truenas-mcp demo``, both eras.

The client connects with the URL and header of the printed Cursor configuration, lists the tools, calls a
read tool, a job tool (following its progress) and a destructive tool twice: once without elicitation (a
preview and a confirmation token, then the confirmed call) and once as a client that declared elicitation
(the server asks mid-call; the SDK's handler says yes). The Claude Desktop configuration is run as printed
too: its mcp-remote bridge is spawned from the snippet's command, arguments and environment.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from truenas_mcp.demo import MCP_REMOTE_PACKAGE, SERVER_NAME

from .conftest import ERAS, demo_snapshots, start_demo

pytestmark = pytest.mark.slow
SCRIPT = Path(__file__).with_name("sdk_client.mjs")


async def run_client(modules: Path, plan: dict[str, Any]) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        "node",
        str(SCRIPT),
        str(modules),
        json.dumps(plan),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(180):
        out, err = await process.communicate()
    assert process.returncode == 0, f"exit {process.returncode}\n{err.decode()[-4000:]}"
    report: dict[str, Any] = json.loads(out)
    return report


def check_common(report: dict[str, Any], two_step: str) -> None:
    assert {"system_info", "app_stop", "call_tool", "zfs_snapshot_query", "job_wait"} <= set(report["tools"])
    assert report["read"]["isError"] is False
    assert report["read"]["structured"]["result"]["version"] == "25.04.2"

    assert report["job"]["isError"] is False
    assert report["job"]["structured"]["job"]["state"] == "SUCCESS"
    notified = report["jobProgress"]
    assert notified, "a job tool reports MCP progress while it waits, before its result"
    values = [n["progress"] for n in notified]
    assert values == sorted(set(values)) and values[-1] <= 100, f"progress must increase: {values}"
    assert all(n["total"] == 100 and n["message"] for n in notified), notified
    assert report["appState"] == "STOPPED"

    preview = report["preview"]
    assert preview["isError"] is True and "Not run yet" in preview["text"]
    assert preview["structured"]["confirmation"]["arguments"] == {"id": two_step}
    assert report["afterPreview"] == [two_step], "a preview must not delete anything"
    assert report["confirmed"]["isError"] is False, report["confirmed"]["text"]
    assert report["confirmed"]["structured"]["result"] is True
    assert report["afterConfirm"] == []


@pytest.mark.parametrize("era", ERAS)
async def test_sdk_client_with_the_printed_url_and_header(sdk_modules: Path, era: str) -> None:
    two_step, elicit = demo_snapshots(2)
    async with start_demo() as demo:
        cursor = json.loads(demo.printed.sections["Cursor"])["mcpServers"][SERVER_NAME]
        scheme, _, token = cursor["headers"]["Authorization"].partition(" ")
        assert scheme == "Bearer"
        plan = {
            "url": cursor["url"],
            "token": token,
            "era": era,
            "app": "plex",
            "twoStepSnapshot": two_step,
            "elicitSnapshot": elicit,
        }
        report = await run_client(sdk_modules, plan)
    assert report["protocolVersion"] == ("2025-11-25" if era == "legacy" else "2026-07-28")
    check_common(report, two_step)
    assert len(report["elicitations"]) == 1 and elicit in report["elicitations"][0]
    assert report["elicited"]["isError"] is False, report["elicited"]["text"]
    assert report["afterElicit"] == []


async def test_claude_desktop_configuration_through_its_bridge(sdk_modules: Path) -> None:
    (two_step,) = demo_snapshots(1)
    async with start_demo() as demo:
        entry = json.loads(demo.printed.sections["Claude Desktop"])["mcpServers"][SERVER_NAME]
        assert entry["command"] == "npx" and entry["args"][:2] == ["-y", MCP_REMOTE_PACKAGE]
        # `npx -y mcp-remote@X` runs the package's bin; the installed copy of the same version is that bin.
        bridge = sdk_modules / "node_modules" / ".bin" / "mcp-remote"
        stdio = {"command": str(bridge), "args": entry["args"][2:], "env": entry["env"]}
        plan = {"stdio": stdio, "era": "legacy", "app": "plex", "twoStepSnapshot": two_step}
        report = await run_client(sdk_modules, plan)
    check_common(report, two_step)
