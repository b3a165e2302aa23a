"""``core.get_methods`` answers with the recording itself, filtered as the real box filters it."""

from __future__ import annotations

import json
from typing import Any

from truenas_mcp.recordings import read_recording_bytes
from truenas_mcp.sim.server import RunningSimulator

RawRpc = Any  # tests/sim/conftest.py RawRpc, handed out by the rpc/admin fixtures


async def test_a_full_admin_pull_reproduces_the_recording_byte_for_byte(
    sim: RunningSimulator, admin: RawRpc
) -> None:
    answer = await admin.call("core.get_methods")
    # The recording was written as the server serialises: sorted keys, indent 1, one trailing newline.
    written = json.dumps(answer, sort_keys=True, indent=1) + "\n"
    assert written.encode() == read_recording_bytes(sim.sim.recording.path)


async def test_anonymous_sessions_see_only_the_no_auth_methods(sim: RunningSimulator, rpc: RawRpc) -> None:
    answer = await rpc.call("core.get_methods")
    expected = {n for n, e in sim.sim.recording.methods.items() if e["no_auth_required"]}
    assert set(answer) == expected and len(expected) == 12


async def test_non_admin_sessions_see_only_what_their_roles_may_call(
    sim: RunningSimulator, connect_rpc: Any
) -> None:
    roles = sim.world.roles_for("alice")
    assert roles and "FULL_ADMIN" not in roles
    sim.world.set_password("alice", "pw")
    ws, alice = await connect_rpc(sim.url)
    try:
        assert await alice.call("auth.login", ["alice", "pw"]) is True
        answer = await alice.call("core.get_methods")
    finally:
        await ws.close()
    methods = sim.sim.recording.methods
    assert set(answer) == {n for n, e in methods.items() if not roles.isdisjoint(e["roles"])}
    assert "pool.query" in answer and "system.reboot" not in answer


async def test_a_service_argument_narrows_the_listing(admin: RawRpc) -> None:
    answer = await admin.call("core.get_methods", ["pool.dataset"])
    assert answer and all(name.rsplit(".", 1)[0] == "pool.dataset" for name in answer)


async def test_core_get_events_does_not_exist_on_25_04_2(admin: RawRpc) -> None:
    assert (await admin.request("core.get_events"))["error"]["code"] == -32601
