"""Confirmation previews and elicitation questions say in plain words what a call will do, secrets masked."""

from __future__ import annotations

from typing import Any

import mcp_types as types
import pytest

from truenas_mcp.sim.server import RunningSimulator

from .conftest import SecuredFactory, text

RESET = {"id": 1, "api_key_update": {"reset": True}}


def _ask(questions: list[str], action: str = "decline") -> Any:
    async def callback(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        questions.append(params.message)
        return types.ElicitResult(action=action, content=None)  # type: ignore[arg-type]

    return callback


@pytest.mark.parametrize("era", ["legacy", "2026-07-28"])
async def test_a_key_reset_is_previewed_as_a_reset_of_that_users_key(
    secured: SecuredFactory, sim: RunningSimulator, era: str
) -> None:
    key = next(row for row in sim.world.table("api_key") if row["id"] == 1)
    questions: list[str] = []
    async with secured() as server:
        async with server.client(era=era) as client:
            two_step = await client.call_tool("api_key_update", RESET)
        async with server.client(era=era, elicitation_callback=_ask(questions)) as client:
            declined = await client.call_tool("api_key_update", RESET)
    plain = f"resets API key 1 ({key['name']}) of user {key['username']}; the old key stops working"
    assert plain in text(two_step) and "Not run yet" in text(two_step)
    assert len(questions) == 1 and plain in questions[0]
    assert declined.is_error and "declined" in text(declined)
    assert not key["revoked"] and next(r for r in sim.world.table("api_key") if r["id"] == 1) is key


async def test_a_password_change_preview_names_the_user_and_never_the_password(
    secured: SecuredFactory,
) -> None:
    password = "correct-horse-battery-staple-7"
    async with secured() as server, server.client() as client:
        preview = await client.call_tool("user_set_password", {"username": "bob", "new_password": password})
        deleted = await client.call_tool("zfs_snapshot_delete", {"id": "tank@none"})
    assert (
        "Not run yet: user_set_password sets a new password for user bob; the old one stops working"
        in text(preview)
    )
    assert password not in text(preview) + repr(preview.structured_content)
    assert "deletes snapshot tank@none" in text(deleted)
