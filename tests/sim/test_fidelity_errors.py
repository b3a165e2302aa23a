"""Error shapes, write flows and read-only credentials as TrueNAS 25.04.2 answers them, over the wire."""

from __future__ import annotations

import errno
from typing import Any

from truenas_mcp.sim.server import RunningSimulator

FINAL = {"SUCCESS", "FAILED", "ABORTED"}


async def _login_key(connect_rpc: Any, url: str, username: str, key: str) -> tuple[Any, Any]:
    ws, client = await connect_rpc(url)
    login = [{"mechanism": "API_KEY_PLAIN", "username": username, "api_key": key}]
    assert (await client.call("auth.login_ex", login))["response_type"] == "SUCCESS"
    return ws, client


async def test_a_read_only_admins_key_sees_the_box_and_is_refused_writes_with_eacces(
    sim: RunningSimulator, connect_rpc: Any
) -> None:
    alice = next(u for u in sim.users if u.username == "alice")
    assert alice.api_key is not None and alice.roles == ("READONLY_ADMIN",)
    ws, client = await _login_key(connect_rpc, sim.url, "alice", alice.api_key)
    try:
        # no_authz_required methods are open to every user session, API keys included.
        assert await client.call("core.ping") == "pong"
        assert isinstance(await client.call("system.version"), str)
        assert isinstance(await client.call("core.subscribe", ["core.get_jobs"]), str)
        assert [p["name"] for p in await client.call("pool.query")]
        refused = await client.request("pool.dataset.create", [{"name": "tank/alice-was-here"}])
        assert refused["error"]["code"] == -32001
        assert (refused["error"]["data"]["error"], refused["error"]["data"]["reason"]) == (
            errno.EACCES,
            "[EACCES] Not authorized",
        )
        me = await client.call("auth.me")
        [row] = await client.call("user.query", [[["username", "=", "alice"]]])
        assert (me["pw_uid"], me["pw_gecos"], me["pw_dir"]) == (row["uid"], row["full_name"], row["home"])
        assert me["pw_gid"] == row["group"]["bsdgrp_gid"] and row["roles"] == ["READONLY_ADMIN"]
    finally:
        await ws.close()


async def test_api_key_create_for_a_user_without_privileges_is_refused(admin: Any) -> None:
    answer = await admin.request("api_key.create", [{"name": "for-bob", "username": "bob"}])
    assert answer["error"]["code"] == -32602
    assert answer["error"]["data"]["extra"] == [
        ["api_key_create", "User lacks privilege role membership.", errno.EINVAL]
    ]


async def test_core_bulk_of_an_unknown_method_fails_the_job(admin: Any) -> None:
    await admin.call("core.subscribe", ["core.get_jobs"])
    job_id = await admin.call("core.bulk", ["nosuch.method", [[]]])
    final = (await admin.job_event(job_id, FINAL))["fields"]
    assert final["state"] == "FAILED"
    assert final["exc_info"]["type"] == "CallError" and final["exc_info"]["errno"] == 201
    assert final["error"] == "[ENOMETHOD] Method 'method' not found in 'nosuch'"


async def test_a_job_failing_validation_has_validation_exc_info_with_the_errors(admin: Any) -> None:
    await admin.call("core.subscribe", ["core.get_jobs"])
    job_id = await admin.call("app.stop", ["no-such-app"])
    final = (await admin.job_event(job_id, FINAL))["fields"]
    assert final["state"] == "FAILED"
    assert final["exc_info"]["type"] == "VALIDATION" and final["exc_info"]["errno"] == errno.ENOENT
    assert final["exc_info"]["extra"] == [[None, "App no-such-app does not exist", errno.ENOENT]]


async def test_private_methods_a_full_admin_may_call_answer(admin: Any) -> None:
    services = await admin.call("core.get_services")
    assert services["pool.dataset"]["type"] == "crud" and services["system.general"]["type"] == "config"
    datasets = await admin.call("zfs.dataset.query", [[["name", "=", "tank"]]])
    assert [d["name"] for d in datasets] == ["tank"] and "compression" in datasets[0]["properties"]


async def test_snapshots_ordered_by_a_nested_key_while_selecting_others(admin: Any) -> None:
    options = {"order_by": ["-properties.creation.parsed"], "select": ["name", "dataset"], "limit": 3}
    rows = await admin.call("zfs.snapshot.query", [[], options])
    assert len(rows) == 3 and all(set(r) == {"name", "dataset"} for r in rows)
    # plugins/zfs_/snapshot.py applies select after ordering: the order is that of the full entries.
    full = await admin.call("zfs.snapshot.query", [[], {"order_by": ["-properties.creation.parsed"]}])
    assert [r["name"] for r in rows] == [r["name"] for r in full[:3]]
    created = [r["properties"]["creation"]["parsed"]["$date"] for r in full]
    assert created == sorted(created, reverse=True)
