"""Destructive calls run only after a confirmation bound to the exact call, by each of the three paths."""

from __future__ import annotations

from typing import Any, Literal

import mcp_types as types
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from .conftest import SecuredFactory, text

DELETE = "zfs_snapshot_delete"


async def _snapshot(client: Client, name: str) -> str:
    created = await client.call_tool("zfs_snapshot_create", {"dataset": "tank", "name": name})
    assert not created.is_error, text(created)
    return f"tank@{name}"


async def _exists(client: Client, snapshot: str) -> bool:
    found = await client.call_tool("zfs_snapshot_query", {"filters": [["name", "=", snapshot]]})
    return bool(found.structured_content["result"])


def _answer(action: Literal["accept", "decline", "cancel"], confirm: bool = True) -> Any:
    async def callback(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        assert "zfs.snapshot.delete" in params.message
        return types.ElicitResult(action=action, content={"confirm": confirm} if action == "accept" else None)

    return callback


def _token_of(result: types.CallToolResult) -> str:
    assert result.is_error and result.structured_content is not None
    return str(result.structured_content["confirmation"]["confirmation_token"])


async def test_two_step_confirmation_runs_only_the_exact_call_once(secured: SecuredFactory) -> None:
    async with secured() as server, server.client(era="legacy") as client:
        first, second = await _snapshot(client, "a"), await _snapshot(client, "b")
        preview = await client.call_tool(DELETE, {"id": first})
        token = _token_of(preview)
        still_there = await _exists(client, first)
        changed = await client.call_tool(DELETE, {"id": second, "confirmation_token": token})
        tampered = await client.call_tool(DELETE, {"id": first, "confirmation_token": token[:-2] + "AA"})
        done = await client.call_tool(DELETE, {"id": first, "confirmation_token": token})
        replayed = await client.call_tool(DELETE, {"id": first, "confirmation_token": token})
        gone, second_kept = not await _exists(client, first), await _exists(client, second)
    assert f"deletes snapshot {first}" in text(preview) and still_there
    assert "TrueNAS zfs.snapshot.delete with" in text(preview)
    assert changed.is_error and "does not match this call" in text(changed)
    assert tampered.is_error and "does not match this call" in text(tampered)
    assert not done.is_error, text(done)
    assert replayed.is_error and "already used" in text(replayed)
    assert gone and second_kept
    decisions = [line for line in server.audit_lines() if f'"tool": "{DELETE}"' in line]
    assert '"pending_confirmation"' in decisions[0] and '"confirmed"' in decisions[-2]


async def test_a_confirmation_token_of_another_caller_is_refused(secured: SecuredFactory) -> None:
    async with secured() as server:
        async with server.client(era="legacy", token=server.token(subject="alice")) as alice:
            snapshot = await _snapshot(alice, "c")
            token = _token_of(await alice.call_tool(DELETE, {"id": snapshot}))
        async with server.client(era="legacy", token=server.token(subject="bob")) as bob:
            stolen = await bob.call_tool(DELETE, {"id": snapshot, "confirmation_token": token})
            kept = await _exists(bob, snapshot)
    assert stolen.is_error and "does not match" in text(stolen) and kept


@pytest.mark.parametrize("era", ["legacy", "2026-07-28"])
async def test_clients_with_elicitation_ask_the_user(secured: SecuredFactory, era: str) -> None:
    async with secured() as server:
        async with server.client(era=era, elicitation_callback=_answer("accept")) as client:
            yes = await _snapshot(client, "yes")
            accepted = await client.call_tool(DELETE, {"id": yes})
            deleted = not await _exists(client, yes)
        async with server.client(era=era, elicitation_callback=_answer("decline")) as client:
            no = await _snapshot(client, "no")
            declined = await client.call_tool(DELETE, {"id": no})
            kept = await _exists(client, no)
        async with server.client(era=era, elicitation_callback=_answer("accept", confirm=False)) as client:
            unticked = await client.call_tool(DELETE, {"id": no})
            still = await _exists(client, no)
    assert not accepted.is_error and deleted, text(accepted)
    assert declined.is_error and "declined" in text(declined) and kept
    assert unticked.is_error and still
    assert any('"decision": "confirmed"' in line for line in server.audit_lines())


async def test_input_required_state_is_sealed_and_bound_to_the_arguments(secured: SecuredFactory) -> None:
    async with secured() as server, server.client(elicitation_callback=_answer("accept")) as client:
        snapshot = await _snapshot(client, "mrtr")
        other = await _snapshot(client, "mrtr2")
        first = await client.session.call_tool(DELETE, {"id": snapshot}, allow_input_required=True)
        assert isinstance(first, types.InputRequiredResult) and first.request_state
        yes: types.InputResponses = {
            "confirm": types.ElicitResult(action="accept", content={"confirm": True})
        }
        with pytest.raises(MCPError, match="requestState"):
            await client.session.call_tool(
                DELETE, {"id": snapshot}, input_responses=yes, request_state=first.request_state[:-4] + "AAAA"
            )
        with pytest.raises(MCPError, match="requestState"):
            await client.session.call_tool(
                DELETE, {"id": other}, input_responses=yes, request_state=first.request_state
            )
        kept = await _exists(client, snapshot) and await _exists(client, other)
        done = await client.session.call_tool(
            DELETE, {"id": snapshot}, input_responses=yes, request_state=first.request_state
        )
        deleted = not await _exists(client, snapshot)
    assert kept and isinstance(done, types.CallToolResult) and not done.is_error and deleted


async def test_deployments_can_disable_destructive_tools_or_waive_confirmation(
    secured: SecuredFactory,
) -> None:
    async with secured(destructive="disable") as server, server.client(era="legacy") as client:
        snapshot = await _snapshot(client, "d")
        listed = {tool.name for tool in (await client.list_tools()).tools}
        disabled = await client.call_tool(DELETE, {"id": snapshot})
    async with secured(confirm_waive=["zfs.snapshot.*"]) as server, server.client(era="legacy") as client:
        waived = await client.call_tool(DELETE, {"id": snapshot})
    assert DELETE not in listed and disabled.is_error and "disabled" in text(disabled)
    assert not waived.is_error, text(waived)


async def test_the_readonly_endpoint_never_offers_destructive_tools(secured: SecuredFactory) -> None:
    async with secured() as server, server.client("/mcp/readonly", era="legacy") as client:
        refused = await client.call_tool("call_tool", {"name": DELETE, "arguments": {"id": "tank@x"}})
    assert refused.is_error and "read-only" in text(refused)
