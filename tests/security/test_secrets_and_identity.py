"""Secrets stay secret and credentials stay with full administrators, over real HTTP against the simulator.

Every tool whose policy marks secret arguments is called with a distinct planted value in each marked field;
the secrets the simulator keeps (user passwords, API keys, generated passwords) are created for real. Then
every answer a READONLY_ADMIN token gets, every server log line and every audit line is searched for each
value. A SHARING_ADMIN token must not mint an API key by any path, even approving its own call.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from typing import Any

import mcp_types as types
import pytest

from truenas_mcp.catalog import Catalog, ToolSpec
from truenas_mcp.server import redact
from truenas_mcp.server.authz import READONLY_ADMIN

from .conftest import LogCapture, SecuredFactory, text
from .test_roles import _all_names

READER = f"truenas:{READONLY_ADMIN}"


def _build(parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    inner = _build(parts[1:], value)
    return [inner] if parts[0] == "*" else {parts[0]: inner}


def _merge(a: Any, b: Any) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        return {**a, **{k: _merge(a[k], v) if k in a else v for k, v in b.items()}}
    if isinstance(a, list) and isinstance(b, list):
        return [_merge(a[0], b[0])]
    return b


def planted_arguments(tool: ToolSpec, planted: dict[str, str]) -> dict[str, Any]:
    """Arguments holding a new distinct value at each of the tool's secret argument paths."""
    arguments: dict[str, Any] = {}
    for path in tool.policy.secret_inputs:
        value = f"planted-{secrets.token_hex(8)}"
        planted[value] = f"{tool.name}:{path}"
        arguments = _merge(arguments, _build(path.split("."), value))
    return arguments


def _leaks(lines: Iterable[str], values: dict[str, str]) -> list[str]:
    return [f"{label} in {line[:200]}" for line in lines for value, label in values.items() if value in line]


def _readable_secret_tools(catalog: Catalog) -> list[ToolSpec]:
    return [
        t
        for t in catalog
        if t.policy.secret_outputs
        and t.policy.safety == "read"
        and READONLY_ADMIN in t.policy.roles
        and t.policy.excluded is None
        and not t.input_schema.get("required")
    ]


async def test_no_planted_secret_reaches_a_reader_a_log_line_or_the_audit_log(
    secured: SecuredFactory, catalog: Catalog, server_logs: LogCapture
) -> None:
    planted: dict[str, str] = {}
    writers = [t for t in catalog if t.policy.secret_inputs]
    readers = _readable_secret_tools(catalog)
    assert len(writers) > 50 and len(readers) > 15  # the data, not a hand-picked sample
    previews: list[str] = []
    async with secured(rate_limit_per_minute=0) as server:  # some 150 calls in a row
        async with server.client("/mcp/all", era="legacy") as admin:
            password = f"planted-{secrets.token_hex(8)}"
            planted[password] = "user_create:password"
            created = await admin.call_tool(
                "user_create",
                {"username": "erin", "full_name": "Erin", "password": password, "group_create": True},
            )
            assert not created.is_error, text(created)
            user_id = created.structured_content["result"]["id"]
            renewed = await admin.call_tool(
                "user_update", {"id": user_id, "user_update": {"random_password": True}}
            )
            assert not renewed.is_error, text(renewed)
            planted[renewed.structured_content["result"]["password"]] = "generated user password"
            asked = await admin.call_tool("api_key_create", {"name": "planted", "username": "alice"})
            token = asked.structured_content["confirmation"]["confirmation_token"]
            key = await admin.call_tool(
                "api_key_create", {"name": "planted", "username": "alice", "confirmation_token": token}
            )
            assert not key.is_error, text(key)
            planted[key.structured_content["result"]["key"]] = "minted API key"
            for tool in writers:
                answer = await admin.call_tool(tool.name, planted_arguments(tool, planted))
                if answer.structured_content and "confirmation" in answer.structured_content:
                    previews.append(text(answer) + json.dumps(answer.structured_content))
        answers: list[str] = []
        masked = 0
        async with server.client("/mcp/all", token=server.token(READER)) as reader:
            for tool in readers:
                answer = await reader.call_tool(tool.name, {})
                if answer.is_error and "is not simulated" in text(answer):
                    # The simulator says so rather than inventing rows: nothing there to leak or mask.
                    answers.append(text(answer))
                    continue
                assert not answer.is_error, f"{tool.name}: {text(answer)}"
                answers.append(text(answer) + json.dumps(answer.structured_content, default=str))
                shown = redact.values_at(answer.structured_content["result"], tool.policy.secret_outputs)
                assert all(v == redact.MASK for v in shown), f"{tool.name} shows {shown}"
                masked += len(shown)
        audit = server.audit_lines()
    assert masked > 10  # the readers' answers really held secret fields, and each was masked
    assert len(previews) >= 3 and len(audit) > len(writers)
    assert _leaks(answers, planted) == []
    assert _leaks(previews, planted) == []
    assert _leaks(audit, planted) == []
    assert _leaks(server_logs.lines, planted) == []


