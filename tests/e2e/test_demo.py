"""``truenas-mcp demo`` as a user runs it: what it prints parses, its files are right, it stops cleanly.

The real clients' tests (``test_inspector_cli.py``, ``test_sdk_client.py``) connect with what is printed;
these check the printed text itself and the process's life cycle.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import signal
import stat
import subprocess
from pathlib import Path
from typing import Any

import httpx
import jwt

from truenas_mcp.demo import INSPECTOR_PACKAGE, MCP_REMOTE_PACKAGE, SERVER_NAME

from .conftest import parse_announcement, start_demo, truenas_mcp_command

CLIENTS = ("Cursor", "Claude Code", "VS Code", "Claude Desktop", "MCP Inspector")


def _server(config: dict[str, Any], key: str = "mcpServers") -> dict[str, Any]:
    assert list(config) == [key]
    assert list(config[key]) == [SERVER_NAME]
    entry: dict[str, Any] = config[key][SERVER_NAME]
    return entry


async def test_printed_configurations_parse_and_carry_the_url_and_token() -> None:
    async with start_demo() as demo:
        printed = demo.printed
        url, token = printed.url, printed.token
        assert url.startswith("http://127.0.0.1:") and url.endswith("/mcp")
        assert tuple(printed.sections) == CLIENTS
        bearer = {"Authorization": f"Bearer {token}"}

        cursor = _server(json.loads(printed.sections["Cursor"]))
        assert cursor == {"url": url, "headers": bearer}
        vscode = _server(json.loads(printed.sections["VS Code"]), key="servers")
        assert vscode == {"type": "http", "url": url, "headers": bearer}

        desktop = _server(json.loads(printed.sections["Claude Desktop"]))
        assert desktop["command"] == "npx"
        assert desktop["args"][:3] == ["-y", MCP_REMOTE_PACKAGE, url]
        assert desktop["env"]["TRUENAS_MCP_AUTH"] == f"Bearer {token}"
        assert not any(" " in arg for arg in desktop["args"]), "spaces in args break npx on some platforms"

        claude = shlex.split(printed.sections["Claude Code"])
        assert claude == [
            "claude", "mcp", "add", "--transport", "http", SERVER_NAME, url,
            "--header", f"Authorization: Bearer {token}",
        ]  # fmt: skip

        cli, web = (shlex.split(line) for line in printed.sections["MCP Inspector"].splitlines())
        assert cli[:3] == web[:3] == ["npx", "-y", INSPECTOR_PACKAGE]
        config_file = Path(cli[cli.index("--config") + 1])
        assert config_file.parent == printed.state_dir
        inspector = _server(json.loads(config_file.read_text()))
        assert inspector == {"type": "streamable-http", "url": url, "headers": bearer}
        assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
        assert stat.S_IMODE((printed.state_dir / "jwt.secret").stat().st_mode) == 0o600

        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["aud"] == url and claims["scope"] == "truenas:FULL_ADMIN"

        async with httpx.AsyncClient(timeout=10) as http:
            assert (await http.get(url.removesuffix("/mcp") + "/readyz")).status_code == 200
            refused = await http.post(url, json={})
            assert refused.status_code == 401  # authentication is on, as in production


async def test_json_output_says_the_same_as_the_text() -> None:
    async with start_demo("--json") as demo:
        lines = [line for line in demo.printed.text.splitlines() if line.strip()]
        assert len(lines) == 1
        doc = json.loads(lines[0])
        assert doc["url"] == doc["urls"]["default"]
        assert doc["urls"]["readonly"] == doc["url"] + "/readonly"
        assert json.loads(doc["clients"]["cursor"])["mcpServers"][SERVER_NAME]["url"] == doc["url"]
        assert set(doc["clients"]) == {"cursor", "claude_code", "vscode", "claude_desktop", "inspector"}
        assert doc["simulator"]["url"].startswith("ws://127.0.0.1:")
        assert Path(doc["state_dir"]).is_dir()


async def test_ctrl_c_stops_cleanly_and_removes_the_temporary_state() -> None:
    async with start_demo(stop=signal.SIGINT) as demo:
        state = demo.printed.state_dir
        assert state.is_dir()
    assert not state.exists()


async def test_state_dir_keeps_the_secret_and_the_world_between_runs(tmp_path: Path) -> None:
    state = tmp_path / "demo-state"
    async with start_demo("--state-dir", str(state)) as first:
        port = first.printed.url.split(":")[2].split("/")[0]
        token = first.printed.token
    secret = (state / "jwt.secret").read_bytes()
    assert (state / "world.json").is_file()
    async with start_demo("--state-dir", str(state), "--port", port) as second:
        assert second.printed.url == first.printed.url
        # The first run's token still verifies: same secret, same audience.
        jwt.decode(token, secret.strip(), algorithms=["HS256"], audience=second.printed.url)
        async with httpx.AsyncClient(timeout=10) as http:
            # An authenticated request reaches the MCP layer (not a 401), which answers the bad body itself.
            answer = await http.post(
                second.printed.url,
                json={},
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"},
            )
            assert answer.status_code != 401, answer.text
    assert (state / "jwt.secret").read_bytes() == secret


def test_a_non_loopback_host_is_refused_with_the_option_named() -> None:
    done = subprocess.run(
        [*truenas_mcp_command(), "demo", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "--host" in done.stderr and "loopback" in done.stderr


def test_the_parser_reads_sections_verbatim() -> None:
    text = (
        "intro\n\n  MCP URL         http://h/mcp\n  token           abc\n"
        '                  (note)\n\n== A ==  (where)\n{\n  "x": 1\n}\n\n'
        "== B ==  x\ncmd one\n\nReady. Serving until Ctrl-C.\n"
    )
    parsed = parse_announcement(text)
    assert parsed.url == "http://h/mcp" and parsed.token == "abc"
    assert parsed.sections == {"A": '{\n  "x": 1\n}', "B": "cmd one"}


async def test_sigterm_with_a_client_still_connected_exits_promptly() -> None:
    import time

    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async with start_demo() as demo:
        headers = {"Authorization": f"Bearer {demo.printed.token}"}
        http = httpx2.AsyncClient(timeout=30, headers=headers)
        transport = streamable_http_client(demo.printed.url, http_client=http)
        async with http, Client(transport, mode="legacy") as client:
            assert (await client.list_tools()).tools  # a live session with its GET stream open
            started = time.monotonic()
            demo.process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(demo.process.wait(), timeout=30)
            assert code == 0
            assert time.monotonic() - started < 15


def test_busy_ports_are_reported_with_the_option_named() -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        for option in ("--port", "--sim-port"):
            done = subprocess.run(
                [*truenas_mcp_command(), "demo", option, port],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 1, done.stderr
            assert f"{option}:" in done.stderr and port in done.stderr
