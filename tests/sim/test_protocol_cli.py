"""``truenas-mcp sim`` / ``python -m truenas_mcp.sim``: start-up output, key file, state file round trip."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from truenas_mcp.cli import main

TIMEOUT = 60.0


async def _start(*args: str) -> tuple[asyncio.subprocess.Process, dict[str, str]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "truenas_mcp.sim", "--port", "0", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=dict(os.environ),
    )  # fmt: skip
    assert process.stdout is not None
    info: dict[str, str] = {}
    while "api_key" not in info:
        line = (await asyncio.wait_for(process.stdout.readline(), TIMEOUT)).decode()
        assert line, (await process.stderr.read()).decode() if process.stderr else "no output"
        key, _, value = line.strip().partition(": ")
        info[key] = value
    return process, info


async def _stop(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(process.wait(), TIMEOUT)
    assert process.returncode == 0


async def test_start_up_prints_the_url_and_admin_credentials(connect_rpc: Any) -> None:
    process, info = await _start()
    try:
        assert info["url"].startswith("ws://127.0.0.1:") and info["url"].endswith("/api/current")
        assert info["username"] == "truenas_admin"
        ws, client = await connect_rpc(info["url"])
        try:
            login = [{"mechanism": "API_KEY_PLAIN", "username": "truenas_admin", "api_key": info["api_key"]}]
            assert (await client.call("auth.login_ex", login))["response_type"] == "SUCCESS"
        finally:
            await ws.close()
    finally:
        await _stop(process)


async def test_state_file_keeps_the_world_across_runs(tmp_path: Path, connect_rpc: Any) -> None:
    state, key_file = tmp_path / "state.json", tmp_path / "key"
    key_file.write_text("4242-persisted-secret-of-the-first-run\n")
    first, info = await _start("--state", str(state), "--api-key-file", str(key_file))
    assert info["api_key"] == "4242-persisted-secret-of-the-first-run"
    await _stop(first)
    assert state.exists()
    second, info = await _start("--state", str(state))
    try:
        assert info["api_key"] != "4242-persisted-secret-of-the-first-run"
        ws, client = await connect_rpc(info["url"])
        try:
            # Only the saved state knows the first run's key.
            assert (
                await client.call("auth.login_with_api_key", ["4242-persisted-secret-of-the-first-run"])
                is True
            )
        finally:
            await ws.close()
    finally:
        await _stop(second)


def test_a_malformed_api_key_file_is_refused_naming_the_option(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("not a key")
    result = CliRunner().invoke(main, ["sim", "--api-key-file", str(key_file)])
    assert result.exit_code == 2
    assert "--api-key-file" in result.output and "<id>-<secret>" in result.output


def test_bad_faults_json_is_refused_naming_the_option() -> None:
    result = CliRunner().invoke(main, ["sim", "--faults", '{"nonsense": 1}'])
    assert result.exit_code == 2
    assert "--faults" in result.output and "nonsense" in result.output


def test_version_option() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and "truenas-mcp" in result.output
