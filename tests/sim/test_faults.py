"""Fault injection: set at construction, from Python at run time, or over the wire with ``sim.faults.set``."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from truenas_mcp.sim.faults import Faults, MethodFault
from truenas_mcp.sim.server import RunningSimulator

RawRpc = Any  # tests/sim/conftest.py RawRpc, handed out by the rpc/admin fixtures


async def test_the_connection_drops_after_n_messages(sim_factory: Any, connect_rpc: Any) -> None:
    async with sim_factory(faults=Faults(drop_after_messages=3)) as running:
        ws, client = await connect_rpc(running.url)
        try:
            for _ in range(3):
                assert await client.call("auth.mechanism_choices")
            await client.send({"jsonrpc": "2.0", "id": 99, "method": "auth.mechanism_choices", "params": []})
            with pytest.raises(ConnectionClosed):
                await client.recv()
        finally:
            await ws.close()


async def test_delay_holds_every_answer_back(sim: RunningSimulator, admin: RawRpc) -> None:
    sim.faults.delay_seconds = 0.3
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await admin.call("core.ping") == "pong"
    assert loop.time() - started >= 0.3


async def test_a_named_method_fails_with_the_given_error(sim: RunningSimulator, admin: RawRpc) -> None:
    answer = await admin.call(
        "sim.faults.set",
        [{"fail_methods": {"pool.query": {"errmsg": "pool is busy", "errno": 16, "extra": {"x": 1}}}}],
    )
    assert answer["fail_methods"]["pool.query"]["errno"] == 16
    frame = await admin.request("pool.query")
    assert frame["error"]["code"] == -32001
    assert frame["error"]["data"]["reason"] == "[EBUSY] pool is busy"
    assert frame["error"]["data"]["extra"] == {"x": 1}
    assert isinstance(await admin.call("disk.query"), list)
    await admin.call("sim.faults.set", [{}])
    assert isinstance(await admin.call("pool.query"), list)


async def test_faults_from_python_apply_at_once(sim: RunningSimulator, admin: RawRpc) -> None:
    sim.faults.update(Faults(fail_methods={"core.ping": MethodFault(errno=5)}))
    assert (await admin.request("core.ping"))["error"]["data"]["errname"] == "EIO"
    assert await admin.call("sim.faults.get") == sim.faults.to_dict()


@pytest.mark.parametrize(
    "settings",
    [{"nonsense": 1}, {"drop_after_messages": 0}, {"delay_seconds": -1}, {"fail_methods": {"a": {"bad": 1}}}],
    ids=["unknown-key", "zero-drop", "negative-delay", "bad-method-fault"],
)
async def test_bad_fault_settings_are_refused_naming_the_setting(
    admin: RawRpc, settings: dict[str, Any]
) -> None:
    frame = await admin.request("sim.faults.set", [settings])
    assert frame["error"]["data"]["errname"] == "EINVAL"
    assert any(key in frame["error"]["data"]["reason"] for key in settings)


async def test_only_full_admin_may_inject_faults(sim: RunningSimulator, connect_rpc: Any) -> None:
    sim.world.set_password("alice", "pw")
    ws, alice = await connect_rpc(sim.url)
    try:
        assert await alice.call("auth.login", ["alice", "pw"]) is True
        assert (await alice.request("sim.faults.set", [{}]))["error"]["data"]["errname"] == "EACCES"
    finally:
        await ws.close()


async def test_sim_state_save_writes_a_state_file_that_loads_back(
    sim: RunningSimulator, admin: RawRpc, tmp_path: Any
) -> None:
    from truenas_mcp.sim.state import World

    path = tmp_path / "state.json"
    assert await admin.call("sim.state.save", [str(path)]) == str(path)
    record = World.load(path).find_api_key(sim.admin_api_key, "truenas_admin")
    assert record is not None and not record.revoked