async def test_a_reader_may_not_filter_sort_or_select_on_a_secret_field(secured: SecuredFactory) -> None:
    async with secured() as server, server.client("/mcp/all", token=server.token(READER)) as reader:
        guessed = await reader.call_tool("user_query", {"filters": [["unixhash", "^", "$6$"]]})
        renamed = await reader.call_tool("user_query", {"options": {"select": [["smbhash", "x"]]}})
        plain = await reader.call_tool("user_query", {"filters": [["username", "=", "root"]]})
    assert guessed.is_error and "secret fields" in text(guessed)
    assert renamed.is_error and "secret fields" in text(renamed)
    assert not plain.is_error, text(plain)


async def test_the_audit_file_is_private_to_the_server(secured: SecuredFactory) -> None:
    async with secured() as server, server.client("/mcp/all") as client:
        await client.call_tool("pool_query", {})
        mode = server.audit_path.stat().st_mode & 0o777
    assert mode == 0o600


def _never_asked(calls: list[str]) -> Any:
    async def callback(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        calls.append(params.message)
        return types.ElicitResult(action="accept", content={"confirm": True})

    return callback


@pytest.mark.parametrize("era", ["legacy", "2026-07-28"])
async def test_a_sharing_admin_cannot_mint_an_api_key_even_approving_its_own_call(
    secured: SecuredFactory, era: str
) -> None:
    arguments = {"name": "escalate", "username": "truenas_admin"}
    asked: list[str] = []
    async with secured() as server:
        sharing = server.token("truenas:SHARING_ADMIN", subject="mallory")
        async with server.client(
            "/mcp/all", token=sharing, era=era, elicitation_callback=_never_asked(asked)
        ) as client:
            listed = await _all_names(client)
            direct = await client.call_tool("api_key_create", arguments)
            own_token = await client.call_tool(
                "api_key_create", {**arguments, "confirmation_token": "tnc1.e30.AAAA"}
            )
            allowed = await client.call_tool("sharing_smb_query", {})
        async with server.client("/mcp", token=sharing, era=era) as discovery:
            through = await discovery.call_tool(
                "call_tool", {"name": "api_key_create", "arguments": arguments}
            )
        async with server.client("/mcp/all", era=era) as admin:
            keys = await admin.call_tool("api_key_query", {"filters": [["name", "=", "escalate"]]})
            admin_preview = await admin.call_tool("api_key_create", arguments)
    assert "api_key_create" not in listed and "sharing_smb_query" in listed
    for refused in (direct, own_token, through):
        assert refused.is_error and "only truenas:FULL_ADMIN" in text(refused), text(refused)
    assert asked == []  # no confirmation was even offered
    assert not allowed.is_error, text(allowed)
    assert keys.structured_content["result"] == []
    assert admin_preview.structured_content is not None and "confirmation" in admin_preview.structured_content
    denied = [json.loads(line) for line in server.audit_lines() if '"mallory"' in line]
    assert {d["decision"] for d in denied if d["tool"] == "api_key_create"} == {"denied"}


async def test_secrets_show_only_with_the_namespaces_write_role_as_on_truenas(
    secured: SecuredFactory,
) -> None:
    async with secured() as server:
        seen: dict[str, list[Any]] = {}
        for scope in ("truenas:SHARING_ADMIN", "truenas:ACCOUNT_WRITE", "truenas:FULL_ADMIN"):
            async with server.client("/mcp/all", token=server.token(scope)) as client:
                answer = await client.call_tool("user_query", {})
                assert not answer.is_error, text(answer)
                seen[scope] = redact.values_at(answer.structured_content["result"], ["*.unixhash"])
    # SHARING_ADMIN may read users but holds no ACCOUNT_WRITE: TrueNAS masks the hashes for it.
    assert seen["truenas:SHARING_ADMIN"] and set(seen["truenas:SHARING_ADMIN"]) == {redact.MASK}
    assert redact.MASK not in seen["truenas:ACCOUNT_WRITE"] and redact.MASK not in seen["truenas:FULL_ADMIN"]
