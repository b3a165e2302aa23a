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


SEEDED_USERS = ("alice", "bob", "carol")


async def _start(*args: str) -> tuple[asyncio.subprocess.Process, dict[str, str]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "truenas_mcp.sim", "--port", "0", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=dict(os.environ),
    )  # fmt: skip
    assert process.stdout is not None
    info: dict[str, str] = {}
    while not all(f"user {name}" in info for name in SEEDED_USERS):
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


async def _login(url: str, connect_rpc: Any, credentials: dict[str, str]) -> dict[str, Any]:
    ws, client = await connect_rpc(url)
    try:
        answer: dict[str, Any] = await client.call("auth.login_ex", [credentials])
        if answer["response_type"] == "SUCCESS":
            answer["me"] = await client.call("auth.me")
        return answer
    finally:
        await ws.close()


def _fields(line: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in line.split())


async def test_start_up_prints_the_admin_password_and_each_seeded_users_credentials(
    connect_rpc: Any,
) -> None:
    process, info = await _start()
    try:
        admin = {"mechanism": "PASSWORD_PLAIN", "username": "truenas_admin", "password": info["password"]}
        assert (await _login(info["url"], connect_rpc, admin))["response_type"] == "SUCCESS"
        alice, carol, bob = (_fields(info[f"user {n}"]) for n in ("alice", "carol", "bob"))
        assert alice["roles"] == "READONLY_ADMIN" and carol["roles"] == "SHARING_ADMIN"
        assert bob["roles"] == "-" and "api_key" not in bob  # TrueNAS gives no key to the unprivileged
        for name, fields in (("alice", alice), ("carol", carol)):
            by_key = {"mechanism": "API_KEY_PLAIN", "username": name, "api_key": fields["api_key"]}
            answer = await _login(info["url"], connect_rpc, by_key)
            assert answer["response_type"] == "SUCCESS" and answer["me"]["pw_name"] == name
            # auth.me's roles are a set on the wire, expanded: READONLY_ADMIN brings every *_READ role.
            held = answer["me"]["privilege"]["roles"]["$set"]
            assert fields["roles"] in held and "POOL_READ" in held and "POOL_WRITE" not in held
        by_password = {"mechanism": "PASSWORD_PLAIN", "username": "bob", "password": bob["password"]}
        assert (await _login(info["url"], connect_rpc, by_password))["response_type"] == "SUCCESS"
    finally:
        await _stop(process)


async def test_password_file_sets_the_admin_password(tmp_path: Path, connect_rpc: Any) -> None:
    password_file = tmp_path / "password"
    password_file.write_text("correct horse battery staple\n")
    process, info = await _start("--password-file", str(password_file))
    try:
        assert info["password"] == "correct horse battery staple"
        given = {"mechanism": "PASSWORD_PLAIN", "username": "truenas_admin", "password": info["password"]}
        demo = {**given, "password": "truenas-demo"}
        assert (await _login(info["url"], connect_rpc, given))["response_type"] == "SUCCESS"
        assert (await _login(info["url"], connect_rpc, demo))["response_type"] == "AUTH_ERR"
    finally:
        await _stop(process)


def test_an_empty_password_file_is_refused_naming_the_option(tmp_path: Path) -> None:
    password_file = tmp_path / "password"
    password_file.write_text("\n")
    result = CliRunner().invoke(main, ["sim", "--password-file", str(password_file)])
    assert result.exit_code == 2
    assert "--password-file" in result.output and "non-empty" in result.output


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
