"""End to end with a real client: the MCP Inspector CLI lists every profile strictly and calls a tool.

``--strict`` lints schema portability (exit status 6 on any error), so this is also the check that every
generated schema is usable by clients in the field. The Inspector is installed from npm into the
git-ignored ``.cache/npm`` folder once per session.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from truenas_mcp.server.settings import ServerSettings

from ..node import NPM_CACHE, npm_install
from .conftest import ERAS, bearer

INSPECTOR = "@modelcontextprotocol/inspector@2.12.0"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def inspector() -> Path:
    binary = NPM_CACHE / "node_modules" / ".bin" / "mcp-inspector"
    npm_install(NPM_CACHE, [INSPECTOR], binary)
    return binary


async def run(inspector: Path, url: str, era: str, token: str, *args: str) -> tuple[int, str, str]:
    strict = ["--strict"] if "tools/list" in args else []  # the Inspector lints listings only
    process = await asyncio.create_subprocess_exec(
        str(inspector),
        "--cli",
        url,
        "--transport",
        "http",
        "--protocol-era",
        "legacy" if era == "legacy" else "modern",
        "--format",
        "json",
        "--header",
        f"Authorization: Bearer {token}",
        *strict,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(120):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("era", ERAS)
async def test_inspector_lists_every_profile_without_portability_errors(
    inspector: Path, http_url: str, era: str, settings: ServerSettings
) -> None:
    for path in ("/mcp", "/mcp/readonly", "/mcp/x/storage,sharing", "/mcp/all"):
        code, out, err = await run(
            inspector, http_url + path, era, bearer(settings), "--method", "tools/list"
        )
        assert code == 0, f"{path}: exit {code}\n{err[-3000:]}\n{out[-3000:]}"
        assert json.loads(out)["result"]["tools"], path


@pytest.mark.parametrize("era", ERAS)
async def test_inspector_calls_a_tool(
    inspector: Path, http_url: str, era: str, settings: ServerSettings
) -> None:
    token = bearer(settings)
    code, out, err = await run(
        inspector, http_url + "/mcp", era, token, "--method", "tools/call", "--tool-name", "system_info"
    )
    assert code == 0, f"exit {code}\n{err[-3000:]}"
    answer = json.loads(out)["result"]
    assert answer.get("isError") in (None, False)
    assert answer["structuredContent"]["result"]["version"]
