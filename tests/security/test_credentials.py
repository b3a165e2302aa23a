"""Per-role credentials: each call runs as the TrueNAS user of the caller's tier, so TrueNAS enforces.

The end-to-end tests run the real ``truenas-mcp serve`` as a subprocess, configured only by the settings
docs/configuration.md documents, against the simulator's users: ``alice`` (READONLY_ADMIN through the
read-only administrators group), ``carol`` (SHARING_ADMIN) and ``truenas_admin`` (FULL_ADMIN).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.e2e.conftest import truenas_mcp_command
from truenas_mcp.client import ClientConfig, TrueNASClient
from truenas_mcp.server.auth import DEFAULT_ISSUER, mint_token
from truenas_mcp.server.credentials import CredentialPool, MissingCredential, Tier
from truenas_mcp.server.settings import CredentialSetting, SettingsError, load_settings
from truenas_mcp.sim.server import RunningSimulator

from .conftest import text

START_TIMEOUT = 60


@dataclass
class Served:
    url: str
    secret: bytes
    log: list[str]

    def token(self, *scopes: str, subject: str = "caller") -> str:
        return mint_token(
            self.secret,
            subject=subject,
            scopes=scopes,
            ttl_seconds=600,
            issuer=DEFAULT_ISSUER,
            audience=f"{self.url}/mcp",
        )

    @contextlib.asynccontextmanager
    async def client(
        self, token: str, path: str = "/mcp/all", era: str = "2026-07-28"
    ) -> AsyncIterator[Client]:
        http = httpx2.AsyncClient(timeout=30, headers={"Authorization": f"Bearer {token}"})
        transport = streamable_http_client(self.url + path, http_client=http)
        async with http, Client(transport, mode=era) as client:
            yield client


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def serve_process(env: dict[str, str]) -> AsyncIterator[list[str]]:
    """``truenas-mcp serve`` with ``env`` until its "serving" log line; yields its log lines."""
    process = await asyncio.create_subprocess_exec(
        *truenas_mcp_command(),
        "serve",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
        start_new_session=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(START_TIMEOUT):
            while True:
                raw = await process.stdout.readline()
                if not raw:
                    await process.wait()
                    raise AssertionError(f"serve exited ({process.returncode}):\n" + "".join(lines))
                lines.append(raw.decode(errors="replace"))
                if '"serving"' in lines[-1]:
                    break

        async def drain() -> None:
            assert process.stdout is not None
            async for raw in process.stdout:
                lines.append(raw.decode(errors="replace"))

        drainer = asyncio.create_task(drain())
        yield lines
    finally:
        if process.returncode is None:
            process.terminate()
        async with asyncio.timeout(30):
            await process.wait()
    await drainer


@pytest.fixture
async def per_role(sim: RunningSimulator, tmp_path: Path) -> AsyncIterator[Served]:
    keys = {"alice": "mcp-readonly", "carol": "mcp-sharing"}
    credentials: list[dict[str, Any]] = []
    for (username, key_name), (tier, roles) in zip(
        keys.items(), [("readonly", ["READONLY_ADMIN"]), ("sharing", ["SHARING_ADMIN"])], strict=True
    ):
        _, key = sim.world.add_api_key(username, key_name)
        path = tmp_path / f"{tier}.key"
        path.write_text(key + "\n")
        credentials.append({"name": tier, "roles": roles, "username": username, "api_key_file": str(path)})
    admin_key = tmp_path / "admin.key"
    admin_key.write_text(sim.admin_api_key)
    credentials.append(
        {
            "name": "admin",
            "roles": ["FULL_ADMIN"],
            "username": "truenas_admin",
            "api_key_file": str(admin_key),
        }
    )
    secret = secrets.token_urlsafe(48).encode()
    (tmp_path / "jwt.secret").write_bytes(secret)
    port = _free_port()
    env = {
        "TRUENAS_URL": sim.url,
        "TRUENAS_MCP_PORT": str(port),
        "TRUENAS_MCP_JWT_SECRET_FILE": str(tmp_path / "jwt.secret"),
        "TRUENAS_MCP_AUDIT_LOG": "off",
        "TRUENAS_MCP_CREDENTIALS": json.dumps(credentials),
    }
    for name in ("TRUENAS_USERNAME", "TRUENAS_API_KEY", "TRUENAS_API_KEY_FILE", "TRUENAS_MCP_CONFIG"):
        env[name] = ""
    async with serve_process(env) as log:
        yield Served(f"http://127.0.0.1:{port}", secret, log)


def _key_owners(result: Any) -> set[str]:
    assert not result.is_error, text(result)
    return {row["username"] for row in result.structured_content["result"]}


async def test_each_token_runs_as_the_truenas_user_of_its_tier(per_role: Served) -> None:
    seen = {}
    for scope in ("READONLY_ADMIN", "SHARING_ADMIN", "FULL_ADMIN"):
        async with per_role.client(per_role.token(f"truenas:{scope}")) as client:
            seen[scope] = _key_owners(await client.call_tool("api_key_my_keys", {}))
    assert seen == {"READONLY_ADMIN": {"alice"}, "SHARING_ADMIN": {"carol"}, "FULL_ADMIN": {"truenas_admin"}}
    async with httpx2.AsyncClient() as http:
        ready = await http.get(per_role.url + "/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "mode": "per-role credentials",
        "credentials": {"readonly": "ready", "sharing": "ready", "admin": "ready"},
    }
    serving = json.loads(next(line for line in per_role.log if '"serving"' in line))
    assert serving["mode"] == "per-role credentials"
    assert serving["truenas_users"] == (
        "readonly: user alice with READONLY_ADMIN; sharing: user carol with SHARING_ADMIN; "
        "admin: user truenas_admin with FULL_ADMIN"
    )


async def test_truenas_refuses_a_sharing_admin_minting_a_key_for_the_admin(
    per_role: Served, sim: RunningSimulator
) -> None:
    before = [row["id"] for row in sim.world.table("api_key")]
    async with per_role.client(per_role.token("truenas:SHARING_ADMIN")) as client:
        arguments = {"name": "stolen", "username": "truenas_admin"}
        preview = await client.call_tool("api_key_create", arguments)
        confirmation = preview.structured_content["confirmation"]["confirmation_token"]
        # The caller confirms its own call: that is no authority, and TrueNAS (as carol) refuses.
        minted = await client.call_tool("api_key_create", {**arguments, "confirmation_token": confirmation})
    assert minted.is_error
    assert "Only full administrators may create keys for other users" in text(minted)
    assert [row["id"] for row in sim.world.table("api_key")] == before


async def test_a_token_whose_roles_no_credential_holds_gets_403_naming_the_mapping(per_role: Served) -> None:
    token = per_role.token("truenas:READONLY_ADMIN", "truenas:SHARING_ADMIN")
    async with httpx2.AsyncClient() as http:
        answer = await http.post(
            per_role.url + "/mcp",
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json, text/event-stream",
                "Content-Type": "application/json",
            },
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        )
    assert answer.status_code == 403
    body = answer.json()
    assert body["error"] == "insufficient_scope"
    assert "truenas:READONLY_ADMIN, truenas:SHARING_ADMIN" in body["error_description"]
    assert "TRUENAS_MCP_CREDENTIALS" in body["error_description"]


async def test_the_least_tier_covering_every_role_of_a_token_is_chosen(sim: RunningSimulator) -> None:
    base = ClientConfig.build(url=sim.url)
    tiers = [
        Tier(name, frozenset(roles), TrueNASClient(base))
        for name, roles in [("wide", {"READONLY_ADMIN", "SHARING_ADMIN"}), ("readonly", {"READONLY_ADMIN"})]
    ]
    pool = CredentialPool(tiers, "per-role credentials")
    assert pool.tier_for(frozenset({"READONLY_ADMIN"})).name == "readonly"
    assert pool.tier_for(frozenset({"READONLY_ADMIN", "SHARING_ADMIN"})).name == "wide"
    with pytest.raises(MissingCredential, match=r"truenas:FULL_ADMIN.*configured: wide: READONLY_ADMIN"):
        pool.tier_for(frozenset({"FULL_ADMIN"}))


def test_credential_settings_name_what_is_wrong(tmp_path: Path) -> None:
    key = tmp_path / "k"
    key.write_text("1-x")
    good = {"name": "ro", "roles": ["READONLY_ADMIN"], "username": "alice", "api_key_file": str(key)}
    assert load_settings(credentials=[good]).credentials == [CredentialSetting(**good)]
    with pytest.raises(SettingsError, match=r"credentials\.0.*not TrueNAS role names"):
        load_settings(credentials=[{**good, "roles": ["truenas:READONLY_ADMIN"]}])
    with pytest.raises(SettingsError, match=r"credentials\.0.*is not a readable file"):
        load_settings(credentials=[{**good, "api_key_file": str(tmp_path / "missing")}])
    with pytest.raises(SettingsError, match="the same roles"):
        load_settings(credentials=[good, {**good, "name": "other"}])
