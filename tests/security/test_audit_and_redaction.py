"""Audit lines for every call, and no secret of the run (API key, passwords, JWT secret) in any log line."""

from __future__ import annotations

import json

import pytest

from truenas_mcp.server import redact
from truenas_mcp.sim.server import RunningSimulator

from .conftest import LogCapture, SecuredFactory, text

PASSWORD = "Corr3ct-Horse-Battery-Staple"


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("password", True),
        ("bindpw_password", True),
        ("passphrase", True),
        ("privatekey", True),
        ("private_key", True),
        ("api_key", True),
        ("apiKey", True),
        ("access_token", True),
        ("client_secret", True),
        ("key_format", False),
        ("key_loaded", False),
        ("public_key", False),
        ("sshpubkey", False),
        ("username", False),
        ("token_ttl", False),
    ],
)
def test_secret_field_names_are_recognised(name: str, secret: bool) -> None:
    assert redact.is_secret_name(name) is secret


def test_redaction_follows_names_schemas_and_nesting() -> None:
    value = {
        "user": "bob",
        "attributes": [{"password": "x", "otp": None}],
        "pin_code": "1",
        "hint": "y",
        "filters": [["passphrase", "=", "z"], ["name", "=", "bob"]],
    }
    schema = {"properties": {"hint": {"type": "string", "writeOnly": True}}}
    assert redact.redact(value, schema) == {
        "user": "bob",
        "attributes": [{"password": redact.MASK, "otp": None}],
        "pin_code": redact.MASK,
        "hint": redact.MASK,
        "filters": [["passphrase", "=", redact.MASK], ["name", "=", "bob"]],
    }


async def test_no_secret_of_the_run_appears_in_any_log_or_audit_line(
    secured: SecuredFactory, sim: RunningSimulator, server_logs: LogCapture
) -> None:
    redact.register_secret(sim.admin_api_key)  # as `truenas-mcp serve` does with its credential
    async with secured() as server:
        assert server.settings.jwt_secret_file is not None
        jwt_secret = server.settings.jwt_secret_file.read_text().strip()
        token = server.token()
        async with server.client("/mcp/all", token=token, era="legacy") as client:
            created = await client.call_tool(
                "user_create",
                {"username": "dave", "full_name": "Dave", "password": PASSWORD, "group_create": True},
            )
            await client.call_tool("user_update", {"id": 999_999, "password": PASSWORD})
            await client.call_tool("user_query", {"filters": [["password", "=", PASSWORD]]})
            await client.call_tool("pool_scrub_scrub", {"name": "tank"})
        async with server.client("/mcp", token=server.token("truenas:READONLY_ADMIN")) as reader:
            await reader.call_tool("call_tool", {"name": "user_create", "arguments": {"password": PASSWORD}})
        audit = server.audit_lines()
    secrets = {"API key": sim.admin_api_key, "password": PASSWORD, "JWT secret": jwt_secret, "token": token}
    assert not created.is_error, text(created)
    assert len(server_logs.lines) > 20  # the scan saw the server's debug logs, not an empty list
    for line in audit + server_logs.lines:
        for label, value in secrets.items():
            assert value not in line, f"{label} leaked: {line[:300]}"
    records = [json.loads(line) for line in audit]
    create = next(r for r in records if r["tool"] == "user_create" and r["principal"] == "alice")
    assert create["method"] == "user.create" and create["arguments"]["password"] == redact.MASK
    assert create["decision"] == "allowed" and create["outcome"] == "ok" and create["duration_ms"] > 0
    scrub = next(r for r in records if r["tool"] == "pool_scrub_scrub")
    assert isinstance(scrub["job_id"], int)
    denied = next(r for r in records if r["decision"] == "denied")
    assert (
        denied["principal"] == "alice"
        and denied["method"] == "user.create"
        and denied["tool"] == "user_create"
    )
    assert {"time", "client", "client_name", "request_id", "profile"} <= set(create)
